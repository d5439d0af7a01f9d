"""TOTP codes (window, replay) and the forms of session values and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from opschub.accounts import tokens, totp
from opschub.ids import new_id

AT = datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC)


def test_code_accepted_in_window_and_step_returned() -> None:
    secret = totp.new_secret()
    step = pyotp.TOTP(secret).timecode(AT)
    assert totp.matching_step(secret, totp.code_at(secret, AT), AT) == step
    earlier = totp.code_at(secret, AT - timedelta(seconds=30))
    assert totp.matching_step(secret, earlier, AT) == step - 1
    too_old = totp.code_at(secret, AT - timedelta(seconds=90))
    assert totp.matching_step(secret, too_old, AT) is None


def test_code_with_spaces_is_accepted_and_junk_refused() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, AT)
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", AT) is not None
    for junk in ("", "12345", "1234567", "abcdef", "12345a"):
        assert totp.matching_step(secret, junk, AT) is None


def test_a_code_is_not_accepted_twice() -> None:
    secret = totp.new_secret()
    code = totp.code_at(secret, AT)
    step = totp.matching_step(secret, code, AT)
    assert step is not None
    assert totp.matching_step(secret, code, AT, after=step) is None


def test_provisioning_uri_and_grouping() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice")
    assert uri.startswith("otpauth://totp/opschub:alice?")
    assert f"secret={secret}" in uri
    assert totp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"


def test_token_format_round_trip() -> None:
    token_id, secret = new_id(), tokens.new_token_secret()
    raw = tokens.format_token(token_id, secret)
    assert raw.startswith("opschub_")
    parsed = tokens.parse_token(raw)
    assert parsed == tokens.ParsedToken(token_id, secret)
    assert tokens.digest_matches(tokens.sha256_hex(secret), secret)


def test_malformed_tokens_are_not_parsed() -> None:
    for raw in (
        "",
        "opschub",
        "opschub_x_y",
        f"other_{new_id()}_{'s' * 40}",
        f"opschub_{new_id()}_",
    ):
        assert tokens.parse_token(raw) is None


def test_csrf_token_depends_on_session_and_key() -> None:
    a = tokens.csrf_token_for("session-a", "k" * 32)
    assert a == tokens.csrf_token_for("session-a", "k" * 32)
    assert a != tokens.csrf_token_for("session-b", "k" * 32)
    assert a != tokens.csrf_token_for("session-a", "j" * 32)


def test_token_use_is_noted_at_most_once_a_minute(client, database) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from opschub.accounts import service
    from opschub.accounts.models import ApiToken
    from opschub.clock import frozen, utcnow

    with database.transaction() as session:
        token, raw = service.create_token(
            session,
            name="use",
            permissions=["reports.submit"],
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    headers = {"Authorization": f"Bearer {raw}"}
    client.get("/api/v1/me", headers=headers)
    with database.read() as session:
        first = session.get(ApiToken, token.id).last_used_at  # type: ignore[union-attr]
    assert first is not None
    client.get("/api/v1/me", headers=headers)
    with database.read() as session:
        assert session.get(ApiToken, token.id).last_used_at == first  # type: ignore[union-attr]
    with frozen(utcnow() + timedelta(minutes=2)):
        client.get("/api/v1/me", headers=headers)
    with database.read() as session:
        assert session.get(ApiToken, token.id).last_used_at > first  # type: ignore[union-attr]
