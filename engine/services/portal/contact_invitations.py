"""Portal logins for contacts: staff invite any contact with a right on a client's profile.

An intake gives logins to the client and to the contacts who fill in forms
(engine.services.portal.invitations.ensure_accounts). A contact who only books, pays or
messages for the client needs one too: staff with the portal invite permission
send them an activation link here. Once activated, the contact sees the client's
profile with exactly the rights of their link (engine.authz.portal_profiles):
nothing follows from the login itself.

The mail is recorded in the request and sent by a worker (engine.workflow.dispatch
"deliver_mail"; the mail sweep sends one whose wake-up was lost). It carries the
practice's name, the person's first name and the link: never the client's name.
"""

from __future__ import annotations

from engine.authz import Actor
from engine.errors import Conflict, ValidationFailed
from engine.models.accounts import PortalAccount
from engine.models.clients import Contact, ContactLink
from engine.models.organization import Organization
from engine.services.clients import clients
from engine.services.messaging import mail
from engine.services.platform import audit
from engine.services.portal import invitations
from engine.services.practice.settings import require_contact_network
from engine.workflow import dispatch

INVITE = "portal.invite"


def _login_of(contact: Contact) -> PortalAccount | None:
    """The portal account the contact already has: their own, or their client record's."""
    if contact.portal_account is not None:
        return contact.portal_account
    if contact.client is not None and contact.client.portal_account is not None:
        return contact.client.portal_account
    return None


def invite_contact(actor: Actor, link_id) -> dict:
    """Send the contact of a link an activation link to the client portal.

    Needs the portal invite permission and a client the actor sees. Raises NotFound, Forbidden,
    Conflict (contact network off; code `no_rights` when the link gives no right on the client;
    code `already_active` when the contact signs in already), ValidationFailed {"email": [...]} when
    the contact has no e-mail address.
    Returns {"email", "status": "invited"}.
    """
    require_contact_network()
    link: ContactLink = clients.get_link_for(actor, link_id, need=INVITE)
    contact, client = link.contact, link.client
    if not any(link.permissions.as_dict().values()):
        raise Conflict(
            "give this contact at least one right on the client (forms, appointments, payments or "
            "messages) before inviting them",
            code="no_rights",
        )
    account = _login_of(contact) or invitations.account_for(
        contact.email, contact.first_name, contact=contact
    )
    if account is None:  # no login yet, and no address to make one for
        raise ValidationFailed(
            "this contact has no e-mail address",
            details={"email": ["add the contact's e-mail address first"]},
        )
    if contact.portal_account is None and contact.client is None:
        Contact.objects(id=contact.id).update_one(set__portal_account=account.id)
    if account.activated_at is not None:
        raise Conflict(
            f"{contact.display_name} already signs in to the portal; the client's profile is there "
            "with the rights of this link",
            code="already_active",
        )
    if account.disabled:
        raise Conflict("this portal login is disabled", code="account_disabled")
    practice = Organization.get().name
    link_url = invitations.activation_url(invitations.issue(account, client))
    greeting = f"Hello {contact.first_name}," if contact.first_name else "Hello,"
    text = (
        f"{greeting}\n\n{practice} has invited you to its client portal.\n\n"
        f"Set your password to get started:\n{link_url}\n\n"
        f"The link works once and expires in {invitations.TOKEN_DAYS} days.\n\n{practice}\n"
    )
    message = mail.queue_mail(account.email, f"{practice}: your client portal", text)
    dispatch.send(mail.DELIVER, message.id)  # a lost wake-up: the mail sweep sends it (mail.retry_unsent)
    audit.record(
        actor,
        "contact_invited_to_portal",
        client=client,
        object_type="contact_link",
        object_id=link.id,
        details={"contact_id": str(contact.id), "account_id": str(account.id)},
    )
    return {"email": account.email, "status": "invited"}
