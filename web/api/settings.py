"""API: organization settings — the default permission set (staff.manage), portal settings (portal.settings)
and the default intake packet (intake_forms.manage)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services import settings as settings_service
from web.security import access, current_actor

blp = Blueprint("settings_api", __name__, url_prefix="/api/v1/settings",
                description="Organization settings: default permissions, client portal")


class PermissionInfo(ma.Schema):
    code = ma.fields.String()
    description = ma.fields.String()


class DefaultPermissions(ma.Schema):
    permissions = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=60)), required=True,
                                 validate=ma.validate.Length(max=100),
                                 metadata={"description": "codes every staff member gets on top of role presets"})
    available = ma.fields.List(ma.fields.Nested(PermissionInfo), dump_only=True)


def _duration() -> ma.fields.String:
    """An ISO-8601 duration setting."""
    return ma.fields.String(validate=ma.validate.Length(max=40),
                            metadata={"description": "ISO-8601 duration, e.g. P3D, PT12H"})


class PortalSettings(ma.Schema):
    """All fields optional on PUT: a field left out keeps its value."""

    enabled = ma.fields.Boolean()
    contact_network_enabled = ma.fields.Boolean()
    require_mfa_for_portal = ma.fields.Boolean()
    intake_packet = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=60)),
                                   validate=ma.validate.Length(max=50),
                                   metadata={"description": "ordered keys of published intake forms"})
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


class IntakePacket(ma.Schema):
    intake_packet = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=60)), required=True,
                                   validate=ma.validate.Length(max=50),
                                   metadata={"description": "ordered keys of published intake forms"})


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
