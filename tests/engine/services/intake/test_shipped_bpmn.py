"""Each shipped BPMN process runs to its end; the saved state is restored from the database between
steps (STYLE habit 9). Operations and timers are driven here directly (outbox.perform, outbox.fire),
so the paths are deterministic; the lifecycle tests run them through a real worker and scheduler."""

from __future__ import annotations

import time

import pytest
from bson import ObjectId

from engine.authz import SYSTEM, portal_actor, staff_actor
from engine.models import utcnow
from engine.models.mail import MailMessage
from engine.models.workflow import OutboxMessage, Timer
from engine.services.billing import billing
from engine.services.inbox import tasks
from engine.services.processes import processes
from engine.workflow import outbox, store
from tests.form_fills import SIG, VALID
from tests.helpers import make_client, make_portal_account, make_staff
from tests.intake_lifecycle import configure, perform_all


def restored(iid):
    """(instance document, workflow restored from the saved state)."""
    doc = store.instances().find_one({"_id": ObjectId(str(iid))})
    return doc, store.restore(doc)


def fire_due(iid) -> int:
    fired = 0
    for row in Timer._get_collection().find({"instance_id": ObjectId(str(iid)), "status": "waiting"}):
        fired += outbox.fire(row["_id"]) == "fired"
    return fired


def inbox(actor, **kw) -> list[dict]:
    return tasks.inbox(actor, **kw)["items"]


@pytest.fixture()
def people(installed, smtp):
    from engine import wiring

    wiring.wire()  # what every process does at start
    configure(intake_packet=["demographics"])
    admin = make_staff(roles=("org_admin",))
    client = make_client(first_name="Ann", email="ann@example.org")
    account = make_portal_account(client=client)
    return {"staff": staff_actor(admin), "client": client, "portal": portal_actor(account)}


def test_resend_forms_runs_to_the_follow_up(people):
    """Does resend_forms number its reminder, and give staff a follow-up on the last one?"""
    data = {"client_id": str(people["client"].id), "reminder_max": 1}
    iid = processes.start_process("resend_forms", client_id=people["client"].id, data=data)
    assert perform_all(iid) == ["send_email"]
    doc, wf = restored(iid)
    assert doc["status"] == "running" and wf.data.get("reminder") is None  # data sits on the task so far
    [follow_up] = inbox(people["staff"])
    assert follow_up["name"] == "Follow up: intake forms still outstanding"
    tasks.complete(people["staff"], follow_up["id"], {})
    doc, wf = restored(iid)
    assert doc["status"] == "completed" and wf.is_completed()
    assert wf.last_task.data["reminder"]["number"] == 1
    # Started on its own, nothing is outstanding: the reminder is counted but nobody is mailed.
    assert MailMessage.objects(direction="out", to="ann@example.org").count() == 0


def _guardians(people, n=2):
    from engine.models.clients import Contact, ContactLink, LinkPermissions

    accounts = []
    for i in range(n):
        contact = Contact(first_name=f"G{i}", last_name="Parent", email=f"g{i}@example.org")
        contact.save()
        ContactLink(
            contact=contact,
            client=people["client"],
            relationship="parent",
            is_guardian=True,
            permissions=LinkPermissions(forms=True),
        ).save()
        accounts.append(portal_actor(make_portal_account(contact=contact)))
    return accounts


def test_guardian_approval_every_guardian_then_refusal_goes_to_staff(people):
    """Under "every", does each guardian get one task, and does one refusal give staff a follow-up?"""
    first, second = _guardians(people)
    data = {
        "client_id": str(people["client"].id),
        "guardian_approvers": [first.id, second.id],
        "guardian_timeout": "P7D",
    }
    iid = processes.start_process("guardian_approval", client_id=people["client"].id, data=data)
    [a], [b] = inbox(first), inbox(second)
    assert a["id"] != b["id"] and a["audience"] == f"account:{first.id}"
    tasks.complete(first, a["id"], {"approved": True, "guardian_signature": SIG})
    assert restored(iid)[0]["status"] == "running"
    tasks.complete(second, b["id"], {"approved": False, "comment": "We need to talk first."})
    doc, wf = restored(iid)
    [refused] = inbox(people["staff"])
    assert refused["name"] == "Follow up: a guardian did not approve"
    tasks.complete(people["staff"], refused["id"], {})
    doc, wf = restored(iid)
    assert doc["status"] == "completed" and wf.last_task.data["guardian_approved"] is False


def test_guardian_approval_timeout_goes_to_staff(people):
    """Does the guardian approval time out after `guardian_timeout` and give staff a task instead?"""
    data = {"client_id": str(people["client"].id), "guardian_approvers": [""], "guardian_timeout": "PT1S"}
    iid = processes.start_process("guardian_approval", client_id=people["client"].id, data=data)
    [waiting] = [t for t in Timer._get_collection().find({"instance_id": ObjectId(iid)})]
    time.sleep(max(0.0, (waiting["due_at"] - utcnow()).total_seconds()) + 0.2)
    assert fire_due(iid) == 1
    doc, _wf = restored(iid)
    assert doc["projected"]["tasks"] and inbox(people["portal"]) == []  # the guardian task was withdrawn
    [timed_out] = inbox(people["staff"])
    assert timed_out["name"] == "Follow up: guardian approval timed out"
    tasks.complete(people["staff"], timed_out["id"], {})
    doc, wf = restored(iid)
    assert doc["status"] == "completed" and wf.last_task.data["guardian_approved"] is False


def _invoice(people):
    return billing.create_invoice(
        SYSTEM,
        people["client"].id,
        {
            "line_items": [
                {"service": "Intake assessment", "service_date": "2026-11-02", "amount_cents": 18000}
            ]
        },
    )


def test_payment_charges_the_invoice(people):
    """Does payment collect insurance details, charge the invoice through billing and end paid?"""
    invoice = _invoice(people)
    card = billing.get_gateway().tokenize(number="4242424242424242", exp_month=1, exp_year=2040)
    data = {"client_id": str(people["client"].id), "invoice_id": invoice["id"], "payment_method": card.token}
    iid = processes.start_process("payment", client_id=people["client"].id, data=data)
    [insurance] = inbox(people["portal"])
    assert insurance["form_key"] == "insurance_information"
    tasks.complete(people["portal"], insurance["id"], VALID["insurance_information"])
    assert perform_all(iid) == ["charge_payment"]
    doc, wf = restored(iid)
    assert doc["status"] == "completed" and wf.last_task.data["payment_result"]["status"] == "succeeded"
    assert billing.list_invoices(SYSTEM, people["client"].id)[0]["status"] == "paid"
    receipt = billing.get_receipt(people["portal"], wf.last_task.data["payment_result"]["payment_id"])
    assert receipt["number"].startswith("R-")


def test_payment_decline_notifies_staff_and_retries(people):
    """Does a declined card notify staff and let the client try again, and after three failures
    give staff a follow-up task?"""
    invoice = _invoice(people)
    declined = billing.get_gateway().tokenize(number="4000000000000002", exp_month=1, exp_year=2040)
    data = {
        "client_id": str(people["client"].id),
        "invoice_id": invoice["id"],
        "payment_method": declined.token,
    }
    iid = processes.start_process("payment", client_id=people["client"].id, data=data)
    tasks.complete(people["portal"], inbox(people["portal"])[0]["id"], VALID["insurance_information"])
    # The client chooses a card in the "Update your payment method" form: here the same declined one, saved.
    saved = billing.save_payment_method(
        people["portal"],
        people["client"].id,
        card={"number": "4000000000000002", "exp_month": 1, "exp_year": 2040},
    )
    for _attempt in (1, 2):
        assert perform_all(iid) == ["charge_payment", "notify_staff"]
        [retry] = inbox(people["portal"])
        assert retry["name"] == "Update your payment method" and restored(iid)[0]["status"] == "running"
        tasks.complete(people["portal"], retry["id"], {"payment_method": saved["id"]})
    assert perform_all(iid) == ["charge_payment", "notify_staff"]
    [follow_up] = inbox(people["staff"])
    assert follow_up["name"] == "Follow up: payment failed"
    tasks.complete(people["staff"], follow_up["id"], {})
    doc, wf = restored(iid)
    assert doc["status"] == "completed" and wf.last_task.data["payment_attempts"] == 3
    assert MailMessage.objects(direction="out", subject__contains="did not go through").count() == 3
    failed = OutboxMessage.objects(instance_id=iid, operation="charge_payment", status="failed")
    assert failed.count() == 3 and all("declined" in row.last_error for row in failed)
