"""Marking text for translation where it is defined but translated later, when shown."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark ``message`` for extraction into the catalogues; returns it unchanged."""
    return message
