"""Processes and process instances over HTTP: deploy (validated), versions, start, monitor, messages."""

from __future__ import annotations

from tests.helpers import api_login, bpmn, make_client, make_staff


def test_deploy_start_message_monitor(client, app):
    """Can an admin deploy, read a version, start an instance for a client, message it and watch it finish?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    resp = client.post("/api/v1/processes", json={"bpmn": bpmn("t_message").decode()}, headers=admin)
    assert resp.status_code == 201
    assert resp.get_json()["deployed"] == [{"process_id": "t_message", "number": 1, "created": True}]
    again = client.post(
        "/api/v1/processes", json={"bpmn": bpmn("t_message").decode()}, headers=admin
    ).get_json()
    assert again["deployed"][0]["created"] is False
    assert client.get("/api/v1/processes", headers=admin).get_json()["items"][0]["latest_version"] == 1
    version = client.get("/api/v1/processes/t_message/versions/1", headers=admin).get_json()
    assert "payment_received" in version["bpmn"]
    assert client.get("/api/v1/processes/t_message/versions/9", headers=admin).status_code == 404

    person = make_client()
    started = client.post(
        "/api/v1/process-instances",
        json={"process_id": "t_message", "client_id": str(person.id)},
        headers=admin,
    )
    assert started.status_code == 201
    iid = started.get_json()["id"]
    assert started.get_json()["waiting_messages"] == ["payment_received"]
    wrong = client.post(f"/api/v1/process-instances/{iid}/messages", json={"name": "nope"}, headers=admin)
    assert wrong.status_code == 404
    resp = client.post(
        "/api/v1/process-instances/messages",
        headers=admin,
        json={
            "name": "payment_received",
            "correlation": {"client_id": str(person.id)},
            "payload": {"amount_cents": 1},
        },
    )
    assert resp.status_code == 200 and resp.get_json()["instances"] == [iid]
    detail = client.get(f"/api/v1/process-instances/{iid}", headers=admin).get_json()
    assert detail["status"] == "completed"
    assert [e["kind"] for e in detail["history"]] == ["started", "message_received"]
    listed = client.get(
        "/api/v1/process-instances", query_string={"status": "completed"}, headers=admin
    ).get_json()
    assert [i["id"] for i in listed["items"]] == [iid]


def test_rejected_deploy_is_422_with_details(client, app):
    """Does a bad BPMN get 422 deploy_rejected naming the element, and non-admins 403?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    resp = client.post("/api/v1/processes", json={"bpmn": bpmn("t_gateways").decode()}, headers=admin)
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["code"] == "deploy_rejected" and "review" in body["details"]
    assert client.post("/api/v1/processes", json={"bpmn": "<x"}, headers=admin).status_code == 422
    therapist = api_login(client, make_staff(roles=("therapist",)).email)
    assert (
        client.post(
            "/api/v1/processes", json={"bpmn": bpmn("t_message").decode()}, headers=therapist
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/process-instances", json={"process_id": "nope"}, headers=admin).status_code
        == 404
    )
