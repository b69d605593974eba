"""Closing requests without a submission, through the API: cancelling one form or a whole intake,
a paper form answering a request, and documents shared with the client.

Operations are performed here directly (tests.intake_lifecycle.perform_all) instead of by a worker."""

from __future__ import annotations

import io
import time

from bson import ObjectId

from engine.models.audit import AuditEvent
from engine.models.documents import Document
from engine.models.invitations import IntakeReminder
from engine.models.workflow import ProcessInstance, Task, Timer
from engine.services.platform import audit
from engine.workflow import outbox, runtime
from tests import intake_lifecycle as lc
from tests.form_fills import VALID
from tests.helpers import api_login, make_staff

PDF = b"%PDF-1.4 a scanned paper form"


def _audited(action: str, **query) -> int:
    audit.chain_pending()
    return AuditEvent.objects(action=action, **query).count()


def _invite(client, people) -> str:
    resp = client.post(f"/api/v1/clients/{people['client'].id}/invite", headers=people["staff"], json={})
    assert resp.status_code == 201, resp.get_json()
    lc.perform_all(resp.get_json()["id"])
    return resp.get_json()["id"]


def _task_for(client, people, form_key: str) -> dict:
    return next(t for t in lc.open_tasks(client, people["portal"]) if t["form_key"] == form_key)


def _history(iid: str) -> list[dict]:
    return ProcessInstance._get_collection().find_one({"_id": ObjectId(iid)})["history"]


def test_cancelling_one_form_drops_it_and_the_rest_of_the_intake_goes_on(client, people):
    """Does cancelling one requested form with a reason take it off the client's list, keep it in the
    history (row, instance history, audit), and let the intake finish with the other form alone?"""
    lc.configure(intake_packet=["demographics", "phq9"], reminder_cadence="P1D", reminder_max=2)
    ann = people["client"]
    iid = _invite(client, people)
    phq9 = _task_for(client, people, "phq9")

    url = f"/api/v1/form-requests/{phq9['id']}/cancel"
    bad = client.post(url, headers=people["staff"], json={"reason": "   "})
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["details"]
    outsider = api_login(client, make_staff(roles=("therapist",), permissions=["portal.invite"]).email)
    assert client.post(url, headers=outsider, json={"reason": "x"}).status_code == 404
    assert client.post(url, headers=people["portal"], json={"reason": "x"}).status_code in (403, 404)
    assert [t["form_key"] for t in lc.open_tasks(client, people["portal"])] == ["demographics", "phq9"]

    resp = client.post(url, headers=people["staff"], json={"reason": "Done at the last session"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "running"
    assert [t["form_key"] for t in lc.open_tasks(client, people["portal"])] == ["demographics"]
    assert client.post(url, headers=people["staff"], json={"reason": "again"}).status_code == 409

    closed = client.get(f"/api/v1/clients/{ann.id}/closed-requests", headers=people["staff"]).get_json()[
        "items"
    ]
    assert [(c["outcome"], c["reason"]) for c in closed] == [("Cancelled", "Done at the last session")]
    row = Task._get_collection().find_one({"_id": ObjectId(phq9["id"])})
    assert row["status"] == "closed" and row["closed_as"] == "cancelled"
    assert any(
        e["kind"] == "task_cancelled" and e["details"]["reason"] == "Done at the last session"
        for e in _history(iid)
    )
    assert _audited("form_request_cancelled", client_id=str(ann.id)) == 1
    assert Timer.objects(instance_id=ObjectId(iid), status="waiting").count() == 1  # demographics still due

    # The intake goes on with demographics alone: one acknowledgement, then filed and completed.
    lc.complete(
        client, people["portal"], _task_for(client, people, "demographics")["id"], VALID["demographics"]
    )
    assert Timer.objects(instance_id=ObjectId(iid), status="waiting").count() == 0  # reminders stop
    lc.perform_all(iid)
    acks = lc.acknowledge_all(client, people["staff"], 1)
    assert len(acks) == 1
    lc.perform_all(iid)
    assert ProcessInstance.objects.get(id=iid).status == "completed"
    filed = {d["form_key"] for d in lc.documents(client, people["staff"], str(ann.id)) if d["kind"] == "form"}
    assert filed == {"demographics"}


def test_cancelling_an_intake_stops_its_reminders_and_keeps_its_history(client, people, smtp):
    """Does cancelling a whole intake close its forms, stop its reminder timer (a late firing does
    nothing), mark it cancelled with the reason, and refuse a second cancel?"""
    lc.configure(intake_packet=["demographics", "phq9"], reminder_cadence="P1D", reminder_max=2)
    ann = people["client"]
    iid = _invite(client, people)
    timer = Timer.objects(instance_id=ObjectId(iid), status="waiting").get()
    mails = len(smtp.to("ann@example.org"))

    url = f"/api/v1/intakes/{iid}/cancel"
    assert client.post(url, headers=people["staff"], json={}).status_code == 422
    assert (
        client.post(
            f"/api/v1/intakes/{ObjectId()}/cancel", headers=people["staff"], json={"reason": "x"}
        ).status_code
        == 404
    )
    resp = client.post(url, headers=people["staff"], json={"reason": "Client moved away"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"instance_id": iid, "status": "cancelled", "forms_closed": 2}

    assert lc.open_tasks(client, people["portal"]) == []
    assert ProcessInstance.objects.get(id=iid).status == "cancelled"
    assert Timer.objects.get(id=timer.id).status == "cancelled"
    assert runtime.fire_timer(iid, timer.task_id) == "stale"
    assert lc.perform_all(iid) == [] and len(smtp.to("ann@example.org")) == mails  # no reminder goes out
    assert any(
        e["kind"] == "instance_cancelled" and e["details"]["reason"] == "Client moved away"
        for e in _history(iid)
    )
    closed = client.get(f"/api/v1/clients/{ann.id}/closed-requests", headers=people["staff"]).get_json()[
        "items"
    ]
    assert sorted(c["outcome"] for c in closed) == ["Cancelled", "Cancelled"]
    assert _audited("client_intake_cancelled", client_id=str(ann.id)) == 1
    assert client.post(url, headers=people["staff"], json={"reason": "again"}).status_code == 409


def test_cancelling_the_only_form_sent_cancels_its_request(client, people):
    """When staff cancel the one form they sent, is its request cancelled (not completed empty)?"""
    ann = people["client"]
    sent = client.post(
        f"/api/v1/clients/{ann.id}/form-requests", headers=people["staff"], json={"form_key": "gad7"}
    )
    lc.perform_all(sent.get_json()["id"])
    task = _task_for(client, people, "gad7")
    resp = client.post(
        f"/api/v1/form-requests/{task['id']}/cancel",
        headers=people["staff"],
        json={"reason": "Sent by mistake"},
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert ProcessInstance.objects.get(id=sent.get_json()["id"]).status == "cancelled"


def test_a_paper_form_answers_its_request(client, people):
    """Does an upload marked as answering a requested form file the paper form, close the request (off
    the client's list, reminders stop once nothing else waits) and leave it out of review — while a
    request of another client or a caller without the intake right stores nothing?"""
    lc.configure(intake_packet=["demographics", "phq9"], reminder_cadence="P1D", reminder_max=2)
    ann = people["client"]
    iid = _invite(client, people)
    phq9 = _task_for(client, people, "phq9")
    url = f"/api/v1/clients/{ann.id}/documents"
    before = Document.objects.count()

    therapist = make_staff(roles=("therapist",))
    ann.assigned_staff = [therapist.id]
    ann.save()
    refused = client.post(
        url,
        headers=api_login(client, therapist.email),
        data={"file": (_file(), "phq9.pdf"), "answers_request": phq9["id"]},
    )
    assert refused.status_code in (403, 404)
    wrong = client.post(
        url, headers=people["staff"], data={"file": (_file(), "x.pdf"), "answers_request": "nope"}
    )
    assert wrong.status_code == 404
    assert Document.objects.count() == before  # nothing stored when the request is refused

    resp = client.post(
        url,
        headers=people["staff"],
        data={"file": (_file(), "phq9.pdf"), "title": "PHQ-9 on paper", "answers_request": phq9["id"]},
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["form_key"] == "phq9"
    assert [t["form_key"] for t in lc.open_tasks(client, people["portal"])] == ["demographics"]
    closed = client.get(f"/api/v1/clients/{ann.id}/closed-requests", headers=people["staff"]).get_json()[
        "items"
    ]
    assert [(c["outcome"], c["document_id"]) for c in closed] == [
        ("Answered on paper", resp.get_json()["id"])
    ]
    assert _audited("form_request_answered", client_id=str(ann.id)) == 1
    assert any(e["kind"] == "task_answered_on_paper" for e in _history(iid))

    lc.complete(
        client, people["portal"], _task_for(client, people, "demographics")["id"], VALID["demographics"]
    )
    assert Timer.objects(instance_id=ObjectId(iid), status="waiting").count() == 0
    lc.perform_all(iid)
    assert len(lc.acknowledge_all(client, people["staff"], 1)) == 1  # the paper form needs no review here
    lc.perform_all(iid)
    assert ProcessInstance.objects.get(id=iid).status == "completed"


def _file():
    return io.BytesIO(PDF)


def test_shared_documents_and_awaiting_review(client, people):
    """Does a shared upload appear in the client's documents (and go again when hidden), only uploads
    be shared, and a submitted form show at once as awaiting review until it is filed?"""
    ann = people["client"]
    up = client.post(
        f"/api/v1/clients/{ann.id}/documents",
        headers=people["staff"],
        data={"file": (_file(), "letter.pdf"), "title": "Welcome letter"},
    )
    doc_id = up.get_json()["id"]
    portal_docs = f"/api/v1/clients/{ann.id}/documents"
    content = f"/api/v1/documents/{doc_id}/content"
    assert client.get(portal_docs, headers=people["portal"]).get_json()["items"] == []
    assert client.get(content, headers=people["portal"]).status_code == 404

    sharing = f"/api/v1/documents/{doc_id}/sharing"
    assert client.put(sharing, headers=people["portal"], json={"shared": True}).status_code in (403, 404)
    assert client.put(sharing, headers=people["staff"], json={}).status_code == 422
    shared = client.put(sharing, headers=people["staff"], json={"shared": True})
    assert shared.status_code == 200 and shared.get_json()["shared"] is True
    assert [d["title"] for d in client.get(portal_docs, headers=people["portal"]).get_json()["items"]] == [
        "Welcome letter"
    ]
    assert client.get(content, headers=people["portal"]).status_code == 200
    assert client.put(sharing, headers=people["staff"], json={"shared": False}).get_json()["shared"] is False
    assert client.get(portal_docs, headers=people["portal"]).get_json()["items"] == []
    assert client.get(content, headers=people["portal"]).status_code == 404
    assert _audited("client_document_shared") == 1 and _audited("client_document_unshared") == 1

    iid = _invite(client, people)
    submitted = f"/api/v1/clients/{ann.id}/submitted-forms"
    assert client.get(submitted, headers=people["portal"]).get_json()["items"] == []
    lc.complete(client, people["portal"], _task_for(client, people, "phq9")["id"], VALID["phq9"])
    [waiting] = client.get(submitted, headers=people["portal"]).get_json()["items"]
    assert (
        waiting["title"]
        and client.get(
            f"/api/v1/submissions/{waiting['submission_id']}/pdf", headers=people["portal"]
        ).status_code
        == 200
    )
    lc.complete(
        client, people["portal"], _task_for(client, people, "demographics")["id"], VALID["demographics"]
    )
    lc.perform_all(iid)
    lc.acknowledge_all(client, people["staff"], 2)
    lc.perform_all(iid)
    assert client.get(submitted, headers=people["portal"]).get_json()["items"] == []  # filed now
    form_doc = next(d for d in lc.documents(client, people["staff"], str(ann.id)) if d["kind"] == "form")
    refused = client.put(
        f"/api/v1/documents/{form_doc['id']}/sharing", headers=people["staff"], json={"shared": False}
    )
    assert refused.status_code == 422


def test_resending_missed_forms_runs_the_resend_workflow_within_the_reminder_limit(client, people, smtp):
    """Does "resend missed forms" start the resend workflow (its mail sent by the operation, not the
    request), count toward the intake's reminder limit (a follow-up for staff at the limit, a refusal
    after it), and does a timer reminder past the limit neither mail nor count?"""
    # Timers fire here only when the test fires them (no scheduler), so a short cadence is safe.
    lc.configure(intake_packet=["demographics", "phq9"], reminder_cadence="PT2S", reminder_max=1)
    ann = people["client"]
    iid = _invite(client, people)
    mails = len(smtp.to("ann@example.org"))
    url = f"/api/v1/clients/{ann.id}/resend-missed"

    resp = client.post(url, headers=people["staff"])
    assert resp.status_code == 200, resp.get_json()
    [resend] = resp.get_json()["instances"]
    assert ProcessInstance.objects.get(id=resend).process_id == "resend_forms"
    assert len(smtp.to("ann@example.org")) == mails  # nothing mailed inside the request
    assert lc.perform_all(resend) == ["send_email"]
    assert (
        len(smtp.to("ann@example.org")) == mails + 1
        and "waiting for 2 forms" in smtp.to("ann@example.org")[-1]
    )
    assert IntakeReminder.objects(instance_id=ObjectId(iid)).count() == 1  # counted for the intake
    follow_ups = [t for t in lc.open_tasks(client, people["staff"]) if t["name"].startswith("Follow up")]
    assert len(follow_ups) == 1
    assert _audited("client_forms_resent", client_id=str(ann.id)) == 1

    again = client.post(url, headers=people["staff"])
    assert again.status_code == 409 and "limit" in again.get_json()["error"]["message"]

    # The intake's own timer comes due: past the limit, no mail, no second follow-up.
    timer = Timer.objects(instance_id=ObjectId(iid), status="waiting").get()
    time.sleep(2.5)
    assert outbox.fire(timer.id) == "fired"
    assert lc.perform_all(iid) == ["send_email"]
    assert len(smtp.to("ann@example.org")) == mails + 1
    assert IntakeReminder.objects(instance_id=ObjectId(iid)).count() == 1
    assert len([t for t in lc.open_tasks(client, people["staff"]) if t["name"].startswith("Follow up")]) == 1
