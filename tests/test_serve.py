"""What `make serve` does, end to end: migrate SQLite, create the admin, serve both languages."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from loopback import free_port

OPSCHUB = [sys.executable, "-m", "opschub"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(OPSCHUB + args, env=env, capture_output=True, text=True, timeout=120)


def test_fresh_data_directory_serves_login_in_both_languages(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHUB_")}
    env["OPSCHUB_DATA_DIR"] = str(tmp_path / "var")
    upgrade = _run(["db", "upgrade"], env)
    assert upgrade.returncode == 0, upgrade.stderr
    assert (tmp_path / "var" / "opschub.sqlite3").exists()

    first = _run(["user", "ensure-admin"], env)
    assert first.returncode == 0, first.stderr
    assert "admin" in first.stdout and "password" in first.stdout.lower()
    again = _run(["user", "ensure-admin"], env)
    assert again.returncode == 0 and "password" not in again.stdout.lower()  # idempotent

    port = free_port()
    server = subprocess.Popen(
        [*OPSCHUB, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert health.json()["status"] == "ok"
        assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o777 == 0o600
        zh = httpx.get(f"{base}/login", headers={"accept-language": "zh-CN"})
        en = httpx.get(f"{base}/login?lang=en")
        assert zh.status_code == en.status_code == 200
        assert '<html lang="zh-Hans">' in zh.text and "登录" in zh.text
        assert '<html lang="en">' in en.text and "Log in" in en.text
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    # The server's own log never carries the client's address.
    assert "127.0.0.1:" not in output.replace(f"127.0.0.1:{port}", "")
