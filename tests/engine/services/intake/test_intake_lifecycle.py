"""The intake lifecycle end to end through the HTTP API, with a real SMTP server, a real Dramatiq
worker and the scheduler: activation links are read from the mails the SMTP server received."""

from __future__ import annotations

from datetime import date

import pypdf
import pytest

from engine.authz import SYSTEM
from engine.models.clients import Contact, ContactLink, LinkPermissions
from tests import intake_lifecycle as lc
from tests.form_fills import SIG
from tests.helpers import api_login, login_as, make_client, make_staff

pytestmark = pytest.mark.slow


@pytest.fixture()
def staff(client, installed, smtp, scheduler):
    admin = make_staff(roles=("org_admin",), first_name="Morgan")
    return api_login(client, admin.email)


def _packet_pdf(client, headers, client_id: str) -> pypdf.PdfReader:
    docs = lc.documents(client, headers, client_id)
    [packet] = [d for d in docs if d["kind"] == "packet"]
    resp = client.get(f"/api/v1/documents/{packet['id']}/content", headers=headers)
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    return pypdf.PdfReader(__import__("io").BytesIO(resp.data))


def test_adult_intake_from_invitation_to_filed_packet(client, staff, smtp):
    """Does an adult's intake run from the invitation through a reminder, the packet, staff
    acknowledgement and filing, to a completed instance with the packet PDF in General Documents?"""
    lc.configure(intake_packet=["demographics", "consent_adult"], reminder_cadence="PT2S", reminder_max=1)
    ada = make_client(
        first_name="Ada", last_name="Lovelace", email="ada@example.org", date_of_birth=date(1990, 12, 10)
    )
    resp = client.post(f"/api/v1/clients/{ada.id}/invite", headers=staff, json={})
    assert resp.status_code == 201, resp.get_json()
    instance = resp.get_json()
    assert instance["process_id"] == "client_intake" and instance["status"] == "running"

    [invitation] = lc.wait_for(lambda: smtp.to("ada@example.org"), what="invitation")
    assert "Harbor Counseling" in invitation and "Hello Ada," in invitation
    assert "Lovelace" not in invitation and "Consent" not in invitation  # no health information, no surname
    portal = lc.activate(client, smtp, "ada@example.org")

    # The reminder (cadence PT2S, at most one) mails again and gives staff a follow-up task.
    lc.wait_for(lambda: len(smtp.to("ada@example.org")) >= 2, what="the reminder")
    assert "waiting for 2 forms" in smtp.to("ada@example.org")[1]
    [follow_up] = lc.wait_tasks(client, staff, lambda t: t["name"].startswith("Follow up"), "follow-up task")
    lc.complete(client, staff, follow_up["id"], {})

    assert sorted(lc.fill_packet(client, portal, str(ada.id), 2)) == ["consent_adult", "demographics"]
    lc.acknowledge_all(client, staff, 2)
    done = lc.wait_completed(client, staff, instance["id"])
    assert done["completed_at"] is not None

    docs = lc.documents(client, staff, str(ada.id))
    assert sorted(d["kind"] for d in docs) == ["form", "form", "packet"]
    assert len(_packet_pdf(client, staff, str(ada.id)).pages) >= 2
    # The client sees her own completed forms in the portal.
    assert {d["kind"] for d in lc.documents(client, portal, str(ada.id))} == {"form", "packet"}


def _guardian(minor, first: str, email: str) -> Contact:
    contact = Contact(first_name=first, last_name="Parent", email=email)
    contact.save()
    ContactLink(
        contact=contact,
        client=minor,
        relationship="parent",
        is_guardian=True,
        permissions=LinkPermissions(forms=True),
    ).save()
    return contact


def test_minor_intake_needs_every_guardian(client, staff, smtp):
    """Under the "every guardian" rule, does each of two guardians get their own approval task, and
    does the minor's intake complete with the packet filed once both approved?"""
    lc.configure(
        intake_packet=["minor_assent"],
        reminder_max=0,
        guardian_approval_rule="every",
        guardian_approval_timeout="P7D",
    )
    today = date.today()
    sam = make_client(
        first_name="Sam", last_name="Lovelace", date_of_birth=today.replace(year=today.year - 12, day=1)
    )
    _guardian(sam, "Ada", "ada.parent@example.org")
    _guardian(sam, "Charles", "charles.parent@example.org")
    resp = client.post(f"/api/v1/clients/{sam.id}/invite", headers=staff, json={})
    assert resp.status_code == 201, resp.get_json()
    instance = resp.get_json()

    ada = lc.activate(client, smtp, "ada.parent@example.org")
    charles = lc.activate(client, smtp, "charles.parent@example.org")
    assert lc.fill_packet(client, ada, str(sam.id), 1) == ["minor_assent"]

    def approval(headers):
        return lc.wait_tasks(client, headers, lambda t: t["form_key"] == "guardian_approval", "approval task")

    [mine], [theirs] = approval(ada), approval(charles)
    from engine.models.workflow import Task
    from engine.services.intake.intake_queries import approval_context

    row = Task._get_collection().find_one({"_id": Task.objects.get(id=mine["id"]).id})
    [shown] = approval_context(SYSTEM, row)  # the guardian reviews the minor's answers first
    assert shown["form_key"] == "minor_assent" and shown["data"]["minor_name"] == "Sam Lovelace"
    login_as(client, "ada.parent@example.org", lc.PORTAL_PASSWORD)
    page = client.get(f"/portal/tasks/{mine['id']}")
    assert (
        page.status_code == 200 and b"The answers given for Sam" in page.data and b"Sam Lovelace" in page.data
    )
    assert mine["id"] != theirs["id"]  # one task each, not one for whoever comes first
    refused = client.post(
        f"/api/v1/tasks/{theirs['id']}/complete",
        headers=ada,
        json={"data": {"approved": True, "guardian_signature": SIG}},
    )
    assert refused.status_code == 404
    lc.complete(client, ada, mine["id"], {"approved": True, "guardian_signature": SIG})
    assert lc.open_tasks(client, staff) == []  # still waiting for the second guardian
    lc.complete(client, charles, theirs["id"], {"approved": True, "guardian_signature": SIG})

    lc.acknowledge_all(client, staff, 1)
    lc.wait_completed(client, staff, instance["id"])
    assert len(_packet_pdf(client, staff, str(sam.id)).pages) >= 1
    assert {d["kind"] for d in lc.documents(client, charles, str(sam.id))} == {"form", "packet"}
