"""The admin studio's reads: BPMN checks without deploying, a catalogue for the properties panel,
process versions with a drawable diagram, the instance monitor (filters, diagram states).

Everything needs `workflows.manage`. Raises Forbidden, NotFound, DeployRejected (422).
"""

from __future__ import annotations

from bson import ObjectId
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.util.task import TaskState

from engine.authz import Actor, get_client_for, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models.forms import FormDefinition
from engine.models.workflow import ProcessDefinition, ProcessVersion
from engine.services.platform import audit
from engine.services.processes import processes
from engine.services.processes.processes import instance_shape
from engine.workflow import deploy as deploy_mod
from engine.workflow import operations, store
from engine.workflow.errors import DeployRejected
from engine.workflow.layout import ensure_layout
from engine.workflow.migration import describe

MANAGE = "workflows.manage"
# Order decides what an element shows when several of its tasks differ (a loop ran it before).
_STATE_RANK = {"completed": 1, "cancelled": 0, "waiting": 2, "active": 3, "errored": 4}


def catalog(actor: Actor) -> dict:
    """What the modeler's properties panel offers: published forms, operations, lanes."""
    actor.require(MANAGE)
    forms = [
        {"key": f.key, "title": f.title, "kind": f.kind}
        for f in FormDefinition.objects(archived=False, latest_version__gt=0)
        .only("key", "title", "kind")
        .order_by("key")
    ]
    return {"forms": forms, "operations": operations.names(), "lanes": list(deploy_mod.LANES)}


def check_bpmn(actor: Actor, bpmn_xml: str) -> dict:
    """Run every deploy check without storing anything. Raises DeployRejected with problems by element."""
    actor.require(MANAGE)
    if not isinstance(bpmn_xml, str) or not bpmn_xml.strip():
        raise ValidationFailed("bpmn is required", details={"bpmn": ["required"]})
    parser, own_ids = deploy_mod._resolve(bpmn_xml.encode(), {})
    checked = []
    for pid in own_ids:
        try:
            spec, subs = parser.get_spec(pid), parser.get_subprocess_specs(pid)
        except ValidationException as exc:
            raise DeployRejected("the BPMN is invalid", details={pid: [str(exc).splitlines()[0]]}) from exc
        used = deploy_mod.validate(spec, subs)  # (forms, operations, …): the engine may add more
        forms, ops = used[0], used[1]
        checked.append(
            {
                "process_id": pid,
                "form_keys": sorted(forms),
                "operations": sorted(ops),
                "changes": _changes_from_live(pid, spec, subs),
            }
        )
    return {"ok": True, "processes": checked}


def _changes_from_live(process_id: str, spec, subs: dict) -> dict | None:
    """What deploying this would change against the live version (None: not deployed yet)."""
    definition = (
        ProcessDefinition.objects(process_id=process_id).only("latest_version", "latest_version_id").first()
    )
    if definition is None or not definition.latest_version_id:
        return None
    live_spec, live_subs, _ = store.version_specs(definition.latest_version_id)
    return {
        "from_version": definition.latest_version,
        "processes": describe(live_spec, live_subs, spec, subs),
    }


def version_with_diagram(actor: Actor, process_id: str, number: int | None = None) -> dict:
    """A deployed version's BPMN with a diagram (added when the XML has none); latest when no number."""
    actor.require(MANAGE)
    if number is None:
        definition = ProcessDefinition.objects(process_id=process_id).first()
        if definition is None or not definition.latest_version:
            raise NotFound(f"no deployed process {process_id!r}")
        number = definition.latest_version
    version = (
        ProcessVersion.objects(process_id=process_id, number=number)
        .only("process_id", "number", "bpmn_xml", "deployed_at", "deployed_by")
        .first()
    )
    if version is None:
        raise NotFound("no such process version")
    versions = [
        v.number for v in ProcessVersion.objects(process_id=process_id).only("number").order_by("number")
    ]
    return {
        "process_id": process_id,
        "number": version.number,
        "bpmn": ensure_layout(version.bpmn_xml),
        "versions": versions,
        "deployed_at": version.deployed_at,
        "deployed_by": version.deployed_by,
    }


def search_instances(
    actor: Actor,
    *,
    process_id=None,
    process_version=None,
    status=None,
    client_id=None,
    page: int = 1,
    per_page: int = 25,
) -> dict:
    """Instances filtered by process, version, status and client, newest first, with client and staff names."""
    found = processes.list_instances(
        actor,
        process_id=process_id,
        process_version=process_version,
        status=status,
        client_id=client_id,
        page=page,
        per_page=per_page,
    )
    _add_names(found["items"])
    return found


def _add_names(items: list[dict]) -> None:
    """The list names its clients and processes (one query each), so the monitor never shows ids alone."""
    from engine.models.clients import Client

    client_ids = {ObjectId(i["client_id"]) for i in items if i.get("client_id")}
    clients = (
        {str(c.id): c.display_name for c in Client.objects(id__in=list(client_ids))} if client_ids else {}
    )
    processes = (
        {
            d.process_id: d.name
            for d in ProcessDefinition.objects(process_id__in=list({i["process_id"] for i in items})).only(
                "process_id", "name"
            )
        }
        if items
        else {}
    )
    for item in items:
        item["client_name"] = clients.get(item.get("client_id") or "", "")
        item["process_name"] = processes.get(item["process_id"]) or item["process_id"]


def _state(task) -> str | None:
    if task.has_state(TaskState.COMPLETED):
        return "completed"
    if task.has_state(TaskState.READY | TaskState.STARTED):
        return "active"
    if task.has_state(TaskState.WAITING):
        return "waiting"
    if task.has_state(TaskState.ERROR):
        return "errored"
    return None


def instance_diagram(actor: Actor, instance_id) -> dict:
    """An instance's version as a diagram plus each element's state: completed, active, waiting, errored."""
    actor.require(MANAGE)
    doc = store.instances().find_one({"_id": parse_id(instance_id)}, {"history": 0})
    if doc is None:
        raise NotFound("no such process instance")
    if doc.get("client_id"):
        get_client_for(actor, doc["client_id"])
    workflow = store.restore(doc)
    states: dict[str, str] = {}
    for wf in [workflow, *workflow.subprocesses.values()]:
        for task in wf.tasks.values():
            element = getattr(task.task_spec, "bpmn_id", None)
            state = _state(task)
            if element and state and _STATE_RANK[state] > _STATE_RANK.get(states.get(element, ""), -1):
                states[element] = state
    error = doc.get("error") or {}
    if error.get("task_name"):
        states[error["task_name"]] = "errored"
    version = ProcessVersion.objects(id=doc["process_version_id"]).only("bpmn_xml").first()
    audit.record(
        actor,
        "process_instance_viewed",
        client=doc.get("client_id"),
        object_type="process_instance",
        object_id=doc["_id"],
        details={"view": "diagram"},
    )
    return {"instance": instance_shape(doc), "bpmn": ensure_layout(version.bpmn_xml), "states": states}


# How the monitor words each history event: "{who} {verb}", the step's name put in where {step} is.
_EVENT_WORDS = {
    "started": "started the process",
    "task_completed": "completed {step}",
    "operation_completed": "ran {step}",
    "timer_fired": "{step}: the timer fired",
    "message_received": "received {step}",
    "error_raised": "stopped with an error at {step}",
    "retried": "retried the failed operations",
    "instance_cancelled": "cancelled the process",
    "migrated": "moved the instance to another version",
    "rolled_back": "rolled the instance back",
}


def _step_names(version_id) -> dict[str, str]:
    """Each element id of a version's processes → the name the diagram shows (its id, in words, when unnamed)."""
    spec, subs, _ = store.version_specs(version_id)
    names: dict[str, str] = {spec.name: spec.description or spec.name}
    for process in [spec, *subs.values()]:
        for ts in process.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            if element:
                names[element] = getattr(ts, "bpmn_name", None) or element.replace("_", " ").capitalize()
    return names


def _who(by: str, people: dict[str, str]) -> str:
    """A history event's `by` ("staff:<id>", "portal:<id>", "system", "") as a person's name."""
    if by in people:
        return people[by]
    kind, _, raw = (by or "").partition(":")
    name = None
    if kind in ("staff", "portal") and raw:
        from engine.models.accounts import PortalAccount, StaffMember

        model = StaffMember if kind == "staff" else PortalAccount
        # An id that is not an ObjectId names nobody: the page says so rather than fail.
        found = model.objects(id=raw).first() if ObjectId.is_valid(raw) else None
        name = (
            found.display_name
            if found
            else f"A former {'staff member' if kind == 'staff' else 'portal user'}"
        )
    people[by] = name or "Portico"
    return people[by]


def instance_view(actor: Actor, instance_id) -> dict:
    """An instance for the monitor page: its client's name and each history event as a sentence naming
    who did what to which step ("Front desk acknowledged Client information"); the times stay datetimes
    for the page to show in the practice's time zone. Raises Forbidden, NotFound."""
    shape = processes.get_instance(actor, instance_id)
    doc = store.instances().find_one({"_id": parse_id(instance_id)}, {"process_version_id": 1})
    names = _step_names(doc["process_version_id"]) if doc and doc.get("process_version_id") else {}
    process_id = str(shape.get("process_id") or "")
    shape["process_name"] = names.get(process_id, process_id)
    if shape.get("client_id"):
        shape["client_name"] = get_client_for(actor, shape["client_id"]).display_name
    people: dict[str, str] = {}
    lines = []
    for event in shape.get("history") or []:
        details = dict(event.get("details") or {})
        element = details.pop("name", "") or event.get("name", "")
        step = names.get(element, element.replace("_", " ").capitalize() if element else "a step")
        words = _EVENT_WORDS.get(
            event.get("kind"), event.get("kind", "").replace("_", " ") + (" {step}" if element else "")
        )
        lines.append(
            {
                "at": event.get("at"),
                "who": _who(event.get("by", ""), people),
                "what": words.format(step=step),
                "kind": event.get("kind"),
            }
        )
    shape["history_lines"] = lines
    return shape
