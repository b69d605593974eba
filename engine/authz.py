"""Permissions, role presets, the acting identity and object-level guards.

This module is the one place where permission codes are declared. A staff
member's effective permissions are role presets ∪ the organization's default
set ∪ explicit grants. Portal accounts have no codes; they reach client
profiles (their own, and linked ones through contact links with per-link
permissions).

Guards load an object *and* check the caller may see it; an object the caller
may not see raises NotFound, never Forbidden, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bson import ObjectId
from bson.errors import InvalidId

from engine.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from engine.models.clients import LINK_PERMISSIONS, Client, Contact, ContactLink
from engine.models.organization import Organization

if TYPE_CHECKING:
    from engine.models.accounts import Login

# code -> what it allows. Add new codes here and nowhere else.
PERMISSIONS: dict[str, str] = {
    # The two client portal permissions carry the brief's own titles: staff ask their administrator for
    # them by these words, and the administrator adds them to Default Permissions by hand.
    "client_documents.upload": "Upload Client General Documents",
    "portal.invite": "Can invite clients to the client portal and manage intake forms",
    "dynamic_forms.manage": "Add, edit, archive dynamic forms (not intake forms)",
    "intake_forms.manage": "Create and edit intake forms and the default packet",
    "portal.settings": "All client portal settings",
    "staff.manage": "Staff, roles, default permissions",
    "workflows.manage": "Edit, deploy, migrate BPMN processes",
    "clients.view_all": "See every client, not only those assigned to you",
    "clients.manage": "Create clients and edit their records and contact networks",
    "billing.manage": "Create invoices, record payments, review insurance",
    "calendar.manage": "Manage every staff member's calendar and availability",
    "audit.view": "Read the audit trail",
    "integrations.manage": "Service tokens and webhooks for other systems",
}

ROLE_PRESETS: dict[str, dict] = {
    "org_admin": {"label": "Organization admin", "permissions": frozenset(PERMISSIONS)},
    "therapist": {
        "label": "Therapist",
        "permissions": frozenset(
            {
                "dynamic_forms.manage",
                "client_documents.upload",
            }
        ),
    },
    "front_desk": {
        "label": "Front desk",
        "permissions": frozenset(
            {
                "clients.view_all",
                "clients.manage",
                "billing.manage",
                "calendar.manage",
            }
        ),
    },
}


def effective_permissions(roles: list[str], grants: list[str], default_set: list[str]) -> frozenset[str]:
    """Role presets ∪ organization default set ∪ explicit grants (unknown codes ignored)."""
    perms: set[str] = set()
    for role in roles:
        perms |= ROLE_PRESETS.get(role, {}).get("permissions", frozenset())
    perms |= set(default_set) | set(grants)
    return frozenset(p for p in perms if p in PERMISSIONS)


def check_codes(codes: list[str], *, field_name: str = "permissions") -> list[str]:
    """Validate a list of permission codes; raises ValidationFailed naming the unknown ones."""
    unknown = sorted(set(codes) - set(PERMISSIONS))
    if unknown:
        raise ValidationFailed(
            "unknown permission codes", details={field_name: [f"unknown: {c}" for c in unknown]}
        )
    return sorted(set(codes))


def check_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLE_PRESETS))
    if unknown:
        raise ValidationFailed("unknown roles", details={"roles": [f"unknown: {r}" for r in unknown]})
    return sorted(set(roles))


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff member, a portal account (on one client profile), the system, or nobody."""

    kind: str  # staff | portal | service | system | anonymous
    account: Login | None = None  # a StaffMember (staff) or PortalAccount (portal); None otherwise
    permissions: frozenset[str] = field(default_factory=frozenset)
    ip: str = ""
    user_agent: str = ""
    service_id: str = ""  # the ServiceToken's id (service)

    @property
    def id(self) -> str:
        return str(self.account.id) if self.account is not None else self.service_id

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    @property
    def login(self) -> Login:
        """The account of a staff or portal actor, for code that only such actors reach.

        Raises AttributeError for the system and anonymous actors, as `account.<field>` on
        their None always did.
        """
        if self.account is None:
            raise AttributeError(f"the {self.kind} actor has no account")
        return self.account

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_portal(self) -> bool:
        return self.kind == "portal"

    def has(self, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise KeyError(f"undeclared permission {permission!r}")
        return self.kind == "system" or permission in self.permissions

    def require(self, permission: str) -> None:
        """Raises NotAuthenticated or Forbidden."""
        if self.kind == "anonymous":
            raise NotAuthenticated()
        if not self.has(permission):
            title = PERMISSIONS[permission]
            raise Forbidden(
                f"this needs the permission “{title}”: ask your administrator for it",
                details={"permission": permission, "permission_title": title},
            )


SYSTEM = Actor(kind="system")
ANONYMOUS = Actor(kind="anonymous")


def staff_actor(member, *, ip: str = "", user_agent: str = "") -> Actor:
    org = Organization.get()
    perms = effective_permissions(member.roles, member.permissions, org.default_permissions)
    return Actor(kind="staff", account=member, permissions=perms, ip=ip, user_agent=user_agent)


def service_actor(token, *, ip: str = "", user_agent: str = "") -> Actor:
    """An integration acting through a service token: its own permissions (unknown codes dropped), no person."""
    perms = frozenset(p for p in token.permissions if p in PERMISSIONS)
    return Actor(kind="service", permissions=perms, ip=ip, user_agent=user_agent, service_id=str(token.id))


def portal_actor(account, *, ip: str = "", user_agent: str = "") -> Actor:
    return Actor(kind="portal", account=account, ip=ip, user_agent=user_agent)


def parse_id(raw) -> ObjectId:
    """An ObjectId from a path or body value; a malformed one is simply not found."""
    try:
        return raw if isinstance(raw, ObjectId) else ObjectId(str(raw))
    except (InvalidId, TypeError):
        raise NotFound() from None


# --- client visibility -----------------------------------------------------


def portal_profiles(account) -> list[dict]:
    """Every client profile a portal account reaches, with what it may do there.

    Its own profile (full rights) first, then each linked client through a
    contact link (the link's permissions), when the contact network is on. A
    link reaches its client only through an explicit right, or as the guardian
    of a minor: a link without rights shows nothing (not even the name).

    `whole_record` says whether the profile may read the whole client record
    (date of birth, contact details, address): its own, a guardian's of a minor,
    or through the forms right (forms are prefilled from those fields anyway).
    Any other right shows only the client's name.
    """
    profiles: list[dict] = []
    if account.client is not None:
        own = account.client
        if own.status == "active":
            profiles.append(
                {
                    "client": own,
                    "relationship": "self",
                    "is_guardian": False,
                    "permissions": dict.fromkeys(LINK_PERMISSIONS, True),
                    "whole_record": True,
                }
            )
    portal = Organization.get().portal
    if not portal.contact_network_enabled:
        return profiles
    contact_query = {"portal_account": account.id}
    contacts = list(Contact.objects(**contact_query).only("id"))
    if account.client is not None:
        contacts += list(Contact.objects(client=account.client.id).only("id"))
    if not contacts:
        return profiles
    seen = {p["client"].id for p in profiles}
    for link in ContactLink.objects(contact__in=[c.id for c in contacts]):
        client = link.client
        if client is None or client.id in seen or client.status != "active":
            continue
        rights = link.permissions.as_dict()
        guardian_of_minor = link.is_guardian and client.is_minor(portal.age_of_majority)
        if not (any(rights.values()) or guardian_of_minor):
            continue
        seen.add(client.id)
        profiles.append(
            {
                "client": client,
                "relationship": link.relationship,
                "is_guardian": link.is_guardian,
                "permissions": rights,
                "whole_record": guardian_of_minor or rights["forms"],
            }
        )
    return profiles


def portal_profile(account, client_id) -> dict | None:
    """The profile of `client_id` among those `account` reaches (see portal_profiles), or None."""
    return next((p for p in portal_profiles(account) if p["client"].id == client_id), None)


def staff_can_see_client(actor: Actor, client) -> bool:
    if actor.kind == "system":
        return True
    if actor.is_service:  # no assignments: a token sees every client (clients.view_all) or none
        return "clients.view_all" in actor.permissions
    if not actor.is_staff:
        return False
    return "clients.view_all" in actor.permissions or actor.login.id in (client.assigned_staff or [])


def get_client_for(actor: Actor, client_id, *, need: str | None = None):
    """Load a client the actor may see.

    For staff, `need` is a permission code; for portal accounts it is a link
    permission (forms, appointments, payments, messages) or None for "any link".
    Raises NotAuthenticated, NotFound (also when the actor may not see the client)
    or Forbidden (staff who see the client but lack the permission).
    """
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    client = Client.objects(id=parse_id(client_id)).first()
    if client is None:
        raise NotFound("no such client")
    if actor.kind == "system":
        return client
    if actor.is_staff or actor.is_service:
        if not staff_can_see_client(actor, client):
            raise NotFound("no such client")
        if need:
            actor.require(need)
        return client
    profile = portal_profile(actor.account, client.id)
    if profile is None or (need and not profile["permissions"].get(need)):
        raise NotFound("no such client")
    return client
