"""Time-based one-time passwords (RFC 6238, 30-second steps, 6 digits) via pyotp."""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "opschub"
STEP_SECONDS = 30
# Accept the previous and the next step too: phones' clocks drift.
WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (typed in or pasted; no QR service)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


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
