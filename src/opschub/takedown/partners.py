"""The partner directory: hotlines abroad that content hosted in their country is forwarded to.

The only writer of ``takedown_partners``. Each partner has a country (ISO 3166 alpha-2), the
language its notices are written in, a channel (``email`` or a signed ``webhook``), an address
(the email address or the webhook URL) and, for a webhook, the shared secret (encrypted at rest,
never shown again). :func:`load` reads a TOML file all-or-nothing and names every bad field::

    [[partner]]
    name = "Example Hotline"
    country = "NL"
    language = "en"
    channel = "webhook"
    address = "https://hotline.example/notices"
    secret = "a shared secret of 16 or more characters"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opschub.audit import service as audit
from opschub.audit.service import Actor
from opschub.clock import utcnow
from opschub.takedown.notice_models import CHANNELS, LANGUAGES, Partner

TARGET_TYPE = "takedown_partner"
MIN_SECRET = 16


class PartnerError(ValueError):
    """Bad partner data; ``errors`` maps each field (``file:line: partner[2].country``) to why."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class PartnerIn:
    name: str
    country: str
    channel: str
    address: str
    language: str = "en"
    secret: str | None = None


@dataclass(frozen=True)
class PartnerView:
    id: str
    name: str
    country: str
    language: str
    channel: str
    address: str
    has_secret: bool
    active: bool


def _view(partner: Partner) -> PartnerView:
    return PartnerView(
        partner.id,
        partner.name,
        partner.country,
        partner.language,
        partner.channel,
        partner.address,
        bool(partner.webhook_secret),
        partner.active,
    )


def check(partner: PartnerIn, where: str = "") -> dict[str, str]:
    """Every problem of one partner, by field name (prefixed with ``where``)."""
    errors: dict[str, str] = {}
    prefix = f"{where}." if where else ""
    if not partner.name.strip() or len(partner.name) > 200:
        errors[f"{prefix}name"] = "a name of 1 to 200 characters is required"
    if not (len(partner.country) == 2 and partner.country.isascii() and partner.country.isalpha()):
        errors[f"{prefix}country"] = f"{partner.country!r} is not a two-letter country code"
    if partner.language not in LANGUAGES:
        errors[f"{prefix}language"] = f"{partner.language!r} is not one of {', '.join(LANGUAGES)}"
    if partner.channel not in CHANNELS:
        errors[f"{prefix}channel"] = f"{partner.channel!r} is not one of {', '.join(CHANNELS)}"
    elif partner.channel == "email":
        local, _, domain = partner.address.partition("@")
        if not local or "." not in domain or " " in partner.address:
            errors[f"{prefix}address"] = f"{partner.address!r} is not an email address"
        if partner.secret:
            errors[f"{prefix}secret"] = "only a webhook has a secret"
    else:
        if not partner.address.startswith(("https://", "http://")):
            errors[f"{prefix}address"] = f"{partner.address!r} is not an http(s) URL"
        if not partner.secret or len(partner.secret) < MIN_SECRET:
            errors[f"{prefix}secret"] = f"a webhook needs a secret of {MIN_SECRET}+ characters"
    return errors


def add_many(session: Session, actor: Actor | None, partners: Sequence[PartnerIn]) -> list[str]:
    """Add (or, for the same country and name, replace) partners; all or nothing. Their ids."""
    errors: dict[str, str] = {}
    for n, partner in enumerate(partners, start=1):
        errors.update(check(partner, f"partner[{n}]" if len(partners) > 1 else ""))
    if errors:
        raise PartnerError(errors)
    ids = []
    events = []
    now = utcnow()
    for partner in partners:
        country = partner.country.upper()
        row = session.scalar(
            select(Partner).where(Partner.country == country, Partner.name == partner.name.strip())
        )
        action = "takedown.partner.changed" if row else "takedown.partner.added"
        if row is None:
            row = Partner(country=country, name=partner.name.strip())
            session.add(row)
        row.language = partner.language
        row.channel = partner.channel
        row.address = partner.address.strip()
        row.webhook_secret = partner.secret if partner.channel == "webhook" else None
        row.active = True
        row.updated_at = now
        session.flush()
        ids.append(row.id)
        events.append(
            audit.EventIn(
                action=action,
                actor=actor,
                actor_label=None if actor else "command line",
                target_type=TARGET_TYPE,
                target_id=row.id,
                details={"name": row.name, "country": country, "channel": row.channel},
            )
        )
    audit.record_many(session, events)
    return ids


def add(session: Session, actor: Actor | None, partner: PartnerIn) -> str:
    return add_many(session, actor, [partner])[0]


def set_active(session: Session, actor: Actor | None, partner_id: str, active: bool) -> None:
    row = session.get(Partner, partner_id)
    if row is None:
        raise PartnerError({"partner": f"no partner {partner_id!r}"})
    if row.active == active:
        return
    row.active = active
    row.updated_at = utcnow()
    audit.record(
        session,
        action="takedown.partner.enabled" if active else "takedown.partner.disabled",
        actor=actor,
        actor_label=None if actor else "command line",
        target_type=TARGET_TYPE,
        target_id=row.id,
        details={"name": row.name, "country": row.country},
    )


def parse_toml(text: str, file: str) -> list[PartnerIn]:
    """The partners of a TOML file; PartnerError names the file, line and field of every
    problem (TOML keeps no line per table, so a bad value is named by its entry)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", 0) or 0
        raise PartnerError({f"{file}:{line}": str(exc)}) from None
    entries = data.get("partner")
    if not isinstance(entries, list) or not entries:
        raise PartnerError({f"{file}": "no [[partner]] entries"})
    partners: list[PartnerIn] = []
    errors: dict[str, str] = {}
    lines = _entry_lines(text)
    for n, entry in enumerate(entries, start=1):
        where = f"{file}:{lines[n - 1] if n <= len(lines) else 0}: partner[{n}]"
        values: dict[str, Any] = {}
        for name in ("name", "country", "channel", "address", "language", "secret"):
            value = entry.get(name)
            if value is not None and not isinstance(value, str):
                errors[f"{where}.{name}"] = "must be text"
            values[name] = value
        unknown = sorted(set(entry) - set(values))
        if unknown:
            errors[f"{where}.{unknown[0]}"] = "unknown field"
        partner = PartnerIn(
            name=str(values["name"] or ""),
            country=str(values["country"] or ""),
            channel=str(values["channel"] or ""),
            address=str(values["address"] or ""),
            language=str(values["language"] or "en"),
            secret=values["secret"] if isinstance(values["secret"], str) else None,
        )
        errors.update(check(partner, where))
        partners.append(partner)
    if errors:
        raise PartnerError(errors)
    return partners


def _entry_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), start=1) if line.strip() == "[[partner]]"]


def load(session: Session, actor: Actor | None, text: str, file: str) -> list[str]:
    """Add or replace every partner of a TOML file, all or nothing."""
    return add_many(session, actor, parse_toml(text, file))


def partners(session: Session, *, active_only: bool = False) -> list[PartnerView]:
    query = select(Partner).order_by(Partner.country, Partner.name)
    if active_only:
        query = query.where(Partner.active.is_(True))
    return [_view(p) for p in session.scalars(query)]


def for_country(session: Session, country: str) -> list[Partner]:
    """The active partners of ``country`` (rows: the notice service reads the secret)."""
    return list(
        session.scalars(
            select(Partner)
            .where(Partner.country == country.upper(), Partner.active.is_(True))
            .order_by(Partner.name)
        )
    )


def secret_of(session: Session, partner_id: str) -> str | None:
    row = session.get(Partner, partner_id)
    return row.webhook_secret if row else None
