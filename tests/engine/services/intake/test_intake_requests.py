"""Sending one form, resending missed forms, saving progress, revision prefill and the intake pages.

Operations are performed here directly (tests.intake_lifecycle.perform_all) instead of by a worker."""

from __future__ import annotations

from engine.models.forms import Submission
from tests import intake_lifecycle as lc
from tests.form_fills import VALID
from tests.helpers import csrf_token, login_as


def test_send_one_form_and_resend_missed(client, people, smtp):
    """Does sending a single form give the client exactly that task, and does "resend missed" mail a
    reminder naming how many forms wait, without any form's name?"""
    ann = people["client"]
    resp = client.post(
        f"/api/v1/clients/{ann.id}/form-requests", headers=people["staff"], json={"form_key": "gad7"}
    )
    assert resp.status_code == 201, resp.get_json()
    lc.perform_all(resp.get_json()["id"])
    assert [t["form_key"] for t in lc.open_tasks(client, people["portal"])] == ["gad7"]
    sent = smtp.to("ann@example.org")[-1]
    assert "sent you a form" in sent and "Sign in to continue" in sent  # already activated: no new token

    resent = client.post(f"/api/v1/clients/{ann.id}/resend-missed", headers=people["staff"])
    assert resent.status_code == 200 and [f["form_key"] for f in resent.get_json()["forms"]] == ["gad7"]
    [resend] = resent.get_json()["instances"]
    assert lc.perform_all(resend) == ["send_email"]  # the mail goes out from the workers, not the request
    reminder = smtp.to("ann@example.org")[-1]
    assert "waiting for 1 form " in reminder and "GAD" not in reminder and "anxiety" not in reminder.lower()
    bad = client.post(
        f"/api/v1/clients/{ann.id}/form-requests", headers=people["staff"], json={"form_key": "nope"}
    )
    assert bad.status_code == 422 and "form_key" in bad.get_json()["error"]["details"]


def test_progress_is_saved_and_resumed_then_sealed(client, people):
    """Can a client save part of a packet form, find it again, and complete the task, which seals
    the same submission and keeps only a reference to it in the workflow?"""
    ann = people["client"]
    instance = client.post(f"/api/v1/clients/{ann.id}/invite", headers=people["staff"], json={}).get_json()
    lc.perform_all(instance["id"])
    task = next(t for t in lc.open_tasks(client, people["portal"]) if t["form_key"] == "phq9")
    url = f"/api/v1/clients/{ann.id}/forms/phq9"
    context = f"task:{task['id']}"
    assert (
        client.put(
            url, headers=people["portal"], json={"data": {"phq9_1": 2}, "context": context}
        ).status_code
        == 204
    )
    resumed = client.get(url, headers=people["portal"], query_string={"context": context}).get_json()
    assert resumed["has_progress"] and resumed["data"]["phq9_1"] == 2

    refused = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=people["portal"], json={"data": {"phq9_1": 2}}
    )
    assert refused.status_code == 422 and "phq9_2" in refused.get_json()["error"]["details"]
    assert Submission.objects(context=context).get().status == "in_progress"  # earlier answers intact
    lc.complete(client, people["portal"], task["id"], VALID["phq9"])
    [sealed] = Submission.objects(context=context)
    assert sealed.status == "completed" and sealed.evidence.sha256


def test_pages_of_the_intake(client, people):
    """Do the staff General Documents tab, the portal forms list and the activation page render, and
    does the activation page refuse two different passwords?"""
    ann = people["client"]
    login_as(client, people["admin"].email)
    page = client.get(f"/staff/clients/{ann.id}/documents")
    assert page.status_code == 200 and b"Invite to the portal" in page.data and b"Print blank" in page.data
    client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})

    form = client.get("/portal/activate?token=abc")
    assert form.status_code == 200 and b'name="password"' in form.data
    token = csrf_token(client, "/portal/activate?token=abc")
    mismatch = client.post(
        "/portal/activate",
        data={
            "token": "abc",
            "password": "a long portal password 42",
            "confirm": "another long password 42",
            "csrf_token": token,
        },
    )
    assert mismatch.status_code == 422 and b"differ" in mismatch.data
    unknown = client.post(
        "/portal/activate",
        data={
            "token": "abc",
            "password": "a long portal password 42",
            "confirm": "a long portal password 42",
            "csrf_token": token,
        },
    )
    assert unknown.status_code == 422 and b"invalid, used or expired" in unknown.data

    login_as(client, "ann@example.org")
    assert client.get("/portal/tasks").status_code == 200
    assert client.get("/portal/documents").status_code == 200
