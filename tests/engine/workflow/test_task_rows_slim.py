"""Inbox rows carry no empty due date or claim, and drop what only open rows are read for once done:
smaller rows, found by the same queries."""

from __future__ import annotations

from bson import ObjectId

from engine.authz import staff_actor
from engine.models.workflow import Task
from engine.services.inbox import tasks
from engine.services.processes import processes
from tests.helpers import make_client, make_staff


def test_open_rows_leave_out_empty_fields_and_done_rows_drop_the_spec_name(deployed):
    """Is an open row without a due date or claim stored without those fields and still listed, and
    is a completed row stored without its spec name, still listed among completed tasks and shown whole?"""
    staff = staff_actor(make_staff(roles=("org_admin",)))
    iid = ObjectId(processes.start_process("t_gateways", client_id=make_client(first_name="Ann").id))
    review = tasks.inbox(staff)["items"][0]
    tasks.complete(staff, review["id"], {"approved": True, "note": "fine"})
    done = Task._get_collection().find_one({"_id": ObjectId(review["id"])})
    assert done["status"] == "completed" and "spec_name" not in done and done["due_at"] is not None
    undated = [
        r
        for r in Task._get_collection().find({"instance_id": iid, "status": "open"})
        if not r.get("due_at") and not r.get("claimed_by")
    ]
    assert undated and all("due_at" not in r and "claimed_by" not in r for r in undated)
    listed = {t["id"] for t in tasks.inbox(staff, per_page=100)["items"]}
    assert {str(r["_id"]) for r in undated if r["lane"] == "staff"} <= listed
    staff_row = next(r for r in undated if r["lane"] == "staff")
    tasks.complete(staff, staff_row["_id"], {})
    completed = {t["id"]: t for t in tasks.inbox(staff, status="completed", per_page=100)["items"]}
    assert {review["id"], str(staff_row["_id"])} <= set(completed)
    shown = completed[str(staff_row["_id"])]
    assert (shown["name"], shown["due_at"], shown["claimed_by"], shown["status"]) == (
        staff_row["name"],
        None,
        None,
        "completed",
    )
