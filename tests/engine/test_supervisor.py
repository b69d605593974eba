"""`portico up` as a user runs it: a subprocess on a fresh data directory and a free port.

Each start takes some seconds (embedded database, Redis, sink, gunicorn,
dramatiq, scheduler), so this module keeps to two such tests; the restart
policy's arithmetic is checked directly, on a clock the tests choose.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import psutil
import pymongo
import pytest
import redis
import requests

from engine import cli
from engine.embedded import free_port
from engine.restart_policy import CRASH_WINDOW, EXIT_CONFIG, MAX_CRASHES, GiveUp, Restarts

ADMIN_EMAIL = "first.admin@example.org"
ADMIN_PASSWORD = "a long bootstrap password"


class Up:
    """A running `portico up`: its output lines, its process tree, and a way to stop it."""

    def __init__(self, data_dir, port, *args: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTICO_")}
        env.update(
            PORTICO_DATA_DIR=str(data_dir),
            PORTICO_WEB_WORKERS="1",
            PORTICO_LOG_LEVEL="WARNING",
            PORTICO_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
            PORTICO_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        )
        self.port = port
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "up", "--port", str(port), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 120.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.lines.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.lines))

    def tree(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self, sig=signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=90)
        self.wait_for("stopped", timeout=5)
        return code


def _cmd(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def _using(data_dir) -> list[psutil.Process]:
    """Every live process whose environment names this data directory (what `up` started)."""
    found = []
    for p in psutil.process_iter():
        try:
            if (
                p.pid != os.getpid()
                and p.environ().get("PORTICO_DATA_DIR") == str(data_dir)
                and p.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def _assert_nothing_left(up: Up, started: list[psutil.Process], data_dir) -> None:
    assert not [line for line in up.lines if "killing it" in line], "a child ignored SIGTERM"
    assert _running(started) == [], [_cmd(p) for p in _running(started)]
    assert _using(data_dir) == [], [_cmd(p) for p in _using(data_dir)]


@pytest.mark.slow
def test_up_stops_without_orphans_and_finds_its_data_again(tmp_path):
    """After Ctrl-C, is every process `portico up` started gone, and does a second start find the data?"""
    data_dir = tmp_path / "var"
    port = free_port()
    up = Up(data_dir, port)
    db_url = up.wait_for(r"database\s+(mongodb://\S+)").group(1)
    broker_url = up.wait_for(r"broker\s+(redis://\S+)").group(1)
    up.wait_for(rf"ready at http://127\.0\.0\.1:{port}")
    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json() == {"status": "ok"}
    started = up.tree()
    names = " ".join(_cmd(p) for p in started)
    for part in ("secantusd", "redis-server", "mailsink", "gunicorn", "dramatiq", "scheduler"):
        assert part in names
    with pymongo.MongoClient(db_url) as mongo:
        mongo.get_default_database()["probe"].insert_one({"note": "kept across restarts"})
        assert mongo.get_default_database()["staff_members"].count_documents({"email": ADMIN_EMAIL}) == 1
    redis.Redis.from_url(broker_url).set("probe", "kept in the AOF")

    assert up.stop(signal.SIGINT) == 0
    _assert_nothing_left(up, started, data_dir)

    again = Up(data_dir, port)
    db_url = again.wait_for(r"database\s+(mongodb://\S+)").group(1)
    broker_url = again.wait_for(r"broker\s+(redis://\S+)").group(1)
    again.wait_for("ready at")
    started = again.tree()
    with pymongo.MongoClient(db_url) as mongo:
        assert mongo.get_default_database()["probe"].find_one({}, {"_id": 0}) == {
            "note": "kept across restarts"
        }
        assert mongo.get_default_database()["staff_members"].count_documents({}) == 1
    assert redis.Redis.from_url(broker_url).get("probe") == b"kept in the AOF"
    token = requests.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    assert again.stop(signal.SIGTERM) == 0
    _assert_nothing_left(again, started, data_dir)


@pytest.mark.slow
def test_up_demo_prints_logins_and_restarts_a_child_that_dies(tmp_path):
    """Does `up --demo` print working demo logins, and is a killed worker restarted, not left dead?"""
    data_dir = tmp_path / "var"
    port = free_port()
    up = Up(data_dir, port, "--demo")
    up.wait_for("ready at")
    logins = {}
    for _ in range(5):
        found = up.wait_for(r"^portico:\s+(\w+)\s+(\S+@\S+)\s+(\S+)", timeout=10)
        logins[found.group(1)] = (found.group(2), found.group(3))
    assert set(logins) == {"org_admin", "therapist", "front_desk", "client", "guardian"}
    email, password = logins["guardian"]
    token = requests.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token", json={"email": email, "password": password}, timeout=30
    )
    assert token.status_code == 200, token.text

    [worker] = [p for p in up.tree() if "dramatiq" in _cmd(p) and p.ppid() == up.proc.pid]
    os.killpg(worker.pid, signal.SIGKILL)
    up.wait_for(r"worker exited with code -9")
    up.wait_for(r"restarting worker")
    deadline = time.monotonic() + 30
    while not any("dramatiq" in _cmd(p) for p in _running(up.tree())):
        if time.monotonic() > deadline:
            pytest.fail("the worker was not restarted")
        time.sleep(0.2)
    started = up.tree()
    assert up.stop() == 0
    _assert_nothing_left(up, started, data_dir)


def test_restart_delay_doubles_and_a_crash_loop_gives_up():
    """Is a child that keeps dying restarted after 1, 2, 4, 8 s, each restart due once, until the
    fifth death within the window stops everything?"""
    restarts = Restarts()
    now, delays = 1000.0, []
    for _ in range(MAX_CRASHES - 1):
        delay = restarts.record_death(1, now)
        delays.append(delay)
        assert restarts.pending and not restarts.take_due(now + delay / 2)
        assert restarts.take_due(now + delay) and not restarts.pending
        assert not restarts.take_due(now + delay)
        now += delay + 1.0
    assert delays == [1.0, 2.0, 4.0, 8.0]
    with pytest.raises(GiveUp, match=f"died {MAX_CRASHES} times within {CRASH_WINDOW:.0f}s"):
        restarts.record_death(1, now)


def test_deaths_older_than_the_window_are_forgotten():
    """Does a child that died often, long ago, start again from the shortest delay?"""
    restarts = Restarts()
    for t in range(MAX_CRASHES - 1):
        restarts.record_death(-9, float(t))
    assert restarts.record_death(-9, MAX_CRASHES - 2 + CRASH_WINDOW) == 1.0
    assert restarts.deaths == [MAX_CRASHES - 2 + CRASH_WINDOW]


def test_the_configuration_exit_code_gives_up_at_once():
    """Does a child refusing its configuration (the code engine.cli exits with) stop everything, not restart?"""
    assert EXIT_CONFIG == cli.EXIT_CONFIG
    restarts = Restarts()
    with pytest.raises(GiveUp, match="refused its configuration"):
        restarts.record_death(EXIT_CONFIG, 0.0)
    assert not restarts.pending and restarts.deaths == []


def test_stopping_cancels_a_pending_restart():
    """Is a restart that was scheduled before the stop never due afterwards?"""
    restarts = Restarts()
    delay = restarts.record_death(1, 0.0)
    restarts.cancel()
    assert not restarts.pending and not restarts.take_due(delay)
