"""API: the inbox — human tasks for staff and portal accounts; claim and complete them."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.services.inbox import tasks as task_service
from web.security import access, current_actor

blp = Blueprint("tasks_api", __name__, url_prefix="/api/v1", description="The task inbox")

_S = ma.fields.String
_len = ma.validate.Length


class TaskOut(ma.Schema):
    id, name, lane, status, process_instance_id, process_id, audience = (
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
        _S(),
    )
    client_id = _S(allow_none=True)
    form_key = _S(allow_none=True)
    role = _S(
        allow_none=True,
        metadata={
            "description": "what the task is for: acknowledgement, revision, "
            "approval (declared in the BPMN), or null"
        },
    )
    form = ma.fields.Dict(
        allow_none=True, metadata={"description": "SurveyJS JSON of the pinned form version"}
    )
    prefill = ma.fields.Dict()
    due_at = ma.fields.DateTime(allow_none=True)
    claimed_by = _S(allow_none=True)
    created_at = ma.fields.DateTime(allow_none=True)
    completed_at = ma.fields.DateTime(allow_none=True)
    completed_by = _S(allow_none=True)


class TaskQuery(ma.Schema):
    scope = _S(
        load_default="audience",
        validate=ma.validate.OneOf(task_service.SCOPES),
        metadata={
            "description": "audience: every task addressed to you; mine: claimed by or assigned to you"
        },
    )
    client_id = _S(validate=_len(max=64), metadata={"description": "only this client's tasks"})
    process_instance_id = _S(
        validate=_len(max=64), metadata={"description": "only this process instance's tasks"}
    )
    form_key = _S(validate=_len(max=200), metadata={"description": "only tasks with this form"})
    lane = _S(validate=_len(max=100), metadata={"description": "client, guardian, staff or admin"})
    status = _S(load_default="open", validate=ma.validate.OneOf(("open", "completed", "closed")))
    due_after = ma.fields.AwareDateTime(default_timezone=UTC, metadata={"description": "due at or after"})
    due_before = ma.fields.AwareDateTime(default_timezone=UTC, metadata={"description": "due at or before"})
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1))
    per_page = ma.fields.Integer(
        load_default=25, validate=ma.validate.Range(min=1, max=task_service.MAX_PER_PAGE)
    )


class TaskPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TaskOut))
    page, per_page = ma.fields.Integer(), ma.fields.Integer()
    has_more = ma.fields.Boolean()


class Completion(ma.Schema):
    data = ma.fields.Dict(load_default=dict, metadata={"description": "answers by question name"})


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuery, location="query")
    @blp.response(200, TaskPage)
    @access("authenticated")
    def get(self, args):
        """Your tasks, soonest due first, narrowed by the filters given (an unknown filter is a 422)."""
        return task_service.inbox(current_actor(), **args)


@blp.route("/tasks/<task_id>")
class TaskItem(MethodView):
    @blp.response(200, TaskOut)
    @access("authenticated")
    def get(self, task_id):
        """One task with its form and prefilled answers; 404 when it is not yours to see."""
        return task_service.read_task(current_actor(), task_id)


@blp.route("/tasks/<task_id>/claim")
class TaskClaim(MethodView):
    @blp.response(200, TaskOut)
    @access("authenticated")
    def post(self, task_id):
        """Claim a task; 409 when someone else holds it or it is done."""
        return task_service.claim(current_actor(), task_id)


@blp.route("/tasks/<task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(Completion)
    @blp.response(200, TaskOut)
    @access("authenticated")
    def post(self, body, task_id):
        """Complete a task: 422 validation_failed with messages by question; 409 when already completed."""
        return task_service.complete(current_actor(), task_id, body["data"])
