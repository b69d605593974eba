"""Staff management: create, edit (roles, explicit grants, preferences), disable and re-enable.

Everything here needs `staff.manage`, except `staff_directory`, which any staff
member may read to pick colleagues (for example when assigning a client), and
each member's own preferences (service types, locations, notifications), which
the brief has "set by an administrator or individual preferences by each Therapist".
Disabling a member also ends every browser session and API token they hold.
"""

from __future__ import annotations

from typing import Any

from engine import authz
from engine.authz import Actor, parse_id
from engine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from engine.models.accounts import ApiToken, AuthSession, StaffMember, StaffPreferences
from engine.models.organization import Organization
from engine.services._fields import Problems, boolean, email, save_checked, text
from engine.services.accounts import accounts, passwords, tokens
from engine.services.platform import audit

DIGESTS = ("none", "daily", "weekly")
_NAME_FIELDS = ("first_name", "last_name")


def describe_staff(member: StaffMember, org: Organization | None = None) -> dict:
    """The public shape of a staff member (no secrets)."""
    org = org or Organization.get()
    prefs = member.preferences or StaffPreferences()
    return {
        "id": str(member.id),
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "display_name": member.display_name,
        "roles": list(member.roles),
        "permissions": list(member.permissions),
        "effective_permissions": sorted(
            authz.effective_permissions(member.roles, member.permissions, org.default_permissions)
        ),
        "preferences": {
            "service_types": list(prefs.service_types),
            "locations": list(prefs.locations),
            "notify_new_task": prefs.notify_new_task,
            "notify_new_message": prefs.notify_new_message,
            "notify_digest": prefs.notify_digest,
        },
        "disabled": member.disabled,
        "mfa_enabled": member.mfa_enabled,
        "created_at": member.created_at,
        "last_login_at": member.last_login_at,
    }


def get_staff_for(actor: Actor, staff_id) -> StaffMember:
    """Load a staff member for management. Raises NotAuthenticated, Forbidden, NotFound."""
    actor.require("staff.manage")
    member = StaffMember.objects(id=parse_id(staff_id)).first()
    if member is None:
        raise NotFound("no such staff member")
    return member


def list_staff(actor: Actor, *, include_disabled: bool = True) -> list[dict]:
    """Every staff member, by last name. Needs staff.manage."""
    actor.require("staff.manage")
    query = {} if include_disabled else {"disabled": False}
    org = Organization.get()
    return [describe_staff(m, org) for m in StaffMember.objects(**query).order_by("last_name", "first_name")]


def staff_directory(actor: Actor) -> list[dict]:
    """Active colleagues' ids and names, for any staff member. Raises NotAuthenticated, Forbidden."""
    if not (actor.is_staff or actor.kind == "system"):
        actor.require("staff.manage")
    members = StaffMember.objects(disabled=False).only("first_name", "last_name").order_by("last_name")
    return [{"id": str(m.id), "display_name": m.display_name} for m in members]


def check_preferences(raw: dict | None, problems: Problems, *, org: Organization) -> StaffPreferences:
    """Preferences whose service types and locations exist in the organization's lists."""
    raw = raw or {}
    for name in sorted(
        set(raw) - {"service_types", "locations", "notify_new_task", "notify_new_message", "notify_digest"}
    ):
        problems.add(f"preferences.{name}", "unknown preference")
    known = {
        "service_types": {s.key for s in org.service_types},
        "locations": {loc.key for loc in org.locations},
    }
    chosen: dict[str, list[str]] = {}
    for name, allowed in known.items():
        values = raw.get(name) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.add(f"preferences.{name}", "must be a list of keys")
            values = []
        for value in values:
            if value not in allowed:
                problems.add(f"preferences.{name}", f"unknown: {value}")
        chosen[name] = sorted(set(values))
    digest = raw.get("notify_digest", "daily")
    if digest not in DIGESTS:
        problems.add("preferences.notify_digest", f"must be one of: {', '.join(DIGESTS)}")
    return StaffPreferences(
        **chosen,
        notify_digest=digest,
        notify_new_task=boolean(raw.get("notify_new_task", True), "preferences.notify_new_task", problems),
        notify_new_message=boolean(
            raw.get("notify_new_message", True), "preferences.notify_new_message", problems
        ),
    )


def own_preferences(actor: Actor) -> dict:
    """The signed-in staff member's own preferences. Raises Forbidden for anyone but staff."""
    if not actor.is_staff:
        raise Forbidden("staff only")
    return describe_staff(actor.login)["preferences"]


def set_own_preferences(actor: Actor, changes: dict) -> dict:
    """A staff member sets their own service types, locations and notifications (merged with the current
    ones; no staff.manage needed). Raises Forbidden, ValidationFailed {"preferences.<name>": [...]}."""
    if not actor.is_staff:
        raise Forbidden("staff only")
    member = actor.login
    org = Organization.get()
    problems = Problems()
    merged = describe_staff(member, org)["preferences"] | (changes or {})
    prefs = check_preferences(merged, problems, org=org)
    problems.raise_if_any()
    StaffMember.objects(id=member.id).update_one(set__preferences=prefs)
    member.preferences = prefs
    audit.record(
        actor,
        "staff_preferences_changed",
        object_type="staff",
        object_id=member.id,
        details={"fields": sorted(changes or {})},
    )
    return describe_staff(member, org)["preferences"]


def _check_access(data: dict, problems: Problems) -> dict:
    """Roles and explicit grants, each checked against authz's tables."""
    checked = {}
    for name, check in (("roles", authz.check_roles), ("permissions", authz.check_codes)):
        if name not in data:
            continue
        values = data[name] or []
        if not isinstance(values, list):
            problems.add(name, "must be a list")
            continue
        try:
            checked[name] = check(values)
        except ValidationFailed as exc:  # names the unknown entries
            problems.merge(exc)
    return checked


def create_staff(actor: Actor, data: dict) -> dict:
    """Add a staff member (optionally with an initial password). Needs staff.manage.

    `data`: first_name, last_name, email, roles, permissions, preferences, password.
    Raises Forbidden, ValidationFailed, Conflict (e-mail already used).
    """
    actor.require("staff.manage")
    org = Organization.get()
    problems = Problems()
    # Keyword arguments for StaffMember: names, e-mail, roles, grants, preferences.
    values: dict[str, Any] = {
        name: text(data.get(name), name, problems, required=True, max_length=100) for name in _NAME_FIELDS
    }
    values["email"] = email(data.get("email"), "email", problems, required=True)
    values.update(
        _check_access({"roles": data.get("roles", []), "permissions": data.get("permissions", [])}, problems)
    )
    values["preferences"] = check_preferences(data.get("preferences"), problems, org=org)
    password = data.get("password") or ""
    if password:
        try:
            passwords.check_strength(password)
        except ValidationFailed as exc:
            problems.merge(exc)
    problems.raise_if_any()
    _email_free(values["email"])
    member = StaffMember(**values, password_hash=passwords.hash_password(password) if password else "")
    save_checked(member, force_insert=True)
    audit.record(
        actor,
        "staff_member_created",
        object_type="staff_member",
        object_id=member.id,
        details={"roles": member.roles, "permissions": member.permissions},
    )
    return describe_staff(member, org)


def update_staff(actor: Actor, staff_id, changes: dict) -> dict:
    """Edit names, e-mail, roles, grants, preferences or the disabled flag. Needs staff.manage.

    Raises Forbidden, NotFound, ValidationFailed, Conflict (e-mail taken, or the
    change would lock everyone out of staff management or disable yourself).
    """
    member = get_staff_for(actor, staff_id)
    org = Organization.get()
    problems = Problems()
    allowed = set(_NAME_FIELDS) | {"email", "roles", "permissions", "preferences", "disabled"}
    for name in sorted(set(changes) - allowed):
        problems.add(name, "cannot be changed here")
    for name in _NAME_FIELDS:
        if name in changes:
            setattr(member, name, text(changes[name], name, problems, required=True, max_length=100))
    if "email" in changes:
        member.email = email(changes["email"], "email", problems, required=True)
    for name, value in _check_access(changes, problems).items():
        setattr(member, name, value)
    if "preferences" in changes:
        merged = describe_staff(member, org)["preferences"] | (changes["preferences"] or {})
        member.preferences = check_preferences(merged, problems, org=org)
    was_disabled = member.disabled
    if "disabled" in changes:
        member.disabled = boolean(changes["disabled"], "disabled", problems)
    problems.raise_if_any()
    if member.disabled and not was_disabled and str(member.id) == actor.id:
        raise Conflict("you cannot disable your own account", code="cannot_disable_self")
    _email_free(member.email, member)
    _keep_a_manager(member, org)
    save_checked(member)
    if member.disabled and not was_disabled:
        revoked = revoke_logins(member)
        audit.record(
            actor,
            "staff_member_disabled",
            object_type="staff_member",
            object_id=member.id,
            details={"sessions_revoked": revoked},
        )
    elif was_disabled and not member.disabled:
        audit.record(actor, "staff_member_enabled", object_type="staff_member", object_id=member.id)
    changed = sorted(set(changes) - {"disabled"})
    if changed:
        audit.record(
            actor,
            "staff_member_updated",
            object_type="staff_member",
            object_id=member.id,
            details={"fields": changed},
        )
    return describe_staff(member, org)


def disable_staff(actor: Actor, staff_id) -> dict:
    """Disable a member and end their sessions and API tokens. Same errors as update_staff."""
    return update_staff(actor, staff_id, {"disabled": True})


def revoke_logins(member: StaffMember) -> int:
    """End every browser session and API token of a staff member; returns how many were live."""
    live = (
        AuthSession.objects(account_kind="staff", account_id=member.id).count()
        + ApiToken.objects(account_kind="staff", account_id=member.id, revoked_at=None).count()
    )
    tokens.revoke_all(member)
    return live


def _email_free(address: str, member: StaffMember | None = None) -> None:
    """Logins share one e-mail namespace (staff and portal). Raises Conflict."""
    if accounts.email_in_use(address, exclude=member):
        raise Conflict(
            "this e-mail already belongs to a login", code="email_taken", details={"email": ["already used"]}
        )


def _keep_a_manager(member: StaffMember, org: Organization) -> None:
    """Refuse a change that leaves no active staff member able to manage staff."""

    def manages(m: StaffMember) -> bool:
        return not m.disabled and "staff.manage" in authz.effective_permissions(
            m.roles, m.permissions, org.default_permissions
        )

    if manages(member):
        return
    others = StaffMember.objects(id__ne=member.id, disabled=False).only("roles", "permissions", "disabled")
    if not any(manages(m) for m in others):
        raise Conflict("this would leave nobody able to manage staff", code="last_staff_manager")
