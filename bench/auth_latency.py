"""Latency of logging in (POST /api/v1/auth/token) and of GET /api/v1/me against a running Portico.

    python bench/auth_latency.py [URL] --email admin@example.org --password '…' [-n 200]

Prints p50/p99 in milliseconds for GET /healthz (baseline: no auth, no argon2),
POST /api/v1/auth/token (argon2id verify + token insert + audit row) and
GET /api/v1/me (token lookup + account + organization), and their ratios to
the baseline; then a few refused logins (unknown e-mail vs wrong password), whose
medians should be close. One keep-alive connection, requests one after another.
Only refused logins count against the login throttle, so n may be large.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from urllib.parse import urlparse

FAILED_SAMPLES = 4


def _connect(url: str) -> http.client.HTTPConnection:
    parts = urlparse(url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return cls(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), timeout=30)


def _request(conn, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    payload = json.dumps(body).encode() if body is not None else None
    hdrs = {"Accept": "application/json", **(headers or {})}
    if payload is not None:
        hdrs["Content-Type"] = "application/json"
    start = time.perf_counter()
    conn.request(method, path, body=payload, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    elapsed = (time.perf_counter() - start) * 1000
    return resp.status, data, elapsed


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _measure(conn, n: int, method: str, path: str, *, body=None, headers=None, expect=200) -> list[float]:
    _request(conn, method, path, body, headers)  # warm-up
    times = []
    for _ in range(n):
        status, data, ms = _request(conn, method, path, body, headers)
        if status != expect:
            sys.exit(f"{method} {path} answered {status}: {data[:300]!r}")
        times.append(ms)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:5000")
    parser.add_argument("--email", default=os.environ.get("BENCH_EMAIL", "admin@example.org"))
    parser.add_argument("--password", default=os.environ.get("BENCH_PASSWORD", ""))
    parser.add_argument("-n", type=int, default=100, help="requests per endpoint (default 100)")
    args = parser.parse_args(argv)
    if not args.password:
        parser.error("give --password (or BENCH_PASSWORD) of a demo login without MFA")

    conn = _connect(args.url)
    creds = {"email": args.email, "password": args.password}
    results = {"GET /healthz": _measure(conn, args.n, "GET", "/healthz")}
    results["POST /api/v1/auth/token"] = _measure(conn, args.n, "POST", "/api/v1/auth/token", body=creds)
    status, data, _ = _request(conn, "POST", "/api/v1/auth/token", creds)
    token = json.loads(data)["token"]
    results["GET /api/v1/me"] = _measure(
        conn, args.n, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    _request(conn, "POST", "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})

    # Refused logins: unknown e-mail vs wrong password should cost the same (argon2 runs for both).
    # Few samples, because refused logins count against the throttles (5/min per account).
    results["token, unknown e-mail (401)"] = [
        _request(
            conn, "POST", "/api/v1/auth/token", {"email": f"nobody{i}@bench.invalid", "password": "x" * 12}
        )[2]
        for i in range(FAILED_SAMPLES)
    ]
    results["token, wrong password (401)"] = [
        _request(conn, "POST", "/api/v1/auth/token", {"email": args.email, "password": "wrong" * 3})[2]
        for _ in range(FAILED_SAMPLES)
    ]

    base = statistics.median(results["GET /healthz"])
    print(
        f"{args.url}  n={args.n} per endpoint ({FAILED_SAMPLES} for refused logins), sequential, one connection"
    )
    print(f"{'endpoint':<32}{'p50 ms':>9}{'p99 ms':>9}{'p50/healthz':>13}")
    for name, samples in results.items():
        p50, p99 = statistics.median(samples), _percentile(samples, 0.99)
        print(f"{name:<32}{p50:>9.1f}{p99:>9.1f}{p50 / base:>12.1f}x")


if __name__ == "__main__":
    main()
