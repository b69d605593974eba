"""The practice: one Organization document per installation, holding its settings."""

from __future__ import annotations

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


class Organization(me.Document):
    meta = {"collection": "organizations"}

    name = me.StringField(required=True, max_length=200)
    timezone = me.StringField(default="America/New_York")
    locations = me.EmbeddedDocumentListField(Location, default=list)
    service_types = me.EmbeddedDocumentListField(ServiceType, default=list)
    default_permissions = me.ListField(me.StringField(), default=list)
    portal = me.EmbeddedDocumentField(PortalSettings, default=PortalSettings)
    created_at = me.DateTimeField(default=utcnow)
    version = me.IntField(default=0)

    @classmethod
    def get(cls) -> Organization:
        """The installation's organization, created with defaults on first use."""
        org = cls.objects.order_by("id").first()
        if org is None:
            org = cls(name="My Practice")
            org.save()
        return org
