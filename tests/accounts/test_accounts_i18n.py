"""The pages' labels and error texts cover every role and password rule."""

from __future__ import annotations

from opschub.accounts.i18n import ERRORS, ROLE_LABELS, error_text
from opschub.accounts.passwords import RULES
from opschub.accounts.permissions import Role


def test_every_role_and_password_rule_has_a_label() -> None:
    assert set(ROLE_LABELS) == set(Role)
    assert set(RULES) <= set(ERRORS)


def test_error_text_fills_values_and_falls_back() -> None:
    assert error_text(lambda s: s, "too_short", "x") == (
        "The password must have at least 12 characters."
    )
    assert error_text(lambda s: s, "no_such_code", "fallback") == "fallback"


def test_docs_role_table_matches_the_permission_table() -> None:
    from pathlib import Path

    from opschub.accounts.roles_doc import current_table, role_table

    document = Path(__file__).resolve().parents[2] / "docs" / "accounts.md"
    assert current_table(document.read_text(encoding="utf-8")) == role_table(), (
        "docs/accounts.md is out of date: python -m opschub.accounts.roles_doc docs/accounts.md"
    )
