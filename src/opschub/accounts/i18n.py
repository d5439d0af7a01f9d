"""Translatable texts of the accounts pages: error codes, roles and permissions.

The service raises errors with a stable ``code``; pages show the translated text for that code.
``N_`` marks a message for extraction without translating it here.
"""

from __future__ import annotations

from collections.abc import Callable

from opschub.accounts.errors import AccountError
from opschub.accounts.passwords import MIN_LENGTH
from opschub.accounts.permissions import Role
from opschub.accounts.service import max_token_days
from opschub.text import N_

ERRORS: dict[str, str] = {
    "too_short": N_("The password must have at least %(min)d characters."),
    "one_class": N_(
        "The password must mix at least two kinds of characters: lower case, upper case, "
        "digits, other."
    ),
    "username": N_("The password must not be or contain the username."),
    "common": N_("This password is too common; choose another."),
    "unchanged": N_("The new password must differ from the current one."),
    "mismatch": N_("The two new passwords differ."),
    "wrong_password": N_("The current password is wrong."),
    "invalid_username": N_(
        "A username has 2 to 64 characters: letters a-z, digits, '.', '_' or '-', starting "
        "with a letter or digit."
    ),
    "duplicate_user": N_("A user with this name already exists."),
    "unknown_user": N_("Unknown user."),
    "unknown_role": N_("Unknown role."),
    "partner_role": N_("The partner role is for API tokens only."),
    "too_long": N_("The display name may have at most 200 characters."),
    "last_admin": N_("This is the last administrator; add another administrator first."),
    "wrong_code": N_(
        "The code is wrong. Check that the time on your phone is right and enter the current code."
    ),
    "no_pending_secret": N_("Start the set-up again."),
    "totp_required": N_("Your role must keep two-factor authentication."),
    "totp_not_set_up": N_("Two-factor authentication is not set up."),
    "no_session": N_("The login has expired; log in again."),
    "invalid_name": N_("A token name has 1 to 200 characters."),
    "invalid_expiry": N_("The expiry must be between 1 and %(max)d days."),
    "no_permissions": N_("Choose at least one permission."),
    "unknown_permission": N_("Unknown permission."),
    "not_granted": N_("A token may only have permissions of the role it acts for."),
    "foreign_role": N_("A token acts for your own role or for a partner."),
    "role_required": N_("A token acts for your own role or for a partner."),
    "unknown_token": N_("Unknown API token."),
    "unknown_language": N_("Unknown language."),
    # One answer for a wrong password, an unknown name, a disabled and a locked account: the
    # login page must not tell anyone which names exist.
    "invalid_login": N_(
        "Wrong username or password. After several failed attempts an account is locked for a "
        "few minutes."
    ),
    "locked_now": N_(
        "Too many wrong passwords: the account is locked for a few minutes. Log in again later."
    ),
    "token_not_allowed": N_("API tokens cannot manage users or API tokens."),
    "throttled": N_("Too many login attempts from here. Wait a minute and try again."),
}

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.ANALYST: N_("Analyst"),
    Role.SENIOR_ANALYST: N_("Senior analyst"),
    Role.POLICE_LIAISON: N_("Police liaison"),
    Role.CASE_WORKER: N_("Case worker"),
    Role.CASE_SUPERVISOR: N_("Case supervisor"),
    Role.STATISTICIAN: N_("Statistician"),
    Role.AUDITOR: N_("Auditor"),
    Role.PARTNER: N_("Partner (machine client)"),
}


def error_text(gettext: Callable[[str], str], code: str, fallback: str, **values: object) -> str:
    """The translated message for an error code (English ``fallback`` for unknown codes)."""
    message = ERRORS.get(code)
    if message is None:
        return fallback
    values.setdefault("min", MIN_LENGTH)
    values.setdefault("max", max_token_days())
    translated = gettext(message)
    return translated % values if "%(" in translated else translated


def account_error_text(gettext: Callable[[str], str], error: AccountError) -> str:
    return error_text(gettext, error.code, str(error))
