"""Webhook signatures: a receiver accepts exactly the body the hotline signed, recently."""

from __future__ import annotations

import hashlib
import hmac
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from opschub.webhooks import WebhookSignatureError, sign_webhook, verify_webhook

SECRET = b"shared-secret-of-the-partner-0123"
BODY = b'{"category":"content","type":"csam"}'
NOW = 1_767_225_600


def test_a_signed_body_verifies_and_the_signature_is_hmac_of_timestamp_and_body() -> None:
    headers = sign_webhook(SECRET, BODY, timestamp=NOW, notice_id="ab" * 16)
    expected = hmac.new(SECRET, b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert headers["X-Opschub-Signature"] == f"v1={expected}"
    assert headers["X-Opschub-Notice-Id"] == "ab" * 16
    lowered = {k.lower(): v for k, v in headers.items()}  # as a web framework hands them over
    assert verify_webhook(SECRET, BODY, lowered, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    ("secret", "body", "now", "reason"),
    [
        (SECRET, BODY + b" ", NOW, "does not match"),
        (b"another-secret-entirely-000000", BODY, NOW, "does not match"),
        (SECRET, BODY, NOW + 301, "301 s away from now"),
        (SECRET, BODY, NOW - 400, "400 s away from now"),
    ],
)
def test_a_changed_body_another_secret_or_a_replay_is_refused(
    secret: bytes, body: bytes, now: int, reason: str
) -> None:
    headers = sign_webhook(SECRET, BODY, timestamp=NOW)
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_webhook(secret, body, headers, now=now)


def test_missing_headers_are_named_and_rotated_secrets_both_verify() -> None:
    with pytest.raises(WebhookSignatureError, match="X-Opschub-Timestamp"):
        verify_webhook(SECRET, BODY, {}, now=NOW)
    with pytest.raises(WebhookSignatureError, match="X-Opschub-Signature"):
        verify_webhook(SECRET, BODY, {"X-Opschub-Timestamp": str(NOW)}, now=NOW)
    old = sign_webhook(b"the-old-secret-0000000", BODY, timestamp=NOW)["X-Opschub-Signature"]
    new = sign_webhook(SECRET, BODY, timestamp=NOW)["X-Opschub-Signature"]
    headers = {"X-Opschub-Timestamp": str(NOW), "X-Opschub-Signature": f"{old}, {new}"}
    assert verify_webhook(SECRET, BODY, headers, now=NOW) == NOW
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign_webhook(b"short", BODY)


def test_a_real_receiver_accepts_the_signed_post_and_refuses_a_tampered_one() -> None:
    seen: list[int] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                verify_webhook(SECRET, body, dict(self.headers.items()))
            except WebhookSignatureError:
                status = 401
            else:
                status = 202
            seen.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/xarf"
    try:
        headers = sign_webhook(SECRET, BODY, notice_id="cd" * 16)
        with httpx.Client(trust_env=False) as client:  # straight to loopback, no proxy
            assert client.post(url, content=BODY, headers=headers).status_code == 202
            tampered = BODY.replace(b"csam", b"spam")
            assert client.post(url, content=tampered, headers=headers).status_code == 401
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert seen == [202, 401]
