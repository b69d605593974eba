"""API: process instances — start, monitor, deliver messages, retry failed operations."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.models.workflow import INSTANCE_STATUSES
from engine.services.processes import processes as process_service
from web.security import access, current_actor

blp = Blueprint("process_instances_api", __name__, url_prefix="/api/v1", description="Process instances")

_S = ma.fields.String


class InstanceOut(ma.Schema):
    id, process_id, status = _S(), _S(), _S()
    client_id = _S(allow_none=True)
    process_version, version = ma.fields.Integer(), ma.fields.Integer()
    error = ma.fields.Dict(allow_none=True)
    waiting_messages = ma.fields.List(_S())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    completed_at = ma.fields.DateTime(allow_none=True)


class InstanceTask(ma.Schema):
    id = _S(metadata={"description": "the id GET /tasks/{id} takes"})
    name, lane, status = _S(), _S(), _S()
    form_key = _S(allow_none=True)
    client_id = _S(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)


class InstanceDetail(InstanceOut):
    history = ma.fields.List(ma.fields.Dict())
    open_tasks = ma.fields.List(
        _S(), metadata={"description": "ids of the open tasks, as GET /tasks/{id} takes"}
    )
    tasks = ma.fields.List(ma.fields.Nested(InstanceTask), metadata={"description": "the open tasks"})
    lease_owner = _S(allow_none=True)
    retried_operations = ma.fields.Integer()


class InstancePage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(InstanceOut))
    page, per_page = ma.fields.Integer(), ma.fields.Integer()
    has_more = ma.fields.Boolean()


class InstanceQuery(ma.Schema):
    process_id, client_id = _S(), _S()
    status = _S(validate=ma.validate.OneOf(INSTANCE_STATUSES))
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(load_default=25, validate=ma.validate.Range(min=1, max=100))


class StartIn(ma.Schema):
    process_id = _S(required=True)
    client_id = _S(allow_none=True)
    data = ma.fields.Dict(load_default=dict)


class MessageIn(ma.Schema):
    name = _S(required=True, validate=ma.validate.Length(min=1, max=200))
    payload = ma.fields.Dict(load_default=dict)


class CorrelateIn(MessageIn):
    correlation = ma.fields.Dict(
        load_default=dict,
        metadata={
            "description": "client_id, instance_id, or task data values the waiting instance must have"
        },
    )


class CorrelateOut(ma.Schema):
    message = _S()
    instances = ma.fields.List(_S())


@blp.route("/process-instances")
class Instances(MethodView):
    @blp.arguments(InstanceQuery, location="query")
    @blp.response(200, InstancePage)
    @access("staff:workflows.manage")
    def get(self, args):
        """Instances, newest first."""
        return process_service.list_instances(current_actor(), **args)

    @blp.arguments(StartIn)
    @blp.response(201, InstanceDetail)
    @access("staff:workflows.manage")
    def post(self, body):
        """Start the latest version of a deployed process, optionally for a client, with initial data."""
        return process_service.start(
            current_actor(), body["process_id"], client_id=body.get("client_id"), data=body["data"]
        )


@blp.route("/process-instances/<instance_id>")
class InstanceItem(MethodView):
    @blp.response(200, InstanceDetail)
    @access("staff:workflows.manage")
    def get(self, instance_id):
        """One instance with its event history."""
        return process_service.get_instance(current_actor(), instance_id)


@blp.route("/process-instances/<instance_id>/messages")
class InstanceMessages(MethodView):
    @blp.arguments(MessageIn)
    @blp.response(200, InstanceDetail)
    @access("staff:workflows.manage")
    def post(self, body, instance_id):
        """Deliver a named message to this instance; 404 when it does not wait for it."""
        return process_service.send_message(current_actor(), instance_id, body["name"], body["payload"])


@blp.route("/process-instances/messages")
class CorrelatedMessages(MethodView):
    @blp.arguments(CorrelateIn)
    @blp.response(200, CorrelateOut)
    @access("staff:workflows.manage")
    def post(self, body):
        """Deliver a named message to every instance waiting for it that matches `correlation`."""
        return process_service.correlate(
            current_actor(), body["name"], correlation=body["correlation"], payload=body["payload"]
        )


@blp.route("/process-instances/<instance_id>/retry")
class InstanceRetry(MethodView):
    @blp.response(200, InstanceDetail)
    @access("staff:workflows.manage")
    def post(self, instance_id):
        """Errored instance: perform its failed operations again with fresh attempts."""
        return process_service.retry(current_actor(), instance_id)
