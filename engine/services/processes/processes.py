"""Process definitions and instances: deploy, list, start, monitor, correlate messages, retry.

Deploying and monitoring need `workflows.manage`. Other areas start
processes and deliver messages through `start_process` and `correlate_message`
(they act as the system, after their own authorization).
"""

from __future__ import annotations

from engine import persistence
from engine.authz import Actor, get_client_for, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models.workflow import ProcessDefinition, ProcessInstance, ProcessVersion, Task
from engine.services.platform import audit
from engine.workflow import deploy as deploy_mod
from engine.workflow import outbox, runtime, store

MANAGE = "workflows.manage"
_INSTANCE_LIST_FIELDS = {"state_json": 0, "history": 0, "projected": 0}


def deploy_bpmn(actor: Actor, bpmn_xml: str) -> list[dict]:
    """Deploy BPMN text. Raises Forbidden, DeployRejected (422, problems by element id)."""
    actor.require(MANAGE)
    if not isinstance(bpmn_xml, str) or not bpmn_xml.strip():
        raise ValidationFailed("bpmn is required", details={"bpmn": ["required"]})
    results = deploy_mod.deploy(actor, bpmn_xml)
    for r in results:
        if r["created"]:
            audit.record(
                actor, "process_deployed", object_type="process", object_id=f"{r['process_id']}@{r['number']}"
            )
    return results


def definition_shape(d: ProcessDefinition) -> dict:
    return {
        "process_id": d.process_id,
        "name": d.name,
        "latest_version": d.latest_version,
        "updated_at": d.updated_at,
    }


def list_definitions(actor: Actor) -> list[dict]:
    actor.require(MANAGE)
    return [definition_shape(d) for d in ProcessDefinition.objects.order_by("process_id")]


def get_version(actor: Actor, process_id: str, number: int) -> dict:
    """One deployed version with its BPMN. Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    v = ProcessVersion.objects(process_id=process_id, number=number).exclude("spec_json").first()
    if v is None:
        raise NotFound("no such process version")
    return {
        "process_id": v.process_id,
        "number": v.number,
        "bpmn": v.bpmn_xml,
        "sha256": v.sha256,
        "calls": v.calls,
        "form_keys": v.form_keys,
        "operations": v.operations,
        "deployed_by": v.deployed_by,
        "deployed_at": v.deployed_at,
    }


def start_process(
    process_id: str, *, client_id=None, data: dict | None = None, started_by: str = "system"
) -> str:
    """Start the latest version of a process for the system or another service. Raises NotFound."""
    return str(runtime.start(process_id, client_id=client_id, data=data, started_by=started_by))


def start(actor: Actor, process_id: str, *, client_id=None, data: dict | None = None) -> dict:
    """Start any deployed process (admin API). Raises Forbidden, NotFound, ValidationFailed."""
    actor.require(MANAGE)
    if data is not None and not isinstance(data, dict):
        raise ValidationFailed("data must be an object", details={"data": ["must be an object"]})
    client = get_client_for(actor, client_id) if client_id else None
    iid = start_process(
        process_id, client_id=client.id if client else None, data=data, started_by=f"{actor.kind}:{actor.id}"
    )
    audit.record(
        actor,
        "process_instance_started",
        client=client,
        object_type="process_instance",
        object_id=iid,
        details={"process_id": process_id},
    )
    return get_instance(actor, iid)


_TASK_BRIEF_FIELDS = {"name": 1, "lane": 1, "status": 1, "form_key": 1, "due_at": 1, "client_id": 1}


def task_brief(row: dict) -> dict:
    """An open task of an instance as its detail lists it; the full task is GET /tasks/{id}."""
    return {
        "id": str(row["_id"]),
        "name": row["name"],
        "lane": row.get("lane") or "",
        "status": row["status"],
        "form_key": row.get("form_key"),
        "due_at": row.get("due_at"),
        "client_id": str(row["client_id"]) if row.get("client_id") else None,
    }


def instance_shape(doc: dict, *, detail: bool = False) -> dict:
    out = {
        "id": str(doc["_id"]),
        "process_id": doc["process_id"],
        "process_version": doc["process_version"],
        "client_id": str(doc["client_id"]) if doc.get("client_id") else None,
        "status": doc["status"],
        "version": doc["version"],
        "error": doc.get("error"),
        "waiting_messages": doc.get("waiting_messages", []),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "completed_at": doc.get("completed_at"),
    }
    if detail:
        out["history"] = doc.get("history", [])
        # The inbox rows' ids, the ones GET /tasks/{id} takes (not the engine's task UUIDs).
        rows = list(
            persistence.collection(Task)
            .find({"instance_id": doc["_id"], "status": "open"}, _TASK_BRIEF_FIELDS)
            .sort("created_at", 1)
        )
        out["open_tasks"] = [str(r["_id"]) for r in rows]
        out["tasks"] = [task_brief(r) for r in rows]
        out["lease_owner"] = doc.get("lease_owner")
    return out


def get_instance(actor: Actor, instance_id) -> dict:
    """An instance with its event history. Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    doc = store.instances().find_one({"_id": parse_id(instance_id)}, {"state_json": 0})
    if doc is None:
        raise NotFound("no such process instance")
    if doc.get("client_id"):
        get_client_for(actor, doc["client_id"])
        audit.record(
            actor,
            "process_instance_viewed",
            client=doc["client_id"],
            object_type="process_instance",
            object_id=doc["_id"],
        )
    return instance_shape(doc, detail=True)


def audit_list_read(actor: Actor, query: dict, *, page: int, shown: int) -> None:
    """Record that a page of instances (which name their clients) was read, with its filters."""
    filters = {k: str(v) for k, v in query.items() if k != "client_id"}
    audit.record(
        actor,
        "process_instance_list_viewed",
        client=query.get("client_id"),
        object_type="process_instance",
        details={**filters, "page": page, "shown": shown},
    )


def list_instances(
    actor: Actor, *, process_id=None, process_version=None, status=None, client_id=None, page=1, per_page=25
) -> dict:
    """Instances filtered by process, version, status and client, newest first (the API and the studio)."""
    actor.require(MANAGE)
    query: dict = {}
    if process_id:
        query["process_id"] = process_id
    if process_version:
        query["process_version"] = int(process_version)
    if status:
        query["status"] = status
    if client_id:
        query["client_id"] = get_client_for(actor, client_id).id
    page, per_page = max(1, int(page)), max(1, min(100, int(per_page)))
    rows = list(
        persistence.collection(ProcessInstance)
        .find(query, _INSTANCE_LIST_FIELDS)
        .sort("created_at", -1)
        .skip((page - 1) * per_page)
        .limit(per_page + 1)
    )
    audit_list_read(actor, query, page=page, shown=len(rows[:per_page]))
    return {
        "items": [instance_shape(r) for r in rows[:per_page]],
        "page": page,
        "per_page": per_page,
        "has_more": len(rows) > per_page,
    }


def _payload(payload) -> dict:
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ValidationFailed("payload must be an object", details={"payload": ["must be an object"]})
    return payload


def send_message(actor: Actor, instance_id, name: str, payload: dict | None = None) -> dict:
    """Deliver a message to one instance. Raises Forbidden, NotFound (nothing there waits for it)."""
    actor.require(MANAGE)
    doc = store.instances().find_one({"_id": parse_id(instance_id)}, {"client_id": 1})
    if doc is None:
        raise NotFound("no such process instance")
    if not runtime.deliver_message(doc["_id"], name, _payload(payload), by=f"{actor.kind}:{actor.id}"):
        raise NotFound(f"the instance is not waiting for message {name!r}")
    audit.record(
        actor,
        "process_message_sent",
        client=doc.get("client_id"),
        object_type="process_instance",
        object_id=doc["_id"],
        details={"message": name},
    )
    return get_instance(actor, doc["_id"])


def correlate_message(
    name: str, *, correlation: dict | None = None, payload: dict | None = None, by: str = "system"
) -> list[str]:
    """Deliver `name` to every instance waiting for it whose data matches `correlation`.

    `client_id` and `instance_id` match the instance itself; any other key must equal the
    waiting task's data value. Returns the instance ids reached (empty when none waits).
    """
    correlation = dict(correlation or {})
    query: dict = {"waiting_messages": name}
    if "client_id" in correlation:
        query["client_id"] = parse_id(correlation.pop("client_id"))
    if "instance_id" in correlation:
        query["_id"] = parse_id(correlation.pop("instance_id"))

    def match(data: dict) -> bool:
        return all(data.get(k) == v for k, v in correlation.items())

    reached = []
    for doc in store.instances().find(query, {"_id": 1}).limit(1000):
        if runtime.deliver_message(doc["_id"], name, _payload(payload), by=by, match=match):
            reached.append(str(doc["_id"]))
    return reached


def correlate(
    actor: Actor, name: str, *, correlation: dict | None = None, payload: dict | None = None
) -> dict:
    """API form of correlate_message. Raises Forbidden, NotFound (no instance waits for it)."""
    actor.require(MANAGE)
    if correlation is not None and not isinstance(correlation, dict):
        raise ValidationFailed(
            "correlation must be an object", details={"correlation": ["must be an object"]}
        )
    reached = correlate_message(
        name, correlation=correlation, payload=_payload(payload), by=f"{actor.kind}:{actor.id}"
    )
    if not reached:
        raise NotFound(f"no instance waits for message {name!r} with that correlation")
    audit.record(
        actor,
        "process_message_correlated",
        object_type="message",
        object_id=name,
        details={"instances": reached},
    )
    return {"message": name, "instances": reached}


def retry(actor: Actor, instance_id) -> dict:
    """Admin action on an errored instance: perform its failed operations again. Raises Forbidden, NotFound."""
    actor.require(MANAGE)
    doc = store.instances().find_one({"_id": parse_id(instance_id)}, {"client_id": 1})
    if doc is None:
        raise NotFound("no such process instance")
    count = outbox.retry(doc["_id"], by=f"{actor.kind}:{actor.id}")
    audit.record(
        actor,
        "process_instance_retried",
        client=doc.get("client_id"),
        object_type="process_instance",
        object_id=doc["_id"],
        details={"operations": count},
    )
    return dict(get_instance(actor, doc["_id"]), retried_operations=count)
