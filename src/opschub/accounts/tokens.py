"""Random credentials and their stored forms.

Session cookies and API tokens are random; the database keeps only their SHA-256, so that a copy of
the database lets no one log in. API tokens read ``opschub_<id>_<secret>`` so that a leaked token is
recognisable (secret scanners) and can be found and revoked by its id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from opschub.ids import is_id

TOKEN_PREFIX = "opschub"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_session_value() -> str:
    return secrets.token_urlsafe(32)


def new_token_secret() -> str:
    return secrets.token_urlsafe(32)


def format_token(token_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


@dataclass(frozen=True)
class ParsedToken:
    token_id: str
    secret: str


def parse_token(raw: str) -> ParsedToken | None:
    """Split ``opschub_<id>_<secret>``; None when it is not in that form."""
    prefix, _, rest = raw.strip().partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not is_id(token_id) or len(secret) < 16:
        return None
    return ParsedToken(token_id, secret)


def digest_matches(stored_hex: str, value: str) -> bool:
    return hmac.compare_digest(stored_hex, sha256_hex(value))


def csrf_token_for(session_value: str, key: str) -> str:
    """The CSRF token of a session: derived from the cookie value, so it is never stored."""
    return hmac.new(key.encode(), b"csrf:" + session_value.encode(), hashlib.sha256).hexdigest()
