"""Notice messages: X-ARF v4 reports the ``xarf`` package accepts, bodies in the recipient's
language carrying what DSA Art. 16 asks, the preferred terminology, and a real SMTP exchange
with STARTTLS on loopback."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import xarf

from loopback import free_port, self_signed
from opschub import mail
from opschub.takedown.notices import (
    Notice,
    NoticeError,
    NoticeItem,
    Party,
    build_email,
    render_body,
    render_subject,
    xarf_reports,
)
from opschub.terms.checker import check

TEMPLATES = Path(__file__).parents[2] / "src/opschub/takedown/templates/takedown/notices"
SHA = hashlib.sha256(b"benign test bytes").hexdigest()
MD5 = hashlib.md5(b"benign test bytes").hexdigest()
NOTICE_ID = "0192d6f5a1b27c3d8e4f5a6b7c8d9e0f"


def make_notice(language: str = "en", **changes: Any) -> Notice:
    notice = Notice(
        notice_id=NOTICE_ID,
        sender=Party(
            "Example Hotline",
            "notices@hotline.example",
            "hotline.example",
            address="1 Example Street, Example City",
        ),
        recipient=Party("Example Hosting", "abuse@hosting.example", "hosting.example", language),
        items=(
            NoticeItem(
                "https://files.hosting.example/u/abc/photo1.jpg",
                "baseline",
                sha256=SHA,
                md5=MD5,
                ip="192.0.2.10",
            ),
            NoticeItem(
                "https://files.hosting.example/u/abc/clip.mp4",
                "A1",
                media_type="video",
                sha256="ab" * 32,
                national_category="A",
                legal_reference="Criminal Code s. 123",
            ),
        ),
        created_at=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
        reference="HL-2026-0042",
        acknowledge_url="https://hotline.example/ack/tok123",
        hosting_country="DE",
    )
    return replace(notice, **changes)


def test_every_xarf_report_validates_with_the_xarf_package() -> None:
    reports = xarf_reports(make_notice())
    assert len(reports) == 2
    for report in reports:
        result = xarf.parse(report)
        assert result.errors == [] and result.report is not None, result.errors
        # Strict mode also wants every "recommended" field; the ones left out do not apply
        # to a notice about stored content (a port, an impersonated brand, an NCMEC id).
        strict = xarf.parse(report, strict=True)
        assert {e.message for e in strict.errors} == {
            f"'{name}' is a required property"
            for name in ("source_port", "target_brand", "ncmec_report_id")
        }
        assert (report["category"], report["type"]) == ("content", "csam")
    first, second = reports
    assert first["url"] == "https://files.hosting.example/u/abc/photo1.jpg"
    assert first["classification"] == "baseline" and second["classification"] == "A1"
    assert first["hash_values"] == {"sha256": SHA, "md5": MD5}
    assert first["source_identifier"] == "192.0.2.10"
    assert second["source_identifier"] == "files.hosting.example"  # no address known
    # The evidence is a manifest of hashes, never the material.
    [evidence] = first["evidence"]  # type: ignore[misc]
    manifest = json.loads(base64.b64decode(evidence["payload"]))
    assert [m["sha256"] for m in manifest] == [SHA, "ab" * 32]


def test_report_ids_are_the_same_for_every_attempt_of_a_notice() -> None:
    once = [r["report_id"] for r in xarf_reports(make_notice())]
    again = [r["report_id"] for r in xarf_reports(make_notice())]
    other = [r["report_id"] for r in xarf_reports(make_notice(notice_id="1" * 32))]
    assert once == again and len(set(once)) == 2 and not set(once) & set(other)


@pytest.mark.parametrize(
    ("language", "phrases"),
    [
        (
            "en",
            [
                "Exact location of the content",
                "Why this content is illegal",
                "apparently under 13 years of age",
                "Criminal Code s. 123",
                "Statement of good faith",
                "accurate\n  and complete",
                "Sender\n  Example Hotline\n  notices@hotline.example\n  1 Example Street",
            ],
        ),
        (
            "zh-Hans",
            [
                "内容的确切位置",
                "该内容违法的理由",
                "看起来未满13岁",
                "Criminal Code s. 123",
                "善意声明",
                "准确、完整",
                "发送方\n  Example Hotline\n  notices@hotline.example\n  1 Example Street",
            ],
        ),
    ],
)
def test_the_body_carries_what_dsa_article_16_asks_in_the_recipients_language(
    language: str, phrases: list[str]
) -> None:
    body = render_body(make_notice(language))
    for item in make_notice().items:
        assert f". {item.url}\n" in body  # (b) the exact URL, alone on its line
    for phrase in phrases:  # (a) explanation, (c) sender, (d) good faith
        assert phrase in body
    assert SHA in body and "https://hotline.example/ack/tok123" in body
    assert check(body) == []


@pytest.mark.parametrize("path", sorted(TEMPLATES.glob("*.txt")), ids=lambda p: p.name)
def test_every_notice_template_passes_the_terminology_checker(path: Path) -> None:
    assert len(list(TEMPLATES.glob("*.txt"))) == 4
    assert check(path.read_text(encoding="utf-8"), markup=False) == []


def test_roles_change_the_request_not_the_evidence() -> None:
    police = render_body(make_notice(role="police"))
    assert "refers to you" in police and "remove it" not in police
    assert render_subject(make_notice(role="hotline", reference=None)).startswith(
        "Forwarded report of child sexual abuse material: 2 URLs"
    )
    assert render_subject(make_notice("zh-Hans")).startswith("通知：儿童性虐待材料，共 2 个网址")


def test_a_notice_without_hashes_or_with_a_bad_url_names_the_field() -> None:
    bad = make_notice(items=(NoticeItem("ftp://x.example/a", "A2"),))
    with pytest.raises(NoticeError) as caught:
        xarf_reports(bad)
    assert "items[0].url: 'ftp://x.example/a' is not an http(s) URL" in str(caught.value)
    assert "items[0]: at least one hash is needed" in str(caught.value)
    with pytest.raises(NoticeError, match=r"recipient\.language: 'fr'"):
        render_body(make_notice("fr"))


def test_the_email_has_a_stable_message_id_and_only_xarf_attachments() -> None:
    message = build_email(make_notice("zh-Hans"))
    assert message["Message-ID"] == f"<notice-{NOTICE_ID}@hotline.example>"
    assert message["X-Opschub-Notice-Id"] == NOTICE_ID
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "善意声明" in body.get_content()
    assert body["Content-Language"] == "zh-Hans"
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/json"] * 2
    for attachment in attachments:
        report = json.loads(attachment.get_content())
        assert xarf.parse(report).errors == []
    assert build_email(make_notice("zh-Hans"))["Message-ID"] == message["Message-ID"]


# -- a real SMTP server on loopback --------------------------------------------------------


@dataclass
class Received:
    messages: list[tuple[bool, list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((session.ssl is not None, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[int, Received, Path]]:
    from aiosmtpd.controller import Controller

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    received = Received()
    port = free_port()
    controller = Controller(
        received,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_tls,
        require_starttls=True,
        loop=asyncio.new_event_loop(),
    )
    controller.start()
    yield port, received, cert
    controller.stop()


def test_the_email_is_delivered_over_starttls_to_a_real_smtp_server(
    smtp_server: tuple[int, Received, Path],
) -> None:
    port, received, cert = smtp_server
    message = build_email(make_notice())
    relay = mail.Relay("127.0.0.1", port, require_tls=True, ca_file=str(cert))
    assert mail.send(relay, message).tls
    [(over_tls, recipients, content)] = received.messages
    assert over_tls and recipients == ["abuse@hosting.example"]
    arrived = message_from_bytes(content, policy=policy.default)
    assert isinstance(arrived, EmailMessage)
    assert arrived["Message-ID"] == message["Message-ID"]
    body = arrived.get_body(preferencelist=("plain",))
    assert body is not None and "Statement of good faith" in body.get_content()
