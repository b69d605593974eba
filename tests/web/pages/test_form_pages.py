"""Form pages: the portal fill page and the staff submission page."""

from __future__ import annotations

from engine.authz import SYSTEM
from engine.services.forms import submissions
from tests.form_fills import VALID
from tests.form_requests import request_form
from tests.helpers import (
    login_as,
    make_client,
    make_portal_account,
    make_staff,
    publish_shipped_form,
)


def test_portal_form_link_leads_to_the_task_asking_for_it(client):
    """Does a portal link to a form lead to the task that asks for it (survey-core, survey-js-ui and the
    page script loaded for the active profile), and is a form nobody asked for not found?"""
    publish_shipped_form("gad7")
    publish_shipped_form("phq9")
    person = make_client()
    account = make_portal_account(client=person)
    task = request_form(person, "gad7")
    login_as(client, account.email)
    resp = client.get("/portal/forms/gad7")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/portal/tasks/{task.id}")
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "vendor/survey-js-ui.min.js" in html and "js/portal-task.js" in html
    assert f'data-client-id="{person.id}"' in html
    assert client.get("/portal/forms/phq9").status_code == 404  # published, but not asked of her
    assert client.get("/portal/forms/no_such_form").status_code == 404


def test_staff_page_shows_evidence_and_seal(client):
    """Does the staff submission page show the answers, the signature image, the evidence and a verified seal?"""
    publish_shipped_form("consent_adult")
    person = make_client()
    sub = submissions.complete(SYSTEM, person.id, "consent_adult", VALID["consent_adult"])
    staff = make_staff(roles=("org_admin",))
    login_as(client, staff.email)
    html = client.get(f"/staff/submissions/{sub.id}").get_data(as_text=True)
    assert "Unchanged since signing" in html and sub.evidence.sha256 in html  # the seal in words (issue 16)
    assert f"/api/v1/submissions/{sub.id}/files/" in html and "Ada Lovelace" in html


def test_staff_accepts_a_proposed_change_on_the_page(client):
    """Can staff accept a proposed phone change from the submission page, and only then does the record change?"""
    from engine.models.clients import Client

    publish_shipped_form("demographics")
    person = make_client(first_name="Ada", last_name="Lovelace", phone="555-0100")
    sub = submissions.complete(
        SYSTEM, person.id, "demographics", {**VALID["demographics"], "phone": "555-0199"}
    )
    staff = make_staff(roles=("org_admin",))
    headers = login_as(client, staff.email)
    html = client.get(f"/staff/submissions/{sub.id}").get_data(as_text=True)
    assert "555-0199" in html and "Accept" in html
    from engine.models.forms import ProposedChange

    item = ProposedChange.objects(submission=sub.id, field="phone").first()
    r = client.post(f"/staff/review-items/{item.id}", data={"decision": "accept"}, headers=headers)
    assert r.status_code == 303
    assert Client.objects(id=person.id).first().phone == "555-0199"
