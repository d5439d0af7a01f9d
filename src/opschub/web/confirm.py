"""Confirming a destructive action on a page of its own (docs/ui-patterns.md).

The button of a destructive action is a link (or a GET form) to a confirmation page that says
what will happen; that page's form POSTs to the action itself. No script is needed, so it works
under the CSP that forbids inline script, and the POST route stays the only place that acts.

Every text arrives translated from the caller: this module and its template hold no messages of
their own, so each capability's catalogue holds its own wording.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import HTMLResponse

from opschub.web.templating import render

TEMPLATE = "web/confirm.html"


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page shows; every text is already translated."""

    title: str  # the page's heading, a question: "Disable analyst-1?"
    consequence: str  # what will happen, plainly: "They are logged out at once ..."
    action: str  # where the confirming form POSTs (a link() built URL)
    confirm_label: str  # the destructive button: "Disable"
    cancel_url: str  # where "cancel" leads back to (nothing changes)
    cancel_label: str
    # (label, value) rows that identify the target, so that the right one is confirmed
    details: Sequence[tuple[str, str]] = ()
    # hidden fields posted along (for example the chosen role)
    fields: Mapping[str, str] = field(default_factory=dict)


def confirm_page(
    request: Request, confirmation: Confirmation, *, status_code: int = 200
) -> HTMLResponse:
    """The confirmation page (``web/confirm.html``) for ``confirmation``."""
    return render(request, TEMPLATE, {"confirmation": confirmation}, status_code=status_code)
