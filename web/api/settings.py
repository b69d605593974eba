"""API: organization settings — the practice's set-up and first-run checklist and the default permission
set (staff.manage), portal settings (portal.settings) and the default intake packet (intake_forms.manage)."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.services.platform import files
from engine.services.practice import practice
from engine.services.practice import settings as settings_service
from web.security import access, current_actor

blp = Blueprint(
    "settings_api",
    __name__,
    url_prefix="/api/v1/settings",
    description="Organization settings: the practice, default permissions, client portal",
)


class PermissionInfo(ma.Schema):
    code = ma.fields.String()
    description = ma.fields.String()


class DefaultPermissions(ma.Schema):
    permissions = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=60)),
        required=True,
        validate=ma.validate.Length(max=100),
        metadata={"description": "codes every staff member gets on top of role presets"},
    )
    available = ma.fields.List(ma.fields.Nested(PermissionInfo), dump_only=True)


def _duration() -> ma.fields.String:
    """An ISO-8601 duration setting."""
    return ma.fields.String(
        validate=ma.validate.Length(max=40), metadata={"description": "ISO-8601 duration, e.g. P3D, PT12H"}
    )


class PortalSettings(ma.Schema):
    """All fields optional on PUT: a field left out keeps its value."""

    enabled = ma.fields.Boolean()
    contact_network_enabled = ma.fields.Boolean()
    require_mfa_for_portal = ma.fields.Boolean()
    intake_packet = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=60)),
        validate=ma.validate.Length(max=50),
        metadata={"description": "ordered keys of published intake forms"},
    )
    reminder_cadence = _duration()
    reminder_max = ma.fields.Integer()
    age_of_majority = ma.fields.Integer()
    guardian_approval_rule = ma.fields.String(metadata={"description": "any or every guardian must approve"})
    guardian_approval_timeout = _duration()
    cancellation_window_hours = ma.fields.Integer()
    late_cancellation = ma.fields.String(metadata={"description": "flag or refuse a late cancellation"})
    reconsent_on_new_version = ma.fields.Boolean()


@blp.route("/default-permissions")
class DefaultPermissionsView(MethodView):
    @blp.response(200, DefaultPermissions)
    @access("staff:staff.manage")
    def get(self):
        """The default permission set, and every code with its description."""
        return settings_service.default_permissions(current_actor())

    @blp.arguments(DefaultPermissions)
    @blp.response(200, DefaultPermissions)
    @access("staff:staff.manage")
    def put(self, body):
        """Replace the default permission set (422 names unknown codes)."""
        return settings_service.set_default_permissions(current_actor(), body["permissions"])


@blp.route("/portal")
class PortalSettingsView(MethodView):
    @blp.response(200, PortalSettings)
    @access("staff:portal.settings")
    def get(self):
        """Client portal settings, including the intake packet and reminder cadence."""
        return settings_service.portal_settings(current_actor())

    @blp.arguments(PortalSettings)
    @blp.response(200, PortalSettings)
    @access("staff:portal.settings")
    def put(self, body):
        """Change portal settings; fields left out keep their value. 422 names every wrong field."""
        return settings_service.update_portal_settings(current_actor(), body)


class LocationSchema(ma.Schema):
    key = ma.fields.String(
        validate=ma.validate.Length(max=40),
        metadata={"description": "kept from GET to keep a renamed row's key; new rows get one from the name"},
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=120))
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    telehealth = ma.fields.Boolean()


class ServiceTypeSchema(ma.Schema):
    key = ma.fields.String(
        validate=ma.validate.Length(max=40),
        metadata={"description": "kept from GET to keep a renamed row's key; new rows get one from the name"},
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(max=120))
    duration_minutes = ma.fields.Integer(required=True)
    price_cents = ma.fields.Integer(metadata={"description": "the price in cents (or give `price`)"})
    price = ma.fields.String(
        validate=ma.validate.Length(max=20), metadata={"description": "the price as typed, e.g. 140.00"}
    )
    telehealth = ma.fields.Boolean(metadata={"description": "offered by video rather than in person"})


class Practice(ma.Schema):
    """All fields optional on PUT: a field left out keeps its value; lists replace the lists."""

    name = ma.fields.String(validate=ma.validate.Length(max=200))
    address = ma.fields.String(validate=ma.validate.Length(max=300))
    phone = ma.fields.String(validate=ma.validate.Length(max=40))
    timezone = ma.fields.String(
        validate=ma.validate.Length(max=60),
        metadata={"description": "an IANA time zone such as America/New_York"},
    )
    cancellation_policy = ma.fields.String(validate=ma.validate.Length(max=2000))
    locations = ma.fields.List(ma.fields.Nested(LocationSchema), validate=ma.validate.Length(max=50))
    service_types = ma.fields.List(ma.fields.Nested(ServiceTypeSchema), validate=ma.validate.Length(max=50))
    has_logo = ma.fields.Boolean(dump_only=True)
    logo_url = ma.fields.String(dump_only=True, allow_none=True)


class ChecklistStep(ma.Schema):
    step = ma.fields.String()
    label = ma.fields.String()
    done = ma.fields.Boolean()
    link = ma.fields.String()
    hint = ma.fields.String()


class Checklist(ma.Schema):
    steps = ma.fields.List(ma.fields.Nested(ChecklistStep))
    done = ma.fields.Integer()
    total = ma.fields.Integer()


@blp.route("/practice")
class PracticeView(MethodView):
    @blp.response(200, Practice)
    @access("staff:staff.manage")
    def get(self):
        """The practice: name, address, phone, time zone, cancellation policy, locations and service types."""
        return practice.describe_practice()

    @blp.arguments(Practice)
    @blp.response(200, Practice)
    @access("staff:staff.manage")
    def put(self, body):
        """Change the practice's set-up; 422 names every wrong field, and nothing is saved then."""
        return practice.update_practice(current_actor(), body)


@blp.route("/practice/logo")
class PracticeLogoView(MethodView):
    @blp.doc(
        requestBody={
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            }
        }
    )
    @blp.response(200, Practice)
    @blp.alt_response(413, description="larger than 1 MB")
    @blp.alt_response(415, description="not a PNG, JPEG, GIF or WebP image")
    @access("staff:staff.manage")
    def put(self):
        """Upload the logo (multipart field `file`); stored encrypted, shown in the portal's header and mails."""
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("attach the logo", details={"file": ["is required"]})
        return practice.set_logo(current_actor(), files.read_upload(upload.stream), upload.filename or "logo")

    @blp.response(200, Practice)
    @access("staff:staff.manage")
    def delete(self):
        """Remove the logo: the header shows the practice's name alone."""
        return practice.remove_logo(current_actor())


@blp.route("/checklist")
class ChecklistView(MethodView):
    @blp.response(200, Checklist)
    @access("staff:staff.manage")
    def get(self):
        """The first-run checklist: each set-up step, whether it is done, and the page to do it on."""
        return practice.checklist(current_actor())


class IntakePacket(ma.Schema):
    intake_packet = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(max=60)),
        required=True,
        validate=ma.validate.Length(max=50),
        metadata={"description": "ordered keys of published intake forms"},
    )


@blp.route("/intake-packet")
class IntakePacketView(MethodView):
    @blp.response(200, IntakePacket)
    @access("staff:intake_forms.manage")
    def get(self):
        """The default intake packet: the forms a new client gets, in order."""
        return settings_service.intake_packet(current_actor())

    @blp.arguments(IntakePacket)
    @blp.response(200, IntakePacket)
    @access("staff:intake_forms.manage")
    def put(self, body):
        """Replace the default intake packet (needs only the intake forms permission). 422 names wrong keys."""
        return settings_service.set_intake_packet(current_actor(), body["intake_packet"])
