"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, and the check a receiver runs.

Every webhook opschub sends is signed this way: notices to online services (takedown) and the
on-call alert of a new high-priority report (intake). The sender adds these headers to the POST::

    X-Opschub-Timestamp: 1767225600
    X-Opschub-Signature: v1=<hex HMAC-SHA256(secret, "1767225600." + body)>
    X-Opschub-Notice-Id: <notice id>          (the receiver's idempotency key)

Binding the timestamp into the signature lets a receiver refuse a captured request replayed
later (:func:`verify_webhook` allows ``tolerance`` seconds of clock difference). ``v1=`` names
the scheme so that it can change without breaking receivers; a header may carry several
signatures separated by commas while a secret is being rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SIGNATURE_HEADER = "X-Opschub-Signature"
TIMESTAMP_HEADER = "X-Opschub-Timestamp"
NOTICE_HEADER = "X-Opschub-Notice-Id"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_webhook(
    secret: bytes, body: bytes, *, timestamp: int | None = None, notice_id: str | None = None
) -> dict[str, str]:
    """The headers to send with ``body``."""
    if len(secret) < 16:
        raise ValueError("a webhook secret must be at least 16 bytes")
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: f"{SCHEME}={_mac(secret, ts, body)}",
        "Content-Type": "application/json",
    }
    if notice_id:
        headers[NOTICE_HEADER] = notice_id
    return headers


class WebhookSignatureError(ValueError):
    """The request is not signed with the shared secret, or too old; the message says which."""


def verify_webhook(
    secret: bytes,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: int | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Check a received request; return its timestamp or raise :class:`WebhookSignatureError`.
    ``headers`` is looked up case-insensitively."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ts = lowered.get(TIMESTAMP_HEADER.lower(), "")
    raw_sig = lowered.get(SIGNATURE_HEADER.lower(), "")
    if not raw_ts.isdigit():
        raise WebhookSignatureError(f"missing or malformed {TIMESTAMP_HEADER} header")
    timestamp = int(raw_ts)
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"timestamp is {abs(current - timestamp)} s away from now (limit {tolerance} s)"
        )
    expected = _mac(secret, timestamp, body)
    offered = [
        part.split("=", 1)[1].strip()
        for part in raw_sig.split(",")
        if part.strip().startswith(f"{SCHEME}=")
    ]
    if not offered:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header with a {SCHEME}= value")
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise WebhookSignatureError("signature does not match the body and the shared secret")
    return timestamp
