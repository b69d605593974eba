"""API: webhooks — endpoints that receive signed events, and each endpoint's delivery log (with resend)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.models.integrations import WEBHOOK_EVENTS
from engine.services.integrations import webhooks
from web.security import access, current_actor

blp = Blueprint(
    "webhooks_api",
    __name__,
    url_prefix="/api/v1",
    description="Webhooks: signed event deliveries to other systems (see docs/API.md)",
)

_S = ma.fields.String
_events = ma.fields.List(
    _S(validate=ma.validate.OneOf(sorted(WEBHOOK_EVENTS))),
    validate=ma.validate.Length(min=1, max=len(WEBHOOK_EVENTS)),
)


class EndpointEdit(ma.Schema):
    url = _S(validate=ma.validate.Length(min=1, max=2000))
    events = _events
    description = _S(validate=ma.validate.Length(max=200))
    active = ma.fields.Boolean()


class EndpointIn(EndpointEdit):
    url = _S(required=True, validate=ma.validate.Length(min=1, max=2000))
    events = ma.fields.List(
        _S(validate=ma.validate.OneOf(sorted(WEBHOOK_EVENTS))),
        required=True,
        validate=ma.validate.Length(min=1, max=len(WEBHOOK_EVENTS)),
    )


class EndpointOut(ma.Schema):
    id, url, description = _S(), _S(), _S()
    events = ma.fields.List(_S())
    active = ma.fields.Boolean()
    created_at, updated_at = ma.fields.DateTime(), ma.fields.DateTime()


class EndpointCreated(EndpointOut):
    secret = _S(metadata={"description": "the signing secret, shown this once"})


class EndpointList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EndpointOut))


class EventOut(ma.Schema):
    event, label = _S(), _S()


class EventList(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(EventOut))


class AttemptOut(ma.Schema):
    at = ma.fields.DateTime()
    status_code = ma.fields.Integer(allow_none=True)
    response, error = _S(), _S()
    duration_ms = ma.fields.Integer()


class DeliveryOut(ma.Schema):
    id, endpoint_id, event_id, event, status = _S(), _S(), _S(), _S(), _S()
    created_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    body = ma.fields.Dict(metadata={"description": "the JSON body sent"})
    attempts = ma.fields.List(ma.fields.Nested(AttemptOut))


class DeliveryPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeliveryOut))
    page, per_page = ma.fields.Integer(), ma.fields.Integer()
    has_more = ma.fields.Boolean()


class DeliveryQuery(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))


@blp.route("/webhooks/events")
class WebhookEvents(MethodView):
    @blp.response(200, EventList)
    @access("staff:integrations.manage")
    def get(self):
        """The events an endpoint may subscribe to."""
        return {"items": [{"event": code, "label": label} for code, label in WEBHOOK_EVENTS.items()]}


@blp.route("/webhooks")
class WebhookEndpoints(MethodView):
    @blp.response(200, EndpointList)
    @access("staff:integrations.manage")
    def get(self):
        """Every webhook endpoint."""
        return {"items": webhooks.list_endpoints(current_actor())}

    @blp.arguments(EndpointIn)
    @blp.response(201, EndpointCreated)
    @access("staff:integrations.manage")
    def post(self, body):
        """Register an endpoint; the answer holds its signing secret, shown only this once.
        422 when the URL is unusable (in production: loopback, private or link-local addresses)."""
        secret, made = webhooks.create_endpoint(current_actor(), **body)
        return {**made, "secret": secret}


@blp.route("/webhooks/<endpoint_id>")
class WebhookEndpointItem(MethodView):
    @blp.response(200, EndpointOut)
    @access("staff:integrations.manage")
    def get(self, endpoint_id):
        """One endpoint."""
        return webhooks.describe(webhooks.get_endpoint(current_actor(), endpoint_id))

    @blp.arguments(EndpointEdit)
    @blp.response(200, EndpointOut)
    @access("staff:integrations.manage")
    def patch(self, body, endpoint_id):
        """Change the URL, events, description, or switch the endpoint off and on."""
        return webhooks.update_endpoint(current_actor(), endpoint_id, body)

    @blp.response(204)
    @access("staff:integrations.manage")
    def delete(self, endpoint_id):
        """Remove the endpoint and its delivery log."""
        webhooks.delete_endpoint(current_actor(), endpoint_id)


@blp.route("/webhooks/<endpoint_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryPage)
    @access("staff:integrations.manage")
    def get(self, args, endpoint_id):
        """The endpoint's deliveries, newest first, each with its attempts and the receiver's answers."""
        return webhooks.deliveries(current_actor(), endpoint_id, page=args["page"])


@blp.route("/webhook-deliveries/<delivery_id>/resend")
class WebhookResend(MethodView):
    @blp.response(200, DeliveryOut)
    @access("staff:integrations.manage")
    def post(self, delivery_id):
        """Send a delivery again: the same event id and body."""
        return webhooks.resend(current_actor(), delivery_id)
