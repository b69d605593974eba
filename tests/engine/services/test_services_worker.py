"""The portal-service worker: the appointment reminder actor."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
from dramatiq.brokers.stub import StubBroker

from workers.broker import use_broker


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
