"""Errors of the accounts capability: each names the field at fault and a stable code."""

from __future__ import annotations


class AccountError(ValueError):
    """Bad input or a refused change: ``field`` names the input, ``code`` the broken rule."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class UnknownUser(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__("username", "unknown_user", f"no user named {username!r}")


class DuplicateUser(AccountError):
    def __init__(self, username: str) -> None:
        super().__init__("username", "duplicate_user", f"a user named {username!r} already exists")


class TokenNotAllowed(AccountError):
    """An API token tried to manage people or tokens: only people may (answered with 403)."""

    def __init__(self) -> None:
        super().__init__(
            "actor", "token_not_allowed", "API tokens cannot manage users or API tokens"
        )


class TokenError(Exception):
    """An API token cannot be used; ``reason`` is ``unknown``, ``expired`` or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
