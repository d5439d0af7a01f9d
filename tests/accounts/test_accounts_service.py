"""Accounts use cases on both engines: users, logins, lock-out, sessions, TOTP, API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from factories import PASSWORD, create_user, totp_code
from opschub import clock, config
from opschub.accounts import service
from opschub.accounts.errors import AccountError, TokenError
from opschub.accounts.models import ApiToken, User, UserSession
from opschub.accounts.passwords import PasswordRuleError
from opschub.accounts.permissions import Role, permissions_of
from opschub.audit.models import AuditEvent
from opschub.audit.service import verify
from opschub.db import Database


def actions(database: Database) -> list[tuple[str, str]]:
    with database.transaction() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.seq)
        )
        return [(row.action, row.outcome) for row in rows]


def count(database: Database, model: type) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def max_failures(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("OPSCHUB_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("OPSCHUB_LOGIN_LOCKOUT_MINUTES", "10")
    config.get_settings.cache_clear()
    return 3


# --- users ----------------------------------------------------------------------------------


def test_create_user_with_one_time_password(database: Database) -> None:
    with database.transaction() as session:
        user, one_time = service.create_user(
            session, username=" Alice.Smith ", role="analyst", display_name="Alice Smith"
        )
    assert one_time is not None and len(one_time) >= 12
    assert user.username == "alice.smith"
    assert user.must_change_password
    assert user.password_hash.startswith("$argon2id$") and one_time not in user.password_hash
    assert actions(database) == [("accounts.user.created", "ok")]
    with database.transaction() as session:
        assert service.authenticate(session, "ALICE.smith", one_time).ok


def test_create_user_with_given_password_needs_no_change(database: Database) -> None:
    with database.transaction() as session:
        user, one_time = service.create_user(
            session, username="bob", role=Role.CASE_WORKER, password=PASSWORD
        )
    assert one_time is None and not user.must_change_password


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"role": "overlord"}, "role", "unknown_role"),
        ({"role": "partner"}, "role", "partner_role"),
        ({"username": "x"}, "username", "invalid_username"),
        ({"username": "has space"}, "username", "invalid_username"),
        ({"password": "short1A"}, "password", "too_short"),
        ({"password": "carol-is-my-name-1"}, "password", "username"),
        ({"password": "iloveyou1234"}, "password", "common"),
        ({"display_name": "x" * 201}, "display_name", "too_long"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    database: Database, kwargs: dict[str, str], field: str, code: str
) -> None:
    arguments = {"username": "carol", "role": "analyst", **kwargs}
    with pytest.raises(AccountError) as caught, database.transaction() as session:
        service.create_user(session, **arguments)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.code) == (field, code)
    assert count(database, User) == 0
    assert actions(database) == []


def test_unknown_role_message_lists_known_roles(database: Database) -> None:
    with (
        pytest.raises(AccountError, match="known roles: admin, analyst"),
        database.transaction() as session,
    ):
        service.create_user(session, username="carol", role="overlord")


def test_duplicate_user_is_refused(database: Database) -> None:
    create_user(database, Role.ANALYST, username="dave")
    with (
        pytest.raises(service.DuplicateUser, match="already exists"),
        database.transaction() as session,
    ):
        service.create_user(session, username="DAVE", role="auditor")
    assert count(database, User) == 1


def test_last_administrator_cannot_be_disabled_or_demoted(database: Database) -> None:
    admin, _ = create_user(database, Role.ADMIN)
    with (
        pytest.raises(AccountError, match="last administrator"),
        database.transaction() as session,
    ):
        service.set_disabled(session, admin.id, True, None)
    with (
        pytest.raises(AccountError, match="last administrator"),
        database.transaction() as session,
    ):
        service.change_role(session, admin.id, "analyst", None)
    create_user(database, Role.ADMIN)
    with database.transaction() as session:
        assert service.change_role(session, admin.id, "auditor", None).role is Role.AUDITOR
    assert actions(database)[-1] == ("accounts.user.role_changed", "ok")


def test_ensure_admin_is_idempotent_and_recovers(database: Database) -> None:
    with database.transaction() as session:
        created = service.ensure_admin(session)
    assert created is not None
    admin, one_time = created
    assert admin.username == "admin" and admin.role is Role.ADMIN and admin.must_change_password
    with database.transaction() as session:
        assert service.ensure_admin(session) is None
        assert service.authenticate(session, "admin", one_time).ok
    assert [a for a, _ in actions(database)].count("accounts.user.created") == 1


def test_ensure_admin_promotes_an_existing_user_called_admin(database: Database) -> None:
    create_user(database, Role.ANALYST, username="admin")
    with database.transaction() as session:
        created = service.ensure_admin(session)
    assert created is not None
    admin, one_time = created
    assert admin.role is Role.ADMIN and admin.must_change_password
    with database.transaction() as session:
        assert service.authenticate(session, "admin", one_time).ok


# --- login and lock-out ---------------------------------------------------------------------


def test_login_success_resets_failures_and_is_audited(database: Database) -> None:
    user, password = create_user(database, Role.CASE_WORKER)  # a role without two-factor
    with database.transaction() as session:
        assert not service.authenticate(session, user.username, "wrong password 1234").ok
        result = service.authenticate(session, user.username, password)
    assert result.ok and result.user is not None and not result.needs_totp
    assert result.user.failed_logins == 0 and result.user.last_login_at is not None
    assert actions(database)[-2:] == [
        ("accounts.login.failed", "refused"),
        ("accounts.login", "ok"),
    ]


def test_unknown_user_fails_like_a_wrong_password(database: Database) -> None:
    with database.transaction() as session:
        result = service.authenticate(session, "nobody", "whatever password 1")
    assert not result.ok and result.reason == "invalid" and result.user is None
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert event.actor_kind == "public" and "nobody" not in str(event.details)


def test_disabled_user_cannot_log_in(database: Database) -> None:
    user, password = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        service.set_disabled(session, user.id, True, None)
        result = service.authenticate(session, user.username, password)
    assert not result.ok and result.reason == "invalid"


def test_lock_out_after_repeated_failures_then_expiry(
    database: Database, max_failures: int
) -> None:
    user, password = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        for _ in range(max_failures - 1):
            assert service.authenticate(session, user.username, "wrong password 1234").reason == (
                "invalid"
            )
        locked = service.authenticate(session, user.username, "wrong password 1234")
    assert locked.reason == "locked" and locked.locked_until is not None
    assert ("accounts.login.locked", "refused") in actions(database)
    # Even the right password is refused while locked, and that is audited too.
    with database.transaction() as session:
        assert service.authenticate(session, user.username, password).reason == "locked"
    assert actions(database)[-1] == ("accounts.login.failed", "refused")
    with (
        clock.frozen(locked.locked_until + timedelta(seconds=1)),
        database.transaction() as session,
    ):
        assert service.authenticate(session, user.username, password).ok


def test_password_parameters_changed_means_rehash_at_login(database: Database) -> None:
    from argon2 import PasswordHasher

    from opschub.accounts import passwords

    user, password = create_user(database, Role.ANALYST)
    previous = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=2048, parallelism=1))
    try:
        with database.transaction() as session:
            result = service.authenticate(session, user.username, password)
        assert result.user is not None
        assert "m=2048" in result.user.password_hash
        assert "m=2048" not in user.password_hash
    finally:
        passwords.use_hasher(previous)


def test_change_password_checks_rules_and_ends_other_sessions(database: Database) -> None:
    user, password = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        _raw_a, kept = service.start_session(session, user, totp_verified=True)
        raw_b, _ = service.start_session(session, user, totp_verified=True)
    with pytest.raises(AccountError) as wrong, database.transaction() as session:
        service.change_password(session, user.id, "not it 12345", "New password 2026!")
    assert (wrong.value.field, wrong.value.code) == ("current_password", "wrong_password")
    with pytest.raises(PasswordRuleError) as weak, database.transaction() as session:
        service.change_password(session, user.id, password, "tooshort")
    assert (weak.value.field, weak.value.rule) == ("new_password", "too_short")
    with pytest.raises(PasswordRuleError) as same, database.transaction() as session:
        service.change_password(session, user.id, password, password)
    assert same.value.rule == "unchanged"
    with database.transaction() as session:
        service.change_password(
            session, user.id, password, "New password 2026!", keep_session_id=kept.id
        )
        assert service.resolve_session(session, raw_b) is None
        assert [row.id for row in session.scalars(select(UserSession))] == [kept.id]
        assert service.authenticate(session, user.username, "New password 2026!").ok


def test_reset_password_forces_change_and_ends_sessions(database: Database) -> None:
    user, _ = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        raw, _row = service.start_session(session, user, totp_verified=True)
        one_time = service.reset_password(session, user.id, None)
    with database.transaction() as session:
        assert service.resolve_session(session, raw) is None
        result = service.authenticate(session, user.username, one_time)
        assert result.ok and result.user is not None and result.user.must_change_password
        raw, _row = service.start_session(session, result.user, totp_verified=True)
        principal = service.resolve_session(session, raw)
    assert principal is not None and principal.must_change_password
    assert principal.permissions == frozenset()  # nothing until the password is changed


# --- sessions ---------------------------------------------------------------------------------


def test_session_stores_only_a_hash_and_resolves(database: Database) -> None:
    user, _ = create_user(database, Role.STATISTICIAN)
    with database.transaction() as session:
        raw, row = service.start_session(session, user, totp_verified=False)
    assert raw not in row.token_hash and len(row.token_hash) == 64
    with database.transaction() as session:
        principal = service.resolve_session(session, raw)
        assert service.resolve_session(session, raw + "x") is None
        assert service.resolve_session(session, "") is None
    assert principal is not None
    assert (principal.kind, principal.id, principal.role) == ("user", user.id, Role.STATISTICIAN)
    assert principal.permissions == permissions_of(Role.STATISTICIAN)
    assert principal.session_id == row.id and principal.csrf_token
    assert not principal.totp_pending  # no TOTP set up: nothing pending


def test_session_expires(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Longer than the session itself: only the absolute lifetime is tested here.
    monkeypatch.setenv("OPSCHUB_SESSION_IDLE_MINUTES", str(24 * 60))
    config.get_settings.cache_clear()
    user, _ = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        raw, row = service.start_session(session, user, totp_verified=True)
    hours = config.get_settings().session_hours
    with clock.frozen(row.expires_at - timedelta(seconds=1)), database.transaction() as session:
        assert service.resolve_session(session, raw) is not None
    assert row.expires_at - row.created_at == timedelta(hours=hours)
    with clock.frozen(row.expires_at), database.transaction() as session:
        assert service.resolve_session(session, raw) is None


def test_end_session_and_disable_end_access(database: Database) -> None:
    user, _ = create_user(database, Role.ANALYST)
    other, _ = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        raw, _row = service.start_session(session, user, totp_verified=True)
        raw_other, _row = service.start_session(session, other, totp_verified=True)
        service.end_session(session, raw)
        service.end_session(session, "unknown cookie value")
        assert service.resolve_session(session, raw) is None
        service.set_disabled(session, other.id, True, None)
        assert service.resolve_session(session, raw_other) is None
    assert ("accounts.logout", "ok") in actions(database)
    assert ("accounts.user.disabled", "ok") in actions(database)


# --- TOTP ---------------------------------------------------------------------------------------


def test_admin_without_totp_must_set_it_up(database: Database) -> None:
    admin, _ = create_user(database, Role.ADMIN, totp=False)
    with database.transaction() as session:
        raw, row = service.start_session(session, admin, totp_verified=False)
        principal = service.resolve_session(session, raw)
    assert principal is not None and principal.extra["totp_setup_required"]
    assert principal.permissions == frozenset()
    with database.transaction() as session:
        secret = service.begin_totp_setup(session, admin.id)
        assert service.begin_totp_setup(session, admin.id) == secret  # kept until confirmed
    with pytest.raises(AccountError) as wrong, database.transaction() as session:
        service.confirm_totp_setup(session, admin.id, row.id, "000000")
    assert wrong.value.code == "wrong_code"
    with database.transaction() as session:
        service.confirm_totp_setup(
            session, admin.id, row.id, totp_code(database, admin.username, secret)
        )
        principal = service.resolve_session(session, raw)
        stored = session.get(User, admin.id)
        assert stored is not None and stored.totp_secret == secret
    assert principal is not None and principal.permissions == permissions_of(Role.ADMIN)
    # The secret is encrypted at rest: the raw column does not hold it.
    with database.engine.connect() as conn:
        blob = conn.exec_driver_sql(
            "SELECT totp_secret FROM users WHERE id = %s"
            if database.url.startswith("postgres")
            else "SELECT totp_secret FROM users WHERE id = ?",
            (admin.id,),
        ).scalar_one()
    assert secret.encode() not in bytes(blob)


def test_login_totp_wrong_code_counts_and_right_code_completes(
    database: Database, max_failures: int
) -> None:
    admin, password = create_user(database, Role.ADMIN)
    assert admin.totp_secret is not None
    with database.transaction() as session:
        result = service.authenticate(session, admin.username, password)
        assert result.ok and result.needs_totp and result.user is not None
        raw, row = service.start_session(session, result.user, totp_verified=False)
        pending = service.resolve_session(session, raw)
        assert pending is not None and pending.totp_pending and pending.permissions == frozenset()
        wrong = service.verify_login_totp(session, row.id, "000000")
        assert not wrong.ok and wrong.reason == "wrong_code"
        assert session.get(User, admin.id).failed_logins == 1  # type: ignore[union-attr]
    code = totp_code(database, admin.username, admin.totp_secret)
    with database.transaction() as session:
        done = service.verify_login_totp(session, row.id, code)
        assert done.ok and done.session_cookie is not None
        full = service.resolve_session(session, done.session_cookie)
        assert full is not None and not full.totp_pending
        # The same code cannot be used again.
        _raw2, row2 = service.start_session(session, admin, totp_verified=False)
        assert service.verify_login_totp(session, row2.id, code).reason == "wrong_code"
    assert ("accounts.login.totp", "ok") in actions(database)


def test_wrong_totp_codes_lock_out_and_end_the_session(
    database: Database, max_failures: int
) -> None:
    admin, _ = create_user(database, Role.ADMIN)
    with database.transaction() as session:
        raw, row = service.start_session(session, admin, totp_verified=False)
        results = [service.verify_login_totp(session, row.id, "000000") for _ in range(3)]
    assert results[-1].reason == "locked"
    with database.transaction() as session:
        assert service.resolve_session(session, raw) is None


def test_reset_totp_by_administrator(database: Database) -> None:
    admin, _ = create_user(database, Role.ADMIN)
    with database.transaction() as session:
        service.reset_totp(session, admin.id, None)
        raw, _row = service.start_session(session, admin, totp_verified=False)
        principal = service.resolve_session(session, raw)
    assert principal is not None and principal.extra["totp_setup_required"]


# --- API tokens ---------------------------------------------------------------------------------


def test_partner_token_resolves_and_is_stored_hashed(database: Database) -> None:
    with database.transaction() as session:
        token, raw = service.create_token(
            session,
            name="Example ISP",
            permissions=["reports.submit"],
            expires_in_days=90,
            actor=None,
            partner=True,
        )
    assert raw.startswith(f"opschub_{token.id}_")
    assert raw.rsplit("_", 1)[-1] not in token.secret_hash
    with database.transaction() as session:
        principal = service.resolve_token(session, raw)
    assert principal.kind == "token" and principal.role is Role.PARTNER
    assert principal.permissions == frozenset({"reports.submit"})
    assert actions(database) == [("accounts.token.created", "ok")]


def test_token_permissions_must_be_a_subset_of_its_role(database: Database) -> None:
    cases = [
        ({"partner": True, "permissions": ["reports.read"]}, "not_granted"),
        ({"role": "analyst", "permissions": ["users.manage"]}, "not_granted"),
        ({"role": "analyst", "permissions": ["no.such"]}, "unknown_permission"),
        ({"role": "analyst", "permissions": []}, "no_permissions"),
        ({"permissions": ["reports.read"]}, "role_required"),
        ({"role": "boss", "permissions": ["reports.read"]}, "unknown_role"),
    ]
    for kwargs, code in cases:
        arguments: dict[str, object] = {"name": "t", "expires_in_days": 30, "actor": None, **kwargs}
        with pytest.raises(AccountError) as caught, database.transaction() as session:
            service.create_token(session, **arguments)  # type: ignore[arg-type]
        assert caught.value.code == code, kwargs
    for days in (0, 3651):
        with pytest.raises(AccountError, match="expiry"), database.transaction() as session:
            service.create_token(
                session,
                name="t",
                permissions=["reports.submit"],
                expires_in_days=days,
                actor=None,
                partner=True,
            )
    assert count(database, ApiToken) == 0


def test_token_created_by_a_person_acts_for_their_role(database: Database) -> None:
    admin, _ = create_user(database, Role.ADMIN)
    with database.transaction() as session:
        raw_cookie, _row = service.start_session(session, admin, totp_verified=True)
        actor = service.resolve_session(session, raw_cookie)
        assert actor is not None
        token, raw = service.create_token(
            session,
            name="list sync",
            permissions=["hashlists.read"],
            expires_in_days=7,
            actor=actor,
        )
        assert token.role is Role.ADMIN and token.created_by_id == admin.id
        with pytest.raises(AccountError) as caught:
            service.create_token(
                session,
                name="x",
                permissions=["reports.read"],
                expires_in_days=7,
                actor=actor,
                role="analyst",
            )
        assert caught.value.code == "foreign_role"
        assert service.resolve_token(session, raw).permissions == frozenset({"hashlists.read"})
    # It never does more than its creator can now: demoted, then disabled.
    create_user(database, Role.ADMIN)
    with database.transaction() as session:
        service.change_role(session, admin.id, "auditor", None)
        assert service.resolve_token(session, raw).permissions == frozenset()
        service.set_disabled(session, admin.id, True, None)
        with pytest.raises(TokenError, match="revoked"):
            service.resolve_token(session, raw)


def test_token_expiry_and_revocation(database: Database) -> None:
    with database.transaction() as session:
        token, raw = service.create_token(
            session,
            name="p",
            permissions=["reports.submit"],
            expires_in_days=1,
            actor=None,
            partner=True,
        )
    with (
        clock.frozen(token.expires_at),
        database.transaction() as session,
        pytest.raises(TokenError, match="expired"),
    ):
        service.resolve_token(session, raw)
    with database.transaction() as session:
        service.resolve_token(session, raw)
        service.revoke_token(session, token.id, None)
        service.revoke_token(session, token.id, None)  # again: no change, no error
    with database.transaction() as session, pytest.raises(TokenError, match="revoked"):
        service.resolve_token(session, raw)
    with database.transaction() as session:
        for bad in ("", "opschub_nope", raw[:-1] + ("A" if raw[-1] != "A" else "B")):
            with pytest.raises(TokenError, match="unknown"):
                service.resolve_token(session, bad)
        with pytest.raises(AccountError, match="no API token"):
            service.revoke_token(session, "0" * 32, None)
    assert [a for a, _ in actions(database)].count("accounts.token.revoked") == 1


def test_audit_chain_of_account_events_is_intact(database: Database) -> None:
    user, password = create_user(database, Role.ANALYST)
    with database.transaction() as session:
        service.authenticate(session, user.username, password)
        service.authenticate(session, user.username, "wrong password 1234")
        service.reset_password(session, user.id, None)
    with database.transaction() as session:
        assert verify(session) == []


def test_concurrent_failures_are_all_counted(database: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    user, _ = create_user(database, Role.ANALYST)

    def fail() -> None:
        with database.transaction() as session:
            service.authenticate(session, user.username, "wrong password 1234")

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(fail) for _ in range(4)]:
            future.result()
    with database.transaction() as session:
        assert service.require_user(session, user.username).failed_logins == 4
