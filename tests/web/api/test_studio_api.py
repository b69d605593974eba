"""The studio API: deploy checks (acceptance 1), check-only, diagrams, monitor filters, migration
preview/run/status/rollback over HTTP, and who may use it."""

from __future__ import annotations

import pytest

from engine.models.migration import MigrationRun
from engine.models.workflow import ProcessDefinition, Task
from engine.workflow import runtime, store
from tests.helpers import api_login, bpmn, make_staff, wait_for


@pytest.fixture()
def admin(client, s_flow):
    return api_login(client, make_staff(roles=("org_admin",)).email)


def _unknown_form_xml() -> str:
    return (
        bpmn("s_flow_v2")
        .decode()
        .replace(
            '<spiffworkflow:property name="formKey" value="s_ack"/></spiffworkflow:properties>\n'
            "      </bpmn:extensionElements>\n      <bpmn:incoming>f3</bpmn:incoming>",
            '<spiffworkflow:property name="formKey" value="no_such_form"/>'
            "</spiffworkflow:properties>\n      </bpmn:extensionElements>\n"
            "      <bpmn:incoming>f3</bpmn:incoming>",
        )
    )


def test_deploy_naming_a_missing_form_is_422_and_keeps_the_live_version(client, admin):
    """Does deploying a user task whose form does not exist get 422 naming the element, live version unchanged?"""
    xml = _unknown_form_xml()
    assert "no_such_form" in xml
    resp = client.post("/api/v1/processes", json={"bpmn": xml}, headers=admin)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "deploy_rejected"
    assert any("no_such_form" in m for m in error["details"]["welcome_call"])
    assert ProcessDefinition.objects.get(process_id="s_flow").latest_version == 1
    checked = client.post("/api/v1/processes/check", json={"bpmn": xml}, headers=admin)
    assert checked.status_code == 422 and "welcome_call" in checked.get_json()["error"]["details"]
    good = client.post("/api/v1/processes/check", json={"bpmn": bpmn("s_flow_v2").decode()}, headers=admin)
    assert good.status_code == 200 and good.get_json()["processes"][0]["form_keys"] == ["s_ack"]
    changes = good.get_json()["processes"][0]["changes"]
    assert changes["from_version"] == 1 and changes["processes"]["s_flow"]["added"] == [
        "welcome_call (Make the welcome call)"
    ]
    assert ProcessDefinition.objects.get(process_id="s_flow").latest_version == 1  # checking stores nothing


def test_migration_over_http_preview_run_poll_and_roll_back(client, admin, worker):
    """Can an admin preview, run (a worker executes it; polling progress), see refusals with reasons, and
    roll one instance back?"""
    moving = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    past = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    for data in ({"answer": "x"}, {"ok": True}):
        runtime.complete_task(
            past, Task.objects(instance_id=past, status="open").first().task_id, data, by="t"
        )
    assert (
        client.post("/api/v1/processes", json={"bpmn": bpmn("s_flow_v2").decode()}, headers=admin).status_code
        == 201
    )
    body = {"process_id": "s_flow", "to_version": 2}
    preview = client.post("/api/v1/process-instances/migrate/preview", json=body, headers=admin).get_json()
    assert (preview["total"], preview["can_move"], preview["refused"]) == (2, 1, 1)
    diff = client.get("/api/v1/processes/s_flow/diff?from=1&to=2", headers=admin).get_json()
    assert diff["processes"]["s_flow"]["added"] == ["welcome_call (Make the welcome call)"]

    refused = client.post("/api/v1/process-instances/migrate", json=body, headers=admin)
    assert refused.status_code == 422 and "Nothing was moved" in refused.get_json()["error"]["message"]
    assert MigrationRun.objects.count() == 0  # the confirm step: without confirm: true nothing starts
    run = client.post("/api/v1/process-instances/migrate", json={**body, "confirm": True}, headers=admin)
    assert run.status_code == 202
    run_id = run.get_json()["id"]

    def over():
        status = client.get(f"/api/v1/process-instances/migrations/{run_id}", headers=admin).get_json()
        return status if status["status"] in ("finished", "failed") else None

    status = wait_for(over, timeout=60, what="the migration run")
    assert (status["status"], status["moved"], status["refused"], status["failed"]) == ("finished", 1, 1, 0)
    assert status["outcomes"][0]["instance_id"] == str(past)
    assert "acknowledge" in status["outcomes"][0]["reasons"][0]

    found = client.get("/api/v1/process-instances/search?process_id=s_flow&process_version=2", headers=admin)
    assert [i["id"] for i in found.get_json()["items"]] == [str(moving)]
    snaps = client.get(f"/api/v1/process-instances/{moving}/snapshots", headers=admin).get_json()["items"]
    assert len(snaps) == 1 and snaps[0]["from_version"] == 1
    back = client.post(f"/api/v1/process-instances/{moving}/rollback", json={}, headers=admin)
    assert back.status_code == 200 and back.get_json()["process_version"] == 1
    again = client.post(f"/api/v1/process-instances/{moving}/rollback", json={}, headers=admin)
    assert again.status_code == 404


def test_diagrams_have_a_layout_and_element_states(client, admin):
    """Do the modeler and the monitor get drawable BPMN, and does the instance diagram mark its elements?"""
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    latest = client.get("/api/v1/processes/s_flow/diagram", headers=admin).get_json()
    assert "BPMNDiagram" in latest["bpmn"] and latest["versions"] == [1]
    shown = client.get(f"/api/v1/process-instances/{iid}/diagram", headers=admin).get_json()
    assert "BPMNShape" in shown["bpmn"]
    assert shown["states"]["start"] == "completed" and shown["states"]["fill"] == "active"
    assert shown["states"]["reminder"] == "waiting"
    catalog = client.get("/api/v1/studio/catalog", headers=admin).get_json()
    assert "s_ack" in [f["key"] for f in catalog["forms"]] and "client" in catalog["lanes"]
    assert store.instances().count_documents({}) == 1


def test_studio_api_needs_workflows_manage(client, s_flow):
    """Is a therapist (no workflows.manage) refused by every studio endpoint?"""
    headers = api_login(client, make_staff(roles=("therapist",)).email)
    for method, path in (
        ("post", "/api/v1/process-instances/migrate/preview"),
        ("post", "/api/v1/process-instances/migrate"),
        ("get", "/api/v1/studio/catalog"),
        ("get", "/api/v1/processes/s_flow/diagram"),
    ):
        body = {"process_id": "s_flow", "to_version": 1} if method == "post" else None
        assert getattr(client, method)(path, json=body, headers=headers).status_code == 403
