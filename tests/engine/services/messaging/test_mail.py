"""Outgoing mail through a real SMTP server (aiosmtpd, our sink handler), idempotency, the dev mailbox."""

from __future__ import annotations

import pytest

from engine import config, embedded
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.mailsink import controller
from engine.models import utcnow
from engine.models.mail import MailMessage
from engine.services.messaging import mail
from tests.helpers import login_as, make_portal_account, make_staff


@pytest.fixture()
def smtp_server(settings, clean_db):
    """A real aiosmtpd server on a free port, storing what it receives; PORTICO_SMTP_URL points at it."""
    port = embedded.free_port()
    server = controller("127.0.0.1", port)
    server.start()
    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{port}"))
    yield port
    config.install(settings)
    server.stop()


def _received():
    return list(MailMessage.objects(direction="sink").order_by("created_at"))


def test_sent_mail_arrives_at_the_smtp_server(smtp_server):
    """Does send_mail deliver text and HTML over SMTP and record the message as sent?"""
    sent = mail.send_mail(
        "Casey <casey@example.org>",
        "Your intake forms",
        "Hello Casey,\nstart here: https://portal.example/activate?t=abc\n",
        "<p>Hello <b>Casey</b></p>",
    )
    [got] = _received()
    assert got.to == ["casey@example.org"]
    assert got.subject == "Your intake forms"
    assert "https://portal.example/activate?t=abc" in got.text
    assert "<b>Casey</b>" in got.html
    assert got.message_id == sent.message_id != ""
    sent.reload()
    assert (sent.status, sent.attempts) == ("sent", 1)
    assert sent.sent_at is not None


def test_same_idempotency_key_never_sends_twice(smtp_server):
    """Does a retry with the same idempotency key return the first message without sending again?"""
    first = mail.send_mail("a@example.org", "Reminder", "text", idempotency_key="inst-1:task-7")
    again = mail.send_mail("a@example.org", "Reminder", "text", idempotency_key="inst-1:task-7")
    assert again.id == first.id
    assert len(_received()) == 1
    assert MailMessage.objects(direction="out").count() == 1
    mail.send_mail("a@example.org", "Reminder", "text", idempotency_key="inst-1:task-8")
    assert len(_received()) == 2


def test_failed_send_is_recorded_and_a_retry_sends_it_once(settings, smtp_server):
    """Is an SMTP failure recorded as failed, and does a later retry send the message exactly once?"""
    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{embedded.free_port()}"))  # nobody listens
    queued = mail.queue_mail(
        "b@example.org", "Payment failed", "Please update your card.", idempotency_key="k"
    )
    with pytest.raises(OSError):
        mail.deliver(queued.id)
    queued.reload()
    assert queued.status == "failed" and "Connection" in queued.last_error
    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{smtp_server}"))
    mail.deliver(queued.id)
    mail.deliver(queued.id)
    assert len(_received()) == 1
    assert queued.reload().attempts == 2


def test_the_sweep_delivers_what_nobody_delivered_once_and_waits_out_backoff(settings, smtp_server):
    """Does the worker's sweep send a notice whose relay failed (after its backoff, not before), a message
    queued by a process that died, and nothing still fresh, already sent, or twice?"""
    from datetime import timedelta

    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{embedded.free_port()}"))  # relay down
    failed = mail.queue_mail(
        "e@example.org", "You have a new secure message", "Sign in.", idempotency_key="n1"
    )
    with pytest.raises(OSError):
        mail.deliver(failed.id)
    orphan = mail.queue_mail("f@example.org", "Your invoice", "Sign in.", idempotency_key="n2")
    orphan.modify(set__created_at=utcnow() - mail.UNSENT_AFTER - timedelta(seconds=1))
    fresh = mail.queue_mail("g@example.org", "Hi", "Sign in.")  # its request may be delivering it now
    assert mail.retry_unsent() == 0  # still down: stops at the first failure
    assert failed.reload().attempts == 1 and orphan.reload().attempts == 1  # orphan tried once, failed
    config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{smtp_server}"))
    assert mail.retry_unsent() == 0  # both wait out their backoff
    later = utcnow() + mail.RETRY_BACKOFF + timedelta(seconds=1)
    assert mail.retry_unsent(now=later) == 2
    assert mail.retry_unsent(now=later) == 0
    assert sorted(m.to[0] for m in _received()) == ["e@example.org", "f@example.org"]
    assert fresh.reload().status == "queued"
    failed.modify(set__status="failed", set__attempts=mail.MAX_ATTEMPTS)  # given up: left for a person
    assert mail.retry_unsent(now=later + timedelta(days=1)) == 1  # only the fresh one, now unsent too long
    assert len(_received()) == 3


def test_an_intake_mail_held_by_a_killed_sender_is_waited_for_then_sent_once(smtp_server):
    """Does the intake's mail operation treat a message another (perhaps killed) sender holds as busy
    (OperationBusy, no failed attempt), and send it once the claim has lapsed?"""
    from datetime import timedelta

    from engine.services.intake import intake_operations
    from engine.workflow.operations import OperationBusy

    queued = mail.queue_mail(
        "h@example.org", "Your client portal", "Set your password.", idempotency_key="i1"
    )
    queued.modify(set__status="sending", set__claimed_at=utcnow())  # its sender was killed mid-send
    with pytest.raises(OperationBusy):
        intake_operations._deliver(queued.id)
    assert _received() == []
    queued.modify(set__claimed_at=utcnow() - mail.STALE_CLAIM - timedelta(seconds=1))  # the claim lapsed
    intake_operations._deliver(queued.id)
    intake_operations._deliver(queued.id)
    assert [m.to for m in _received()] == [["h@example.org"]]


def test_message_claimed_by_another_sender_is_not_sent(smtp_server):
    """Does a message another worker is sending right now answer Conflict instead of a second send?"""
    queued = mail.queue_mail("c@example.org", "Hi", "text")
    queued.modify(set__status="sending", set__claimed_at=utcnow())
    with pytest.raises(Conflict):
        mail.deliver(queued.id)
    assert _received() == []
    with pytest.raises(NotFound):
        mail.deliver("0123456789abcdef01234567")


@pytest.mark.parametrize(
    ("to", "subject"),
    [("not-an-address", "Hi"), ([], "Hi"), ("d@example.org", "Hi\r\nBcc: evil@example.org")],
)
def test_bad_recipient_or_subject_is_refused_before_anything_is_recorded(clean_db, to, subject):
    """Are a malformed recipient and a header-injecting subject refused with ValidationFailed?"""
    with pytest.raises(ValidationFailed):
        mail.queue_mail(to, subject, "text")
    assert MailMessage.objects.count() == 0


def test_without_smtp_url_development_keeps_mail_in_the_dev_mailbox(clean_db):
    """In development with no SMTP URL, does a sent mail land in the sink's mailbox?"""
    mail.send_mail("e@example.org", "Welcome", "hello")
    [got] = _received()
    assert (got.to, got.subject) == (["e@example.org"], "Welcome")


def test_dev_mail_page_lists_newest_first_and_shows_links(client, smtp_server):
    """Can staff read sink mail at /dev/mail, newest first, with clickable links?"""
    mail.send_mail("f@example.org", "Older", "first")
    mail.send_mail("f@example.org", "Newer", "activate: https://portal.example/activate?t=xyz")
    staff = make_staff()
    login_as(client, staff.email)
    page = client.get("/dev/mail/").get_data(as_text=True)
    assert page.index("Newer") < page.index("Older")
    newest = _received()[-1]
    detail = client.get(f"/dev/mail/{newest.id}").get_data(as_text=True)
    assert '<a href="https://portal.example/activate?t=xyz"' in detail
    assert client.get("/dev/mail/0123456789abcdef01234567").status_code == 404


def test_dev_mail_is_not_for_anonymous_or_portal_users(client, clean_db):
    """Are mail contents closed to visitors (sent to the login page) and portal accounts (403)?"""
    anonymous = client.get("/dev/mail/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    account = make_portal_account()
    login_as(client, account.email)
    assert client.get("/dev/mail/").status_code == 403


def test_dev_mail_does_not_exist_in_production(settings, clean_db):
    """Does production answer 404 at /dev/mail, whoever asks, and refuse the sink listing itself?"""
    from web.app import create_app

    production = settings.with_(env="production", smtp_url="smtp://127.0.0.1:25")
    try:
        app = create_app(production)
        assert app.test_client().get("/dev/mail/").status_code == 404
        with pytest.raises(NotFound):
            mail.sink_messages()
    finally:
        config.install(settings)
