"""Secrets are encrypted at rest: the stored bytes do not contain them, and tampering is caught."""

from __future__ import annotations

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from opschub.crypto import DecryptionError, EncryptedText, decrypt, encrypt
from opschub.db import Database, IdMixin

SECRET = "Contact: +86 138 0000 0000, reporter@example.org"


class _TestBase(DeclarativeBase):
    """Kept out of the application's metadata (and so out of the migrations)."""


class _Vault(IdMixin, _TestBase):
    __tablename__ = "test_crypto_vault"
    label: Mapped[str] = mapped_column(String(20))
    secret: Mapped[str] = mapped_column(EncryptedText("test_crypto_vault.secret"))


def test_round_trip_and_context_binding() -> None:
    blob = encrypt(SECRET.encode(), "reports.contact")
    assert SECRET.encode() not in blob
    assert decrypt(blob, "reports.contact").decode() == SECRET
    with pytest.raises(DecryptionError):
        decrypt(blob, "users.totp_secret")  # moved to another field
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(DecryptionError):
        decrypt(tampered, "reports.contact")
    with pytest.raises(DecryptionError):
        decrypt(blob, "reports.contact", master_secret="another-master-secret-0123456789abcdef")


def test_each_value_gets_its_own_key() -> None:
    assert encrypt(b"same", "f") != encrypt(b"same", "f")


def test_column_is_ciphertext_in_the_database(database: Database) -> None:
    _Vault.__table__.create(database.engine, checkfirst=True)  # type: ignore[attr-defined]
    try:
        with database.transaction() as session:
            session.add(_Vault(label="a", secret=SECRET))
        with database.engine.connect() as conn:
            raw = conn.execute(text("SELECT secret FROM test_crypto_vault")).scalar_one()
        assert isinstance(raw, bytes | memoryview)
        assert b"138 0000" not in bytes(raw) and b"example.org" not in bytes(raw)
        with database.transaction() as session:
            assert session.execute(select(_Vault.secret)).scalar_one() == SECRET
    finally:
        _Vault.__table__.drop(database.engine)  # type: ignore[attr-defined]
