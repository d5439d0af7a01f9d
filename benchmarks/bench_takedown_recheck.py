"""Re-check throughput: opschub's re-check (per-host limit, conditional requests, media hashes)
against a naive sequential httpx loop, on 10,000 URLs served locally.

A server process listens on ``--hosts`` loopback addresses (127.0.0.2, 127.0.0.3, ...: each a
different host to the per-host limiter); every URL is a page embedding one image. opschub runs
``recheck_url`` from ``--threads`` threads sharing one SafeFetcher and its per-host limiter
(``--interval`` seconds between requests to one host); the peer fetches each page and its image
in turn with one httpx client, with no limit. Pass 1 is the first look (everything downloaded);
pass 2 repeats it with the validators of pass 1 (ETag: 304, nothing downloaded). The server
reports the smallest gap it saw between two requests to one host, so the limit is checked
from the outside.

    .venv/bin/python benchmarks/bench_takedown_recheck.py                   # 10,000 URLs
    .venv/bin/python benchmarks/bench_takedown_recheck.py --urls 1000       # a quick run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

SERVER = textwrap.dedent(
    r"""
    import json, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hosts, port = int(sys.argv[1]), int(sys.argv[2])
    IMAGE = b"generated benchmark image bytes" * 40
    last, gaps, first, count, lock = {}, {}, {}, {}, threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes
        def log_message(self, *a): pass
        def do_GET(self):
            host = self.server.server_address[0]
            now = time.monotonic()
            with lock:
                if host in last:
                    gaps[host] = min(gaps.get(host, 1e9), now - last[host])
                last[host] = now
                first.setdefault(host, now)
                count[host] = count.get(host, 0) + 1
            n = self.path.rsplit("/", 1)[-1]
            if self.path.startswith("/img/"):
                body, kind, etag = IMAGE, "image/png", '"img"'
            else:
                body = f'<!doctype html><title>{n}</title><img src="/img/{n}" alt="">'.encode()
                kind, etag = "text/html; charset=utf-8", f'"p{n}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304); self.send_header("ETag", etag)
                self.send_header("Content-Length", "0"); self.end_headers(); return
            self.send_response(200); self.send_header("Content-Type", kind)
            self.send_header("ETag", etag); self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)

    servers = []
    for k in range(hosts):
        httpd = ThreadingHTTPServer((f"127.0.0.{k + 2}", port), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    print("ready", flush=True)
    for line in sys.stdin:
        with lock:
            mean = [(last[h] - first[h]) / (count[h] - 1) for h in count if count[h] > 1]
            print(json.dumps({"min_gap": min(gaps.values()) if gaps else None,
                              "mean_gap": min(mean) if mean else None}), flush=True)
            last.clear(); gaps.clear(); first.clear(); count.clear()
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        return int(s.getsockname()[1])


def stats(server: subprocess.Popen[str]) -> dict[str, Any]:
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("stats\n")
    server.stdin.flush()
    return dict(json.loads(server.stdout.readline()))


def run_opschub(urls: list[str], item: str, interval: float, threads: int) -> dict[str, Any]:
    from opschub.takedown.fetcher import FetchPolicy, HostRateLimiter, SafeFetcher
    from opschub.takedown.recheck import recheck_url

    policy = FetchPolicy(
        allowed_networks=(__import__("ipaddress").ip_network("127.0.0.0/8"),),
        host_interval=interval,
    )
    results: dict[str, Any] = {}
    with SafeFetcher(policy, limiter=HostRateLimiter(interval)) as fetcher:
        previous: dict[str, dict[str, Any]] = {}
        for name in ("first look", "again (ETag)"):
            started = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                seen = previous
                done = list(
                    pool.map(
                        lambda u, seen=seen: recheck_url(fetcher, u, [item], seen.get(u)), urls
                    )
                )
            elapsed = time.perf_counter() - started
            previous = {r.url: r.validators for r in done}
            outcomes: dict[str, int] = {}
            for r in done:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
            results[name] = {
                "seconds": elapsed,
                "per_second": len(urls) / elapsed,
                "downloads": sum(r.downloaded for r in done),
                "requests": sum(r.requests for r in done),
                "outcomes": outcomes,
            }
    return results


def run_peer(urls: list[str], item: str) -> dict[str, Any]:
    import httpx

    started = time.perf_counter()
    found = 0
    with httpx.Client(trust_env=False) as client:
        for url in urls:
            page = client.get(url)
            image = client.get(url.replace("/p/", "/img/"))
            found += hashlib.sha256(image.content).hexdigest() == item and page.is_success
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "per_second": len(urls) / elapsed, "found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds per host")
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.hosts), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    item = hashlib.sha256(b"generated benchmark image bytes" * 40).hexdigest()
    urls = [f"http://127.0.0.{n % args.hosts + 2}:{port}/p/{n}" for n in range(args.urls)]
    try:
        ours = run_opschub(urls, item, args.interval, args.threads)
        gap_ours = stats(server)
        peer = run_peer(urls, item)
        gap_peer = stats(server)
    finally:
        server.terminate()
        server.wait(10)
    print(f"command: {' '.join(sys.argv)}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"{args.urls} URLs on {args.hosts} hosts, per-host interval {args.interval} s, "
        f"opschub {args.threads} threads; peer: sequential httpx loop without a limit"
    )
    for name, figures in ours.items():
        print(
            f"opschub {name:<13} {figures['per_second']:8.0f} URLs/s  "
            f"{figures['downloads']} bodies downloaded, {figures['requests']} requests, "
            f"outcomes {figures['outcomes']}"
        )
    print(
        f"peer    sequential    {peer['per_second']:8.0f} URLs/s  "
        f"{2 * args.urls} bodies downloaded, found the item {peer['found']} times"
    )
    print(
        f"gap between two requests to one host, smallest / mean of the busiest host: opschub "
        f"{gap_ours['min_gap']:.4f} / {gap_ours['mean_gap']:.4f} s (limit {args.interval} s), "
        f"peer {gap_peer['min_gap']:.4f} / {gap_peer['mean_gap']:.4f} s"
    )
    for name, figures in ours.items():
        print(f"ratio opschub {name} / peer: {figures['per_second'] / peer['per_second']:.2f}")


if __name__ == "__main__":
    main()
