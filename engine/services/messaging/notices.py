"""Notification mails for the portal services: practice name, first name, a link — no health information.

A message body, an appointment's service type, an invoice's line items never
go into a mail: mail leaves our control. The reader signs in to see them.

A notice is recorded in the caller's process and sent by a worker (the
`deliver_mail` wake-up; the workers' sweep sends any whose wake-up was lost),
never inside a web request: a slow or failing relay must not slow or fail the
action it reports. The mail's idempotency key makes a notice one message, and
the Message-ID it gets before its first send is kept by every retry, so a
resend after an unclear failure is recognised as the same mail.
"""

from __future__ import annotations

import logging

from engine import config
from engine.models.clients import ContactLink
from engine.models.mail import MailMessage
from engine.models.organization import Organization
from engine.services.messaging import mail
from engine.workflow import dispatch

log = logging.getLogger(__name__)


def recipient_of(account) -> tuple[str, str] | None:
    """(email, first name) of a staff member or portal account that may be mailed, else None."""
    if account is None or getattr(account, "disabled", False) or not getattr(account, "email", ""):
        return None
    return account.email, (getattr(account, "first_name", "") or "")


def portal_accounts_with(client, permission: str) -> list:
    """Activated portal accounts acting for `client` with a link permission: the client's own,
    then each contact whose link grants `permission` (messages, appointments, payments, forms)."""
    if client is None:
        return []
    accounts = [client.portal_account] if client.portal_account is not None else []
    for link in ContactLink.objects(client=client.id, **{f"permissions__{permission}": True}):
        if link.contact is not None and link.contact.portal_account is not None:
            accounts.append(link.contact.portal_account)
    return [a for a in accounts if a.activated_at is not None]


def notify(account, *, headline: str, path: str, key: str, sentence: str = "") -> None:
    """Mail `account` that something is waiting at `path`; sent at most once per `key`.

    `headline` is the subject (the practice's name follows it); `sentence` opens the body and may
    name the practice as `{practice}` ("{practice} received your payment."); without one the body
    repeats the headline.

    Only records the mail and asks a worker to send it (engine.services.messaging.mail.deliver, at least
    once, with one Message-ID). Best effort: a mail that cannot even be recorded (a bad address)
    is logged and never undoes the action that caused it.
    """
    recipient = recipient_of(account)
    if recipient is None:
        return
    to, first_name = recipient
    org_name = Organization.get().name
    link = f"{config.current().base_url}{path}"
    greeting = f"Hello {first_name}," if first_name else "Hello,"
    lead = sentence.format(practice=org_name) if sentence else f"{headline}."
    text = f"{greeting}\n\n{lead}\nSign in to see it:\n{link}\n\n{org_name}\n"
    try:
        message = mail.queue_mail(to, f"{headline} — {org_name}", text, idempotency_key=key)
    except Exception:  # noqa: BLE001 - a notice must not fail the action it reports
        log.warning(
            "notification %s to account %s not recorded", key, getattr(account, "id", "?"), exc_info=True
        )
        return
    if message.status == "queued":
        dispatch.send(mail.DELIVER, message.id)


def already_queued(key: str) -> bool:
    """Whether a notice under `key` has been recorded (a digest's period is then spent)."""
    return MailMessage.objects(idempotency_key=key).only("id").first() is not None
