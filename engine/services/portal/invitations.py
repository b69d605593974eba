"""Portal invitations: who gets one, single-use expiring activation tokens (stored as an HMAC), activation.

The raw token exists only in the mail that carries it. Activation checks the
password first and then consumes the token in one atomic update, so a token
works once even when two requests race, and a weak password does not burn it.
When the practice requires MFA for the portal, the first sign-in after
activation walks the person through setting it up (engine.services.accounts.accounts.next_step).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from engine import config, persistence
from engine.authz import Actor, get_client_for, portal_actor
from engine.errors import Conflict, ValidationFailed
from engine.models import aware, utcnow
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.clients import Client, Contact, ContactLink
from engine.models.invitations import Invitation
from engine.services.accounts import mfa, passwords
from engine.services.platform import audit

TOKEN_DAYS = 7
_INVALID = {"token": ["this activation link is invalid, used or expired"]}


def _digest(raw: str) -> str:
    return hmac.new(config.current().derived_key("invitations"), raw.encode(), hashlib.sha256).hexdigest()


def issue(account: PortalAccount, client: Client, *, instance_id=None) -> str:
    """A fresh activation token for `account` (valid TOKEN_DAYS days); returns the raw token."""
    raw = secrets.token_urlsafe(32)
    Invitation(
        token_hash=_digest(raw),
        account=account.id,
        client=client.id,
        instance_id=instance_id,
        expires_at=utcnow() + timedelta(days=TOKEN_DAYS),
    ).save()
    return raw


def activation_url(raw: str) -> str:
    return f"{config.current().base_url}/portal/activate?token={raw}"


def account_for(email: str | None, first_name: str, *, client=None, contact=None) -> PortalAccount | None:
    """The portal account of a person, created (not yet activated) when missing. Raises Conflict."""
    email = (email or "").strip().lower()
    if not email:
        return None
    existing = PortalAccount.objects(email=email).first()
    if existing is not None:
        return existing
    if StaffMember.objects(email=email).count():
        raise Conflict(
            f"{email} is a staff login; give the person another e-mail address",
            details={"email": ["belongs to a staff member"]},
        )
    account = PortalAccount(email=email, first_name=first_name, client=client, contact=contact)
    account.save()
    return account


def ensure_accounts(client: Client, *, minor: bool) -> list[PortalAccount]:
    """Portal accounts for everyone who will fill in the client's forms: the client (unless a minor
    without an e-mail) and each linked contact with the forms permission (guardians first)."""
    accounts: list[PortalAccount] = []
    if client.email:
        own = client.portal_account or account_for(client.email, client.first_name, client=client)
        if own is not None:  # None: the e-mail was only blanks
            if client.portal_account is None:
                Client.objects(id=client.id).update_one(set__portal_account=own.id)
                client.reload()
            accounts.append(own)
    links = sorted(ContactLink.objects(client=client.id), key=lambda link: not link.is_guardian)
    for link in links:
        contact: Contact = link.contact
        if contact is None or not (link.permissions.forms or (minor and link.is_guardian)):
            continue
        account = contact.portal_account or account_for(contact.email, contact.first_name, contact=contact)
        if account is None:
            continue
        if contact.portal_account is None:
            Contact.objects(id=contact.id).update_one(set__portal_account=account.id)
        if account not in accounts:
            accounts.append(account)
    return [a for a in accounts if not a.disabled]


def guardian_accounts(client: Client) -> list[PortalAccount]:
    """Portal accounts of the client's guardians (contact links marked is_guardian)."""
    found = []
    for link in ContactLink.objects(client=client.id, is_guardian=True):
        if link.contact is not None and link.contact.portal_account is not None:
            found.append(link.contact.portal_account)
    return found


def activate(raw_token: str, password: str, *, ip: str = "", user_agent: str = "") -> dict:
    """Set the portal password from an invitation token (once). Raises ValidationFailed (token, password).

    Returns {"email", "mfa_setup_required"}.
    """
    if not isinstance(raw_token, str) or not raw_token.strip():
        raise ValidationFailed("the activation link is missing its token", details=_INVALID)
    passwords.check_strength(password if isinstance(password, str) else "", field_name="password")
    now = utcnow()
    found = Invitation.objects(token_hash=_digest(raw_token.strip()), expires_at__gt=now).first()
    if found is None:
        raise ValidationFailed("this activation link cannot be used", details=_INVALID)
    # Claim the link together with the chosen password's hash; the password reaches the account in a
    # second write. A process or database killed between the two (found by bench/chaos.py) leaves a
    # claim whose retry, with the same password, finishes the activation.
    claimed = persistence.update_then_read(
        persistence.collection(Invitation),
        {"_id": found.id, "used_at": None},
        {"$set": {"used_at": now, "password_hash": passwords.hash_password(password)}},
    )
    invitation = persistence.document(Invitation, claimed) if claimed is not None else None
    account = PortalAccount.objects(id=found.account).first()
    if invitation is None:
        invitation = Invitation.objects(id=found.id).first()
        if account is None or not _unfinished(invitation, account, password):
            raise ValidationFailed("this activation link cannot be used", details=_INVALID)
    if account is None or account.disabled:
        raise ValidationFailed("this activation link cannot be used", details=_INVALID)
    PortalAccount.objects(id=account.id).update_one(
        set__password_hash=invitation.password_hash,
        set__password_changed_at=invitation.used_at,
        set__activated_at=account.activated_at or invitation.used_at,
    )
    Invitation.objects(id=invitation.id).update_one(unset__password_hash=True)
    # Other outstanding links of this account stop working once a password is set.
    Invitation.objects(account=account.id, used_at=None).update(set__used_at=now)
    account.reload()
    audit.record(
        audit_actor(account, ip, user_agent),
        "portal_account_activated",
        client=invitation.client,
        object_type="portal",
        object_id=account.id,
    )
    return {
        "email": account.email,
        "mfa_setup_required": mfa.is_required(account) and not account.mfa_enabled,
    }


def _unfinished(invitation, account, password: str) -> bool:
    """A claimed link whose password never reached the account (its claimer died), retried with the
    same password."""
    if invitation is None or not invitation.password_hash or invitation.used_at is None:
        return False
    changed = account.password_changed_at
    if changed is not None and aware(changed) >= aware(invitation.used_at):
        return False
    return passwords.verify_password(invitation.password_hash, password)[0]


def audit_actor(account, ip: str, user_agent: str):
    return portal_actor(account, ip=ip, user_agent=user_agent)


def portal_status(actor: Actor, client_id) -> dict:
    """Where the client's own portal invitation stands, for the top of the staff client page:
    {"state": "none" | "sent" | "expired" | "activated", "at": when it was sent or activated (None when
    never invited)}. Only the client's own account counts (a guardian's link is on the contacts tab).

    Raises NotAuthenticated, NotFound (client not visible)."""
    client = get_client_for(actor, client_id)
    account = PortalAccount.objects(client=client.id).first()
    if account is not None and account.activated_at:
        return {"state": "activated", "at": account.activated_at}
    last = (
        Invitation.objects(client=client.id, account=account.id).order_by("-created_at").first()
        if account is not None
        else None
    )
    if last is None:
        return {"state": "none", "at": None}
    return {"state": "expired" if aware(last.expires_at) < utcnow() else "sent", "at": last.created_at}
