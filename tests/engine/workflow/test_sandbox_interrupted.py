"""A script whose process is killed from outside (not by its own budget) is tried again, not an error
of its instance (found by the chaos run: a killed sandbox child left an intake errored for good)."""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from engine.authz import SYSTEM
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from engine.workflow.errors import ScriptInterrupted
from tests.engine.workflow.test_script_bounds import process

# A few tenths of a second of work in the sandbox: long enough for the killer (polling every 20 ms) to
# catch it midway, short enough that the retry stays inside the 10 s wall deadline on a loaded CI machine
# (3,000,000 steps ran past it beside two xdist workers and a browser).
SLOW = "n = 0\nwhile n < 1000000:\n    n += 1\nresult = n"


def _kill_sandbox_children(stop: threading.Event) -> None:
    while not stop.is_set():
        for child in psutil.Process().children():
            try:
                if "-I" in child.cmdline():
                    child.kill()
                    return
            except psutil.NoSuchProcess:
                continue
        time.sleep(0.02)


@pytest.mark.timeout(120)
def test_a_killed_script_process_is_tried_again_not_an_instance_error(clean_db):
    """Is a script whose process was killed from outside a 409 'try again' with nothing saved, and does
    the instance run the script to its end when tried again?"""
    deploy(SYSTEM, process("p_killed", script=SLOW))
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
