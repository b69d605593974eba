"""API: the admin studio — check BPMN without deploying, diagrams, version diffs, the instance monitor,
and migration of running instances (preview, run with progress, status, rollback, snapshots)."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import ValidationFailed
from engine.models.workflow import INSTANCE_STATUSES
from engine.services.processes import migration as migration_service
from engine.services.processes import studio as studio_service
from web.security import access, current_actor

log = logging.getLogger(__name__)

blp = Blueprint(
    "studio_api", __name__, url_prefix="/api/v1", description="Admin studio: BPMN, monitor, migration"
)
_S, _I = ma.fields.String, ma.fields.Integer


class BpmnIn(ma.Schema):
    bpmn = _S(required=True, validate=ma.validate.Length(min=1, max=2_000_000))


class MigrateIn(ma.Schema):
    process_id = _S(required=True)
    to_version = _I(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
    instance_ids = ma.fields.List(
        _S(), load_default=list, metadata={"description": "empty: every affected one"}
    )


class MigrateRunIn(MigrateIn):
    confirm = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": "true once a person confirmed the move after its preview; without it nothing moves"
        },
    )


class RollbackIn(ma.Schema):
    snapshot_id = _S(load_default=None, allow_none=True, metadata={"description": "default: the latest move"})
    force = ma.fields.Boolean(load_default=False, metadata={"description": "even if the instance moved on"})


class SearchQuery(ma.Schema):
    process_id, client_id = _S(), _S()
    process_version = _I(validate=ma.validate.Range(min=1))
    status = _S(validate=ma.validate.OneOf(INSTANCE_STATUSES))
    page = _I(load_default=1, validate=ma.validate.Range(min=1))
    per_page = _I(load_default=25, validate=ma.validate.Range(min=1, max=100))


class DiffQuery(ma.Schema):
    from_version = _I(required=True, data_key="from")
    to_version = _I(required=True, data_key="to")


@blp.route("/processes/check", methods=["POST"])
@blp.arguments(BpmnIn)
@blp.response(
    200,
    ma.Schema.from_dict(
        {"ok": ma.fields.Boolean(), "processes": ma.fields.List(ma.fields.Dict())}, name="StudioCheckOut"
    ),
)
@access("staff:workflows.manage")
def check(body):
    """Every deploy check, nothing stored: 422 deploy_rejected naming each element with a problem."""
    return studio_service.check_bpmn(current_actor(), body["bpmn"])


@blp.route("/studio/catalog")
@blp.response(
    200,
    ma.Schema.from_dict(
        {
            "forms": ma.fields.List(ma.fields.Dict()),
            "operations": ma.fields.List(_S()),
            "lanes": ma.fields.List(_S()),
        },
        name="StudioCatalogOut",
    ),
)
@access("staff:workflows.manage")
def catalog():
    """Published forms, service-task operations and lanes the properties panel offers."""
    return studio_service.catalog(current_actor())


@blp.route("/processes/<process_id>/diagram")
@blp.response(
    200,
    ma.Schema.from_dict(
        {
            "process_id": _S(),
            "number": _I(),
            "bpmn": _S(),
            "versions": ma.fields.List(_I()),
            "deployed_at": ma.fields.DateTime(),
            "deployed_by": _S(),
        },
        name="StudioDiagramOut",
    ),
)
@access("staff:workflows.manage")
def diagram(process_id):
    """The latest version's BPMN, with a diagram laid out when the XML has none."""
    return studio_service.version_with_diagram(current_actor(), process_id)


@blp.route("/processes/<process_id>/diff")
@blp.arguments(DiffQuery, location="query")
@blp.response(
    200,
    ma.Schema.from_dict(
        {"process_id": _S(), "from_version": _I(), "to_version": _I(), "processes": ma.fields.Dict()},
        name="StudioDiffOut",
    ),
)
@access("staff:workflows.manage")
def diff(args, process_id):
    """Added, removed and changed elements between two versions (SpiffWorkflow's spec diff)."""
    return migration_service.version_diff(
        current_actor(), process_id, args["from_version"], args["to_version"]
    )


@blp.route("/process-instances/search")
@blp.arguments(SearchQuery, location="query")
@blp.response(
    200,
    ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Dict()),
            "page": _I(),
            "per_page": _I(),
            "has_more": ma.fields.Boolean(),
        },
        name="StudioSearchOut",
    ),
)
@access("staff:workflows.manage")
def search(args):
    """Instances filtered by process, version, status and client, newest first."""
    return studio_service.search_instances(current_actor(), **args)


@blp.route("/process-instances/<instance_id>/diagram")
@blp.response(
    200,
    ma.Schema.from_dict(
        {"instance": ma.fields.Dict(), "bpmn": _S(), "states": ma.fields.Dict()},
        name="StudioInstanceDiagramOut",
    ),
)
@access("staff:workflows.manage")
def instance_diagram(instance_id):
    """The instance's version as a diagram and each element's state (completed, active, waiting, errored)."""
    return studio_service.instance_diagram(current_actor(), instance_id)


@blp.route("/process-instances/migrate/preview", methods=["POST"])
@blp.arguments(MigrateIn)
@blp.response(
    200,
    ma.Schema.from_dict(
        {
            "process_id": _S(),
            "to_version": _I(),
            "total": _I(),
            "can_move": _I(),
            "refused": _I(),
            "items": ma.fields.List(ma.fields.Dict()),
        },
        name="StudioPreviewOut",
    ),
)
@access("staff:workflows.manage")
def preview(body):
    """Every affected instance and whether it can move to the version, and if not why."""
    return migration_service.preview(
        current_actor(), body["process_id"], body["to_version"], instance_ids=body["instance_ids"] or None
    )


class RunOut(ma.Schema):
    id, process_id, status, error, started_by = _S(), _S(), _S(), _S(), _S()
    to_version, total, done, moved, refused, failed = _I(), _I(), _I(), _I(), _I(), _I()
    outcomes = ma.fields.List(ma.fields.Dict())
    created_at, finished_at = ma.fields.DateTime(), ma.fields.DateTime(allow_none=True)


@blp.route("/process-instances/migrate", methods=["POST"])
@blp.arguments(MigrateRunIn)
@blp.response(202, RunOut)
@access("staff:workflows.manage")
def migrate(body):
    """Start moving the instances (snapshot each first); poll the run for progress."""
    if not body["confirm"]:  # the confirm step (issue 16): moving running instances is asked for twice
        raise ValidationFailed(
            "Nothing was moved: confirm the move after its preview.",
            details={"confirm": ["confirm the move after its preview"]},
        )
    run = migration_service.create_run(
        current_actor(), body["process_id"], body["to_version"], instance_ids=body["instance_ids"] or None
    )
    # Imported here so that building the app does not install the broker seam (web/wsgi.py does that).
    from workers.studio import run_migration

    try:
        run_migration.send(str(run.id))  # a worker executes it: a web worker's death loses nothing
    except Exception:  # broker down: the run stays pending and the worker sweep starts it (stalled_runs)
        log.warning("could not enqueue migration run %s; the sweep will start it", run.id, exc_info=True)
    return migration_service.run_view(run)


@blp.route("/process-instances/migrations/<run_id>")
@blp.response(200, RunOut)
@access("staff:workflows.manage")
def run_status(run_id):
    """A migration run: progress counts, and each refused or failed instance with its reasons."""
    return migration_service.get_run(current_actor(), run_id)


@blp.route("/process-instances/<instance_id>/rollback")
class Rollback(MethodView):
    @blp.arguments(RollbackIn)
    @blp.response(
        200,
        ma.Schema.from_dict(
            {"id": _S(), "process_version": _I(), "status": _S(), "version": _I()}, name="StudioRollbackOut"
        ),
    )
    @access("staff:workflows.manage")
    def post(self, body, instance_id):
        """Restore the instance exactly as snapshotted before its last move; 409 if it moved on since."""
        return migration_service.rollback(
            current_actor(), instance_id, snapshot_id=body["snapshot_id"], force=body["force"]
        )


@blp.route("/process-instances/<instance_id>/snapshots")
@blp.response(
    200, ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Dict())}, name="StudioSnapshotsOut")
)
@access("staff:workflows.manage")
def snapshots(instance_id):
    """The instance's migration snapshots, newest first."""
    return {"items": migration_service.snapshots(current_actor(), instance_id)}
