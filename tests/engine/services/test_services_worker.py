"""The portal-service worker pieces: the reminder actor and the charge_payment operation."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from engine.authz import SYSTEM
from engine.models.billing import SandboxCharge
from engine.services import billing
from engine.workflow import operations
from workers.broker import use_broker


def test_charge_payment_operation_charges_once_per_key(family):
    """Does the registered charge_payment operation charge once however often the task is retried?"""
    import workers.services  # noqa: F401 - registers the operation

    inv = billing.create_invoice(SYSTEM, family["minor"].id, {"line_items": [
        {"service": "Session", "service_date": "2026-11-02", "amount_cents": 9000}]})
    token = billing.get_gateway().tokenize(number="4242424242424242", exp_month=1, exp_year=2040).token
    op = operations.get("charge_payment")
    params = {"invoice_id": inv["id"], "payment_method": token}
    results = [op(params=params, key="inst-1:task-7") for _ in range(3)]
    assert [r["status"] for r in results] == ["succeeded"] * 3 and SandboxCharge.objects.count() == 1
    with pytest.raises(operations.OperationFailed):
        op(params={"invoice_id": "nope"}, key="inst-2:task-1")


def test_reminder_actor_sends_due_reminders(family):
    """Does the reminder actor, run by a worker, mark a due appointment reminded and mail the guardian?"""
    import workers.services
    from engine.models import utcnow
    from engine.models.mail import MailMessage
    from engine.models.scheduling import Appointment

    soon = utcnow() + timedelta(hours=3)
    appt = Appointment(client=family["minor"].id, staff=family["therapist"].id, location="main",
                       service_type="individual", start=soon, end=soon + timedelta(minutes=50),
                       reminder_due_at=soon - timedelta(hours=24)).save()
    broker = StubBroker()
    previous = dramatiq.get_broker()
    use_broker(broker)
    try:
        workers.services.send_appointment_reminders.send()
        worker = dramatiq.Worker(broker, worker_timeout=100)
        worker.start()
        broker.join(workers.services.send_appointment_reminders.queue_name, fail_fast=True)
        worker.join()
        worker.stop()
    finally:
        use_broker(previous)
    assert Appointment.objects.get(id=appt.id).reminder_sent_at is not None
    assert MailMessage.objects(direction="out", to="gail@example.org", subject__startswith="Reminder").count() == 1
