"""Each test BPMN runs to completion through the real database and a real Dramatiq worker.

Every step goes through the services, which load the instance from the
database, change it and save it; `reload()` restores the saved state between
steps to check what was persisted (never an object kept in memory).
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from engine.authz import portal_actor, staff_actor
from engine.errors import ValidationFailed
from engine.models.clients import Contact, ContactLink, LinkPermissions
from engine.services.inbox import tasks
from engine.services.processes import processes
from engine.workflow import store
from engine.workflow.errors import TaskNotOpen
from tests.helpers import make_client, make_portal_account, make_staff, wait_for


def reload(iid):
    """(instance document, restored workflow) as saved in the database."""
    doc = store.instances().find_one({"_id": ObjectId(str(iid))})
    return doc, store.restore(doc)


def task_data(workflow, spec_name: str) -> dict:
    return next(t for t in workflow.get_tasks() if t.task_spec.name == spec_name).data


def only_task(actor, **filters) -> dict:
    items = tasks.inbox(actor, **filters)["items"]
    assert len(items) == 1, items
    return items[0]


def kinds(doc) -> list[str]:
    return [e["kind"] for e in doc["history"]]


@pytest.fixture()
def people(deployed, worker):
    """Staff, a client with a portal account; a real Dramatiq worker runs alongside every flow."""
    admin = make_staff(roles=("org_admin",))
    client = make_client(first_name="Ann")
    account = make_portal_account(client=client)
    return {"staff": staff_actor(admin), "client": client, "portal": portal_actor(account)}


def test_gateways_approved_path(people):
    """Does a staff review with a form lead through the exclusive and parallel gateways to completion?"""
    staff, portal, client = people["staff"], people["portal"], people["client"]
    iid = processes.start_process("t_gateways", client_id=client.id)
    doc, wf = reload(iid)
    assert doc["status"] == "running" and doc["version"] == 1
    review = only_task(staff)
    assert review["name"] == "Review the request" and review["form"]["pages"][0]["name"] == "p1"
    assert review["due_at"] is not None and review["client_id"] == str(client.id)
    assert tasks.inbox(portal)["items"] == []

    with pytest.raises(ValidationFailed) as refused:
        tasks.complete(staff, review["id"], {})
    assert "approved" in refused.value.details
    assert reload(iid)[0]["version"] == 1  # a rejected submission changes nothing

    done = tasks.complete(staff, review["id"], {"approved": True, "note": "fine", "sneaky": 1})
    assert done["status"] == "completed" and done["completed_by"] == f"staff:{staff.id}"
    doc, wf = reload(iid)
    assert doc["version"] == 2 and len(doc["projected"]["tasks"]) == 2
    assert "sneaky" not in task_data(wf, "review")  # only the form's answers reach task data

    sign = only_task(portal)
    file_it = only_task(staff)
    assert sign["name"] == "Sign the consent" and sign["audience"] == f"client:{client.id}"
    assert file_it["name"] == "File the paperwork"
    tasks.complete(portal, sign["id"], {})
    assert reload(iid)[0]["status"] == "running"
    tasks.complete(staff, file_it["id"], {})

    doc, wf = reload(iid)
    assert doc["status"] == "completed" and doc["completed_at"] is not None
    assert task_data(wf, "finish")["steps"] == ["prepared", "finished"]
    assert kinds(doc) == ["started", "task_completed", "task_completed", "task_completed"]
    with pytest.raises(TaskNotOpen):
        tasks.complete(staff, file_it["id"], {})


def test_gateways_rejected_path(people):
    """Does a rejection take the exclusive gateway's default flow and end at once?"""
    iid = processes.start_process("t_gateways", client_id=people["client"].id)
    review = only_task(people["staff"])
    tasks.complete(people["staff"], review["id"], {"approved": False})
    doc, _wf = reload(iid)
    assert doc["status"] == "completed"
    assert tasks.inbox(people["staff"])["items"] == []


def test_call_activity_reaches_guardian(people):
    """Does a call activity's guardian task reach the guardian and return to the parent?"""
    client = people["client"]
    guardian = Contact(first_name="Gus", last_name="Guardian", email="gus@example.org")
    guardian.save()
    ContactLink(
        contact=guardian,
        client=client,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True),
    ).save()
    guardian_actor = portal_actor(make_portal_account(contact=guardian))
    iid = processes.start_process("t_parent", client_id=client.id)
    approve = only_task(guardian_actor)
    assert approve["audience"] == f"guardian:{client.id}" and approve["process_id"] == "t_parent"
    assert tasks.inbox(people["portal"])["items"] == []  # the client is not the guardian
    tasks.complete(guardian_actor, approve["id"], {})
    doc, wf = reload(iid)
    assert doc["status"] == "completed"
    assert task_data(wf, "after")["parent_saw_child"] is True


def test_message_correlates_by_client(people):
    """Does a named message reach only the instance of the client it names, with its payload?"""
    other = make_client(first_name="Bob")
    mine = processes.start_process("t_message", client_id=people["client"].id)
    theirs = processes.start_process("t_message", client_id=other.id)
    assert reload(mine)[0]["waiting_messages"] == ["payment_received"]
    assert (
        processes.correlate_message("payment_received", correlation={"client_id": str(other.id), "x": 1})
        == []
    )
    reached = processes.correlate_message(
        "payment_received", correlation={"client_id": str(people["client"].id)}, payload={"amount_cents": 500}
    )
    assert reached == [str(mine)]
    doc, wf = reload(mine)
    assert doc["status"] == "completed" and doc["waiting_messages"] == []
    assert task_data(wf, "record")["paid"] is True
    assert "message_received" in kinds(doc)
    assert reload(theirs)[0]["status"] == "running"


def test_boundary_timer_does_not_interrupt(people, scheduler):
    """Does a non-interrupting reminder timer fire (from task data) while the client task stays open?"""
    iid = processes.start_process(
        "t_reminder", client_id=people["client"].id, data={"reminder_cadence": "PT0.5S"}
    )
    fill = only_task(people["portal"])
    wait_for(lambda: "timer_fired" in kinds(reload(iid)[0]), what="the reminder")
    _doc, wf = reload(iid)
    assert task_data(wf, "remind")["reminded"] is True
    assert only_task(people["portal"])["id"] == fill["id"]  # still open
    tasks.complete(people["portal"], fill["id"], {})
    doc, _wf = reload(iid)
    assert doc["status"] == "completed"
    assert kinds(doc).count("timer_fired") == 1


def test_service_retries_then_error_boundary(people, test_operations, worker):
    """Is a failing operation retried until it succeeds, and a doomed one caught by its error boundary?"""
    iid = processes.start_process("t_service", data={"client_name": "Ann"})
    doc = wait_for(lambda: (d := reload(iid)[0])["status"] == "completed" and d, what="t_service to finish")
    _doc, wf = reload(iid)
    assert task_data(wf, "flaky")["flaky_result"] == {"greeted": "Ann", "attempt": 3}
    assert task_data(wf, "handle")["handled"] is True
    assert sorted(test_operations.values()) == [3, 3]  # flaky: 2 failures + 1 success; doomed: 1 + 2 retries
    history = doc["history"]
    assert [e["kind"] for e in history if e["kind"] != "started"] == ["operation_completed", "error_raised"]
    assert history[-1]["details"]["caught"] is True


def test_uncaught_operation_error_then_admin_retry(people, test_operations, worker):
    """Does an uncaught operation failure mark the instance errored, and an admin retry finish it?"""
    from engine.workflow import operations

    iid = processes.start_process("t_uncaught")
    doc = wait_for(lambda: (d := reload(iid)[0])["status"] == "errored" and d, what="the instance to error")
    assert doc["error"]["operation"] == "test_doomed" and "refuses" in doc["error"]["message"]
    operations.register("test_doomed", lambda **_: {"ok": True})
    out = processes.retry(people["staff"], iid)
    assert out["retried_operations"] == 1
    doc = wait_for(lambda: (d := reload(iid)[0])["status"] == "completed" and d, what="the retried instance")
    assert doc["error"] is None and "retried" in kinds(doc)
