"""One outgoing mail server for the installation (OPSCHUB_SMTP_*): notices and referrals both send
through it (opschub.mail.Relay); the old names of takedown's and cases' own settings are still
read, each with a warning that names the setting to use instead, so that an installation keeps
sending mail after the upgrade."""

from __future__ import annotations

from pathlib import Path

import pytest

from opschub import config
from opschub.mail import MailFailed, Relay


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> config.Settings:
    for name in config.DEPRECATED_SETTINGS:
        monkeypatch.delenv(f"OPSCHUB_{name.upper()}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"OPSCHUB_{name}", value)
    config.get_settings.cache_clear()
    return config.load_settings()


def test_the_mail_server_is_one_setting_used_by_notices_and_referrals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here")
    settings = _settings(
        monkeypatch,
        SMTP_HOST="mail.hotline.example",
        SMTP_PORT="587",
        SMTP_USERNAME="opschub",
        SMTP_PASSWORD="secret",
        SMTP_REQUIRE_TLS="true",
        SMTP_CA_FILE=str(ca),
    )
    assert Relay.from_settings(settings) == Relay(
        host="mail.hotline.example",
        port=587,
        username="opschub",
        password="secret",
        require_tls=True,
        ca_file=str(ca),
    )


def test_the_old_notice_names_still_work_with_a_warning_naming_the_new_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.warns(config.DeprecatedSetting) as caught:
        settings = _settings(
            monkeypatch,
            NOTICE_SMTP_HOST="relay.example",
            NOTICE_SMTP_PORT="2525",
            NOTICE_SMTP_REQUIRE_TLS="true",
        )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_require_tls) == (
        "relay.example",
        2525,
        True,
    )
    messages = {str(w.message) for w in caught}
    assert any(
        "OPSCHUB_NOTICE_SMTP_HOST is deprecated: set OPSCHUB_SMTP_HOST" in m for m in messages
    )
    assert any("set OPSCHUB_SMTP_REQUIRE_TLS" in m for m in messages)


def test_the_old_cases_names_still_work_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(config.DeprecatedSetting) as caught:
        settings = _settings(monkeypatch, CASES_SMTP_HOST="relay.example", CASES_SMTP_PORT="26")
    assert sorted(str(w.message).split(" is ")[0] for w in caught) == [
        "OPSCHUB_CASES_SMTP_HOST",
        "OPSCHUB_CASES_SMTP_PORT",
    ]
    assert (settings.smtp_host, settings.smtp_port) == ("relay.example", 26)
    assert Relay.from_settings(settings).host == "relay.example"


def test_both_old_names_agreeing_are_one_server(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(config.DeprecatedSetting):
        settings = _settings(
            monkeypatch, NOTICE_SMTP_HOST="relay.example", CASES_SMTP_HOST="relay.example"
        )
    assert settings.smtp_host == "relay.example"


def test_old_names_that_disagree_stop_start_up_naming_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with (
        pytest.warns(config.DeprecatedSetting),
        pytest.raises(config.SettingsError) as refused,
    ):
        _settings(monkeypatch, NOTICE_SMTP_HOST="a.example", CASES_SMTP_HOST="b.example")
    assert str(refused.value) == (
        "OPSCHUB_NOTICE_SMTP_HOST and OPSCHUB_CASES_SMTP_HOST differ: set OPSCHUB_SMTP_HOST "
        "(one outgoing mail server) and remove both"
    )


def test_the_new_setting_wins_over_an_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.warns(config.DeprecatedSetting, match="OPSCHUB_CASES_SMTP_HOST is no longer used"):
        settings = _settings(monkeypatch, SMTP_HOST="new.example", CASES_SMTP_HOST="old.example")
    assert settings.smtp_host == "new.example"


def test_an_old_name_given_in_code_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    _settings(monkeypatch)
    with pytest.warns(config.DeprecatedSetting):
        settings = config.Settings(notice_smtp_host="relay.example", notice_smtp_port=2525)
    assert (settings.smtp_host, settings.smtp_port) == ("relay.example", 2525)


def test_without_a_mail_server_email_says_which_setting_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(MailFailed, match="OPSCHUB_SMTP_HOST is not set") as missing:
        Relay.from_settings(_settings(monkeypatch))
    assert not missing.value.permanent  # the job tries again: an operator can set it meanwhile
