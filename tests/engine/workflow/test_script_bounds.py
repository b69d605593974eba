"""Hole 10: BPMN scripts and expressions are bounded in time and memory, and deploy runs none of them.

A runaway script (an endless loop, a power or repeat too large to compute) fails its own
instance with an error a person can read in the instance monitor, within the time budget,
and the thread that ran it (a web request, a worker thread) is free again. Each test has a
pytest-timeout: on code without the bounds these would run until killed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from engine.authz import SYSTEM
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from tests.helpers import login_as, make_staff, wait_for

# The words of engine.workflow.sandbox's errors, spelled out: this file must import on code without it.
# (Stopped by its 2 s CPU budget, or on a very busy machine by the 10 s deadline.)
TIME_WORDS = re.compile(r"the script ran longer than (2|10) seconds and was stopped")
MEMORY_WORDS = "the script needed more than 256 MB of memory and was stopped"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def process(
    pid: str, *, script: str | None = None, timer: str | None = None, due: str | None = None
) -> bytes:
    """start -> [timer: timeDate `timer`] -> [script task `script`] -> [user task, `due` expression] -> end."""
    nodes, order = [], ["start"]
    if timer is not None:
        nodes.append(
            f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDate>'
            f"{_xml(timer)}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        )
        order.append("wait")
    if script is not None:
        nodes.append(
            f'<bpmn:scriptTask id="work" name="Work"><bpmn:script>{_xml(script)}</bpmn:script>'
            f"</bpmn:scriptTask>"
        )
        order.append("work")
    if due is not None:
        nodes.append(
            f'<bpmn:userTask id="review" name="Review"><bpmn:extensionElements>'
            f'<spiffworkflow:properties><spiffworkflow:property name="due" value="{_xml(due)}"/>'
            f"</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        )
        order.append("review")
    order.append("done")
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(order, order[1:], strict=False))
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        f'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_{pid}" targetNamespace="x">'
        f'<bpmn:process id="{pid}" name="{pid}" isExecutable="true"><bpmn:startEvent id="start"/>'
        f'{"".join(nodes)}<bpmn:endEvent id="done"/>{flows}</bpmn:process></bpmn:definitions>'
    ).encode()


def saved(iid) -> dict:
    return store.instances().find_one({"_id": ObjectId(str(iid))})


def run_script(pid: str, script: str) -> dict:
    """Deploy a one-script process and start it here (as a web request does); the saved instance."""
    deploy(SYSTEM, process(pid, script=script))
    return saved(runtime.start(pid))


@pytest.mark.timeout(60)
def test_hole10_infinite_loop_fails_the_instance(clean_db, client):
    """Does `while True: pass` fail its instance within the time budget, with the reason shown in words
    on the instance page and in the API, while an ordinary script still runs?"""
    doc = run_script("runaway_loop", "while True:\n    pass")
    assert doc["status"] == "errored"
    assert TIME_WORDS.fullmatch(doc["error"]["message"]) and doc["error"]["task_name"] == "work"
    ok = run_script("ordinary_loop", "total = 0\nfor i in range(1000):\n    total += i")
    assert ok["status"] == "completed"

    headers = login_as(client, make_staff(roles=("org_admin",)).email)
    page = client.get(f"/studio/instances/{doc['_id']}").get_data(as_text=True)
    assert f"{doc['error']['message']} at work" in page
    detail = client.get(f"/api/v1/process-instances/{doc['_id']}", headers=headers).get_json()
    assert detail["status"] == "errored" and TIME_WORDS.fullmatch(detail["error"]["message"])


@pytest.mark.timeout(60)
def test_hole10_huge_power_is_refused(clean_db):
    """Does `10**10**10` (one C-level operation no trace function can interrupt) fail its instance?"""
    doc = run_script("runaway_power", "x = 10 ** 10 ** 10")
    assert doc["status"] == "errored" and TIME_WORDS.fullmatch(doc["error"]["message"]), doc["error"]


@pytest.mark.timeout(60)
def test_hole10_huge_string_repeat_is_refused(clean_db):
    """Does `'a' * 10**10` (10 GB at once), or a string doubled forty times, fail its instance on memory?"""
    doc = run_script("runaway_repeat", "s = 'a' * 10 ** 10")
    assert doc["status"] == "errored" and doc["error"]["message"] == MEMORY_WORDS, doc["error"]
    doc = run_script("runaway_doubling", "s = 'a'\nfor i in range(40):\n    s = s + s")
    assert doc["status"] == "errored" and doc["error"]["message"] == MEMORY_WORDS, doc["error"]


@pytest.mark.timeout(60)
def test_hole10_deploy_does_not_evaluate_timer_expressions(clean_db):
    """Is a timer expression only compiled at deploy (a literal still checked as ISO-8601), so that a
    slow one cannot hold the deploy request, and is it bounded when the timer starts?"""
    slow = "len([i for i in range(10 ** 12) if i < 0]) or 'PT1H'"  # hours of Python bytecode
    deploy(SYSTEM, process("slow_timer", timer=slow))  # evaluating it here would meet the timeout
    from engine.workflow.errors import DeployRejected

    with pytest.raises(DeployRejected) as rejected:
        deploy(SYSTEM, process("bad_literal", timer="'P3X'"))
    assert any("ISO-8601" in m for m in rejected.value.details["wait"])
    doc = saved(runtime.start("slow_timer"))
    assert doc["status"] == "errored" and TIME_WORDS.fullmatch(doc["error"]["message"]), doc["error"]


@pytest.mark.timeout(240)
def test_hole10_worker_stays_responsive(clean_db, scheduler):
    """With more runaway scripts than the worker has threads, does each fail its instance, and does an
    ordinary instance queued behind them still finish?"""

    def soon() -> dict:  # the timer fires on the worker, a moment after the start returned
        return {"fire_at": (datetime.now(UTC) + timedelta(seconds=3)).isoformat()}

    deploy(SYSTEM, process("timed_runaway", timer="fire_at", script="while True:\n    pass"))
    deploy(SYSTEM, process("timed_ordinary", timer="fire_at", script="note = 'done'"))
    runaways = [runtime.start("timed_runaway", data=soon()) for _ in range(3)]  # the worker has 2 threads
    ordinary = runtime.start("timed_ordinary", data=soon())
    wait_for(
        lambda: saved(ordinary)["status"] == "completed", timeout=150, what="the ordinary instance to finish"
    )
    for iid in runaways:
        doc = wait_for(
            lambda iid=iid: (d := saved(iid))["status"] == "errored" and d,
            timeout=60,
            what="the runaway instance to fail",
        )
        assert TIME_WORDS.fullmatch(doc["error"]["message"]), doc["error"]
    for iid in [*runaways, ordinary]:  # each step ran on the worker, when its timer fired
        assert "timer_fired" in [e["kind"] for e in saved(iid)["history"]]


@pytest.mark.timeout(60)
def test_hole10_runaway_task_expression_fails_the_instance(clean_db):
    """Does a user task's `due` expression that runs away fail the instance (no inbox row for the task)
    instead of failing every attempt to reach the task?"""
    deploy(SYSTEM, process("runaway_due", due="len([i for i in range(10 ** 12) if i < 0]) or 'P1D'"))
    doc = saved(runtime.start("runaway_due"))
    assert doc["status"] == "errored" and TIME_WORDS.fullmatch(doc["error"]["message"]), doc["error"]
    assert doc["error"]["task_name"] == "review" and doc["projected"]["tasks"] == []
    assert "error_raised" in [e["kind"] for e in doc["history"]]
