"""Fixtures for the workflow engine: test forms, the test BPMN deployed, a real Dramatiq worker
on the session's redis-server, and the scheduler sweeping in a thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from tests.helpers import wait_for  # noqa: F401 - re-exported for the tests here

BPMN_DIR = Path(__file__).resolve().parents[2] / "data" / "bpmn"
REVIEW_FORM = {"pages": [{"name": "p1", "elements": [
    {"type": "boolean", "name": "approved", "title": "Approve?", "isRequired": True},
    {"type": "text", "name": "note", "title": "Note"},
]}]}


def bpmn(name: str) -> bytes:
    return (BPMN_DIR / f"{name}.bpmn").read_bytes()


@pytest.fixture()
def review_form(clean_db):
    """The published form `t_review` the test BPMN names."""
    from engine.services import forms

    forms.create_form(SYSTEM, "t_review", "task", "Review", REVIEW_FORM)
    forms.publish(SYSTEM, "t_review")
    return "t_review"


@pytest.fixture()
def test_operations():
    """Operations used by t_service: one failing twice before it succeeds, one that always fails."""
    from engine.workflow import operations

    calls: dict[str, int] = {}

    def flaky(*, params, key, **_):
        calls[key] = calls.get(key, 0) + 1
        if calls[key] <= 2:
            raise ConnectionError(f"flaky failure {calls[key]}")
        return {"greeted": params.get("who"), "attempt": calls[key]}

    def doomed(*, key, **_):
        calls[key] = calls.get(key, 0) + 1
        raise RuntimeError("the remote service refuses")

    operations.register("test_flaky", flaky)
    operations.register("test_doomed", doomed)
    yield calls
    operations.unregister("test_flaky")
    operations.unregister("test_doomed")


@pytest.fixture()
def deployed(clean_db, review_form, test_operations):
    """Every test BPMN file deployed (children before the parents that call them)."""
    from engine.workflow.deploy import deploy

    for name in ("t_gateways", "t_reminder", "t_message", "t_child", "t_parent", "t_service", "t_uncaught",
                 "t_timer"):
        deploy(SYSTEM, bpmn(name))


@pytest.fixture()
def broker(settings):
    """The real Redis broker (session redis-server) with every actor on it."""
    from workers.broker import setup_broker

    broker = setup_broker(settings.broker_url)
    import workers.workflow as wf_actors

    # Test-sized backoff between attempts of a failing operation.
    wf_actors.perform_operation.options.update(min_backoff=20, max_backoff=200)
    yield broker
    broker.flush_all()


@pytest.fixture()
def worker(broker, clean_db):
    """A real dramatiq Worker (two threads) consuming the workflow queue."""
    from dramatiq import Worker

    w = Worker(broker, worker_timeout=100, worker_threads=2)
    w.start()
    yield w
    w.stop(timeout=5000)


@pytest.fixture()
def scheduler(worker):
    """The scheduler loop in a thread, sweeping every 0.2 s."""
    from engine.workflow import scheduler as sched

    stop = threading.Event()
    thread = threading.Thread(target=sched.run_forever, daemon=True,
                              kwargs={"interval": 0.2, "stop": stop})
    thread.start()
    yield
    stop.set()
    thread.join(5)

