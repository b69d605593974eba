"""Organization settings: the default permission set and the client portal settings.

Both live on the one Organization document, which is written with a version
check (save_org) so that two admins saving at once cannot silently overwrite
each other. The practice's own set-up is engine.services.practice.practice.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from engine import authz
from engine.authz import Actor
from engine.errors import Conflict, StaleVersion
from engine.models import organization
from engine.models.forms import FormDefinition
from engine.models.organization import Organization, PortalSettings
from engine.services._fields import Problems, boolean
from engine.services.platform import audit

# Strict ISO-8601 duration: PnYnMnDTnHnMnS or PnW. No fractions, no signs, at
# least one component, and "T" only when a time component follows. Weeks may
# not mix with other components (SpiffWorkflow's timer parser refuses that too).
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_WEEKS = re.compile(r"^P(?P<weeks>\d+)W$")
# Calendar units are approximated only to compare a duration with a bound;
# the workflow engine computes real due dates itself.
_UNIT = {
    "years": timedelta(days=365),
    "months": timedelta(days=30),
    "weeks": timedelta(weeks=1),
    "days": timedelta(days=1),
    "hours": timedelta(hours=1),
    "minutes": timedelta(minutes=1),
    "seconds": timedelta(seconds=1),
}

PORTAL_FIELDS = (
    "enabled",
    "contact_network_enabled",
    "require_mfa_for_portal",
    "intake_packet",
    "reminder_cadence",
    "reminder_max",
    "age_of_majority",
    "guardian_approval_rule",
    "guardian_approval_timeout",
    "cancellation_window_hours",
    "late_cancellation",
    "reconsent_on_new_version",
)
BOOL_FIELDS = ("enabled", "contact_network_enabled", "require_mfa_for_portal", "reconsent_on_new_version")
INT_BOUNDS = {"reminder_max": (0, 20), "age_of_majority": (14, 21), "cancellation_window_hours": (0, 168)}
CHOICES = {"guardian_approval_rule": ("any", "every"), "late_cancellation": ("flag", "refuse")}


def parse_duration(value: str) -> timedelta:
    """An ISO-8601 duration such as P3D, PT12H, P1W as an approximate timedelta.

    Raises ValueError for anything that is not a strict, non-zero ISO-8601 duration.
    """
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 duration such as P3D or PT12H")
    match = _DURATION.match(value) or _WEEKS.match(value)
    if match is None:
        raise ValueError("must be an ISO-8601 duration such as P3D or PT12H")
    total = sum((_UNIT[name] * int(num) for name, num in match.groupdict().items() if num), timedelta())
    if total <= timedelta(0):
        raise ValueError("must be longer than zero")
    return total


def duration_words(value: str) -> str:
    """An ISO-8601 duration in words for people: "P3D" -> "3 days", "PT1H30M" -> "1 hour 30 minutes".

    Anything that is not a duration is returned as it is, so a page never fails on an odd stored value.
    """
    match = _DURATION.match(value or "") or _WEEKS.match(value or "")
    if match is None:
        return value or ""
    parts = []
    for unit, num in match.groupdict().items():
        if num:
            count = int(num)
            parts.append(f"{count} {unit[:-1] if count == 1 else unit}")
    return " ".join(parts) or value


PICKER_UNITS = {"hours": "PT{}H", "days": "P{}D", "weeks": "P{}W"}


def duration_parts(value: str) -> tuple[str, str]:
    """A duration as the settings form's picker shows it, (count, unit) with unit in PICKER_UNITS:
    "P3D" -> ("3", "days"). A duration the picker cannot show (months, or two units) comes back as
    days rounded up, so the form still offers a valid choice."""
    for unit, pattern in PICKER_UNITS.items():
        if found := re.fullmatch(pattern.replace("{}", r"(\d+)"), value or ""):
            return found.group(1), unit
    try:
        delta = parse_duration(value)
    except ValueError:
        return "", "days"
    return str(max(1, math.ceil(delta / timedelta(days=1)))), "days"


def duration_from_parts(count: str, unit: str) -> str:
    """The picker's (count, unit) as an ISO-8601 duration; raises ValueError for anything else."""
    if unit not in PICKER_UNITS or not count.strip().isdigit() or int(count) < 1:
        raise ValueError("must be a whole number of hours, days or weeks, at least 1")
    return PICKER_UNITS[unit].format(int(count))


# --- default permissions ----------------------------------------------------


def default_permissions(actor: Actor) -> dict:
    """The organization's default permission set and every code an admin may add. Needs staff.manage."""
    actor.require("staff.manage")
    org = Organization.get()
    return {
        "permissions": sorted(org.default_permissions),
        "available": [{"code": code, "description": text} for code, text in authz.PERMISSIONS.items()],
    }


def set_default_permissions(actor: Actor, codes: list[str]) -> dict:
    """Replace the default set every staff member gets. Needs staff.manage.

    Raises Forbidden, ValidationFailed (unknown codes), StaleVersion.
    """
    actor.require("staff.manage")
    codes = authz.check_codes(list(codes or []))
    org = Organization.get()
    before = sorted(org.default_permissions)
    save_org(org, set__default_permissions=codes)
    audit.record(
        actor,
        "default_permissions_changed",
        object_type="organization",
        object_id=org.id,
        details={"added": sorted(set(codes) - set(before)), "removed": sorted(set(before) - set(codes))},
    )
    return default_permissions(actor)


def save_org(org: Organization, **update) -> None:
    """Compare-and-set on the organization's version. Raises StaleVersion when someone saved first."""
    try:
        changed = Organization.objects(id=org.id, version=org.version).update_one(inc__version=1, **update)
    finally:
        organization.forget_for_request()  # the rest of this request reads what was written (or, on a lost race, the winner's)
    if not changed:
        raise StaleVersion("the organization settings were changed by someone else; reload and retry")


# --- portal settings --------------------------------------------------------


def describe_portal(portal: PortalSettings) -> dict:
    return {
        name: (list(getattr(portal, name)) if name == "intake_packet" else getattr(portal, name))
        for name in PORTAL_FIELDS
    }


def portal_settings(actor: Actor) -> dict:
    """The client portal settings. Needs portal.settings."""
    actor.require("portal.settings")
    return describe_portal(Organization.get().portal)


def update_portal_settings(actor: Actor, changes: dict) -> dict:
    """Change some or all portal settings; fields left out keep their value. Needs portal.settings.

    Raises Forbidden, ValidationFailed (every wrong field at once), StaleVersion.
    """
    actor.require("portal.settings")
    org = Organization.get()
    current = describe_portal(org.portal)
    problems = Problems()
    unknown = sorted(set(changes) - set(PORTAL_FIELDS))
    for name in unknown:
        problems.add(name, "unknown setting")
    new = dict(current)
    for name, value in changes.items():
        if name in PORTAL_FIELDS:
            new[name] = _check_portal_value(name, value, problems)
    problems.raise_if_any()
    save_org(org, set__portal=PortalSettings(**new))
    changed = sorted(k for k in PORTAL_FIELDS if new[k] != current[k])
    audit.record(
        actor,
        "portal_settings_changed",
        object_type="organization",
        object_id=org.id,
        details={"changed": changed},
    )
    return new


def intake_packet(actor: Actor) -> dict:
    """The default intake packet (ordered form keys). Needs intake_forms.manage."""
    actor.require("intake_forms.manage")
    return {"intake_packet": list(Organization.get().portal.intake_packet)}


def set_intake_packet(actor: Actor, keys) -> dict:
    """Replace the default intake packet. Needs intake_forms.manage alone: the packet is part of the
    intake forms (the brief's "create and edit intake forms"), not of the other portal settings.

    Raises Forbidden, ValidationFailed {"intake_packet": [...]}, StaleVersion.
    """
    actor.require("intake_forms.manage")
    problems = Problems()
    keys = check_intake_packet(keys, problems)
    problems.raise_if_any()
    org = Organization.get()
    before = list(org.portal.intake_packet)
    portal = PortalSettings(**dict(describe_portal(org.portal), intake_packet=keys))
    save_org(org, set__portal=portal)
    audit.record(
        actor,
        "intake_packet_changed",
        object_type="organization",
        object_id=org.id,
        details={"before": before, "after": keys},
    )
    return {"intake_packet": keys}


def _check_portal_value(name: str, value, problems: Problems):
    if name in BOOL_FIELDS:
        return boolean(value, name, problems)
    if name in INT_BOUNDS:
        low, high = INT_BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.add(name, f"must be a whole number from {low} to {high}")
        return value
    if name in CHOICES:
        if value not in CHOICES[name]:
            problems.add(name, f"must be one of: {', '.join(CHOICES[name])}")
        return value
    if name in ("reminder_cadence", "guardian_approval_timeout"):
        try:
            parse_duration(value)
        except ValueError as exc:
            problems.add(name, str(exc))
        return value
    return check_intake_packet(value, problems)


def check_intake_packet(keys, problems: Problems) -> list[str]:
    """An ordered list of distinct, published, unarchived intake form keys."""
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        problems.add("intake_packet", "must be a list of form keys")
        return []
    if len(set(keys)) != len(keys):
        problems.add("intake_packet", "lists a form twice")
    found = {
        f.key: f
        for f in FormDefinition.objects(key__in=keys).only("key", "kind", "archived", "latest_version")
    }
    for key in keys:
        form = found.get(key)
        if form is None:
            problems.add("intake_packet", f"no form with key {key!r}")
        elif form.kind != "intake" or form.archived or not form.latest_version:
            problems.add("intake_packet", f"{key!r} is not a published intake form")
    return keys


def require_contact_network() -> None:
    """Raises Conflict (code contact_network_disabled) when the organization has it turned off."""
    if not Organization.get().portal.contact_network_enabled:
        raise Conflict(
            "the contact network is turned off in the portal settings", code="contact_network_disabled"
        )


def org_zone(org: Organization | None = None) -> ZoneInfo:
    """The practice's time zone (UTC until one is set): every date a person sees is shown in it."""
    return ZoneInfo((org or Organization.get()).timezone or "UTC")
