"""Steps of the intake lifecycle through the HTTP API, shared by the lifecycle tests."""

from __future__ import annotations

from bson import ObjectId

from engine.models.organization import Organization
from engine.models.workflow import OutboxMessage
from engine.workflow import outbox
from tests.form_fills import VALID
from tests.helpers import api_login, wait_for

PORTAL_PASSWORD = "a long portal password 42"


def configure(**portal) -> None:
    org = Organization.get()
    org.name = "Harbor Counseling"
    for name, value in portal.items():
        setattr(org.portal, name, value)
    org.save()


def activate(http, smtp, email: str) -> dict:
    """Activate the account from the newest activation link mailed to `email`; returns bearer headers."""
    links = wait_for(lambda: smtp.links(email, "/portal/activate?token="), what=f"activation mail to {email}")
    token = links[-1].split("token=", 1)[1]
    resp = http.post("/api/v1/portal/activate", json={"token": token, "password": PORTAL_PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    again = http.post("/api/v1/portal/activate", json={"token": token, "password": PORTAL_PASSWORD})
    assert again.status_code == 422  # single use
    return api_login(http, email, PORTAL_PASSWORD)


def open_tasks(http, headers, **query) -> list[dict]:
    resp = http.get("/api/v1/tasks", headers=headers, query_string={"per_page": 100, **query})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def wait_tasks(http, headers, predicate, what: str, count: int = 1) -> list[dict]:
    def found():
        items = [t for t in open_tasks(http, headers) if predicate(t)]
        return items if len(items) >= count else None

    return wait_for(found, what=what)


def complete(http, headers, task_id: str, data: dict) -> dict:
    resp = http.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def fill_packet(http, headers, client_id: str, count: int) -> list[str]:
    """Complete every open packet form of the client; returns the form keys completed."""
    forms = wait_tasks(
        http, headers, lambda t: t["lane"] == "client" and t["client_id"] == client_id, "packet tasks", count
    )
    for task in forms:
        detail = http.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()
        assert detail["form"] is not None  # the task carries its SurveyJS form
        complete(http, headers, task["id"], VALID[task["form_key"]])
    return [t["form_key"] for t in forms]


def acknowledge_all(http, staff, count: int, *, returns: dict | None = None) -> list[dict]:
    """Complete `count` acknowledgement tasks: acknowledge, or return the forms named in `returns`."""
    returns = returns or {}
    acks = wait_tasks(
        http, staff, lambda t: t["form_key"] == "form_acknowledgement", "acknowledgement tasks", count
    )
    for task in acks:
        form_key = http.get(f"/api/v1/tasks/{task['id']}/review", headers=staff).get_json()["form_key"]
        if form_key in returns:
            complete(http, staff, task["id"], {"decision": "return", "return_comment": returns[form_key]})
        else:
            complete(http, staff, task["id"], {"decision": "acknowledge"})
    return acks


def wait_completed(http, staff, instance_id: str) -> dict:
    def done():
        body = http.get(f"/api/v1/process-instances/{instance_id}", headers=staff).get_json()
        assert body["status"] != "errored", body.get("error")
        return body if body["status"] == "completed" else None

    return wait_for(done, timeout=40, what="the intake to complete")


def documents(http, headers, client_id: str) -> list[dict]:
    resp = http.get(f"/api/v1/clients/{client_id}/documents", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def perform_all(iid) -> list[str]:
    """Perform every pending operation of the instance (as the worker would); returns their names."""
    done = []
    while True:
        rows = list(
            OutboxMessage._get_collection().find({"instance_id": ObjectId(str(iid)), "status": "pending"})
        )
        if not rows:
            return done
        for row in rows:
            outbox.perform(row["_id"])
            done.append(row["operation"])
