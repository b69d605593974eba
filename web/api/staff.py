"""API: staff members — list, create, edit roles, explicit grants, preferences; disable (staff.manage)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.accounts import staff as staff_service
from web.security import access, current_actor

blp = Blueprint(
    "staff_api",
    __name__,
    url_prefix="/api/v1/staff",
    description="Staff members, their roles, explicit permissions and preferences",
)

_codes = ma.fields.List(
    ma.fields.String(validate=ma.validate.Length(max=60)), validate=ma.validate.Length(max=60)
)


class Preferences(ma.Schema):
    service_types = _codes
    locations = _codes
    notify_new_task = ma.fields.Boolean()
    notify_new_message = ma.fields.Boolean()
    notify_digest = ma.fields.String(validate=ma.validate.OneOf(staff_service.DIGESTS))


class StaffOut(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    display_name = ma.fields.String()
    roles = ma.fields.List(
        ma.fields.String(), metadata={"description": "role presets: org_admin, therapist, front_desk"}
    )
    permissions = ma.fields.List(ma.fields.String(), metadata={"description": "explicit grants"})
    effective_permissions = ma.fields.List(
        ma.fields.String(), metadata={"description": "role presets ∪ default set ∪ grants"}
    )
    preferences = ma.fields.Nested(Preferences)
    disabled = ma.fields.Boolean()
    mfa_enabled = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    last_login_at = ma.fields.DateTime(allow_none=True)


class StaffList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(StaffOut))


class StaffEdit(ma.Schema):
    first_name = ma.fields.String(validate=ma.validate.Length(max=100))
    last_name = ma.fields.String(validate=ma.validate.Length(max=100))
    email = ma.fields.String(validate=ma.validate.Length(max=254))
    roles = _codes
    permissions = _codes
    preferences = ma.fields.Nested(Preferences)
    disabled = ma.fields.Boolean(metadata={"description": "true ends every session and token of the member"})


class StaffCreate(StaffEdit):
    first_name = ma.fields.String(required=True, validate=ma.validate.Length(max=100))
    last_name = ma.fields.String(required=True, validate=ma.validate.Length(max=100))
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(max=256),
        metadata={"description": "optional initial password (at least 10 characters)"},
    )

    class Meta:
        exclude = ("disabled",)


@blp.route("")
class StaffCollection(MethodView):
    @blp.response(200, StaffList)
    @access("staff:staff.manage")
    def get(self):
        """Every staff member, by last name, disabled ones included."""
        return {"items": staff_service.list_staff(current_actor())}

    @blp.arguments(StaffCreate)
    @blp.response(201, StaffOut)
    @access("staff:staff.manage")
    def post(self, body):
        """Add a staff member. 409 email_taken when the e-mail already belongs to a login."""
        return staff_service.create_staff(current_actor(), body)


@blp.route("/<staff_id>")
class StaffItem(MethodView):
    @blp.arguments(StaffEdit)
    @blp.response(200, StaffOut)
    @access("staff:staff.manage")
    def patch(self, body, staff_id):
        """Change names, e-mail, roles, grants, preferences (merged) or `disabled`.

        409 cannot_disable_self / last_staff_manager when the change would lock the practice out.
        """
        return staff_service.update_staff(current_actor(), staff_id, body)


@blp.route("/me/preferences")
class OwnPreferences(MethodView):
    @blp.response(200, Preferences)
    @access("staff")
    def get(self):
        """Your own preferences: service types you offer, locations you work at, notifications."""
        return staff_service.own_preferences(current_actor())

    @blp.arguments(Preferences)
    @blp.response(200, Preferences)
    @access("staff")
    def put(self, body):
        """Change your own preferences (fields left out keep their value). 422 names unknown keys."""
        return staff_service.set_own_preferences(current_actor(), body)
