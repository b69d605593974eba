"""A script whose process is killed from outside (not by its own budget) is tried again, not an error
of its instance (found by the chaos run: a killed sandbox child left an intake errored for good)."""

from __future__ import annotations

import contextlib
import threading
import time

import psutil
import pytest

from engine.authz import SYSTEM
from engine.workflow import runtime, sandbox, store
from engine.workflow.deploy import deploy
from engine.workflow.errors import ScriptInterrupted
from tests.engine.workflow.test_script_bounds import process

# A few tenths of a second of work in the sandbox: long enough for the killer (polling every 20 ms) to
# catch it midway, short enough that the retry stays inside the 10 s wall deadline on a loaded CI machine
# (3,000,000 steps ran past it beside two xdist workers and a browser).
SLOW = "n = 0\nwhile n < 1000000:\n    n += 1\nresult = n"


def _sandbox_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children():
        try:
            if "-I" in child.cmdline():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _kill_sandbox_children(stop: threading.Event) -> None:
    # Every child it sees until told to stop: a fresh child started in place of a dead one is killed too,
    # so the run cannot finish by luck whichever moment the first kill lands in.
    while not stop.is_set():
        for child in _sandbox_children():
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_a_killed_script_process_is_tried_again_not_an_instance_error(clean_db):
    """Is a script whose process was killed from outside a 409 'try again' with nothing saved, and does
    the instance run the script to its end when tried again?"""
    deploy(SYSTEM, process("p_killed", script=SLOW))
    sandbox.close_children()  # no idle child from an earlier test: the one killed is this run's
    stop = threading.Event()
    killer = threading.Thread(target=_kill_sandbox_children, args=(stop,))
    killer.start()
    try:
        with pytest.raises(ScriptInterrupted):
            runtime.start("p_killed")
    finally:
        stop.set()
        killer.join()
    assert store.instances().count_documents({}) == 0  # nothing was saved
    iid = runtime.start("p_killed")
    doc = store.instances().find_one({"_id": iid})
    assert doc["status"] == "completed" and doc["error"] is None


def test_an_idle_child_killed_from_outside_is_replaced_before_the_script_runs(clean_db):
    """Does a script still run when the pooled child waiting for it was killed while idle (CI: the
    request met a broken pipe and the instance errored with SpiffWorkflow's TypeError)?"""
    assert sandbox.run("eval", "1 + 1", {}, None) == 2  # leaves one idle child in the pool
    idle = _sandbox_children()
    assert idle
    for child in idle:
        child.kill()
        child.wait(5)
    assert sandbox.run("eval", "2 + 3", {}, None) == 5
