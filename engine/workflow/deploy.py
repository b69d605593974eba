"""Deploying BPMN: parse, check far more than the parser does, store a new version when it changed.

Checks: the XML parses into executable processes; every call activity names a
process in the file or already deployed; every user task's `formKey` is a
published form; every service task names a known operation; lanes are known
audiences; a user task's `role` is a known role with the properties it needs, and
a process the product starts by id has the roles its pages rely on
(engine.workflow.roles); scripts, conditions and parameter expressions compile in
the restricted engine; timer expressions compile, and a literal one is valid ISO-8601
(nothing an author wrote is run at deploy).
A rejected deploy leaves the live version in place.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

from lxml import etree
from mongoengine.errors import NotUniqueError
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.specs.ExclusiveChoice import ExclusiveChoice
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from engine.authz import PERMISSIONS, SYSTEM, Actor
from engine.errors import Conflict
from engine.forms.catalogue import form_exists
from engine.models import utcnow
from engine.models.workflow import ProcessDefinition, ProcessVersion
from engine.workflow import operations, roles, scripting
from engine.workflow.errors import DeployRejected, ScriptRefused
from engine.workflow.projection import LANE_PERMISSION
from engine.workflow.specs import SERIALIZER_VERSION, OutboxServiceTask, PorticoParser, dump_specs

LANES = ("client", "guardian", "staff", "admin")
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "workflows" / "bpmn"
_MAX_DEPENDENCY_ROUNDS = 20


def _parse(sources: list[bytes]) -> PorticoParser:
    parser = PorticoParser()  # a fresh parser per deploy: a duplicate process id raises
    for i, xml in enumerate(sources):
        try:
            parser.add_bpmn_str(xml, filename=f"source{i}.bpmn")
        except (etree.XMLSyntaxError, ValidationException, ValueError) as exc:
            raise DeployRejected(
                "the BPMN does not parse", details={"bpmn": [str(exc).splitlines()[0]]}
            ) from exc
    return parser


def _resolve(main: bytes, extra: dict[str, bytes]):
    """Parse `main` plus the XML of every process it (transitively) calls.

    `extra` maps process id -> XML for processes deployed alongside (deploy_shipped);
    anything else comes from the latest deployed version.
    """
    sources = [main]
    own_ids = _parse(sources).get_process_ids()
    if not own_ids:
        raise DeployRejected(
            "no executable process", details={"bpmn": ['no process with isExecutable="true"']}
        )
    added: set[str] = set()
    for _ in range(_MAX_DEPENDENCY_ROUNDS):
        parser = _parse(sources)
        missing: set[str] = set()
        try:
            for pid in own_ids:
                for called, spec in parser.get_subprocess_specs(
                    pid, require_call_activity_specs=False
                ).items():
                    if spec is None:
                        missing.add(called)
        except ValidationException as exc:
            raise DeployRejected("the BPMN is invalid", details={"bpmn": [str(exc).splitlines()[0]]}) from exc
        if not missing:
            return parser, own_ids
        for called in sorted(missing):
            if called in added:
                raise DeployRejected("call activity target missing", details={called: ["not a process id"]})
            xml = extra.get(called) or _deployed_xml(called)
            if xml is None:
                raise DeployRejected(
                    "a call activity names an unknown process",
                    details={called: ["no deployed process with this id"]},
                )
            sources.append(xml)
            added.add(called)
    raise DeployRejected("call activities nest too deeply", details={"bpmn": ["dependency loop"]})


def _deployed_xml(process_id: str) -> bytes | None:
    definition = ProcessDefinition.objects(process_id=process_id).first()
    if definition is None or not definition.latest_version_id:
        return None
    version = ProcessVersion.objects(id=definition.latest_version_id).only("bpmn_xml").first()
    return version.bpmn_xml.encode() if version else None


def _check_timer(expression: str) -> str | None:
    """Check a timer expression without running it: a deploy request must not run author code.

    It must compile; a literal text must be ISO-8601. Anything else (a data variable, a helper
    call) is evaluated when the timer starts, in the bounded sandbox, where a failure marks that
    instance errored.
    """
    try:
        scripting.check_source(expression, "eval")
    except ScriptRefused as exc:
        return exc.message
    node = ast.parse(expression, mode="eval").body
    if not isinstance(node, ast.Constant):
        return None
    value = node.value
    if not isinstance(value, str):
        return "a timer expression must give an ISO-8601 text"
    try:
        if value.upper().startswith("R"):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            TimerEventDefinition.parse_time_or_duration(value)
    except Exception:  # noqa: BLE001 - any parse failure is the author's error
        return f"{value!r} is not an ISO-8601 duration or date"
    return None


def _check_task(ts, problems: dict, forms: set, ops: set, perms: set) -> None:
    name = ts.bpmn_id or ts.name

    def bad(message: str) -> None:
        problems.setdefault(name, []).append(message)

    def compiles(source: str | None, mode: scripting.Mode, what: str) -> None:
        if source:
            try:
                scripting.check_source(source, mode)
            except ScriptRefused as exc:
                bad(f"{what}: {exc.message}")

    props = (getattr(ts, "extensions", None) or {}).get("properties", {})
    lane = (ts.lane or "").strip().lower()
    if lane and lane not in LANES:
        bad(f"lane {ts.lane!r} is not an audience ({', '.join(LANES)})")
    role = props.get("role")
    if role and not isinstance(ts, UserTask):
        bad(f"role {role!r}: only a user task has a role")
    elif role and role not in roles.ROLES:
        bad(f"role {role!r} is not a task role (known: {', '.join(sorted(roles.ROLES))})")
    elif role:
        for needed in roles.NEEDS.get(role, ()):
            if not props.get(needed):
                bad(f"role {role!r} needs the property {needed}")
        if role == "revision" and not (props.get("formKey") or props.get("formKeyExpression")):
            bad("role 'revision' needs the form revised (formKey or formKeyExpression)")
    if isinstance(ts, UserTask):
        key = props.get("formKey")
        if key:
            forms.add(key)
            if not form_exists(key):
                bad(f"formKey {key!r} is not a published form")
        perm = props.get("permission")
        if perm and perm not in PERMISSIONS:
            bad(f"permission {perm!r} is not a permission code")
        if lane in LANE_PERMISSION:
            perms.add(LANE_PERMISSION[lane])
        elif perm:
            perms.add(perm)
        compiles(props.get("portalAccount"), "eval", "portalAccount")
        compiles(props.get("assignee"), "eval", "assignee")
        compiles(props.get("portalAccount"), "eval", "portalAccount")
        compiles(props.get("formKeyExpression"), "eval", "formKeyExpression")
        compiles(props.get("due"), "eval", "due")
        compiles(props.get("submittedForms"), "eval", "submittedForms")
        compiles(props.get("note"), "eval", "note")
    if isinstance(ts, OutboxServiceTask):
        ops.add(ts.operation_name)
        if not operations.known(ts.operation_name):
            bad(f"operation {ts.operation_name!r} is unknown (known: {', '.join(operations.names())})")
        for param, spec in ts.operation_params.items():
            compiles(spec.get("value"), "eval", f"parameter {param}")
    compiles(getattr(ts, "script", None), "exec", "script")
    compiles(getattr(ts, "prescript", None), "exec", "pre-script")
    compiles(getattr(ts, "postscript", None), "exec", "post-script")
    if isinstance(ts, ExclusiveChoice | MultiChoice):
        for condition, _target in ts.cond_task_specs:
            compiles(condition.args[0] if getattr(condition, "args", None) else None, "eval", "condition")
    event = getattr(ts, "event_definition", None)
    if isinstance(event, TimerEventDefinition):
        problem = _check_timer(event.expression)
        if problem:
            bad(f"timer: {problem}")


def validate(spec, subprocess_specs: dict) -> tuple[set, set, set]:
    """Check every task of the process and of what it calls. Raises DeployRejected.

    Returns the form keys, operations and permission codes (task audiences) it uses.
    """
    problems: dict[str, list[str]] = {}
    forms: set[str] = set()
    ops: set[str] = set()
    perms: set[str] = set()
    for process in [spec, *[s for s in subprocess_specs.values() if s is not None]]:
        for ts in process.task_specs.values():
            _check_task(ts, problems, forms, ops, perms)
    declared = roles.used(spec, subprocess_specs)
    for role in roles.REQUIRED.get(spec.name, ()):
        if role not in declared:
            problems.setdefault(spec.name, []).append(
                f"no user task has the role {role!r} ({roles.ROLES[role]}); the product's pages need one"
            )
    if problems:
        raise DeployRejected("the BPMN cannot be deployed", details=problems)
    return forms, ops, perms


def deploy(actor: Actor, bpmn_xml: str | bytes, *, extra: dict[str, bytes] | None = None) -> list[dict]:
    """Deploy every executable process in `bpmn_xml`. Identical content is not a new version.

    Returns [{"process_id", "number", "created"}]. Raises DeployRejected (422 with details).
    """
    xml = bpmn_xml.encode() if isinstance(bpmn_xml, str) else bpmn_xml
    parser, own_ids = _resolve(xml, extra or {})
    results = []
    for pid in own_ids:
        try:
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        except ValidationException as exc:
            raise DeployRejected("the BPMN is invalid", details={pid: [str(exc).splitlines()[0]]}) from exc
        forms, ops, perms = validate(spec, subs)
        spec_json = json.dumps(dump_specs(spec, subs), separators=(",", ":"), sort_keys=True)
        results.append(_store(actor, pid, spec, xml.decode(), spec_json, subs, forms, ops, perms))
    return results


def _store(actor, pid, spec, xml, spec_json, subs, forms, ops, perms) -> dict:
    digest = hashlib.sha256(xml.encode() + b"\0" + spec_json.encode()).hexdigest()
    definition = ProcessDefinition.objects(process_id=pid).first()
    if definition is None:
        ProcessDefinition.objects(process_id=pid).update_one(
            upsert=True,
            set_on_insert__created_at=utcnow(),
            set_on_insert__latest_version=0,
            set__name=spec.description or pid,
        )
        definition = ProcessDefinition.objects(process_id=pid).first()
    if definition.latest_version_id:
        latest = ProcessVersion.objects(id=definition.latest_version_id).only("sha256", "number").first()
        if latest is not None and latest.sha256 == digest:
            return {"process_id": pid, "number": latest.number, "created": False}
    number = definition.latest_version + 1
    version = ProcessVersion(
        process_id=pid,
        number=number,
        bpmn_xml=xml,
        sha256=digest,
        spec_json=spec_json,
        serializer_version=SERIALIZER_VERSION,
        calls=sorted(subs),
        form_keys=sorted(forms),
        operations=sorted(ops),
        permissions=sorted(perms),
        declares_roles=True,
        deployed_by=actor.id,
    )
    try:
        version.save()  # the unique (process_id, number) index decides two simultaneous deploys
    except NotUniqueError:
        raise Conflict(f"{pid} was deployed by someone else at the same time; deploy again") from None
    ProcessDefinition.objects(process_id=pid, latest_version__lt=number).update_one(
        set__latest_version=number,
        set__latest_version_id=version.id,
        set__updated_at=utcnow(),
        set__name=spec.description or pid,
    )
    return {"process_id": pid, "number": number, "created": True}


def deploy_shipped(actor: Actor | None = None, directory: Path | None = None) -> list[dict]:
    """Deploy every workflows/bpmn/*.bpmn (first start, and after upgrades: unchanged files are no-ops)."""
    folder = directory or SHIPPED_DIR
    files = sorted(folder.glob("*.bpmn")) if folder.is_dir() else []
    by_process: dict[str, bytes] = {}
    for path in files:
        xml = path.read_bytes()
        for pid in _parse([xml]).get_process_ids():
            by_process[pid] = xml
    results = []
    for path in files:
        results.extend(deploy(actor or SYSTEM, path.read_bytes(), extra=by_process))
    return results
