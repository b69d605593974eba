"""The workflow state at rest: zlib-compressed BSON binary while an instance runs and once it has
finished, and instances of older releases still holding JSON text."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId

from engine.authz import portal_actor, staff_actor
from engine.services.inbox import tasks
from engine.services.processes import processes, studio
from engine.workflow import specs, store
from tests.helpers import make_client, make_portal_account, make_staff


@pytest.fixture()
def people(deployed):
    client = make_client()
    return {
        "staff": staff_actor(make_staff(roles=("org_admin",))),
        "client": client,
        "portal": portal_actor(make_portal_account(client=client)),
    }


def stored(iid) -> dict:
    return store.instances().find_one({"_id": ObjectId(str(iid))})


def finish_gateways(people) -> None:
    """Approve the review, then complete the two parallel tasks it opens."""
    [review] = tasks.inbox(people["staff"])["items"]
    tasks.complete(people["staff"], review["id"], {"approved": True, "note": "fine"})
    [sign] = tasks.inbox(people["portal"])["items"]
    tasks.complete(people["portal"], sign["id"], {})
    [file_it] = tasks.inbox(people["staff"])["items"]
    tasks.complete(people["staff"], file_it["id"], {})


def finished_path(workflow) -> dict:
    """What a finished instance must still tell: the answers in task data and what the scripts wrote."""
    data = {t.task_spec.name: t.data for t in workflow.get_tasks()}
    return {
        "approved": data["review"]["approved"],
        "note": data["review"]["note"],
        "steps": data["finish"]["steps"],
    }


def test_running_and_finished_states_are_compressed_and_complete(people):
    """Does a running instance store compressed binary that restores to exactly the workflow saved,
    and does a finished one too, form answers in task data included?"""
    iid = processes.start_process("t_gateways", client_id=people["client"].id)
    running = stored(iid)
    assert isinstance(running["state_json"], bytes)
    assert len(running["state_json"]) * 2 < len(store.decode_state(running["state_json"]).encode())
    assert json.loads(specs.dump_state(store.restore(running))) == json.loads(
        store.decode_state(running["state_json"])
    )

    finish_gateways(people)
    doc = stored(iid)
    assert doc["status"] == "completed" and isinstance(doc["state_json"], bytes)
    text = store.decode_state(doc["state_json"])
    assert len(doc["state_json"]) * 2 < len(text.encode())
    workflow = store.restore(doc)
    assert json.loads(specs.dump_state(workflow)) == json.loads(text)
    assert finished_path(workflow) == {"approved": True, "note": "fine", "steps": ["prepared", "finished"]}


def test_finished_instance_stored_as_text_by_an_older_release_still_loads(people):
    """Does a finished instance whose state an older release stored as JSON text still restore the
    same, and does the studio monitor show the same path for it as for a compressed one?"""
    iid = ObjectId(processes.start_process("t_gateways", client_id=people["client"].id))
    finish_gateways(people)
    compressed = studio.instance_diagram(people["staff"], iid)["states"]
    text = store.decode_state(stored(iid)["state_json"])
    store.instances().update_one({"_id": iid}, {"$set": {"state_json": text}})  # the older format
    assert stored(iid)["state_json"] == text

    assert json.loads(specs.dump_state(store.restore(stored(iid)))) == json.loads(text)
    assert finished_path(store.restore(stored(iid)))["steps"] == ["prepared", "finished"]
    assert studio.instance_diagram(people["staff"], iid)["states"] == compressed
    assert compressed["finish"] == "completed" and "rejected" not in compressed


def test_insert_stores_the_state_compressed(people):
    """Does inserting an instance document compress its state, running or finished, leaving the
    caller's document as it was?"""
    iid = processes.start_process("t_gateways", client_id=people["client"].id)
    doc = {k: v for k, v in stored(iid).items() if k != "_id"}
    text = store.decode_state(doc["state_json"])
    for status in ("running", "completed"):
        given = dict(doc, status=status, state_json=text)
        copy_id = store.insert(given)
        assert given["state_json"] == text
        assert isinstance(stored(copy_id)["state_json"], bytes)
        assert store.decode_state(stored(copy_id)["state_json"]) == text


def test_a_running_instance_stored_as_text_by_an_older_release_steps_on(people):
    """Does a running instance whose state an older release stored as JSON text restore, complete its
    task, and come back compressed?"""
    iid = ObjectId(processes.start_process("t_gateways", client_id=people["client"].id))
    text = store.decode_state(stored(iid)["state_json"])
    store.instances().update_one({"_id": iid}, {"$set": {"state_json": text}})
    finish_gateways(people)
    doc = stored(iid)
    assert doc["status"] == "completed" and isinstance(doc["state_json"], bytes)


def test_decode_state_accepts_both_forms():
    """Do JSON text and its compressed forms decode to the same text?"""
    text = json.dumps({"tasks": {"a": {"data": {"form_answers": {"x": "é" * 50}}}}})
    assert store.decode_state(text) == text
    for status in ("running", "completed"):
        assert store.decode_state(store.encode_state(text, status)) == text
        assert store.decode_state(bytes(store.encode_state(text, status))) == text
