"""Receipt codes: shown once to the person who reported, only their keyed hash is stored.

A code is 28 Crockford base32 symbols (140 random bits), shown in groups of four so that it can
be read aloud or copied by hand (``7KQ2-M9XD-...``). Crockford's alphabet has no I, L, O or U;
when a code is typed back, I and L are read as 1, O as 0, and spaces, hyphens and case are ignored.
The database keeps HMAC-SHA256(secret key, code): a leaked database does not reveal codes, and
guessing one needs the key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from opschub.config import get_settings

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 28  # 28 x 5 = 140 bits >= 128
GROUP = 4
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})


class ReceiptFormatError(ValueError):
    """Text that cannot be a receipt code (wrong length or symbols)."""


def new_code() -> str:
    """A fresh random code in its canonical form (no separators)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """``code`` in groups of four separated by hyphens."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def canonical(text: str) -> str:
    """The canonical form of a typed code; :class:`ReceiptFormatError` if it cannot be one."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n").translate(_READ_AS)
    if len(cleaned) != LENGTH:
        raise ReceiptFormatError(f"a receipt code has {LENGTH} letters and digits")
    if any(ch not in ALPHABET for ch in cleaned):
        raise ReceiptFormatError("a receipt code has only digits and the letters A-Z except U")
    return cleaned


def _key() -> bytes:
    return hashlib.sha256(b"receipt:" + get_settings().resolved_secret_key().encode()).digest()


def code_hash(code: str) -> str:
    """The stored form of a canonical code (64 hex digits)."""
    return hmac.new(_key(), code.encode("ascii"), hashlib.sha256).hexdigest()
