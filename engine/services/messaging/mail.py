"""Outgoing mail over SMTP, sent at most once per idempotency key; and the development mail sink.

Sending is two steps so that a Dramatiq actor can do the second one:
`queue_mail(...)` records the message (an existing idempotency key returns the
first message instead), `deliver(message_id)` claims it, talks SMTP and marks
it sent, keeping a copy whose links have lost their query strings (tokens). `send_mail(...)` does both in the caller's process.

PORTICO_SMTP_URL: smtp://[user:pass@]host[:port][?starttls=1] or smtps://… for
TLS from the first byte. In development without a URL (tests, a bare
`portico web`), a message is put straight into the sink's mailbox instead, so
it can still be read at /dev/mail; production refuses to start without a URL.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlparse, urlsplit, urlunsplit

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from engine import config, persistence
from engine.errors import ConfigError, Conflict, NotFound, ValidationFailed
from engine.models import aware, utcnow
from engine.models.mail import MailMessage

# A sender that died mid-send leaves its claim; after this long another may retake it.
# (At-least-once in that crash case: SMTP gives no way to ask whether the relay got it.)
log = logging.getLogger(__name__)

# A sender's claim on a message: a sender killed mid-send holds it this long. Every sender is stopped
# well before (an actor's time limit, gunicorn's 60 s request timeout), so a claim never lapses under
# a live sender and a message is never sent twice that way.
STALE_CLAIM = timedelta(seconds=90)
# The engine.workflow.dispatch kind a worker answers by sending one recorded mail (workers/mail.py).
DELIVER = "deliver_mail"
SMTP_TIMEOUT = 30
MAX_BODY_CHARS = 1_000_000
_LINK = re.compile(r"https?://[^\s<>\"')\]]+")


def _recipients(to: str | list[str]) -> list[str]:
    items = [to] if isinstance(to, str) else list(to)
    found = [addr for _name, addr in getaddresses(items)]
    bad = [a for a in found if "@" not in a or any(c in a for c in "\r\n ")]
    if not found or bad:
        raise ValidationFailed(
            "invalid recipient",
            details={"to": [f"not an address: {a!r}" for a in bad] or ["at least one recipient is needed"]},
        )
    return found


def queue_mail(
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> MailMessage:
    """Record a message to send. Raises ValidationFailed (recipient, subject).

    A second call with the same idempotency key returns the first message, whatever
    its content: the key says "this is the same mail", so it is never sent twice.
    """
    recipients = _recipients(to)
    if "\r" in subject or "\n" in subject:
        raise ValidationFailed("invalid subject", details={"subject": ["must be one line"]})
    message = MailMessage(
        direction="out",
        status="queued",
        to=recipients,
        subject=subject,
        text=text[:MAX_BODY_CHARS],
        html=(html or "")[:MAX_BODY_CHARS],
        sender=config.current().mail_from,
        idempotency_key=idempotency_key or None,
    )
    try:
        message.save(force_insert=True)
    except NotUniqueError:
        return MailMessage.objects.get(idempotency_key=idempotency_key)
    return message


def deliver(message_id) -> MailMessage:
    """Send a queued (or earlier failed) message once and mark it sent.

    Raises NotFound; Conflict while another sender holds a fresh claim on it;
    smtplib.SMTPException / OSError when the relay fails (recorded on the message
    as `failed`, so a retry sends it again). A sent message is returned untouched.
    """
    if not ObjectId.is_valid(str(message_id)):
        raise NotFound("no such mail message")
    now = utcnow()
    # One atomic claim, so two workers handed the same message cannot both send it: a guarded update per
    # claimable state (not one `$or`, nor findAndModify: see engine.persistence).
    claim = {"$set": {"status": "sending", "claimed_at": now}, "$inc": {"attempts": 1}}
    doc = None
    for claimable in (
        {"status": {"$in": ["queued", "failed"]}},
        {"status": "sending", "claimed_at": {"$lt": now - STALE_CLAIM}},
    ):
        doc = doc or persistence.update_then_read(
            persistence.collection(MailMessage),
            {"_id": ObjectId(str(message_id)), "direction": "out", **claimable},
            claim,
        )
    message = persistence.document(MailMessage, doc) if doc is not None else None
    if message is None:
        existing = MailMessage.objects(id=message_id, direction="out").first()
        if existing is None:
            raise NotFound("no such mail message")
        if existing.status == "sent":
            return existing
        raise Conflict("this mail is being sent by another worker")
    try:
        _transmit(message)
    except (smtplib.SMTPException, OSError) as exc:
        message.modify(set__status="failed", set__last_error=f"{type(exc).__name__}: {exc}"[:1000])
        raise
    # Our copy of a sent mail keeps no live link: the recipient's mailbox holds the only one.
    message.modify(
        set__status="sent",
        set__sent_at=utcnow(),
        set__last_error="",
        set__text=redact_links(message.text),
        set__html=redact_links(message.html),
    )
    return message


REDACTED = "[removed after sending]"


def _redact_link(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query and not parts.fragment:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) + "?" + REDACTED


def redact_links(body: str) -> str:
    """`body` with the query string and fragment of every link replaced by a note.

    Single-use links (portal activation) carry their token there. A sent mail is kept for the
    record; with the tokens in it, a copy of the database would hold working links.
    """
    return _LINK.sub(lambda found: _redact_link(found.group(0)), body or "")


# A queued message nobody delivered within this lost its sender (a process died between queueing and
# sending); a failed one is tried again after a backoff that doubles per attempt, up to MAX_ATTEMPTS.
UNSENT_AFTER = timedelta(minutes=1)
RETRY_BACKOFF = timedelta(seconds=30)
MAX_ATTEMPTS = 12


def _retry_due(message: MailMessage, now) -> bool:
    if message.status != "failed" or message.claimed_at is None:
        return True
    wait = min(timedelta(hours=2), RETRY_BACKOFF * 2 ** max(0, message.attempts - 1))
    return aware(message.claimed_at) + wait <= now


def retry_unsent(*, now=None, batch: int = 100) -> int:
    """Deliver outgoing mail nobody delivered: queued over UNSENT_AFTER ago, failed (after its backoff,
    fewer than MAX_ATTEMPTS tries) or claimed by a sender that died. Stops at the first relay failure
    (the relay is down: the next sweep tries again). Returns how many messages went out."""
    now = now or utcnow()
    dues = (
        {
            "status": "queued",
            "created_at__lt": now - UNSENT_AFTER,
        },  # one query each, no `$or` (engine.persistence)
        {"status": "failed", "attempts__lt": MAX_ATTEMPTS},
        {"status": "sending", "claimed_at__lt": now - STALE_CLAIM},
    )
    messages = [
        m
        for due in dues
        for m in MailMessage.objects(direction="out", **due)
        .only("id", "status", "attempts", "claimed_at")
        .limit(batch)
    ]
    sent = 0
    for message in messages:
        if not _retry_due(message, now):
            continue
        try:
            deliver(message.id)
        except Conflict:  # another sender took it meanwhile
            continue
        except (smtplib.SMTPException, OSError, ConfigError):
            log.warning("mail relay still failing; unsent mail waits for the next sweep", exc_info=True)
            break
        sent += 1
    return sent


def send_mail(
    to: str | list[str],
    subject: str,
    text: str,
    html: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> MailMessage:
    """Send one mail now. Raises what queue_mail and deliver raise."""
    return deliver(queue_mail(to, subject, text, html, idempotency_key=idempotency_key).id)


def build_email(message: MailMessage) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = message.sender
    mail["To"] = ", ".join(message.to)
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    domain = parseaddr(message.sender)[1].partition("@")[2] or "portico.local"
    if not message.message_id:
        message.message_id = make_msgid(domain=domain)
    mail["Message-ID"] = message.message_id
    mail.set_content(message.text or "")
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def _transmit(message: MailMessage) -> None:
    settings = config.current()
    mail = build_email(message)
    message.modify(set__message_id=message.message_id)
    if not settings.smtp_url:
        if settings.production:
            raise ConfigError("PORTICO_SMTP_URL is not set")
        record_received(parseaddr(message.sender)[1], message.to, mail.as_bytes())
        return
    url = urlparse(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps"):
        raise ConfigError("PORTICO_SMTP_URL must start with smtp:// or smtps://")
    starttls = parse_qs(url.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    tls = ssl.create_default_context()
    client: smtplib.SMTP  # SMTP_SSL is one
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            url.hostname or "localhost", url.port or 465, timeout=SMTP_TIMEOUT, context=tls
        )
    else:
        client = smtplib.SMTP(url.hostname or "localhost", url.port or 25, timeout=SMTP_TIMEOUT)
    with client:
        if starttls:
            client.starttls(context=tls)
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(mail, to_addrs=message.to)


# --- the development sink -------------------------------------------------------------------


def record_received(mail_from: str, rcpt_tos: list[str], content: bytes) -> MailMessage:
    """Keep one message the sink received (development only)."""
    parsed = email.message_from_bytes(content, policy=email.policy.default)

    def part(kind: str) -> str:
        body = parsed.get_body(preferencelist=(kind,))
        return body.get_content()[:MAX_BODY_CHARS] if body is not None else ""

    message = MailMessage(
        direction="sink",
        status="received",
        sender=mail_from or str(parsed["From"] or ""),
        to=list(rcpt_tos),
        subject=str(parsed["Subject"] or "")[:1000],
        text=part("plain"),
        html=part("html"),
        message_id=str(parsed["Message-ID"] or ""),
        raw_size=len(content),
        sent_at=utcnow(),
    )
    message.save(force_insert=True)
    return message


def _require_development() -> None:
    if config.current().production:
        raise NotFound("the mail sink exists in development only")


def sink_messages(limit: int = 200) -> list[MailMessage]:
    """Messages the sink received, newest first. Raises NotFound in production."""
    _require_development()
    return list(MailMessage.objects(direction="sink").order_by("-created_at").limit(limit))


def sink_message(message_id: str) -> MailMessage:
    """One received message. Raises NotFound (also in production)."""
    _require_development()
    found = (
        MailMessage.objects(id=message_id, direction="sink").first()
        if ObjectId.is_valid(message_id)
        else None
    )
    if found is None:
        raise NotFound("no such message")
    return found


def links(text: str) -> list[str]:
    """The http(s) links in a text body, in order, once each (the dev page makes them clickable)."""
    return list(dict.fromkeys(_LINK.findall(text or "")))
