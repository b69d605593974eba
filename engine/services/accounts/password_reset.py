"""Password recovery for staff and portal accounts: a mailed single-use link that works for 30 minutes.

Three steps, so that nothing in the web request depends on whether the address has a login:
  1. `request_reset(email)` (the web request) records the address asked about and wakes a worker. The
     same single write for every address, and the same answer: no account enumeration by reply or timing.
  2. `mail_link(request_id)` (a worker; the sweep `mail_pending` for a lost wake-up) looks the address
     up. For an enabled login it issues a random token, keeps only its HMAC (as invitation tokens are
     kept), and mails the link through the outbox (engine.services.messaging.mail, idempotent per request).
  3. `reset(raw_token, password)` claims the link once (an atomic update), sets the password and ends
     every session and API token of the account (engine.services.accounts.accounts.set_password). The caller
     then signs in afresh; staff with MFA still give their code.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from bson import ObjectId

from engine import config, persistence
from engine.authz import ANONYMOUS
from engine.errors import ConfigError, Conflict, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import PasswordReset
from engine.models.mail import MailMessage
from engine.models.organization import Organization
from engine.services.accounts import accounts, passwords, tokens
from engine.services.messaging import mail
from engine.services.platform import audit
from engine.workflow import dispatch

log = logging.getLogger(__name__)

LINK_MINUTES = 30
KEEP_ROWS = timedelta(days=1)  # rows outlive their link a while, for the audit of who asked when
UNSENT_AFTER = timedelta(minutes=1)  # a request no worker took this long lost its wake-up
DISPATCH_KIND = "mail_password_reset"
ANSWER = (
    "If that address belongs to an account, a link to choose a new password is on its way. "
    f"It works once, for {LINK_MINUTES} minutes."
)
_INVALID = {"token": ["this link is invalid, used or expired: ask for a new one"]}


def _digest(raw: str) -> str:
    return hmac.new(config.current().derived_key("password-reset"), raw.encode(), hashlib.sha256).hexdigest()


def reset_url(raw: str) -> str:
    return f"{config.current().base_url}/password/reset?token={raw}"


def request_reset(email) -> str:
    """Record a "forgot password" request for `email` and ask a worker to mail the link.

    Returns the one public answer (ANSWER), whatever the address. Raises ValidationFailed only for
    something that is not an e-mail address at all (that says nothing about accounts).
    """
    address = accounts.normalize_email(email)
    if not address or "@" not in address or len(address) > 254 or any(c in address for c in "\r\n "):
        raise ValidationFailed("enter your e-mail address", details={"email": ["not an e-mail address"]})
    now = utcnow()
    row = PasswordReset(email=address, requested_at=now, purge_at=now + KEEP_ROWS)
    row.save(force_insert=True)
    dispatch.send(DISPATCH_KIND, row.id)  # a lost wake-up is sent by the sweep (mail_pending)
    return ANSWER


def _mail_text(account, raw: str) -> tuple[str, str]:
    practice = Organization.get().name
    first = getattr(account, "first_name", "") or ""
    greeting = f"Hello {first}," if first else "Hello,"
    text = (
        f"{greeting}\n\nSomeone (we hope you) asked to reset the password of your {practice} account.\n"
        f"Choose a new password here:\n{reset_url(raw)}\n\n"
        f"The link works once and expires in {LINK_MINUTES} minutes. Using it signs you out everywhere.\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n\n"
        f"{practice}\n"
    )
    return f"{practice}: reset your password", text


def mail_link(request_id) -> str:
    """Worker step: mail the link for one request. Returns what happened: mailed | no_account | done.

    Idempotent: a retry after the mail was recorded delivers that same mail (its token is the one
    stored); a request already handled is left alone. Raises what engine.services.messaging.mail.deliver raises
    on a relay failure (the mail stays recorded and the retry or the mail sweep sends it).
    """
    if not ObjectId.is_valid(str(request_id)):
        return "done"
    row = PasswordReset.objects(id=ObjectId(str(request_id))).first()
    if row is None or row.status == "no_account":
        return "done"
    key = f"password-reset:{row.id}"
    if row.status == "mailed":
        message = MailMessage.objects(idempotency_key=key).first()
        if message is not None and message.status != "sent":
            mail.deliver(message.id)
        return "done"
    account = accounts.find_login(row.email)
    if account is None or account.disabled:
        PasswordReset.objects(id=row.id, status="requested").update_one(set__status="no_account")
        audit.record(
            ANONYMOUS,
            "password_reset_requested",
            outcome="denied",
            details={"email": row.email, "reason": "no_account"},
        )
        return "no_account"
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    # Claim the request together with the token's hash: two workers handed the same request mail once.
    # A worker killed between this claim and recording the mail leaves a request whose link was never
    # mailed (the raw token died with it); the person asks again, nothing of the account changed.
    claimed = PasswordReset.objects(id=row.id, status="requested").update_one(
        set__status="mailed",
        set__account_kind=account.kind,
        set__account_id=account.id,
        set__token_hash=_digest(raw),
        set__expires_at=now + timedelta(minutes=LINK_MINUTES),
    )
    if not claimed:
        return "done"
    subject, text = _mail_text(account, raw)
    message = mail.queue_mail(account.email, subject, text, idempotency_key=key)
    audit.record(
        accounts.actor_for(account),
        "password_reset_requested",
        object_type=account.kind,
        object_id=account.id,
        details={"outcome": "mailed"},
    )
    mail.deliver(message.id)
    return "mailed"


def mail_pending(*, now=None, batch: int = 100) -> int:
    """Sweep: handle requests whose worker wake-up was lost (still `requested` after UNSENT_AFTER).
    Stops at the first relay failure. Returns how many were handled."""
    now = now or utcnow()
    handled = 0
    for row in (
        PasswordReset.objects(status="requested", requested_at__lt=now - UNSENT_AFTER).only("id").limit(batch)
    ):
        try:
            mail_link(row.id)
        except Conflict:
            continue
        except (OSError, ConfigError):
            log.warning("mail relay failing; password reset mails wait for the next sweep", exc_info=True)
            break
        handled += 1
    return handled


def check_token(raw_token) -> None:
    """Raises ValidationFailed {"token": [...]} unless the link can still be used (the reset page asks
    before showing the password form)."""
    if _usable(raw_token) is None:
        raise ValidationFailed("this link cannot be used", details=_INVALID)


def _usable(raw_token) -> PasswordReset | None:
    if not isinstance(raw_token, str) or not raw_token.strip() or len(raw_token) > 200:
        return None
    return PasswordReset.objects(
        token_hash=_digest(raw_token.strip()), status="mailed", used_at=None, expires_at__gt=utcnow()
    ).first()


def reset(raw_token, password, *, ip: str = "", user_agent: str = ""):
    """Set a new password with a mailed link (once, within LINK_MINUTES). Returns the account.

    Every session and API token of the account ends (the reset's point: whoever held one is out), and
    every other outstanding link of the account stops working. Raises ValidationFailed {"token": [...]}
    or {"password": [...]}; a weak password does not use up the link.
    """
    passwords.check_strength(password if isinstance(password, str) else "", field_name="password")
    found = _usable(raw_token)
    if found is None:
        raise ValidationFailed("this link cannot be used", details=_INVALID)
    now = utcnow()
    # The claim is the single use: of two requests racing with one link, one sets the password. A
    # process killed between the claim and the password write leaves the old password and a used
    # link; the person asks for a new one (nothing of the account changed).
    claimed = persistence.update_then_read(
        persistence.collection(PasswordReset), {"_id": found.id, "used_at": None}, {"$set": {"used_at": now}}
    )
    account = tokens.load_account(found.account_kind, found.account_id) if claimed is not None else None
    if account is None:
        raise ValidationFailed("this link cannot be used", details=_INVALID)
    PasswordReset.objects(account_kind=account.kind, account_id=account.id, used_at=None).update(
        set__used_at=now
    )
    actor = accounts.actor_for(account, ip=ip, user_agent=user_agent)
    accounts.set_password(account, password, actor=actor)
    audit.record(actor, "password_reset_completed", object_type=account.kind, object_id=account.id)
    return account
