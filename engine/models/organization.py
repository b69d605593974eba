"""The practice: one Organization document per installation, holding its settings."""

from __future__ import annotations

from contextvars import ContextVar

import mongoengine as me

from engine.models import utcnow


class Location(me.EmbeddedDocument):
    key = me.StringField(required=True, regex=r"^[a-z0-9_]{1,40}$")
    name = me.StringField(required=True, max_length=120)
    address = me.StringField(max_length=300, default="")
    telehealth = me.BooleanField(default=False)


class ServiceType(me.EmbeddedDocument):
    key = me.StringField(required=True, regex=r"^[a-z0-9_]{1,40}$")
    name = me.StringField(required=True, max_length=120)
    duration_minutes = me.IntField(min_value=5, max_value=480, default=50)
    price_cents = me.IntField(min_value=0, default=0)
    telehealth = me.BooleanField(default=False)  # offered by video rather than in person


class PortalSettings(me.EmbeddedDocument):
    """Everything an admin with `portal.settings` may change about the client portal."""

    enabled = me.BooleanField(default=True)
    contact_network_enabled = me.BooleanField(default=True)
    require_mfa_for_portal = me.BooleanField(default=False)
    intake_packet = me.ListField(me.StringField(), default=list)  # ordered form keys
    reminder_cadence = me.StringField(default="P3D")  # ISO-8601 duration
    reminder_max = me.IntField(min_value=0, max_value=20, default=3)
    age_of_majority = me.IntField(min_value=14, max_value=21, default=18)
    guardian_approval_rule = me.StringField(choices=("any", "every"), default="any")
    guardian_approval_timeout = me.StringField(default="P7D")
    cancellation_window_hours = me.IntField(min_value=0, max_value=168, default=24)
    late_cancellation = me.StringField(choices=("flag", "refuse"), default="flag")
    reconsent_on_new_version = me.BooleanField(default=True)


_COLLECTION = "organizations"  # named here for lookup_stage: models sit below engine.persistence


class Organization(me.Document):
    meta = {"collection": _COLLECTION}

    name = me.StringField(required=True, max_length=200)
    timezone = me.StringField(default="America/New_York")
    address = me.StringField(max_length=300, default="")
    phone = me.StringField(max_length=40, default="")
    logo_file_id = me.StringField()  # in the encrypted file store (purpose "practice_logo")
    cancellation_policy = me.StringField(max_length=2000, default="")
    # Set once the shipped default packet was offered (engine.services.intake.intake_setup): an admin who
    # empties the packet afterwards keeps it empty.
    default_packet_installed = me.BooleanField(default=False)
    locations = me.EmbeddedDocumentListField(Location, default=list)
    service_types = me.EmbeddedDocumentListField(ServiceType, default=list)
    default_permissions = me.ListField(me.StringField(), default=list)
    portal = me.EmbeddedDocumentField(PortalSettings, default=PortalSettings)
    created_at = me.DateTimeField(default=utcnow)
    version = me.IntField(default=0)

    @classmethod
    def get(cls) -> Organization:
        """The installation's organization, created with defaults on first use.

        Read once per request scope (see open_request_scope); outside a scope, read every time.
        """
        scope = _request_scope.get()
        if scope is not None and "org" in scope:
            return scope["org"]
        org = cls.objects.order_by("id").first()
        if org is None:
            org = cls(name="My Practice")
            org.save()
        if scope is not None:
            scope["org"] = org
        return org


# One web request reads the organization from several places (the caller's permissions, the
# contact-network switch, portal settings ...), each a database round trip. Within a request scope
# the first read is kept and reused: a change made by someone else while the request runs is seen
# by the next request, as if this one had started a moment earlier. The scope is per thread/context
# and closes with the request; nothing is kept from one request to the next.
_request_scope: ContextVar[dict | None] = ContextVar("portico_organization_scope", default=None)


def lookup_stage(as_field: str) -> dict:
    """An aggregation stage adding the organization (a list of at most one document) under `as_field`.

    So the lookup a request does anyway (its session or token) brings the organization along.
    """
    return {
        "$lookup": {"from": _COLLECTION, "pipeline": [{"$sort": {"_id": 1}}, {"$limit": 1}], "as": as_field}
    }


def open_request_scope() -> None:
    """Start keeping the organization read for the rest of this request (web hooks call this)."""
    _request_scope.set({})


def close_request_scope() -> None:
    _request_scope.set(None)


def remember_for_request(doc: dict | None) -> None:
    """Keep an organization document read along with something else, when a request scope is open."""
    scope = _request_scope.get()
    if scope is not None and doc is not None:
        scope["org"] = Organization._from_son(doc)


def forget_for_request() -> None:
    """Drop the kept organization (after writing it), so the rest of the request reads the new one."""
    scope = _request_scope.get()
    if scope is not None:
        scope.pop("org", None)
