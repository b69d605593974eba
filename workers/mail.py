"""Mail actors: deliver one recorded outgoing message (engine.services.messaging.mail.queue_mail made it); mail a
password reset link (engine.services.accounts.password_reset).

The engine asks for a send through engine.workflow.dispatch ("deliver_mail", registered below with the
workflow actors' dispatcher): notices, receipts and contacts' portal invitations are recorded in the
request and sent here. Mail whose wake-up was lost, or whose sender died, is sent by the workers' sweep
(engine.services.messaging.mail.retry_unsent).
"""

from __future__ import annotations

import logging

import dramatiq

from engine.errors import NotFound
from engine.services.accounts import password_reset
from engine.services.messaging import mail
from workers import workflow

log = logging.getLogger(__name__)


# Inside the message's claim (engine.services.messaging.mail.STALE_CLAIM): a live sender never outlasts it.
@dramatiq.actor(
    queue_name="mail", max_retries=20, min_backoff=5_000, max_backoff=15 * 60_000, time_limit=60_000
)
def send_mail_message(message_id: str) -> None:
    """Send it unless it was sent already. SMTP failures and a busy claim (Conflict) raise, so
    dramatiq retries them with backoff (the message keeps its Message-ID); a message that no
    longer exists is dropped."""
    try:
        mail.deliver(message_id)
    except NotFound:
        log.warning("mail message %s no longer exists; nothing to send", message_id)


# The web request asks for it through engine.workflow.dispatch (registered below with the workflow
# actors' dispatcher); a request whose message was lost is mailed by the workers' sweep
# (workers.services, engine.services.accounts.password_reset.mail_pending).
@dramatiq.actor(
    queue_name="mail", max_retries=20, min_backoff=5_000, max_backoff=15 * 60_000, time_limit=60_000
)
def mail_password_reset(request_id: str) -> None:
    """Mail the link of one "forgot password" request (nothing when no enabled login has the address)."""
    password_reset.mail_link(request_id)


workflow.ACTORS[password_reset.DISPATCH_KIND] = mail_password_reset
workflow.ACTORS[mail.DELIVER] = send_mail_message
