"""`portico up`: one command that runs all of Portico on a development machine.

Starts, in order: the embedded database and Redis and the mail sink (each only
when its PORTICO_* URL is unset), then web, one Dramatiq worker process and the
scheduler, handing every child the URLs through its environment. Waits for
/healthz, prints the URL (and, with --demo, the demo logins), then watches.

Children run in their own sessions, so Ctrl-C at the terminal reaches only
this process; it then stops them newest first (SIGTERM to the child's whole
process group, SIGKILL after a grace period). A second Ctrl-C kills at once.

A child that dies is restarted with backoff; a child exiting with the "bad
configuration" code, or caught in a crash loop, stops everything instead (see
engine.restart_policy). The tail of that child's log is printed.

A lock file keeps a second `portico up` off the same data directory, and the
children's pids are recorded there so that a supervisor killed with -9 does not
strand them: the next `portico up` stops what is left before starting anew.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from engine import embedded
from engine.config import Settings
from engine.errors import ConfigError, PorticoError
from engine.restart_policy import GiveUp, Restarts

READY_TIMEOUT = 120.0
DEMO_PASSWORD = "portico-demo-2026"  # noqa: S105 - printed for everyone to use; demo data only
GRACE = {"mongodb": 20.0, "redis": 10.0}
DEFAULT_GRACE = 10.0
APP_CHILDREN = ("web", "worker", "scheduler")


class Abort(Exception):
    """Stop everything; the message says why."""


@dataclass
class Child:
    name: str
    launch: Callable[[], subprocess.Popen]
    proc: subprocess.Popen | None = None
    restarts: Restarts = field(default_factory=Restarts)

    @property
    def grace(self) -> float:
        return GRACE.get(self.name, DEFAULT_GRACE)


def _alive(pid: int) -> bool:
    """True when the pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        return True


def _killpg(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _group_members(pgid: int) -> list[int]:
    """Live pids whose process group is pgid (Linux /proc; elsewhere empty)."""
    members = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields_ = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields_[0] != "Z" and int(fields_[2]) == pgid:
                members.append(int(entry))
    return members


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, names one process
    even after pids are reused, and stays the same across exec (portico web -> gunicorn)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class Supervisor:
    def __init__(self, settings: Settings, *, demo: bool = False, out=None):
        self.settings = settings
        self.demo = demo
        self.out = out or sys.stdout
        self.data_dir = Path(settings.data_dir)
        self.logs = self.data_dir / "logs"
        self.run_dir = self.data_dir / "run"
        self.children: list[Child] = []
        self.urls: dict[str, str] = {
            "PORTICO_MONGODB_URI": settings.mongodb_uri or "",
            "PORTICO_BROKER_URL": settings.broker_url or "",
            "PORTICO_SMTP_URL": settings.smtp_url or "",
        }
        self.stop_reason: str | None = None
        self.force = False
        self._logins: list[dict] = []

    # --- output and signals -------------------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"portico: {message}", file=self.out, flush=True)

    def _on_signal(self, signum, _frame) -> None:
        if self.stop_reason is None:
            self.stop_reason = signal.Signals(signum).name
        else:
            self.force = True  # second Ctrl-C: no more grace periods

    # --- the run --------------------------------------------------------------------------------

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = open(self.run_dir / "up.lock", "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.say(f"another `portico up` is using {self.data_dir}; stop it first")
            return 1
        code = 0
        try:
            self._stop_stale()
            self._start_everything()
            if self.stop_reason is None:
                self._wait_ready()
            while self.stop_reason is None:
                self._check_children()
                time.sleep(0.2)
            self.say(f"{self.stop_reason}: stopping")
        except (Abort, PorticoError) as exc:
            self.say(f"error: {getattr(exc, 'message', None) or exc}")
            code = 1
        finally:
            self._stop_all()
            (self.run_dir / "children.json").unlink(missing_ok=True)
            lock.close()
        self.say("stopped")
        return code

    def _start_everything(self) -> None:
        s = self.settings
        self._check_port_free()
        if not s.mongodb_uri:
            self._add_service(
                "mongodb",
                lambda port: embedded.start_mongodb(self.data_dir, port=port, log=self.logs / "mongodb.log"),
                "PORTICO_MONGODB_URI",
            )
            self.say(
                f"database  {self.urls['PORTICO_MONGODB_URI']}  (embedded SecantusDB, data in {self.data_dir / 'db'})"
            )
        if not s.broker_url:
            self._add_service(
                "redis",
                lambda port: embedded.start_redis(self.data_dir, port=port, log=self.logs / "redis.log"),
                "PORTICO_BROKER_URL",
            )
            self.say(
                f"broker    {self.urls['PORTICO_BROKER_URL']}  (embedded redis-server, AOF in {self.data_dir / 'redis'})"
            )
        if not s.smtp_url and not s.production:
            port = embedded.free_port()
            self._add(Child("mailsink", lambda: self._portico("mailsink", "--port", str(port))))
            embedded.wait_for_port(port, self.children[-1].proc)
            self.urls["PORTICO_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            self.say(f"mail      {self.urls['PORTICO_SMTP_URL']}  (sink; read it at {self._url()}/dev/mail)")
        if self.stop_reason:
            return
        logins = self._prepare_database()
        for name in ("web", "worker", "scheduler"):
            self._add(Child(name, partial(self._portico, name)))
        self.say(f"logs      {self.logs}")
        self._logins = logins

    def _check_port_free(self) -> None:
        # Otherwise another server on the port would answer /healthz and we would say "ready".
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.settings.host, self.settings.port))
            except OSError:
                raise Abort(
                    f"port {self.settings.port} on {self.settings.host} is in use; "
                    "choose another with --port or PORTICO_PORT"
                ) from None

    def _add_service(self, name: str, start: Callable[[int], embedded.Service], url_var: str) -> None:
        port = embedded.free_port()

        def launch() -> subprocess.Popen:
            # The same port on every restart, so the URL the other children hold stays right.
            service = start(port)
            self.urls[url_var] = service.url
            return service.proc

        self._add(Child(name, launch))

    def _add(self, child: Child) -> None:
        self.children.append(child)
        child.proc = child.launch()
        self._record_children()

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({k: v for k, v in self.urls.items() if v})
        env.update(
            PORTICO_DATA_DIR=str(self.data_dir),
            PORTICO_PORT=str(self.settings.port),
            PORTICO_HOST=self.settings.host,
            PYTHONUNBUFFERED="1",
        )
        return env

    def _portico(self, *args: str) -> subprocess.Popen:
        name = args[0]
        with open(self.logs / f"{name}.log", "ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
                [sys.executable, "-m", "engine.cli", *args],
                env=self.child_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _url(self) -> str:
        return self.settings.base_url  # PORTICO_BASE_URL, or http://HOST:PORT

    def _prepare_database(self) -> list[dict]:
        """Bootstrap admin and (with --demo) demo data, once, before web starts."""
        # Imported here: the supervisor itself runs no engine code until its database is up.
        from engine import config, db

        mongodb_uri = self.urls["PORTICO_MONGODB_URI"]
        settings = config.install(
            self.settings.with_(
                mongodb_uri=mongodb_uri,
                broker_url=self.urls["PORTICO_BROKER_URL"],
                smtp_url=self.urls["PORTICO_SMTP_URL"] or None,
            )
        )
        db.connect(mongodb_uri)
        db.ensure_indexes()
        from engine.services.accounts.accounts import ensure_bootstrap_admin

        if ensure_bootstrap_admin(settings):
            self.say(f"created the organization admin {settings.bootstrap_admin_email}")
        if not self.demo:
            return []
        try:
            from engine import wiring
            from engine.services.demo import seed_demo

            wiring.wire()  # seeding performs the intakes' operations as a worker would
        except ImportError:
            self.say("demo data is not available in this build (engine.services.demo is missing)")
            return []
        return list(seed_demo(DEMO_PASSWORD))

    def _wait_ready(self) -> None:
        host = "127.0.0.1" if self.settings.host in ("0.0.0.0", "::", "") else self.settings.host  # noqa: S104
        health = f"http://{host}:{self.settings.port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT
        while self.stop_reason is None:
            self._check_children()
            try:
                with urllib.request.urlopen(health, timeout=2) as resp:  # noqa: S310 - our own http URL
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise Abort(
                    f"web did not answer {health} within {READY_TIMEOUT:.0f}s; see {self.logs / 'web.log'}"
                )
            time.sleep(0.3)
        else:
            return
        self.say(f"ready at {self._url()}  (Ctrl-C stops everything)")
        if self._logins:
            self.say("demo logins:")
            for login in self._logins:
                self.say(
                    f"  {login.get('role', ''):<12} {login.get('email', ''):<30} "
                    f"{login.get('password', DEMO_PASSWORD):<20} {login.get('name', '')}"
                )

    # --- watching -------------------------------------------------------------------------------

    def _check_children(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if child.restarts.pending:
                if self.stop_reason is None and child.restarts.take_due(now):
                    self.say(f"restarting {child.name}")
                    child.proc = child.launch()
                    self._record_children()
                continue
            if child.proc is None or child.proc.poll() is None:
                continue
            code = child.proc.returncode
            self._finish_group(child.proc.pid, 0.0)
            self.say(f"{child.name} exited with code {code}; log: {self.logs / (child.name + '.log')}")
            try:
                delay = child.restarts.record_death(code, now)
            except GiveUp as exc:
                self._print_tail(child)
                raise Abort(f"{child.name} {exc}") from None
            self.say(f"{child.name} will restart in {delay:.0f}s")

    def _print_tail(self, child: Child, lines: int = 15) -> None:
        path = self.logs / f"{child.name}.log"
        if path.exists():
            for line in path.read_text(errors="replace").splitlines()[-lines:]:
                self.say(f"  | {line}")

    # --- stopping -------------------------------------------------------------------------------

    def _stop_all(self) -> None:
        """Newest first, a tier at a time: web, worker and scheduler together (none depends on
        another), then the mail sink, Redis and the database, each once its users are gone."""
        tiers: list[list[tuple[Child, subprocess.Popen]]] = []
        for child in reversed(self.children):
            child.restarts.cancel()
            if child.proc is None:
                continue
            if tiers and child.name in APP_CHILDREN and tiers[-1][0][0].name in APP_CHILDREN:
                tiers[-1].append((child, child.proc))
            else:
                tiers.append([(child, child.proc)])
        for tier in tiers:
            self._stop_tier(tier)

    def _stop_tier(self, tier: list[tuple[Child, subprocess.Popen]]) -> None:
        for _child, proc in tier:
            if proc.poll() is None:
                # SIGTERM to the leader only: gunicorn and dramatiq stop their own workers in
                # order (a second SIGTERM makes a dramatiq worker quit mid-message).
                if self.force:
                    _killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        for child, proc in tier:
            while proc.poll() is None and time.monotonic() < started + child.grace and not self.force:
                time.sleep(0.05)
            if proc.poll() is None:
                self.say(f"{child.name} did not stop within {child.grace:.0f}s; killing it")
                _killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for _child, proc in tier:
            self._finish_group(proc.pid, 0.0 if self.force else 3.0)

    def _finish_group(self, pgid: int, grace: float) -> None:
        """Processes left in a dead leader's group (a gunicorn or dramatiq worker) go too."""
        deadline = time.monotonic() + grace
        while _group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _group_members(pgid):
            _killpg(pgid, signal.SIGKILL)

    def _record_children(self) -> None:
        records = [
            {"name": c.name, "pid": c.proc.pid, "started": _start_time(c.proc.pid)}
            for c in self.children
            if c.proc is not None and c.proc.poll() is None
        ]
        path = self.run_dir / "children.json"
        path.write_text(json.dumps(records))

    def _stop_stale(self) -> None:
        """Stop children of an earlier supervisor that died without stopping them (kill -9)."""
        path = self.run_dir / "children.json"
        if not path.exists():
            return
        try:
            records = json.loads(path.read_text())
        except ValueError:
            records = []
        for rec in reversed(records):
            pid = int(rec.get("pid", 0))
            # Only the very process we recorded: pids get reused.
            if pid and rec.get("started") is not None and _start_time(pid) == rec["started"]:
                self.say(f"stopping {rec.get('name')} (pid {pid}) left over from an earlier run")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)  # the leader stops its own workers
                deadline = time.monotonic() + GRACE.get(rec.get("name", ""), DEFAULT_GRACE)
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                _killpg(pid, signal.SIGKILL)
        path.unlink(missing_ok=True)


def run_up(settings: Settings, *, demo: bool = False) -> int:
    """Entry point of `portico up`; returns the exit code."""
    if demo and settings.production:
        raise ConfigError("--demo is for development; PORTICO_ENV is production")
    return Supervisor(settings, demo=demo).run()
