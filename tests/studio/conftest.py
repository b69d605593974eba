"""Fixtures for the studio: the test forms and the s_flow process (v1 deployed, v2 ready to deploy)."""

from __future__ import annotations

from pathlib import Path

import pytest

import workers.studio  # noqa: F401 - the migration actor, declared before a test's worker starts
from engine.authz import SYSTEM
from tests.engine.workflow.conftest import broker, worker  # noqa: F401 - the workflow engineer's fixtures

DATA = Path(__file__).resolve().parent / "data"
ACK_FORM = {"pages": [{"name": "p1", "elements": [
    {"type": "boolean", "name": "ok", "title": "Acknowledged?", "isRequired": True}]}]}
PACKET_FORM = {"pages": [{"name": "p1", "elements": [{"type": "text", "name": "answer", "title": "Answer"}]}]}


def bpmn(name: str) -> bytes:
    return (DATA / f"{name}.bpmn").read_bytes()


def publish_form(key: str, definition: dict, kind: str = "task") -> None:
    from engine.services import forms

    forms.create_form(SYSTEM, key, kind, key.replace("_", " ").title(), definition)
    forms.publish(SYSTEM, key)


@pytest.fixture()
def s_flow(clean_db):
    """s_flow version 1 deployed, with its forms published."""
    from engine.workflow.deploy import deploy

    publish_form("s_ack", ACK_FORM)
    for key in ("s_form_a", "s_form_b"):
        publish_form(key, PACKET_FORM, kind="intake")
    deploy(SYSTEM, bpmn("s_flow_v1"))
    return "s_flow"


def clone_instance(seed, copies: int) -> list:
    """`copies` instances in the seed's state (the seed included), with the inbox rows and timers its
    projection wrote: a thousand instances in seconds instead of running each one there."""
    from bson import ObjectId

    from engine.models.workflow import Task, Timer
    from engine.workflow import store

    doc = store.instances().find_one({"_id": seed})
    rows = [dict(doc, _id=ObjectId()) for _ in range(copies - 1)]
    store.instances().insert_many(rows)
    for model in (Task, Timer):
        seed_rows = list(model._get_collection().find({"instance_id": seed, "status": {"$in": ["open", "waiting"]}}))
        if seed_rows:
            model._get_collection().insert_many([dict(r, _id=ObjectId(), instance_id=row["_id"])
                                                 for row in rows for r in seed_rows])
    return [seed, *[r["_id"] for r in rows]]
