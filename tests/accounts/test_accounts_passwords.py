"""Password rules, argon2 hashing and rehashing, one-time passwords."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from opschub.accounts import passwords
from opschub.accounts.passwords import PasswordRuleError, check_password


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Short1!", "too_short"),
        ("abcdefghijklmnop", "one_class"),
        ("ABCDEFGHIJKLMNOP", "one_class"),
        ("1234567890123", "one_class"),
        ("!!!!!!!!!!!!!!", "one_class"),
        ("alice.smith2026", "username"),
        ("ALICE.SMITH", "too_short"),
        ("Password1234", "common"),
        ("QWERTY123456", "common"),
    ],
)
def test_rules_name_the_broken_rule(password: str, rule: str) -> None:
    with pytest.raises(PasswordRuleError) as caught:
        check_password(password, "alice.smith")
    assert caught.value.rule == rule
    assert caught.value.field == "password"
    assert str(caught.value) == passwords.RULES[rule].message


def test_good_passwords_pass() -> None:
    for password in (
        "correct horse battery staple 42",
        "Tr0ub4dor&3xyz",
        "长城长城长城长城长城长城1",
    ):
        check_password(password, "alice")


def test_short_username_is_compared_whole() -> None:
    check_password("al-is-part-of-this-1", "al")  # contained, but too short to matter
    with pytest.raises(PasswordRuleError):
        check_password("Bobbybobby12", "bobbybobby12")


def test_hash_verify_and_rehash_when_parameters_change() -> None:
    cheap = passwords.hash_password("correct horse battery staple 42")
    assert cheap.startswith("$argon2id$")
    assert passwords.verify_password(cheap, "correct horse battery staple 42")
    assert not passwords.verify_password(cheap, "wrong horse battery staple 42")
    assert not passwords.verify_password("not a hash", "anything")
    assert not passwords.needs_rehash(cheap)
    previous = passwords.use_hasher(PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1))
    try:
        assert passwords.needs_rehash(cheap)
        assert not passwords.needs_rehash(passwords.hash_password("another password 42"))
    finally:
        passwords.use_hasher(previous)


def test_one_time_passwords_pass_the_rules_and_differ() -> None:
    seen = {passwords.one_time_password("ab") for _ in range(50)}
    assert len(seen) == 50
    for value in seen:
        check_password(value, "ab")
        assert not set(value) & set("0O1lI")


def test_common_list_only_holds_passwords_the_other_rules_allow() -> None:
    for common in passwords.COMMON_PASSWORDS:
        assert len(common) >= passwords.MIN_LENGTH, common
