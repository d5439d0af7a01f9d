"""Notices to hosting providers, police units and partner hotlines: the message, not the sending.

A notice is built from plain data (:class:`Notice`) and becomes

- one **X-ARF v4** report per URL (JSON; category ``content``, type ``csam``, with the
  evidence hashes and the classification; :func:`xarf_reports`), and
- a **plain-language body** in the recipient's language (``en`` or ``zh-Hans``) from the Jinja
  templates in ``templates/takedown/notices/``, carrying what the EU Digital Services Act Art. 16(2)
  asks of a notice: the exact URLs, a substantiated explanation of why the content is illegal,
  the sender's name and address, and a statement of good faith (:func:`render_body`).

:func:`build_email` puts both into an ``EmailMessage`` whose ``Message-ID`` is derived from the
notice id, so a message re-sent after a crash is recognisably the same notice. No material is
ever attached: only hashes. Every body passes the terminology checker before it is returned.
Sending with retries is the job worker's part (:mod:`opschub.takedown.sending`, through the
installation's mail relay, :mod:`opschub.mail`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Literal

import jinja2

from opschub.clock import as_utc
from opschub.terms.checker import ensure_clean

XARF_VERSION = "4.2.0"
_DOMAIN = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$")  # the schema's own pattern
LANGUAGES = ("en", "zh-Hans")
Classification = Literal["baseline", "A1", "A2", "B1", "B2"]
DetectionMethod = Literal["hash_match", "manual_review", "user_report", "automated_scan"]
MediaType = Literal["image", "video", "audio", "text", "mixed"]
Role = Literal["host", "police", "hotline"]


@dataclass(frozen=True)
class Party:
    """The sender (the hotline) or the recipient of a notice."""

    org: str
    email: str
    domain: str
    language: str = "en"
    address: str | None = None  # postal address, shown in the body's signature


@dataclass(frozen=True)
class NoticeItem:
    """One URL and what was found there."""

    url: str
    classification: Classification  # "baseline": illegal everywhere (INTERPOL baseline)
    media_type: MediaType = "image"
    sha256: str | None = None
    md5: str | None = None
    sha1: str | None = None
    pdq: str | None = None
    ip: str | None = None
    national_category: str | None = None  # e.g. "A", with its legal reference below
    legal_reference: str | None = None
    first_seen: datetime | None = None

    def hashes(self) -> dict[str, str]:
        pairs = (("sha256", self.sha256), ("md5", self.md5), ("sha1", self.sha1), ("pdq", self.pdq))
        return {name: value for name, value in pairs if value}


@dataclass(frozen=True)
class Notice:
    notice_id: str  # opschub.ids.new_id(): the idempotency key of every attempt
    sender: Party
    recipient: Party
    items: tuple[NoticeItem, ...]
    created_at: datetime
    role: Role = "host"
    detection_method: DetectionMethod = "manual_review"
    reference: str | None = None  # the hotline's case reference
    acknowledge_url: str | None = None  # a link the recipient follows to confirm receipt
    hosting_country: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(hex=self.notice_id)


class NoticeError(ValueError):
    """A notice cannot be built from this data; the message names the field."""


def _check(notice: Notice) -> None:
    problems = []
    if not notice.items:
        problems.append("items: a notice needs at least one URL")
    if notice.recipient.language not in LANGUAGES:
        problems.append(f"recipient.language: {notice.recipient.language!r} is not en or zh-Hans")
    for n, item in enumerate(notice.items):
        if not item.url.startswith(("http://", "https://")):
            problems.append(f"items[{n}].url: {item.url!r} is not an http(s) URL")
        if not item.hashes():
            problems.append(f"items[{n}]: at least one hash is needed")
    try:
        uuid.UUID(hex=notice.notice_id)
    except ValueError:
        problems.append(f"notice_id: {notice.notice_id!r} is not a 32-digit id")
    if problems:
        raise NoticeError("; ".join(problems))


def _utc(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def xarf_reports(notice: Notice) -> list[dict[str, object]]:
    """One X-ARF v4 ``content``/``csam`` report per URL of the notice. The report id is derived
    from the notice id and the URL, so a re-sent notice carries the same report ids."""
    _check(notice)
    sender = {
        "org": notice.sender.org,
        "contact": notice.sender.email,
        "domain": notice.sender.domain,
    }
    manifest = json.dumps(
        [{"url": i.url, **i.hashes()} for i in notice.items], ensure_ascii=False, sort_keys=True
    ).encode()
    evidence = {
        "content_type": "application/json",
        "description": "Hashes of the reported items (no material is attached)",
        "payload": base64.b64encode(manifest).decode(),
        "hash": "sha256:" + hashlib.sha256(manifest).hexdigest(),
        "size": len(manifest),
    }
    reports: list[dict[str, object]] = []
    for item in notice.items:
        host = (item.url.split("://", 1)[1].split("/", 1)[0].split("@")[-1]).rsplit(":", 1)[0]
        report: dict[str, object] = {
            "xarf_version": XARF_VERSION,
            "report_id": str(uuid.uuid5(notice.uuid, item.url)),
            "timestamp": _utc(item.first_seen or notice.created_at),
            "reporter": sender,
            "sender": sender,
            "source_identifier": item.ip or host.strip("[]"),
            "category": "content",
            "type": "csam",
            "url": item.url,
            "classification": item.classification,
            "detection_method": notice.detection_method,
            "media_type": item.media_type,
            "evidence_source": "manual_review"
            if notice.detection_method == "manual_review"
            else "automated_scan",
            "hash_values": {k: v for k, v in item.hashes().items() if k != "pdq"},
            "content_removed": False,
            "confidence": 1.0,
            "description": _description(item),
            "evidence": [evidence],
        }
        if notice.hosting_country:
            report["country_code"] = notice.hosting_country
        if _DOMAIN.match(host.lower()):
            report["domain"] = host.lower()
        report["verified_at"] = _utc(notice.created_at)
        report["verification_method"] = (
            "manual" if notice.detection_method == "manual_review" else "automated_crawler"
        )
        reports.append(report)
    return reports


def _description(item: NoticeItem) -> str:
    if item.classification == "baseline":
        text = "Child sexual abuse material meeting the international baseline"
    else:
        text = f"Child sexual abuse material, category {item.classification}"
    if item.national_category:
        text += f"; national category {item.national_category}"
    if item.legal_reference:
        text += f" ({item.legal_reference})"
    return text[:1000]


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("opschub.takedown", "templates"),
        autoescape=False,  # plain text mail, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_body(notice: Notice, language: str | None = None) -> str:
    """The plain-language body in ``language`` (default: the recipient's)."""
    _check(notice)
    language = language or notice.recipient.language
    if language not in LANGUAGES:
        raise NoticeError(f"language: {language!r} is not en or zh-Hans")
    body = (
        _templates()
        .get_template(f"takedown/notices/notice.{language}.txt")
        .render(notice=notice, created=_utc(notice.created_at))
    )
    ensure_clean(body, lang="en" if language == "en" else "zh", markup=False)
    return body


def render_subject(notice: Notice, language: str | None = None) -> str:
    language = language or notice.recipient.language
    body = (
        _templates().get_template(f"takedown/notices/subject.{language}.txt").render(notice=notice)
    )
    subject = " ".join(body.split())
    ensure_clean(subject, lang="en" if language == "en" else "zh", markup=False)
    return subject


def message_id(notice: Notice) -> str:
    """The same for every attempt of one notice: receivers and our own worker can tell a
    retry from a new notice."""
    return f"<notice-{notice.notice_id}@{notice.sender.domain}>"


def build_email(notice: Notice) -> EmailMessage:
    """The notice as an email: the body in the recipient's language, one X-ARF JSON
    attachment per URL, and headers that identify the notice."""
    message = EmailMessage()
    message["From"] = formataddr((notice.sender.org, notice.sender.email))
    message["To"] = formataddr((notice.recipient.org, notice.recipient.email))
    message["Subject"] = render_subject(notice)
    message["Date"] = format_datetime(as_utc(notice.created_at))
    message["Message-ID"] = message_id(notice)
    message["X-Opschub-Notice-Id"] = notice.notice_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_body(notice), charset="utf-8")
    message["Content-Language"] = notice.recipient.language  # moves to the text part below
    for n, report in enumerate(xarf_reports(notice), start=1):
        message.add_attachment(
            json.dumps(report, ensure_ascii=False, indent=2).encode(),
            maintype="application",
            subtype="json",
            filename=f"xarf-{notice.notice_id}-{n}.json",
        )
    return message
