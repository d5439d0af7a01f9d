"""Exact Hamming range search over PDQ codes (multi-index hashing), see :class:`HammingIndex`."""

from ..codes import SearchResult
from .hamming import HammingIndex

__all__ = ["HammingIndex", "SearchResult"]
