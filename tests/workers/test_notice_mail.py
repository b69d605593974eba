"""Receipts and message notices: recorded by the request, sent by a worker through the broker, once,
and a retry after a relay failure keeps the mail's Message-ID."""

from __future__ import annotations

import dramatiq
import pytest

from engine import config, embedded
from engine.authz import SYSTEM
from engine.models.mail import MailMessage
from engine.services.billing import billing
from engine.services.messaging import mail
from tests.helpers import deliver_queued_mail, login_as
from workers.broker import setup_broker, use_broker

VISA_OK = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


@pytest.fixture()
def broker(services, clean_db):
    """The real Redis broker with every actor on it (the engine's dispatcher sends to it); put back after."""
    before = dramatiq.get_broker()
    real = setup_broker(services["redis"].url)
    real.flush_all()
    yield real
    use_broker(before)


def _received(subject_part: str) -> list[MailMessage]:
    return list(MailMessage.objects(direction="sink", subject__contains=subject_part))


def test_message_notice_is_sent_by_the_worker_not_the_request(client, family, broker):
    """Does posting a message answer without sending its notice, and does the worker then send it once?"""
    csrf = login_as(client, family["emails"]["staff"])
    resp = client.post(
        f"/api/v1/clients/{family['minor'].id}/messages", json={"body": "See you Tuesday"}, headers=csrf
    )
    assert resp.status_code == 201, resp.get_json()
    notices = list(MailMessage.objects(direction="out", subject__startswith="You have a new secure message"))
    assert {m.to[0] for m in notices} == {family["emails"]["client"], family["emails"]["guardian"]}
    assert {m.status for m in notices} == {"queued"} and not _received("secure message")
    deliver_queued_mail(broker)
    assert {m.reload().status for m in notices} == {"sent"}
    assert sorted(m.to[0] for m in _received("secure message")) == sorted(m.to[0] for m in notices)


def test_receipt_is_sent_by_the_worker_and_reads_naturally(client, family, broker):
    """Does paying an invoice answer before its receipt is mailed, and does the worker's receipt say
    "<practice> received your payment" to the payer alone?"""
    from engine.models.organization import Organization

    org = Organization.get()
    org.name = "Calm Minds"
    org.save()
    invoice = billing.create_invoice(
        SYSTEM,
        family["minor"].id,
        {"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount_cents": 12500}]},
    )
    csrf = login_as(client, family["emails"]["guardian"])
    resp = client.post(
        f"/api/v1/invoices/{invoice['id']}/payments",
        json={"card": VISA_OK},
        headers={**csrf, "Idempotency-Key": "receipt-by-worker-1"},
    )
    assert resp.status_code == 201, resp.get_json()
    [receipt] = MailMessage.objects(direction="out", subject__startswith="Payment received")
    assert receipt.status == "queued" and receipt.to == [family["emails"]["guardian"]]
    assert not _received("Payment received")
    deliver_queued_mail(broker)
    [got] = _received("Payment received")
    assert got.subject == "Payment received — Calm Minds"
    assert "Calm Minds received your payment." in got.text and "received from" not in got.text


def test_a_retried_notice_keeps_its_message_id(settings, family, broker):
    """When the relay fails the first send, does the worker's retry send the notice once, with the
    Message-ID it was given before the first attempt?"""
    from engine.services.messaging import messaging

    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{embedded.free_port()}"))  # nobody listens
    try:
        messaging.post_message(family["staff"], family["minor"].id, body="Hello")
        notice = MailMessage.objects(direction="out", to=family["emails"]["guardian"]).get()
        with pytest.raises(OSError):
            mail.deliver(notice.id)  # what the worker's first attempt met
        first_id = notice.reload().message_id
        assert notice.status == "failed" and first_id
    finally:
        config.install(settings)  # the relay is back (development: the sink)
    deliver_queued_mail(broker)
    [got] = MailMessage.objects(direction="sink", to=family["emails"]["guardian"])
    assert got.message_id == first_id == notice.reload().message_id and notice.status == "sent"
