"""Dynamic forms in use, through the API: a therapist fills one for a client (prefilled from the record,
filed in General Documents) or sends it to the client's portal (acknowledged and filed like an intake
form). Operations are performed here directly (tests.intake_lifecycle.perform_all)."""

from __future__ import annotations

from engine.authz import SYSTEM
from engine.models.audit import AuditEvent
from engine.models.documents import Document
from engine.services.forms import forms as form_service
from engine.services.platform import audit
from tests import intake_lifecycle as lc
from tests.helpers import api_login, make_staff

NOTE = {
    "elements": [
        {"type": "text", "name": "client_name", "title": "Client", "prefill": "client.full_name"},
        {"type": "comment", "name": "note", "title": "Session note", "isRequired": True},
    ]
}


def _session_note():
    form_service.create_form(SYSTEM, "session_note", "dynamic", "Session note", NOTE)
    form_service.publish(SYSTEM, "session_note")


def test_a_therapist_fills_a_dynamic_form_for_a_client(client, people):
    """Does a therapist get the form prefilled from the client record, and is a valid note sealed and
    filed in General Documents (an invalid one refused with nothing filed, staff without the right or
    an intake form refused)?"""
    _session_note()
    ann = people["client"]
    therapist = make_staff(roles=("therapist",))
    ann.assigned_staff = [therapist.id]
    ann.save()
    staff = api_login(client, therapist.email)

    shown = client.get(f"/api/v1/clients/{ann.id}/forms/session_note", headers=staff).get_json()
    assert shown["data"]["client_name"].startswith("Ann")
    url = f"/api/v1/clients/{ann.id}/dynamic-forms/session_note/fill"
    bad = client.post(url, headers=staff, json={"data": {"client_name": shown["data"]["client_name"]}})
    assert bad.status_code == 422 and "note" in bad.get_json()["error"]["details"]
    assert Document.objects(client=ann.id).count() == 0
    desk = api_login(client, make_staff(roles=("front_desk",)).email)
    assert client.post(url, headers=desk, json={"data": {"note": "x"}}).status_code == 403
    intake_form = client.post(
        f"/api/v1/clients/{ann.id}/dynamic-forms/phq9/fill", headers=staff, json={"data": {"note": "x"}}
    )
    assert intake_form.status_code == 422

    resp = client.post(url, headers=staff, json={"data": {**shown["data"], "note": "Worked on sleep."}})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()["document"]
    assert doc["kind"] == "form" and doc["title"] == "Session note"
    pdf = client.get(f"/api/v1/documents/{doc['id']}/content", headers=staff)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    audit.chain_pending()
    assert AuditEvent.objects(action="client_form_filled", client_id=str(ann.id)).count() == 1


def test_a_dynamic_form_sent_to_the_portal_is_filed_like_an_intake_form(client, people):
    """Does a dynamic form sent to the client's portal arrive as a task prefilled from the record, and,
    once submitted and acknowledged, land in General Documents?"""
    _session_note()
    ann = people["client"]
    sent = client.post(f"/api/v1/clients/{ann.id}/dynamic-forms/session_note/send", headers=people["staff"])
    assert sent.status_code == 201, sent.get_json()
    iid = sent.get_json()["id"]
    lc.perform_all(iid)
    [task] = lc.open_tasks(client, people["portal"])
    assert task["form_key"] == "session_note"
    shown = client.get(
        f"/api/v1/clients/{ann.id}/forms/session_note",
        headers=people["portal"],
        query_string={"context": f"task:{task['id']}"},
    ).get_json()
    assert shown["data"]["client_name"].startswith("Ann")
    lc.complete(client, people["portal"], task["id"], {**shown["data"], "note": "Feeling better."})
    lc.perform_all(iid)
    lc.acknowledge_all(client, people["staff"], 1)
    lc.perform_all(iid)
    filed = [d for d in lc.documents(client, people["staff"], str(ann.id)) if d["kind"] == "form"]
    assert [d["title"] for d in filed] == ["Session note"]
