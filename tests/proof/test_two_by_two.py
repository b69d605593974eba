"""Scale-out: two web processes (`portico web`) and two worker processes (`portico worker`) against one
database. Every instance is started once, every task is completed by exactly one of two racing
requests (one per web process), every timer fires once in the workers, and every instance finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from bson import ObjectId

from engine import embedded, wiring
from engine.authz import SYSTEM
from engine.services.accounts import tokens
from engine.workflow import store
from engine.workflow.deploy import deploy
from tests.helpers import make_staff

ROOT = Path(__file__).resolve().parents[2]
N = 30


def _spawn(*args: str, **env: str) -> subprocess.Popen:
    environ = {**os.environ, "PORTICO_LOG_LEVEL": "WARNING", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.timeout(240)
def test_two_web_and_two_worker_processes_lose_and_double_nothing(clean_db, settings):
    """With 2 web + 2 worker processes on one database, is every task done once and every instance finished?"""
    from engine.workflow import scheduler

    deploy(SYSTEM, (Path(__file__).parent / "data" / "t_two_by_two.bpmn").read_bytes())
    raw, _ = tokens.issue_token(make_staff(roles=("org_admin",)), label="two-by-two")
    auth = {"Authorization": f"Bearer {raw}"}
    ports = [embedded.free_port(), embedded.free_port()]
    procs = [_spawn("web", "--workers", "1", PORTICO_PORT=str(p)) for p in ports]
    procs += [_spawn("worker", "--processes", "1", "--threads", "4") for _ in range(2)]
    wiring.wire_broker(settings.broker_url)  # what `portico scheduler` does at start
    stop = threading.Event()
    sweeper = threading.Thread(
        target=scheduler.run_forever, daemon=True, kwargs={"interval": 0.5, "stop": stop, "resend_seconds": 3}
    )
    try:
        for port in ports:
            embedded.wait_for_port(port, timeout=60)
        bases = [f"http://127.0.0.1:{p}/api/v1" for p in ports]
        sweeper.start()

        def start(i: int) -> str:
            resp = requests.post(
                f"{bases[i % 2]}/process-instances",
                json={"process_id": "t_two_by_two"},
                headers=auth,
                timeout=30,
            )
            assert resp.status_code == 201, resp.text
            return ObjectId(resp.json()["id"])

        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(start, range(N)))
        tasks = requests.get(f"{bases[0]}/tasks", params={"per_page": 100}, headers=auth, timeout=30).json()[
            "items"
        ]
        assert len(tasks) == N

        def race(task: dict) -> list[int]:
            # The same task completed through both web processes at once: exactly one may win.
            with ThreadPoolExecutor(2) as both:
                calls = [
                    both.submit(
                        requests.post,
                        f"{base}/tasks/{task['id']}/complete",
                        json={"data": {}},
                        headers=auth,
                        timeout=30,
                    )
                    for base in bases
                ]
                return sorted(c.result().status_code for c in calls)

        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(race, tasks))
        assert all(o[0] == 200 and o[1] in (409, 404) for o in outcomes), outcomes

        deadline = time.monotonic() + 90
        while store.instances().count_documents({"_id": {"$in": ids}, "status": "completed"}) < N:
            if time.monotonic() > deadline:
                from engine.models.workflow import Timer

                sample = store.instances().find_one({"_id": {"$in": ids}, "status": {"$ne": "completed"}})
                pytest.fail(
                    f"instances did not all finish: {sample and sample.get('status')} "
                    f"{sample and [e['kind'] for e in sample['history']]} "
                    f"timers={[(t.status, t.due_at) for t in Timer.objects[:3]]}"
                )
            assert all(p.poll() is None for p in procs), "a web or worker process died"
            time.sleep(0.3)
    finally:
        stop.set()
        for proc in procs:
            _stop(proc)
        sweeper.join(5)

    for doc in store.instances().find({"_id": {"$in": ids}}, {"history": 1}):
        kinds = [e["kind"] for e in doc["history"]]
        assert kinds.count("started") == 1 and kinds.count("timer_fired") == 1, kinds
        assert sum(k.startswith("task_completed") for k in kinds) == 1, kinds
