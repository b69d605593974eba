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

from engine.authz import SYSTEM
from engine.models.workflow import Timer
from engine.workflow import store

ROOT = Path(__file__).resolve().parents[2]
N = 500


def _start_worker(threads: int = 6) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests/workers/workflow_worker_main.py"), str(threads)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ),
                            start_new_session=True)
    assert proc.stdout.readline().strip() == b"ready"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_500_timers_fire_once_despite_kill9(clean_db, settings):
    """Do 500 timers due in one second fire exactly once each with two workers, one killed with -9?"""
    from engine.workflow import scheduler
    from engine.workflow.deploy import deploy
    from engine.workflow.runtime import start

    deploy(SYSTEM, (ROOT / "tests/data/bpmn/t_timer.bpmn").read_bytes())
    workers = [_start_worker(), _start_worker()]
    stop = threading.Event()
    sweeper = threading.Thread(target=scheduler.run_forever, daemon=True,
                               kwargs={"interval": 0.5, "stop": stop, "resend_seconds": 3,
                                       "deploy_shipped_on_start": False})
    sweeper.start()
    # One due second for all, far enough ahead that creating them all takes less.
    due = (datetime.now(UTC) + timedelta(seconds=12)).replace(microsecond=0)
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda _: start("t_timer", data={"fire_at": due.isoformat()}), range(N)))
    # (On a loaded machine creating them may outlast the lead; they are still all due in one second.)
    assert Timer.objects.count() == N
    assert len({t.due_at for t in Timer.objects.only("due_at")}) == 1
    try:
        # Kill one worker once firing is under way (some, not all, instances finished).
        deadline = time.monotonic() + 60
        while store.instances().count_documents({"status": "completed"}) < 40:
            assert time.monotonic() < deadline, "timers did not start firing"
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        while store.instances().count_documents({"status": "completed"}) < N:
            assert time.monotonic() < deadline + 30, (
                f"only {store.instances().count_documents({'status': 'completed'})} of {N} finished")
            time.sleep(0.2)
        # A worker killed between its save and its projection leaves a row for the sweep to mark.
        while Timer.objects(status="waiting").count():
            assert time.monotonic() < deadline + 60, "timer rows left waiting"
            time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGKILL)
                w.wait()
        sweeper.join(5)

    fired_per_instance = [sum(e["kind"] == "timer_fired" for e in doc["history"])
                          for doc in store.instances().find({"_id": {"$in": ids}}, {"history": 1})]
    assert fired_per_instance == [1] * N
    assert Timer.objects(status="fired").count() == N
