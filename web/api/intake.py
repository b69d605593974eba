"""API: invite a client (starts `client_intake`), send one form, resend missed forms, cancel an intake or
one requested form, activate a portal account."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.intake import intake, intake_queries, intake_requests
from engine.services.portal import invitations
from web.security import access, current_actor, public

blp = Blueprint(
    "intake_api", __name__, url_prefix="/api/v1", description="Portal invitations and intake forms"
)

_S = ma.fields.String


class InviteIn(ma.Schema):
    packet = ma.fields.List(
        _S(), metadata={"description": "form keys for this client; default: the practice's packet"}
    )
    invoice_id = _S(load_default="", metadata={"description": "charge this invoice at the end of the intake"})
    payment_method = _S(load_default="", metadata={"description": "saved payment method to charge"})


class IntakeInstanceOut(ma.Schema):
    id, process_id, status = _S(), _S(), _S()
    process_version = ma.fields.Integer()
    client_id = _S(allow_none=True)
    created_at = ma.fields.DateTime(allow_none=True)


class FormRequestIn(ma.Schema):
    form_key = _S(required=True)


class OutstandingForm(ma.Schema):
    task_id, form_key, title, instance_id, lane = _S(), _S(), _S(), _S(), _S()


class ResendOut(ma.Schema):
    forms = ma.fields.List(ma.fields.Nested(OutstandingForm))
    instances = ma.fields.List(
        _S(), metadata={"description": "the resend_forms instances that send the mail"}
    )


class ActivateIn(ma.Schema):
    token = _S(required=True)
    password = _S(required=True)


class ActivateOut(ma.Schema):
    email = _S()
    mfa_setup_required = ma.fields.Boolean(metadata={"description": "the first sign-in sets up MFA"})


@blp.route("/clients/<client_id>/invite")
class Invite(MethodView):
    @blp.arguments(InviteIn)
    @blp.response(201, IntakeInstanceOut)
    @access("staff:portal.invite")
    def post(self, body, client_id):
        """Invite the client to the portal: mails activation links and starts `client_intake`; returns the instance."""
        invoice = body.get("invoice_id", "")
        return intake.invite(
            current_actor(),
            client_id,
            packet=body.get("packet"),
            collect_payment=bool(invoice),
            invoice_id=invoice,
            payment_method=body.get("payment_method", ""),
        )


@blp.route("/clients/<client_id>/form-requests")
class FormRequests(MethodView):
    @blp.arguments(FormRequestIn)
    @blp.response(201, IntakeInstanceOut)
    @access("staff:portal.invite")
    def post(self, body, client_id):
        """Send one form to the client (acknowledged and filed like a packet form); returns the instance."""
        return intake.send_form(current_actor(), client_id, body["form_key"])


@blp.route("/clients/<client_id>/resend-missed")
class ResendMissed(MethodView):
    @blp.response(200, ResendOut)
    @access("staff:portal.invite")
    def post(self, client_id):
        """Remind the client of the outstanding forms: a worker sends the mail (409 at the reminder limit)."""
        return intake.resend_missed(current_actor(), client_id)


class CancelIn(ma.Schema):
    reason = _S(required=True, metadata={"description": "why: kept in the intake's history"})


class CancelOut(ma.Schema):
    instance_id, status = _S(), _S()
    forms_closed = ma.fields.Integer(metadata={"description": "requested forms that left the client's list"})


class ClosedRequest(ma.Schema):
    task_id, title, outcome, reason = _S(), _S(), _S(), _S()
    document_id = _S(allow_none=True)
    at = ma.fields.DateTime(allow_none=True)


class ClosedRequests(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ClosedRequest))


@blp.route("/intakes/<instance_id>/cancel")
class CancelIntake(MethodView):
    @blp.arguments(CancelIn)
    @blp.response(200, CancelOut)
    @access("staff:portal.invite")
    def post(self, body, instance_id):
        """Cancel a whole intake with a reason: its forms leave the client's list, its reminders stop."""
        return intake_requests.cancel_intake(current_actor(), instance_id, body["reason"])


@blp.route("/form-requests/<task_id>/cancel")
class CancelFormRequest(MethodView):
    @blp.arguments(CancelIn)
    @blp.response(200, CancelOut)
    @access("staff:portal.invite")
    def post(self, body, task_id):
        """Cancel one requested form (an outstanding form's task id) with a reason."""
        return intake_requests.cancel_request(current_actor(), task_id, body["reason"])


@blp.route("/clients/<client_id>/closed-requests")
class ClosedRequestList(MethodView):
    @blp.response(200, ClosedRequests)
    @access("staff")
    def get(self, client_id):
        """The client's requested forms closed without a submission: cancelled, or answered on paper."""
        return {"items": intake_requests.closed_requests(current_actor(), client_id)}


@blp.route("/portal/activate")
class Activate(MethodView):
    @blp.arguments(ActivateIn)
    @blp.response(200, ActivateOut)
    @public
    def post(self, body):
        """Set the portal password from an invitation token (single use, expiring)."""
        return invitations.activate(
            body["token"],
            body["password"],
            ip=request.remote_addr or "",
            user_agent=request.headers.get("User-Agent", ""),
        )


class ReviewOut(ma.Schema):
    form_key = _S()
    submission = ma.fields.Dict(metadata={"description": "the client's sealed submission under review"})


@blp.route("/tasks/<task_id>/review")
class Review(MethodView):
    @blp.response(200, ReviewOut)
    @access("staff")
    def get(self, task_id):
        """What an open acknowledgement task is about: the form and the client's submission of it."""
        context = intake_queries.review_context(current_actor(), task_id)
        return {"form_key": context["form_key"], "submission": context["submission"]}
