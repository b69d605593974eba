"""The portal-service worker: the appointment reminder actor and the per-worker reminder sweep."""

from __future__ import annotations

import time
from datetime import timedelta

import dramatiq
from dramatiq.brokers.stub import StubBroker

from engine.models import utcnow
from engine.models.mail import MailMessage
from engine.models.scheduling import Appointment
from workers.broker import use_broker


def _due_appointment(family) -> Appointment:
    """A booked appointment two hours ahead whose reminder is due."""
    soon = utcnow() + timedelta(hours=2)
    return Appointment(
        client=family["minor"].id,
        staff=family["therapist"].id,
        location="main",
        service_type="individual",
        start=soon,
        end=soon + timedelta(minutes=50),
        reminder_due_at=soon - timedelta(hours=24),
    ).save()


def test_reminder_actor_sends_due_reminders(family):
    """Does the reminder actor, run by a worker, mark a due appointment reminded and mail the guardian?"""
    import workers.appointments

    appt = _due_appointment(family)
    broker, previous = StubBroker(), dramatiq.get_broker()
    use_broker(broker)
    try:
        workers.appointments.send_appointment_reminders.send()
        worker = dramatiq.Worker(broker, worker_timeout=100)
        worker.start()
        broker.join(workers.appointments.send_appointment_reminders.queue_name, fail_fast=True)
        worker.join()
        worker.stop()
    finally:
        use_broker(previous)
    assert Appointment.objects.get(id=appt.id).reminder_sent_at is not None
    assert (
        MailMessage.objects(direction="out", to="gail@example.org", subject__startswith="Reminder").count()
        == 1
    )


def test_worker_sweeps_reminders_on_its_own(family):
    """Does a booted worker send a due reminder by itself (the CatchUpSweep timer), and stop with the worker?"""
    from workers.sweeps import CatchUpSweep, install_sweeps

    appt = _due_appointment(family)
    broker = StubBroker()
    install_sweeps(broker)
    install_sweeps(broker)  # idempotent
    sweeps = [m for m in broker.middleware if isinstance(m, CatchUpSweep)]
    assert len(sweeps) == 1
    sweeps[0].interval = 0.1
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while Appointment.objects.get(id=appt.id).reminder_sent_at is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    assert Appointment.objects.get(id=appt.id).reminder_sent_at is not None
    assert not sweeps[0]._thread.is_alive()
