"""Staff are told about new work (tasks, clients' messages, booking requests) by mail, right away or in
one digest a day as each chose, sent by the workers, and never with health information in it."""

from __future__ import annotations

from datetime import date, timedelta

import dramatiq
import pytest

from engine.models.mail import MailMessage
from engine.models.organization import Location, Organization, ServiceType
from engine.services.appointments import availability, scheduling
from engine.services.messaging import messaging, staff_notices
from tests.form_requests import request_form
from tests.helpers import deliver_queued_mail
from workers.broker import setup_broker, use_broker
from workers.sweeps import SWEEPS

SECRET = "I have been feeling hopeless since March"


@pytest.fixture()
def broker(services, clean_db):
    """The real Redis broker (the engine's dispatcher sends to it), with the shipped forms installed."""
    from engine.services.intake.intake_setup import install_shipped

    install_shipped()
    before = dramatiq.get_broker()
    real = setup_broker(services["redis"].url)
    real.flush_all()
    yield real
    use_broker(before)


def _sweep() -> None:
    """What the workers' catch-up sweep runs for staff notices (found in its list, as a worker runs it)."""
    [run] = [fn for what, fn in SWEEPS if fn is staff_notices.sweep]
    run()


def _received(to: str) -> list[MailMessage]:
    return list(MailMessage.objects(direction="sink", to=to))


def _prefer(member, digest: str) -> None:
    member.preferences.notify_digest = digest
    member.save()


def _no_health_information(got: MailMessage) -> None:
    for secret in (SECRET, "gad7", "GAD-7", "Fill in the form", "Individual"):
        assert secret.lower() not in (got.subject + got.text).lower(), secret


def test_an_immediate_notice_arrives_once_without_the_message(family, broker):
    """For a therapist who wants each one right away, does a client's message bring one mail, once, that
    does not quote it, and a new task one more mail, even when the sweep runs twice?"""
    therapist = family["therapist"]
    _prefer(therapist, "none")
    messaging.post_message(family["guardian"], family["minor"].id, body=SECRET)
    request_form(family["minor"], "gad7", lane="staff")
    _sweep()
    _sweep()
    deliver_queued_mail(broker)
    got = _received(therapist.email)
    assert sorted(m.subject.split(" — ")[0] for m in got) == ["You have a new message", "You have a new task"]
    for mail in got:
        _no_health_information(mail)
        assert "/staff/" in mail.text


def test_a_digest_therapist_gets_one_digest_with_counts(family, broker):
    """For a therapist who prefers a daily digest, do two new tasks, a client's message and a booking
    request bring nothing at once, then one mail saying "2 new tasks, 1 new message and 1 booking
    request", and nothing more the same day?"""
    therapist = family["therapist"]
    _prefer(therapist, "daily")
    org = Organization.get()
    org.locations = [Location(key="main", name="Main office")]
    org.service_types = [ServiceType(key="individual", name="Individual", duration_minutes=50)]
    org.save()
    availability.add_rule(
        family["staff"], therapist.id, {"location": "main", "weekday": 0, "start": "09:00", "end": "12:00"}
    )
    on = date.today() + timedelta(days=7)
    slot = availability.open_slots(
        location="main", service_type_key="individual", date_from=on, date_to=on + timedelta(days=6)
    )[0]
    scheduling.book(
        family["guardian"],
        client_id=family["minor"].id,
        staff_id=therapist.id,
        location="main",
        service_type_key="individual",
        start=slot["start"],
        request=True,
    )
    messaging.post_message(family["guardian"], family["minor"].id, body=SECRET)
    request_form(family["minor"], "gad7", lane="staff")
    request_form(family["minor"], "phq9", lane="staff")
    staff_notices.notice_new_tasks()
    deliver_queued_mail(broker)
    assert _received(therapist.email) == []  # gathered, not sent one by one
    _sweep()
    deliver_queued_mail(broker)
    [digest] = _received(therapist.email)
    assert "You have 2 new tasks, 1 new message and 1 booking request in Portico." in digest.text
    _no_health_information(digest)
    messaging.post_message(family["guardian"], family["minor"].id, body="later the same day")
    _sweep()
    deliver_queued_mail(broker)
    assert len(_received(therapist.email)) == 1  # one digest a day
