"""Clients and their contact network: create, read, search, edit; add, change and remove contact links.

Staff see the clients assigned to them, or every client with `clients.view_all`;
creating and editing needs `clients.manage`. A portal account may read the
profiles it reaches. Every read and write records an audit event. The contact
network is an organization setting: while it is off, its operations raise
Conflict (code `contact_network_disabled`).
"""

from __future__ import annotations

import re

import mongoengine as me
from mongoengine.errors import SaveConditionError

from engine.authz import Actor, get_client_for, parse_id, portal_profile
from engine.errors import (
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    StaleVersion,
    ValidationFailed,
)
from engine.models.accounts import StaffMember
from engine.models.clients import (
    LINK_PERMISSIONS,
    Address,
    Client,
    Contact,
    ContactLink,
    EmergencyContact,
    LinkPermissions,
)
from engine.services._fields import Problems, boolean, day, email, save_checked, text
from engine.services.platform import audit
from engine.services.practice.settings import require_contact_network

_TEXT_FIELDS = {"first_name": 100, "last_name": 100, "preferred_name": 100, "phone": 40}
_REQUIRED = ("first_name", "last_name")
_EMBEDDED: dict[str, type[me.EmbeddedDocument]] = {"address": Address, "emergency_contact": EmergencyContact}
EDITABLE = (
    *_TEXT_FIELDS,
    "date_of_birth",
    "email",
    "address",
    "emergency_contact",
    "status",
    "assigned_staff",
)
MAX_PER_PAGE = 100


# --- shapes -------------------------------------------------------------------


def _embedded_dict(doc) -> dict:
    return {name: getattr(doc, name) for name in doc._fields} if doc is not None else {}


def describe_client(client: Client, *, actor: Actor | None = None) -> dict:
    """The public shape of a client; portal callers do not see staff assignments, and a contact
    whose link does not show the whole record (authz.portal_profiles) sees only the name."""
    if actor is not None and actor.is_portal:
        profile = portal_profile(actor.login, client.id)
        if profile is None or not profile["whole_record"]:
            return {
                "id": str(client.id),
                "first_name": client.first_name,
                "last_name": client.last_name,
                "preferred_name": client.preferred_name,
                "display_name": client.display_name,
                "status": client.status,
            }
    shape = {
        "id": str(client.id),
        "first_name": client.first_name,
        "last_name": client.last_name,
        "preferred_name": client.preferred_name,
        "display_name": client.display_name,
        "date_of_birth": client.date_of_birth,
        "email": client.email,
        "phone": client.phone,
        "address": _embedded_dict(client.address),
        "emergency_contact": _embedded_dict(client.emergency_contact),
        "status": client.status,
        "has_portal_account": client.portal_account is not None,
        "created_at": client.created_at,
        "version": client.version,
    }
    if actor is None or actor.kind != "portal":
        shape["assigned_staff"] = [str(s) for s in client.assigned_staff]
    return shape


def _portal_login(contact) -> str:
    """The contact's portal login: active (signs in), invited (activation link sent) or none."""
    account = contact.portal_account or (contact.client.portal_account if contact.client else None)
    if account is None:
        return "none"
    return "active" if account.activated_at is not None else "invited"


def describe_link(link: ContactLink) -> dict:
    contact = link.contact
    return {
        "id": str(link.id),
        "client_id": str(link.client.id),
        "relationship": link.relationship,
        "is_guardian": link.is_guardian,
        "permissions": link.permissions.as_dict(),
        "contact": {
            "id": str(contact.id),
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "display_name": contact.display_name,
            "email": contact.email,
            "phone": contact.phone,
            "client_id": str(contact.client.id) if contact.client else None,
            "has_portal_account": contact.portal_account is not None,
            "portal_login": _portal_login(contact),
        },
    }


# --- clients ------------------------------------------------------------------


def _require_staff(actor: Actor) -> None:
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    if not (actor.is_staff or actor.is_service or actor.kind == "system"):
        raise Forbidden("staff only")


def list_clients(
    actor: Actor,
    *,
    q: str = "",
    page: int = 1,
    per_page: int = 25,
    status: str = "active",
    mine: bool = False,
) -> dict:
    """A page of the clients the actor may see, by last name, optionally searched by name or e-mail.

    Every word of `q` must start some name or the e-mail; `mine` keeps only clients
    assigned to the acting staff member. Raises NotAuthenticated, Forbidden.
    """
    _require_staff(actor)
    page, per_page = max(int(page), 1), min(max(int(per_page), 1), MAX_PER_PAGE)
    query = me.Q(status=status) if status in ("active", "archived") else me.Q()
    if actor.is_staff and (mine or "clients.view_all" not in actor.permissions):
        query &= me.Q(assigned_staff=actor.login.id)
    for word in (q or "").split()[:5]:
        pattern = re.compile("^" + re.escape(word[:60]), re.IGNORECASE)
        query &= (
            me.Q(first_name=pattern)
            | me.Q(last_name=pattern)
            | me.Q(preferred_name=pattern)
            | me.Q(email=pattern)
        )
    found = Client.objects(query).order_by("last_name", "first_name")
    total = found.count()
    items = [describe_client(c) for c in found.skip((page - 1) * per_page).limit(per_page)]
    audit.record(
        actor,
        "client_list_viewed",
        object_type="client",
        details={"q": (q or "")[:100], "page": page, "shown": len(items)},
    )
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def get_client(actor: Actor, client_id) -> dict:
    """One client record the actor may see. Raises NotAuthenticated, NotFound."""
    try:
        client = get_client_for(actor, client_id)
    except NotFound:
        audit.record(
            actor,
            "client_record_viewed",
            object_type="client",
            object_id=str(client_id)[:40],
            outcome="denied",
        )
        raise
    audit.record(actor, "client_record_viewed", client=client, object_type="client", object_id=client.id)
    return describe_client(client, actor=actor)


def _apply_client_fields(client: Client, data: dict, problems: Problems, *, creating: bool) -> list[str]:
    """Copy checked values from `data` onto `client`; returns the names that were given."""
    given = [name for name in EDITABLE if name in data]
    for name in sorted(set(data) - set(EDITABLE)):
        problems.add(name, "unknown field")
    for name, limit in _TEXT_FIELDS.items():
        if name in data or (creating and name in _REQUIRED):
            setattr(
                client,
                name,
                text(data.get(name), name, problems, required=name in _REQUIRED, max_length=limit),
            )
    if "email" in data:
        client.email = email(data["email"], "email", problems)
    if "date_of_birth" in data:
        client.date_of_birth = day(data["date_of_birth"], "date_of_birth", problems)
    for name, cls in _EMBEDDED.items():
        if name in data:
            raw = data[name] or {}
            merged = _embedded_dict(getattr(client, name)) | (raw if isinstance(raw, dict) else {})
            for key in sorted(set(merged) - set(cls._fields)):
                problems.add(f"{name}.{key}", "unknown field")
            setattr(
                client,
                name,
                cls(**{k: text(v, f"{name}.{k}", problems) for k, v in merged.items() if k in cls._fields}),
            )
    if "status" in data:
        if data["status"] not in ("active", "archived"):
            problems.add("status", "must be active or archived")
        client.status = data["status"]
    if "assigned_staff" in data:
        client.assigned_staff = _check_staff_ids(data["assigned_staff"], problems)
    return given


def _check_staff_ids(raw, problems: Problems) -> list:
    if not isinstance(raw, list):
        problems.add("assigned_staff", "must be a list of staff ids")
        return []
    ids = []
    for value in raw:
        try:
            ids.append(parse_id(value))
        except NotFound:
            problems.add("assigned_staff", f"no such staff member: {value}")
    found = {m.id for m in StaffMember.objects(id__in=ids, disabled=False).only("id")}
    for missing in [i for i in ids if i not in found]:
        problems.add("assigned_staff", f"no such staff member: {missing}")
    return list(dict.fromkeys(i for i in ids if i in found))


def create_client(actor: Actor, data: dict) -> dict:
    """Create a client; unless staff are named, the creating staff member is assigned.

    Needs clients.manage. Raises NotAuthenticated, Forbidden, ValidationFailed.
    """
    _require_staff(actor)
    actor.require("clients.manage")
    problems = Problems()
    client = Client()
    _apply_client_fields(client, data, problems, creating=True)
    if "assigned_staff" not in data and actor.is_staff:
        client.assigned_staff = [actor.login.id]
    problems.raise_if_any()
    save_checked(client, force_insert=True)
    audit.record(actor, "client_created", client=client, object_type="client", object_id=client.id)
    return describe_client(client)


def update_client(actor: Actor, client_id, changes: dict, *, expected_version: int | None = None) -> dict:
    """Edit a client record; `expected_version` guards against overwriting someone else's edit.

    Needs clients.manage. Raises NotAuthenticated, NotFound, Forbidden, ValidationFailed, StaleVersion.
    """
    _require_staff(actor)
    client = get_client_for(actor, client_id, need="clients.manage")
    version = client.version
    if expected_version is not None and expected_version != version:
        raise StaleVersion("this client was changed by someone else; reload and retry")
    problems = Problems()
    given = _apply_client_fields(client, changes, problems, creating=False)
    problems.raise_if_any()
    client.version = version + 1
    try:
        save_checked(client, save_condition={"version": version})
    except SaveConditionError:
        raise StaleVersion("this client was changed by someone else; reload and retry") from None
    audit.record(
        actor,
        "client_record_updated",
        client=client,
        object_type="client",
        object_id=client.id,
        details={"fields": given},
    )
    return describe_client(client)


# --- contact network ----------------------------------------------------------


def contact_network(actor: Actor, client_id) -> list[dict]:
    """The contact links of a client the actor may see. Raises NotAuthenticated, NotFound, Conflict."""
    require_contact_network()
    _require_staff(actor)
    client = get_client_for(actor, client_id)
    links = ContactLink.objects(client=client.id).order_by("created_at")
    audit.record(actor, "contact_network_viewed", client=client, object_type="client", object_id=client.id)
    return [describe_link(link) for link in links]


def _check_link_fields(data: dict, problems: Problems, link: ContactLink) -> None:
    if "relationship" in data or link.id is None:
        link.relationship = text(
            data.get("relationship"), "relationship", problems, required=True, max_length=60
        )
    if "is_guardian" in data:
        link.is_guardian = boolean(data["is_guardian"], "is_guardian", problems)
    if "permissions" in data:
        raw = data["permissions"] if isinstance(data["permissions"], dict) else {}
        if not isinstance(data["permissions"], dict):
            problems.add("permissions", f"must be an object with: {', '.join(LINK_PERMISSIONS)}")
        for key in sorted(set(raw) - set(LINK_PERMISSIONS)):
            problems.add(f"permissions.{key}", "unknown permission")
        merged = link.permissions.as_dict() | {k: v for k, v in raw.items() if k in LINK_PERMISSIONS}
        link.permissions = LinkPermissions(
            **{k: boolean(v, f"permissions.{k}", problems) for k, v in merged.items()}
        )


def _visible_contact(actor: Actor, contact_id) -> Contact:
    """A contact linked to at least one client the actor may see (else a field error)."""
    contact = Contact.objects(id=parse_id(contact_id)).first()
    if contact is not None:
        for link in ContactLink.objects(contact=contact.id).only("client"):
            try:
                get_client_for(actor, link.client.id)
                return contact
            except NotFound:
                continue
    raise ValidationFailed("unknown contact", details={"contact_id": ["no such contact"]})


def _contact_for(actor: Actor, data: dict, client: Client, problems: Problems) -> Contact | None:
    """The contact to link: an existing contact, an existing client, or a new person."""
    if data.get("contact_id"):
        try:
            return _visible_contact(actor, data["contact_id"])
        except (ValidationFailed, NotFound):
            problems.add("contact_id", "no such contact")
            return None
    if data.get("client_id"):
        try:
            other = get_client_for(actor, data["client_id"])
        except NotFound:
            problems.add("client_id", "no such client")
            return None
        if other.id == client.id:
            problems.add("client_id", "a client cannot be their own contact")
            return None
        return Contact.objects(client=other.id).first() or Contact(
            first_name=other.first_name,
            last_name=other.last_name,
            email=other.email,
            phone=other.phone,
            client=other,
            portal_account=other.portal_account,
        )
    names = {
        name: text(data.get(name), name, problems, required=name in _REQUIRED, max_length=100)
        for name in ("first_name", "last_name")
    }
    phone = text(data.get("phone"), "phone", problems, max_length=40)
    address = email(data.get("email"), "email", problems)
    if address:
        # The same person added from a second client's page: same e-mail and names
        # means one contact (so a guardian's one portal account reaches every child).
        for known in Contact.objects(email=address, client=None):
            if (known.first_name.lower(), known.last_name.lower()) == (
                names["first_name"].lower(),
                names["last_name"].lower(),
            ):
                return known
    return Contact(**names, phone=phone, email=address)


def add_contact(actor: Actor, client_id, data: dict) -> dict:
    """Link a contact to a client: `contact_id` (existing contact), `client_id` (existing client) or a new
    person (first_name, last_name, email, phone); plus relationship, is_guardian, permissions.

    Needs clients.manage. Raises Conflict (network off, or already linked), NotFound, Forbidden, ValidationFailed.
    """
    require_contact_network()
    _require_staff(actor)
    client = get_client_for(actor, client_id, need="clients.manage")
    problems = Problems()
    contact = _contact_for(actor, data, client, problems)
    link = ContactLink(client=client)
    _check_link_fields(data, problems, link)
    problems.raise_if_any()
    if contact is None:  # not reached: _contact_for records a problem whenever it finds no contact
        raise ValidationFailed("no contact to link", details={"contact_id": ["no such contact"]})
    if contact.id is not None and ContactLink.objects(contact=contact.id, client=client.id).first():
        raise Conflict("this contact is already linked to this client", code="already_linked")
    if contact.id is None:
        save_checked(contact, force_insert=True)
    link.contact = contact
    save_checked(link, force_insert=True)
    audit.record(
        actor,
        "contact_link_created",
        client=client,
        object_type="contact_link",
        object_id=link.id,
        details={"contact_id": str(contact.id), "is_guardian": link.is_guardian},
    )
    return describe_link(link)


def get_link_for(actor: Actor, link_id, *, need: str | None = None) -> ContactLink:
    """Load a contact link whose client the actor may see. Raises NotAuthenticated, NotFound, Forbidden."""
    link = ContactLink.objects(id=parse_id(link_id)).first()
    if link is None or link.client is None:
        raise NotFound("no such contact link")
    get_client_for(actor, link.client.id, need=need)
    return link


def update_link(actor: Actor, link_id, changes: dict) -> dict:
    """Change a link's relationship, guardian flag or permissions, and a non-client contact's details
    (`contact`: first_name, last_name, email, phone; a client's details are edited on their record).

    Needs clients.manage. Raises Conflict (network off), NotFound, Forbidden, ValidationFailed.
    """
    require_contact_network()
    _require_staff(actor)
    link = get_link_for(actor, link_id, need="clients.manage")
    problems = Problems()
    for name in sorted(set(changes) - {"relationship", "is_guardian", "permissions", "contact"}):
        problems.add(name, "cannot be changed here")
    _check_link_fields(changes, problems, link)
    contact = link.contact
    if changes.get("contact"):
        _check_contact_person(contact, changes["contact"], problems)
    problems.raise_if_any()
    if changes.get("contact"):
        save_checked(contact)
    save_checked(link)
    audit.record(
        actor,
        "contact_link_updated",
        client=link.client,
        object_type="contact_link",
        object_id=link.id,
        details={"fields": sorted(changes)},
    )
    return describe_link(link)


def _check_contact_person(contact: Contact, raw, problems: Problems) -> None:
    if contact.client is not None:
        problems.add("contact", "this contact is a client: edit their client record instead")
        return
    if not isinstance(raw, dict):
        problems.add("contact", "must be an object")
        return
    for name in sorted(set(raw) - {"first_name", "last_name", "email", "phone"}):
        problems.add(f"contact.{name}", "unknown field")
    for name in ("first_name", "last_name"):
        if name in raw:
            setattr(
                contact, name, text(raw[name], f"contact.{name}", problems, required=True, max_length=100)
            )
    if "phone" in raw:
        contact.phone = text(raw["phone"], "contact.phone", problems, max_length=40)
    if "email" in raw:
        contact.email = email(raw["email"], "contact.email", problems)


def remove_link(actor: Actor, link_id) -> None:
    """Unlink a contact from a client (the contact itself stays). Needs clients.manage.

    Raises Conflict (network off), NotFound, Forbidden.
    """
    require_contact_network()
    _require_staff(actor)
    link = get_link_for(actor, link_id, need="clients.manage")
    client = link.client
    link.delete()
    audit.record(
        actor,
        "contact_link_removed",
        client=client,
        object_type="contact_link",
        object_id=link_id,
        details={"contact_id": str(link.contact.id)},
    )
