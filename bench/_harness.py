"""Shared by the bench/ scripts of issue 8: embedded services in a temp dir, `portico web` processes,
percentiles. Nothing here asserts; the scripts print figures."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a throwaway benchmark database


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    return f"p50 {statistics.median(ms):7.2f} ms  p99 {pct(ms, 99):7.2f} ms  (n={len(ms)})"


def external_mongodb() -> str | None:
    """PORTICO_BENCH_MONGODB_URI with a fresh database name, or None: the benchmarks then run against
    that MongoDB server instead of the embedded one (none can be installed on the machine these
    figures come from, so docs/BENCHMARKS.md has none of its figures)."""
    uri = os.environ.get("PORTICO_BENCH_MONGODB_URI")
    if not uri:
        return None
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=f"/portico_bench_{os.getpid()}"))


@contextlib.contextmanager
def embedded_services(prefix: str, *, redis: bool = True):
    """SecantusDB (fsync on commit, as `portico up` runs it; or PORTICO_BENCH_MONGODB_URI's server) and
    redis-server; yields (settings, env, root)."""
    from engine import config, db, embedded, wiring

    root = Path(tempfile.mkdtemp(prefix=prefix))
    external = external_mongodb()
    mongo = None if external else embedded.start_mongodb(root, log=root / "mongodb.log", sync_on_commit=True)
    uri = external or mongo.url
    broker = embedded.start_redis(root, log=root / "redis.log") if redis else None
    env = {
        "PORTICO_SECRET_KEY": SECRET,
        "PORTICO_MONGODB_URI": uri,
        "PORTICO_DATA_DIR": str(root / "data"),
        "PORTICO_LOG_LEVEL": "WARNING",
        "PORTICO_LOGIN_LIMIT": "100000 per minute",
        "PORTICO_LOGIN_IP_LIMIT": "100000 per minute",  # every benchmark client is 127.0.0.1
        **({"PORTICO_BROKER_URL": broker.url} if broker else {}),
    }
    try:
        settings = config.install(config.load(env))
        db.connect(settings.mongodb_uri)
        db.ensure_indexes()
        wiring.wire()  # what every process does at start (engine/wiring.py)
        yield settings, env, root
    finally:
        if broker:
            broker.stop()
        if mongo is not None:
            mongo.stop()
        else:
            db.get_db().client.drop_database(db.get_db().name)


@contextlib.contextmanager
def web_processes(env: dict, *, workers: int = 2):
    """`portico web --workers N` on a free port; yields its base URL."""
    from engine import embedded

    port = embedded.free_port()
    environ = {**os.environ, **env, "PORTICO_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "web", "--workers", str(workers)],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        embedded.wait_for_port(port, proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
