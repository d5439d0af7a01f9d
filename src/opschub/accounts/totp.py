"""Time-based one-time passwords (RFC 6238, 30-second steps, 6 digits) via pyotp."""

from __future__ import annotations

from datetime import datetime

import pyotp
import segno
from markupsafe import Markup

ISSUER = "opschub"
STEP_SECONDS = 30
# Accept the previous and the next step too: phones' clocks drift.
WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (scanned as a QR code, or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as a QR code in inline SVG, made on the server: no image service ever sees the
    secret, and inline SVG needs nothing the CSP forbids. The SVG holds only path data."""
    code = segno.make(uri, error="m")
    return Markup(code.svg_inline(scale=4, dark="#000", light="#fff", svgclass="qr"))


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, at: datetime, *, after: int | None = None) -> int | None:
    """The time step whose code is ``code`` (within the window), or None.

    Steps at or before ``after`` are refused, so that a code is accepted only once.
    """
    code = normalise_code(code)
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(at)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if after is not None and step <= after:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code shown at ``at`` (tests and the set-up page's self-check)."""
    return pyotp.TOTP(secret).at(at)
