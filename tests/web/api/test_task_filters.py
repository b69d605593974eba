"""One id per task across the API, GET /tasks filters, and unknown query parameters refused (issue 18, item 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import api_login, make_client, make_staff

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_t_check" targetNamespace="http://portico.test/bpmn">
  <bpmn:process id="t_check" name="Test check" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_staff" name="staff"><bpmn:flowNodeRef>check</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="check" name="Check the paperwork">
      <bpmn:extensionElements>
        <spiffworkflow:properties><spiffworkflow:property name="due" value="'P2D'"/></spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _start(client, admin, person) -> str:
    resp = client.post(
        "/api/v1/process-instances",
        headers=admin,
        json={"process_id": "t_check", "client_id": str(person.id)},
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _tasks(client, admin, **query) -> list[dict]:
    resp = client.get("/api/v1/tasks", headers=admin, query_string=query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def test_one_filtered_call_finds_a_new_instances_task(client):
    """Does one GET /tasks?process_instance_id= find the open task of a freshly started instance, among
    others, and do the instance detail's task ids open with GET /tasks/{id}?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    assert client.post("/api/v1/processes", json={"bpmn": BPMN}, headers=admin).status_code == 201
    person = make_client()
    others = [_start(client, admin, person) for _ in range(3)]
    iid = _start(client, admin, person)

    [task] = _tasks(client, admin, process_instance_id=iid)
    assert task["process_instance_id"] == iid and task["name"] == "Check the paperwork"

    detail = client.get(f"/api/v1/process-instances/{iid}", headers=admin).get_json()
    assert detail["open_tasks"] == [task["id"]]
    assert [t["id"] for t in detail["tasks"]] == [task["id"]] and detail["tasks"][0]["lane"] == "staff"
    opened = client.get(f"/api/v1/tasks/{detail['open_tasks'][0]}", headers=admin)
    assert opened.status_code == 200 and opened.get_json()["process_instance_id"] == iid

    # The other filters narrow the same way.
    soon, later = datetime.now(UTC) + timedelta(days=3), datetime.now(UTC) + timedelta(days=1)
    assert len(_tasks(client, admin, client_id=str(person.id), lane="staff")) == 4
    assert _tasks(client, admin, process_instance_id=iid, lane="client") == []
    assert _tasks(client, admin, process_instance_id=iid, form_key="phq9") == []
    assert (
        len(
            _tasks(
                client,
                admin,
                process_instance_id=iid,
                due_after=later.isoformat(),
                due_before=soon.isoformat(),
            )
        )
        == 1
    )
    assert _tasks(client, admin, process_instance_id=iid, due_after=soon.isoformat()) == []
    assert len(_tasks(client, admin, lane="staff", due_after=later.isoformat())) == 4
    assert _tasks(client, admin, process_instance_id=others[0], status="completed") == []


def test_unknown_query_parameters_are_422_naming_them(client):
    """Is an unknown filter refused with 422 naming it, on GET /tasks and on routes that take no query?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    resp = client.get(
        "/api/v1/tasks", headers=admin, query_string={"process_instance": "x", "status": "open"}
    )
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "validation_failed" and list(error["details"]) == ["process_instance"]
    me = client.get("/api/v1/me?verbose=1", headers=admin)
    assert me.status_code == 422 and "verbose" in me.get_json()["error"]["details"]
    assert client.get("/api/v1/me", headers=admin).status_code == 200
    # Declared parameters still pass; a refused caller hears about access first.
    assert client.get("/api/v1/clients?q=a&page=1", headers=admin).status_code == 200
    assert client.get("/api/v1/tasks?nope=1").status_code == 401
