"""Password rules, hashing (argon2id) and one-time passwords."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from opschub.accounts.errors import AccountError

MIN_LENGTH = 12

# argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); a hash made with other
# parameters is replaced at the next successful login.
_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Replace the hasher (tests use cheap parameters); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


# Frequent choices that pass the length and class rules; compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "password2024",
        "password2025",
        "password2026",
        "password!234",
        "passw0rd1234",
        "p@ssw0rd1234",
        "p@ssword1234",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwerty12345678",
        "1qaz2wsx3edc",
        "1q2w3e4r5t6y",
        "1q2w3e4r5t6y7u",
        "zaq12wsxcde3",
        "abc123456789",
        "abcd12345678",
        "abcdef123456",
        "a1b2c3d4e5f6",
        "iloveyou1234",
        "welcome12345",
        "welcome123456",
        "letmein12345",
        "changeme1234",
        "changeme123!",
        "administrator1",
        "admin1234567",
        "admin12345678",
        "adminadmin123",
        "sunshine1234",
        "football1234",
        "baseball1234",
        "princess1234",
        "dragon123456",
        "monkey123456",
        "superman1234",
        "trustno1trustno1",
        "12345678abcd",
        "123456789abc",
        "123456789qwe",
        "123qweasdzxc",
        "qweasdzxc123",
        "asdfghjkl123",
        "zxcvbnm12345",
        "woaini1314520",
        "woaini123456",
        "aini13145200",
        "opschub12345",
        "opschub123456",
        "hotline12345",
    }
)


class PasswordRuleError(AccountError):
    """A password breaks a rule; ``rule`` names it (too_short, one_class, username, common)."""

    def __init__(self, rule: str, message: str, field: str = "password") -> None:
        super().__init__(field, rule, message)
        self.rule = rule


@dataclass(frozen=True)
class Rule:
    code: str
    message: str


# English messages; the web pages translate them by code.
RULES = {
    "too_short": Rule("too_short", f"password must have at least {MIN_LENGTH} characters"),
    "one_class": Rule(
        "one_class",
        "password must mix at least two kinds of characters "
        "(lower case, upper case, digits, other)",
    ),
    "username": Rule("username", "password must not be or contain the username"),
    "common": Rule("common", "password is too common; choose another"),
}


def _classes(password: str) -> int:
    kinds = set()
    for char in password:
        if char.islower():
            kinds.add("lower")
        elif char.isupper():
            kinds.add("upper")
        elif char.isdigit():
            kinds.add("digit")
        else:
            kinds.add("other")
    return len(kinds)


def check_password(password: str, username: str) -> None:
    """Raise :class:`PasswordRuleError` naming the first rule ``password`` breaks."""
    broken: str | None = None
    lowered = password.casefold()
    if len(password) < MIN_LENGTH:
        broken = "too_short"
    elif _classes(password) < 2:
        broken = "one_class"
    elif username and (
        lowered == username.casefold() or (len(username) >= 4 and username.casefold() in lowered)
    ):
        broken = "username"
    elif lowered in COMMON_PASSWORDS:
        broken = "common"
    if broken is not None:
        raise PasswordRuleError(broken, RULES[broken].message)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other argon2 parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Spend a verification on a dummy hash, so that a failed login takes as long whether or not
    the username exists."""
    dummy = _dummy_hashes.get(id(_hasher))
    if dummy is None:
        dummy = _dummy_hashes[id(_hasher)] = _hasher.hash(secrets.token_hex(16))
    verify_password(dummy, password)


# No look-alikes (0/O, 1/l/I), so that a one-time password can be read out on the phone.
_OTP_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def one_time_password(username: str = "", length: int = 16) -> str:
    """A random password that passes the rules; the person must change it at first login."""
    while True:
        candidate = "".join(secrets.choice(_OTP_ALPHABET) for _ in range(length))
        try:
            check_password(candidate, username)
        except PasswordRuleError:
            continue
        return candidate
