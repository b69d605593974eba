"""500 timers due in the same second, two worker processes, one of them killed with SIGKILL mid-run:
every timer fires exactly once (the instance history says so) and every instance finishes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import wiring
from engine.authz import SYSTEM
from engine.models.workflow import OutboxMessage, Task, Timer
from engine.workflow import store
from tests.helpers import bpmn

ROOT = Path(__file__).resolve().parents[2]
N = 500


def _start_worker(threads: int = 6) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests/workers/workflow_worker_main.py"), str(threads)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        start_new_session=True,
    )
    assert proc.stdout.readline().strip() == b"ready"
    return proc


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.timeout(700)
def test_500_timers_fire_once_despite_kill9(clean_db, settings):
    """Do 500 timers due in one second fire exactly once each with two workers, one killed with -9?"""
    from engine.workflow import scheduler
    from engine.workflow.deploy import deploy
    from engine.workflow.runtime import start

    deploy(SYSTEM, bpmn("t_timer"))
    # One due second for all, far enough ahead that creating them all takes less. A timer already
    # due when its instance starts fires inside the start and never waits, which would void the
    # test's premise, so on a machine too slow for the lead we start over with a longer one.
    for lead in (12, 30, 60):
        due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        with ThreadPoolExecutor(4) as pool:
            ids = list(
                pool.map(lambda _, at=due: start("t_timer", data={"fire_at": at.isoformat()}), range(N))
            )
        if Timer.objects(status="waiting").count() == N:
            break
        for coll in (
            store.instances(),
            Timer._get_collection(),
            Task._get_collection(),
            OutboxMessage._get_collection(),
        ):
            coll.delete_many({})
    assert Timer.objects(status="waiting").count() == N, "could not create 500 waiting timers in time"
    # Workers start once every timer waits; firing needs them only from the due second on.
    workers = [_start_worker(), _start_worker()]
    wiring.wire_broker(settings.broker_url)  # what `portico scheduler` does at start
    stop = threading.Event()
    sweeper = threading.Thread(
        target=scheduler.run_forever, daemon=True, kwargs={"interval": 0.5, "stop": stop, "resend_seconds": 3}
    )
    sweeper.start()
    assert len({t.due_at for t in Timer.objects.only("due_at")}) == 1
    try:
        # Kill one worker once firing is under way (some, not all, instances finished).
        deadline = time.monotonic() + max(0.0, (due - datetime.now(UTC)).total_seconds()) + 60
        while store.instances().count_documents({"status": "completed"}) < 40:
            if time.monotonic() > deadline:
                pytest.fail("timers did not start firing")
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        # Generous: on a loaded machine one worker left alone is slow; what is checked is "once".
        while store.instances().count_documents({"status": "completed"}) < N:
            if time.monotonic() > deadline + 180:
                pytest.fail(
                    f"only {store.instances().count_documents({'status': 'completed'})} of {N} finished"
                )
            time.sleep(0.2)
        # A worker killed between its save and its projection leaves a row for the sweep to mark.
        while Timer.objects(status="waiting").count():
            if time.monotonic() > deadline + 240:
                pytest.fail("timer rows left waiting")
            time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
        sweeper.join(5)

    fired_per_instance = [
        sum(e["kind"] == "timer_fired" for e in doc["history"])
        for doc in store.instances().find({"_id": {"$in": ids}}, {"history": 1})
    ]
    assert fired_per_instance == [1] * N
    assert Timer.objects(status="fired").count() == N
