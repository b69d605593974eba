"""API: a client's insurance policies, their card images, and the staff review."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.services.clients import insurance
from engine.services.platform import files
from web.api._files import file_response
from web.security import access, current_actor

blp = Blueprint("insurance_api", __name__, url_prefix="/api/v1", description="Insurance policies")

_S = ma.fields.String


class PolicyIn(ma.Schema):
    payer, member_id, group_number, subscriber_name = _S(), _S(), _S(), _S()
    subscriber_date_of_birth = _S(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    relationship = _S(metadata={"description": "self, spouse, child or other"})
    priority = _S(metadata={"description": "primary or secondary"})


class InsuranceCards(ma.Schema):
    front, back = ma.fields.Boolean(), ma.fields.Boolean()


class PolicyOut(PolicyIn):
    id, client_id, status, review_note, created_at, updated_at = _S(), _S(), _S(), _S(), _S(), _S()
    reviewed_at = _S(allow_none=True)
    cards = ma.fields.Nested(InsuranceCards)


class PolicyList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PolicyOut))


class InsuranceReview(ma.Schema):
    decision = _S(required=True, validate=ma.validate.OneOf(("accepted", "rejected")))
    note = _S(load_default="")


@blp.route("/clients/<client_id>/insurance")
class Policies(MethodView):
    @blp.response(200, PolicyList)
    @access("authenticated")
    def get(self, client_id):
        """The client's policies (portal: with the payments permission)."""
        return {"items": insurance.list_policies(current_actor(), client_id)}

    @blp.arguments(PolicyIn)
    @blp.response(201, PolicyOut)
    @access("authenticated")
    def post(self, body, client_id):
        """Add a policy; it waits for staff review (`pending`)."""
        return insurance.add_policy(current_actor(), client_id, body)


@blp.route("/clients/<client_id>/insurance/<policy_id>")
class PolicyItem(MethodView):
    @blp.arguments(PolicyIn)
    @blp.response(200, PolicyOut)
    @access("authenticated")
    def patch(self, body, client_id, policy_id):
        """Change details; the policy goes back to pending review."""
        return insurance.update_policy(current_actor(), policy_id, body, client_id=client_id)


@blp.route("/clients/<client_id>/insurance/<policy_id>/cards/<side>")
class CardImage(MethodView):
    @blp.response(200, description="the image")
    @access("authenticated")
    def get(self, client_id, policy_id, side):
        """The front or back card image."""
        data, meta = insurance.read_card(current_actor(), policy_id, side, client_id=client_id)
        return file_response(data, meta, inline=True)

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
    @blp.response(200, PolicyOut)
    @blp.alt_response(413, description="too large")
    @blp.alt_response(415, description="not an image or PDF")
    @access("authenticated")
    def put(self, client_id, policy_id, side):
        """Upload the front or back card image (multipart field `file`: PNG, JPEG, HEIC, WEBP, GIF or PDF)."""
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed("attach the card image", details={"file": ["is required"]})
        return insurance.upload_card(
            current_actor(),
            policy_id,
            side,
            filename=upload.filename or "card",
            data=files.read_upload(upload.stream),
            client_id=client_id,
        )


@blp.route("/clients/<client_id>/insurance/<policy_id>/review")
class PolicyReview(MethodView):
    @blp.arguments(InsuranceReview)
    @blp.response(200, PolicyOut)
    @access("staff:billing.manage")
    def post(self, body, client_id, policy_id):
        """Accept or reject a pending policy (a note is required to reject)."""
        return insurance.review_policy(current_actor(), policy_id, client_id=client_id, **body)
