"""Admin studio pages: BPMN modeler, form editor with live preview, default intake packet editor,
instance monitor (list with filters, instance with diagram and history), migration with progress.

The pages are shells: their scripts (web/static/js/studio/) talk to the JSON API, which checks
permissions again; server-rendered parts (lists, history) call one service each.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.errors import ValidationFailed
from engine.forms.prefill import allowed_fields
from engine.models.workflow import INSTANCE_STATUSES
from engine.services.forms import forms as form_service
from engine.services.processes import processes as process_service
from engine.services.processes import studio as studio_service
from web.security import access, current_actor

bp = Blueprint("studio_pages", __name__, url_prefix="/studio")
_FILTERS = ("process_id", "process_version", "status", "client_id")


@bp.get("")
@access("staff:workflows.manage")
def index():
    """The studio's start: deployed processes with links to model, monitor and migrate them."""
    return render_template(
        "studio/index.html", processes=process_service.list_definitions(current_actor()), active="processes"
    )


@bp.get("/processes/<process_id>")
@access("staff:workflows.manage")
def modeler(process_id):
    """The BPMN modeler on the latest version of a process ("new" starts from an empty diagram)."""
    return render_template("studio/modeler.html", process_id=process_id, active="processes")


@bp.get("/forms")
@access("staff")
def forms():
    """Form definitions to edit, by kind."""
    return render_template(
        "studio/forms.html",
        forms=form_service.list_forms(current_actor(), include_archived=True),
        active="forms",
    )


@bp.get("/forms/<key>")
@access("staff")
def form_editor(key):
    """The form builder: toolbox, properties, the server's checks beside each question, a live survey-js-ui
    preview, the JSON, and what changed since the last published version."""
    title = form_service.form_title(key) if key != "new" else ""
    return render_template(
        "studio/form_editor.html", key=key, title=title, prefill_fields=allowed_fields(), active="forms"
    )


@bp.get("/packet")
@access("staff:intake_forms.manage")
def packet():
    """The default intake packet: add, remove and reorder (drag, or the move buttons) its forms."""
    return render_template("studio/packet.html", active="packet")


@bp.get("/instances")
@access("staff:workflows.manage")
def instances():
    """Process instances filtered by process, version, state and client."""
    raw = {k: request.args.get(k, "")[:100] for k in _FILTERS}
    args = {k: v for k, v in raw.items() if v}
    errors = {}
    if args.get("status") and args["status"] not in INSTANCE_STATUSES:
        errors["status"] = "choose a listed state"
        args.pop("status")
    if args.get("process_version") and not args["process_version"].isdigit():
        errors["process_version"] = "a version is a number"
        args.pop("process_version")
    try:
        page = studio_service.search_instances(
            current_actor(), page=request.args.get("page", 1, type=int), **args
        )
    except ValidationFailed as exc:
        page, errors = {"items": [], "page": 1, "has_more": False}, {"client_id": exc.message}
    return render_template(
        "studio/instances.html",
        page=page,
        filters=args,
        raw=raw,
        errors=errors,
        statuses=INSTANCE_STATUSES,
        processes=process_service.list_definitions(current_actor()),
        active="instances",
    )


@bp.get("/instances/<instance_id>")
@access("staff:workflows.manage")
def instance(instance_id):
    """One instance: its diagram with completed, active and waiting elements, its history, retry, rollback."""
    from engine.services.processes import migration

    actor = current_actor()
    return render_template(
        "studio/instance.html",
        instance=studio_service.instance_view(actor, instance_id),
        snapshots=migration.snapshots(actor, instance_id),
        active="instances",
    )


@bp.get("/migrate")
@access("staff:workflows.manage")
def migrate():
    """Move running instances to another version: preview, run with a progress bar, results."""
    return render_template(
        "studio/migrate.html",
        processes=process_service.list_definitions(current_actor()),
        selected=request.args.get("process_id", ""),
        active="migrate",
    )
