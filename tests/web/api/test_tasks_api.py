"""The task inbox over HTTP: list, read, claim, complete; 422/409/404 as docs/API.md says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.services.processes import processes
from engine.workflow import store
from engine.workflow.deploy import deploy
from tests.helpers import api_login, bpmn, make_client, make_portal_account, make_staff

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def world(app, review_form):
    deploy(SYSTEM, bpmn("t_gateways"))
    admin = make_staff(roles=("org_admin",))
    therapist = make_staff(roles=("therapist",))
    client = make_client(assigned_staff=[])
    account = make_portal_account(client=client)
    iid = processes.start_process("t_gateways", client_id=client.id)
    return {"admin": admin, "therapist": therapist, "client": client, "account": account, "iid": iid}


def inbox(client, headers, **query):
    resp = client.get("/api/v1/tasks", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_inbox_claim_complete_over_http(client, world):
    """Can staff list, claim and complete a task, with 422 for bad answers and 409 the second time?"""
    admin = api_login(client, world["admin"].email)
    [task] = inbox(client, admin)
    assert set(task) >= {
        "id",
        "name",
        "lane",
        "status",
        "client_id",
        "process_instance_id",
        "form",
        "prefill",
    }
    assert task["form"]["pages"][0]["elements"][0]["name"] == "approved"
    one = client.get(f"/api/v1/tasks/{task['id']}", headers=admin).get_json()
    assert one["id"] == task["id"] and one["prefill"] == {}

    resp = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}}, headers=admin)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_failed"
    assert "approved" in resp.get_json()["error"]["details"]

    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=admin).get_json()
    assert claimed["claimed_by"] == f"staff:{world['admin'].id}"
    assert [t["id"] for t in inbox(client, admin, scope="mine")] == [task["id"]]

    resp = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True}}, headers=admin
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "completed"
    again = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"approved": True}}, headers=admin
    )
    assert again.status_code == 409
    names = sorted(t["name"] for t in inbox(client, admin))
    assert names == ["File the paperwork"]  # the client's task is not in a staff inbox
    portal = api_login(client, world["account"].email)
    assert [t["name"] for t in inbox(client, portal)] == ["Sign the consent"]
    assert inbox(client, admin, status="completed")[0]["id"] == task["id"]


def test_assigned_therapist_sees_the_staff_task(client, world):
    """Does a therapist assigned to the client see the client's general staff task (and the audit a read)?"""
    from engine.models.audit import AuditEvent

    world["client"].update(push__assigned_staff=world["therapist"].id)
    headers = api_login(client, world["therapist"].email)
    [task] = inbox(client, headers)
    assert task["name"] == "Review the request"
    assert [t["id"] for t in inbox(client, headers, client_id=str(world["client"].id))] == [task["id"]]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=headers).status_code == 200
    assert AuditEvent.objects(action="task_viewed", object_id=task["id"]).count() == 1


def test_not_yours_is_404(client, world):
    """Do a therapist who does not see the client, and a portal account, get 404 for the staff task?"""
    [task] = inbox(client, api_login(client, world["admin"].email))
    for email in (world["therapist"].email, world["account"].email):
        headers = api_login(client, email)
        assert inbox(client, headers) == []
        for path in (f"/api/v1/tasks/{task['id']}", f"/api/v1/tasks/{task['id']}/complete"):
            resp = (
                client.get(path, headers=headers)
                if path.endswith(task["id"])
                else client.post(path, json={"data": {"approved": True}}, headers=headers)
            )
            assert resp.status_code == 404, path
    assert (
        client.get("/api/v1/tasks/not-an-id", headers=api_login(client, world["admin"].email)).status_code
        == 404
    )
    assert client.get("/api/v1/tasks").status_code == 401


@pytest.mark.timeout(120)
def test_two_processes_complete_one_task(client, world, tmp_path):
    """Do two simultaneous completions from separate processes give exactly one 200 and one 409,
    with the instance advanced once?"""
    token = api_login(client, world["admin"].email)["Authorization"].split()[1]
    [task] = inbox(client, {"Authorization": f"Bearer {token}"})
    before = store.instances().find_one({"_id": world_id(world)})["version"]
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "tests/web/api/complete_task_main.py"), task["id"], token, str(go)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    codes = sorted(int(p.communicate(timeout=60)[0].strip()) for p in procs)
    assert codes == [200, 409]
    doc = store.instances().find_one({"_id": world_id(world)})
    assert doc["version"] == before + 1
    assert [e["kind"] for e in doc["history"]].count("task_completed") == 1


def world_id(world):
    from bson import ObjectId

    return ObjectId(world["iid"])
