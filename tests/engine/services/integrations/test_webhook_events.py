"""Where things happen, the engine records webhook events: appointments and payments (the intake's events
are covered end to end in tests/workers/test_webhooks.py), and the admin pages show them in words."""

from __future__ import annotations

import json
from datetime import date, timedelta

from engine.authz import SYSTEM, staff_actor
from engine.models.integrations import WEBHOOK_EVENTS, WebhookDelivery
from engine.services.appointments import availability, scheduling
from engine.services.billing import billing
from engine.services.integrations import webhooks
from tests.helpers import login_as, make_staff
from tests.portal_family import build_family, open_practice


def _events() -> list[str]:
    return [d.event for d in WebhookDelivery.objects.order_by("created_at")]


def test_appointments_and_payments_emit_their_events(clean_db):
    """Do booking, rescheduling and cancelling an appointment, a declined payment and a paid invoice each
    record their event (ids only), and only for endpoints that asked for it?"""
    fam = open_practice(build_family())
    admin = staff_actor(make_staff(roles=("org_admin",)))
    webhooks.create_endpoint(admin, url="http://127.0.0.1:9/all", events=list(WEBHOOK_EVENTS))
    webhooks.create_endpoint(admin, url="http://127.0.0.1:9/pay", events=["invoice.paid"])
    slots = [
        s
        for d in range(1, 30)
        for s in availability.open_slots(
            location="main",
            service_type_key="individual",
            date_from=date.today() + timedelta(days=d),
            date_to=date.today() + timedelta(days=d),
        )
    ]
    appt = scheduling.book(
        fam["guardian"],
        client_id=fam["minor"].id,
        staff_id=slots[0]["staff_id"],
        location="main",
        service_type_key="individual",
        start=slots[0]["start"],
    )
    scheduling.reschedule(fam["guardian"], appt["id"], start=slots[-1]["start"])
    scheduling.cancel(fam["guardian"], appt["id"])
    inv = billing.create_invoice(
        SYSTEM,
        fam["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 10000}]},
    )
    billing.charge_invoice(
        fam["guardian"],
        inv["id"],
        idempotency_key="webhook-events-declined-01",
        card={"number": "4000000000000002", "exp_month": 1, "exp_year": 2040},
    )
    billing.charge_invoice(
        fam["guardian"],
        inv["id"],
        idempotency_key="webhook-events-paid-000001",
        card={"number": "4242424242424242", "exp_month": 1, "exp_year": 2040},
    )
    assert _events() == [
        "appointment.booked",
        "appointment.rescheduled",
        "appointment.cancelled",
        "payment.failed",
        "invoice.paid",
        "invoice.paid",
    ]
    bodies = [json.loads(d.body) for d in WebhookDelivery.objects(event="invoice.paid")]
    assert bodies[0]["id"] == bodies[1]["id"]  # one event, one id, for both endpoints
    assert bodies[0]["data"] == {
        "client_id": str(fam["minor"].id),
        "invoice_id": inv["id"],
        "payment_id": bodies[0]["data"]["payment_id"],
    }
    # A repeated emission of the same occurrence is the same event: not recorded twice.
    webhooks.emit("appointment.booked", key=appt["id"], client_id=fam["minor"].id, appointment_id=appt["id"])
    assert _events().count("appointment.booked") == 1


def test_admin_pages_register_show_secret_once_and_name_events_in_words(client):
    """Can an admin add an endpoint on the admin page, see its secret once, and read events and
    deliveries in words (no event codes), with a resend button?"""
    admin = make_staff(roles=("org_admin",))
    csrf = login_as(client, admin.email)
    page = client.post(
        "/admin/webhooks",
        data={
            "csrf_token": csrf["X-CSRFToken"],
            "url": "http://127.0.0.1:9/h",
            "description": "Billing service",
            "active": "on",
            "events": ["invoice.paid", "form.submitted"],
        },
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 201 and "whsec_" in html
    listing = client.get("/admin/webhooks").get_data(as_text=True)
    assert "Billing service" in listing and "Invoice paid" in listing and "whsec_" not in listing
    bad = client.post(
        "/admin/webhooks", data={"csrf_token": csrf["X-CSRFToken"], "url": "ftp://x", "events": []}
    )
    assert bad.status_code == 422 and 'id="url-error"' in bad.get_data(as_text=True)
    [endpoint] = webhooks.list_endpoints(staff_actor(admin))
    webhooks.emit("invoice.paid", key="inv-1", client_id="c1", invoice_id="inv-1")
    detail = client.get(f"/admin/webhooks/{endpoint['id']}").get_data(as_text=True)
    import re

    visible = re.sub(r"<[^>]+>", " ", detail)
    assert "Invoice paid" in visible and "Waiting to send" in visible and "Resend" in visible
    assert "invoice.paid" not in visible and "form.submitted" not in visible
    delivery = WebhookDelivery.objects.get()
    assert (
        client.post(
            f"/admin/webhook-deliveries/{delivery.id}/resend", data={"csrf_token": csrf["X-CSRFToken"]}
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"/admin/webhooks/{endpoint['id']}/delete", data={"csrf_token": csrf["X-CSRFToken"]}
        ).status_code
        == 303
    )
    assert webhooks.list_endpoints(staff_actor(admin)) == [] and WebhookDelivery.objects.count() == 0


def test_an_event_lost_with_its_writer_is_announced_again_by_the_retry_or_the_repair(clean_db):
    """When the process dies after the work but before the event was recorded, does the retry of a filing,
    or the scheduler's repair of a completed intake, record it (once, with the same event id)?"""
    from datetime import UTC, datetime

    from engine.models.workflow import Task
    from engine.services.clients import documents
    from engine.services.intake import intake  # noqa: F401 - intake registers the completion listener
    from engine.workflow import runtime, scheduler, store
    from engine.workflow.deploy import deploy
    from tests.helpers import make_client
    from tests.web.api.test_task_filters import BPMN

    admin = staff_actor(make_staff(roles=("org_admin",)))
    webhooks.create_endpoint(admin, url="http://127.0.0.1:9/all", events=list(WEBHOOK_EVENTS))
    person = make_client()

    file_id = documents.store_pdf(person.id, b"%PDF-1.4 packet", filename="packet.pdf")
    doc = documents.file_pdf(person.id, file_id=file_id, title="Packet", kind="packet", source_key="k:1")
    [first] = WebhookDelivery.objects(event="document.filed")
    first.delete()  # as if the process had died between the filing and the event
    assert (
        documents.file_pdf(person.id, file_id=file_id, title="Packet", kind="packet", source_key="k:1").id
        == doc.id
    )
    [again] = WebhookDelivery.objects(event="document.filed")
    assert again.event_id == first.event_id

    # A one-task process standing in for an intake: deploy refuses a `client_intake` without the
    # roles its pages need (engine.workflow.roles), so the instance is marked as an intake's after it
    # starts; the completion listener goes by the instance's process id.
    deploy(SYSTEM, BPMN.encode())
    iid = runtime.start("t_check", client_id=person.id)
    store.instances().update_one({"_id": iid}, {"$set": {"process_id": "client_intake"}})
    task = Task.objects.get(instance_id=iid)
    runtime.complete_task(iid, task.task_id, {}, by="staff:x")
    [completed] = WebhookDelivery.objects(event="intake.completed")
    assert json.loads(completed.body)["data"] == {
        "client_id": str(person.id),
        "process_instance_id": str(iid),
    }
    completed.delete()
    store.instances().update_one(
        {"_id": iid}, {"$set": {"dirty": True, "updated_at": datetime(2020, 1, 1, tzinfo=UTC)}}
    )
    assert scheduler.repair(iid)
    [repaired] = WebhookDelivery.objects(event="intake.completed")
    assert repaired.event_id == completed.event_id
    assert scheduler.repair(iid) is False  # projected now: nothing more to tell


def test_a_delivery_is_never_signed_with_an_unreadable_secret(clean_db):
    """When the endpoint's secret cannot be decrypted (the app key changed), is the delivery refused
    rather than signed with an empty key?"""
    import base64

    from engine.models.integrations import WebhookEndpoint
    from engine.services.integrations import webhook_delivery

    admin = staff_actor(make_staff(roles=("org_admin",)))
    _secret, made = webhooks.create_endpoint(admin, url="http://127.0.0.1:9/h", events=["invoice.paid"])
    WebhookEndpoint.objects(id=made["id"]).update_one(
        set__secret_sealed="v1:" + base64.b64encode(bytes(40)).decode()
    )
    webhooks.emit("invoice.paid", key="inv-2", client_id="c", invoice_id="inv-2")
    row = WebhookDelivery.objects.get()
    assert webhook_delivery.deliver(row.id) == "failed"
    row.reload()
    assert row.status == "failed" and "signing secret" in row.attempts[0].error
