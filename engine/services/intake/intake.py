"""The intake lifecycle's use cases: invite (starts `client_intake`), send one form, resend missed forms.

Staff need `portal.invite` for each of them. The workflow's task data is
built here from the Organization's portal settings (packet, reminder cadence
and maximum, age of majority, guardian rule and timeout), so the BPMN never
hard-codes them. Mails go out from the workflow's operations
(engine.services.intake.intake_operations).
"""

from __future__ import annotations

from datetime import date, timedelta

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from engine import events, persistence
from engine.authz import Actor, get_client_for
from engine.errors import Conflict, PorticoError, ValidationFailed
from engine.models import utcnow
from engine.models.clients import Client
from engine.models.forms import FormDefinition
from engine.models.invitations import IntakeReminder, IntakeStart
from engine.models.organization import Organization
from engine.models.workflow import ProcessInstance
from engine.services._fields import Problems
from engine.services.inbox import tasks
from engine.services.intake.intake_queries import latest_submission, outstanding
from engine.services.integrations import webhooks
from engine.services.platform import audit
from engine.services.portal import invitations
from engine.services.practice.settings import check_intake_packet
from engine.services.processes import processes

INVITE = "portal.invite"
PROCESS = "client_intake"
# A client's intake start (IntakeStart) left by a request that died before finishing it stops blocking
# invitations once no request could still be starting with it: longer than a web worker may live on one
# request (gunicorn --timeout 60, engine/cli.py), as for abandoned seals (engine.services.inbox.tasks).
ABANDONED_START_AFTER = timedelta(minutes=2)


def _packet(org: Organization, packet) -> list[str]:
    keys = list(org.portal.intake_packet) if packet is None else packet
    problems = Problems()
    check_intake_packet(keys, problems)
    if not keys:
        problems.add("packet", "choose at least one form (the practice has no default packet)")
    if problems.details:
        raise ValidationFailed(
            "the packet is invalid", details={"packet": [m for ms in problems.details.values() for m in ms]}
        )
    return keys


def start_data(
    client: Client,
    packet: list[str],
    *,
    org: Organization | None = None,
    purpose: str = "intake",
    collect_payment: bool = False,
    invoice_id: str = "",
    payment_method: str = "",
) -> dict:
    """Task data a `client_intake` instance starts with, read from the organization's settings."""
    org = org or Organization.get()
    portal = org.portal
    minor = client.is_minor(portal.age_of_majority, date.today())
    approvers = [""]  # "any": one task any guardian may complete
    if minor and portal.guardian_approval_rule == "every":
        approvers = [str(a.id) for a in invitations.guardian_accounts(client)] or [""]
    # R0 would fire at once; a practice with no reminders gets one a century from now.
    cycle = f"R{portal.reminder_max}/{portal.reminder_cadence}" if portal.reminder_max else "R1/P100Y"
    return {
        "packet": list(packet),
        "purpose": purpose,
        "reminder_cycle": cycle,
        "reminder_max": portal.reminder_max,
        "is_minor": minor,
        "guardian_rule": portal.guardian_approval_rule,
        "guardian_approvers": approvers,
        "guardian_timeout": portal.guardian_approval_timeout,
        "collect_payment": bool(collect_payment and invoice_id),
        "invoice_id": invoice_id or "",
        "payment_method": payment_method or "",
        "closed_requests": {},
    }


def _start(actor: Actor, client: Client, packet: list[str], *, purpose: str, **payment) -> dict:
    org = Organization.get()
    if not org.portal.enabled:
        raise Conflict("the client portal is turned off in the portal settings")
    minor = client.is_minor(org.portal.age_of_majority, date.today())
    if not invitations.ensure_accounts(client, minor=minor):
        raise ValidationFailed(
            "nobody can receive the invitation",
            details={"email": ["the client (or, for a minor, a guardian) needs an e-mail address"]},
        )
    data = start_data(client, packet, org=org, purpose=purpose, **payment)
    iid = processes.start_process(
        PROCESS, client_id=client.id, data=data, started_by=f"{actor.kind}:{actor.id}"
    )
    doc = persistence.collection(ProcessInstance).find_one(
        {"_id": ObjectId(iid)}, {"state_json": 0, "history": 0}
    )
    return processes.instance_shape(doc)


def invite(
    actor: Actor,
    client_id,
    *,
    packet: list[str] | None = None,
    collect_payment: bool = False,
    invoice_id: str = "",
    payment_method: str = "",
) -> dict:
    """Invite a client to the portal with the default packet or `packet`; starts `client_intake`.

    Raises Forbidden, NotFound, ValidationFailed (packet, email), Conflict (portal off, intake running).
    """
    client = get_client_for(actor, client_id, need=INVITE)
    keys = _packet(Organization.get(), packet)
    # The default packet once per running intake: the check and the start are one client's at a time,
    # else two invitations at once both find no intake running and start two (and mail two links).
    holder = _hold_start(client.id) if packet is None else None
    try:
        running = ProcessInstance.objects(client_id=client.id, process_id=PROCESS, status="running").count()
        if running and packet is None:
            raise Conflict("this client's intake is already under way; resend the missed forms instead")
        shape = _start(
            actor,
            client,
            keys,
            purpose="intake",
            collect_payment=collect_payment,
            invoice_id=invoice_id,
            payment_method=payment_method,
        )
    finally:
        if holder is not None:
            persistence.collection(IntakeStart).delete_one({"client": client.id, "holder": holder})
    audit.record(
        actor,
        "client_invited",
        client=client,
        object_type="process_instance",
        object_id=shape["id"],
        details={"packet": keys},
    )
    return shape


def _hold_start(client_id) -> str:
    """Hold the client's intake start for this request (IntakeStart); returns the holder id to release it
    with. Raises Conflict (invite_in_progress: another invitation of this client is being started)."""
    holder, now = str(ObjectId()), utcnow()
    coll = persistence.collection(IntakeStart)
    try:
        coll.insert_one({"client": client_id, "holder": holder, "started_at": now})
        return holder
    except DuplicateKeyError:
        pass
    if coll.update_one(
        {"client": client_id, "started_at": {"$lt": now - ABANDONED_START_AFTER}},
        {"$set": {"holder": holder, "started_at": now}},
    ).modified_count:
        return holder  # left by a request that died mid-start
    raise Conflict(
        "this client's invitation is being sent right now; reload in a moment to see the intake",
        code="invite_in_progress",
    )


def send_form(actor: Actor, client_id, form_key: str) -> dict:
    """Send one form to a client (it is acknowledged and filed like a packet). Raises as `invite`."""
    client = get_client_for(actor, client_id, need=INVITE)
    if not isinstance(form_key, str) or not form_key:
        raise ValidationFailed("which form?", details={"form_key": ["required"]})
    try:
        keys = _packet(Organization.get(), [form_key])
    except ValidationFailed as exc:
        raise ValidationFailed(
            "this form cannot be sent", details={"form_key": exc.details["packet"]}
        ) from None
    shape = start_request(actor, client, keys[0])
    audit.record(
        actor,
        "client_form_requested",
        client=client,
        object_type="process_instance",
        object_id=shape["id"],
        details={"form": form_key},
    )
    return shape


def start_request(actor: Actor, client: Client, form_key: str) -> dict:
    """Start a `client_intake` asking the client for one form the caller has checked (an intake form, or a
    dynamic form: engine.services.intake.dynamic_forms). Raises Conflict (portal off), ValidationFailed (email)."""
    return _start(actor, client, [form_key], purpose="form_request")


def invite_choices() -> list[dict]:
    """Every published intake form for the invite dialog: the packet's forms first, in its order and
    ticked, then the others by title. [{"key", "title", "in_packet"}]"""
    packet = list(Organization.get().portal.intake_packet)
    found = FormDefinition.objects(kind="intake", archived=False, latest_version__gt=0).only("key", "title")
    titles = {f.key: f.title for f in found}
    first = [{"key": k, "title": titles[k], "in_packet": True} for k in packet if k in titles]
    rest = sorted(
        ({"key": k, "title": t, "in_packet": False} for k, t in titles.items() if k not in packet),
        key=lambda f: f["title"].lower(),
    )
    return first + rest


def resend_missed(actor: Actor, client_id) -> dict:
    """Remind the client (and whoever fills in forms for them) of the forms still open: starts a
    `resend_forms` instance per intake waiting for forms, whose mail a worker sends. Each counts toward
    the intake's reminder limit, like the timer's reminders; an intake at its limit is left out.

    Raises Forbidden, NotFound, Conflict (nothing outstanding, or every intake at its limit).
    Returns {"forms": [...], "instances": [resend_forms instance ids]}.
    """
    client = get_client_for(actor, client_id, need=INVITE)
    forms = outstanding(client.id)
    intakes = {f["instance_id"] for f in forms}
    running = {
        str(d["_id"])
        for d in persistence.collection(ProcessInstance).find(
            {"_id": {"$in": [ObjectId(i) for i in intakes]}, "process_id": PROCESS, "status": "running"},
            {"_id": 1},
        )
    }
    limit = Organization.get().portal.reminder_max
    due = sorted(
        i for i in running if not limit or IntakeReminder.objects(instance_id=ObjectId(i)).count() < limit
    )
    if not running:
        raise Conflict("no intake of this client is waiting for forms")
    if not due:
        raise Conflict(
            f"the reminder limit is reached: {limit} reminder{'s' if limit != 1 else ''} went out "
            "for each intake; staff have a follow-up task"
        )
    started = [
        processes.start_process(
            "resend_forms",
            client_id=client.id,
            started_by=f"{actor.kind}:{actor.id}",
            data={"reminder_max": limit, "intake_id": iid},
        )
        for iid in due
    ]
    shown = [f for f in forms if f["instance_id"] in due]
    audit.record(
        actor,
        "client_forms_resent",
        client=client,
        object_type="client",
        object_id=client.id,
        details={"forms": [f["form_key"] for f in shown], "instances": started},
    )
    return {"forms": shown, "instances": started}


MAX_ACKNOWLEDGED_AT_ONCE = 100


def acknowledge_forms(actor: Actor, task_ids: list) -> dict:
    """Acknowledge several submitted forms at once (the inbox's "Acknowledge selected"): each task
    is completed on its own, so one that someone else just decided does not stop the others.

    Returns {"acknowledged": [task titles], "refused": [(task title or "A task", reason)]}.
    Raises ValidationFailed (nothing chosen, or more than MAX_ACKNOWLEDGED_AT_ONCE).
    """
    ids = list(dict.fromkeys(str(t) for t in task_ids or []))
    if not ids:
        raise ValidationFailed("Choose the forms to acknowledge.")
    if len(ids) > MAX_ACKNOWLEDGED_AT_ONCE:
        raise ValidationFailed(f"Acknowledge at most {MAX_ACKNOWLEDGED_AT_ONCE} forms at once.")
    done, refused = [], []
    for task_id in ids:
        title = "A task"
        try:
            row = tasks.get_task_for(actor, task_id)
            title = tasks.titles([tasks.shape(row, forms={})])[str(row["_id"])]
            if row.get("role") != "acknowledgement":
                raise ValidationFailed("it is not a form waiting for acknowledgement")
            tasks.complete(actor, task_id, {"decision": "acknowledge"})
            done.append(title)
        except PorticoError as exc:
            refused.append((title, exc.message))
    return {"acknowledged": done, "refused": refused}


def intake_completed(doc: dict) -> None:
    """After the save that completed an instance: an intake's completion is an integration event
    (engine.wiring makes it a listener of engine.workflow.runtime)."""
    if doc.get("process_id") == PROCESS:
        webhooks.emit(
            "intake.completed",
            key=str(doc["_id"]),
            client_id=doc.get("client_id"),
            process_instance_id=doc["_id"],
        )


def task_completed(event: events.TaskCompleted) -> None:
    """The subscriber to engine.events.TaskCompleted (engine.wiring subscribes it)."""
    reviewed(event.row, event.answers)


def reviewed(row: dict, answers: dict) -> None:
    """After staff completed a task: an acknowledgement's decision is an integration event
    (form.acknowledged or form.returned, with the reviewed submission's id)."""
    decision = answers.get("decision")
    if row.get("role") != "acknowledgement" or decision not in ("acknowledge", "return"):
        return
    form_key = next(iter(row.get("submitted_forms") or []), None)
    sub = latest_submission(row["instance_id"], form_key) if form_key else None
    webhooks.emit(
        "form.acknowledged" if decision == "acknowledge" else "form.returned",
        key=str(row["_id"]),
        client_id=row.get("client_id"),
        submission_id=sub.id if sub else None,
        task_id=row["_id"],
        process_instance_id=row["instance_id"],
    )
