"""The intake lifecycle's use cases: invite (starts `client_intake`), send one form, resend missed forms.

Staff need `portal.invite` for each of them. The workflow's task data is
built here from the Organization's portal settings (packet, reminder cadence
and maximum, age of majority, guardian rule and timeout), so the BPMN never
hard-codes them. Mails go out from the workflow's operations
(engine.services.intake_operations).
"""

from __future__ import annotations

from datetime import date

from bson import ObjectId

from engine import persistence
from engine.authz import Actor, get_client_for
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.models.clients import Client
from engine.models.forms import Submission
from engine.models.organization import Organization
from engine.models.workflow import ProcessInstance, Task
from engine.services import audit, invitations, processes, webhooks
from engine.services._fields import Problems
from engine.services.settings import check_intake_packet
from engine.workflow import runtime

INVITE = "portal.invite"
PROCESS = "client_intake"
PORTAL_LANES = ("client", "guardian")


def _packet(org: Organization, packet) -> list[str]:
    keys = list(org.portal.intake_packet) if packet is None else packet
    problems = Problems()
    check_intake_packet(keys, problems)
    if not keys:
        problems.add("packet", "choose at least one form (the practice has no default packet)")
    if problems.details:
        raise ValidationFailed("the packet is invalid",
                               details={"packet": [m for ms in problems.details.values() for m in ms]})
    return keys


def start_data(client: Client, packet: list[str], *, org: Organization | None = None, purpose: str = "intake",
               collect_payment: bool = False, invoice_id: str = "", payment_method: str = "") -> dict:
    """Task data a `client_intake` instance starts with, read from the organization's settings."""
    org = org or Organization.get()
    portal = org.portal
    minor = client.is_minor(portal.age_of_majority, date.today())
    approvers = [""]  # "any": one task any guardian may complete
    if minor and portal.guardian_approval_rule == "every":
        approvers = [str(a.id) for a in invitations.guardian_accounts(client)] or [""]
    # R0 would fire at once; a practice with no reminders gets one a century from now.
    cycle = f"R{portal.reminder_max}/{portal.reminder_cadence}" if portal.reminder_max else "R1/P100Y"
    return {"packet": list(packet), "purpose": purpose, "reminder_cycle": cycle,
            "reminder_max": portal.reminder_max, "is_minor": minor, "guardian_rule": portal.guardian_approval_rule,
            "guardian_approvers": approvers, "guardian_timeout": portal.guardian_approval_timeout,
            "collect_payment": bool(collect_payment and invoice_id), "invoice_id": invoice_id or "",
            "payment_method": payment_method or ""}


def _start(actor: Actor, client: Client, packet: list[str], *, purpose: str, **payment) -> dict:
    org = Organization.get()
    if not org.portal.enabled:
        raise Conflict("the client portal is turned off in the portal settings")
    minor = client.is_minor(org.portal.age_of_majority, date.today())
    if not invitations.ensure_accounts(client, minor=minor):
        raise ValidationFailed("nobody can receive the invitation",
                               details={"email": ["the client (or, for a minor, a guardian) needs an e-mail address"]})
    data = start_data(client, packet, org=org, purpose=purpose, **payment)
    iid = processes.start_process(PROCESS, client_id=client.id, data=data, started_by=f"{actor.kind}:{actor.id}")
    doc = persistence.collection(ProcessInstance).find_one({"_id": ObjectId(iid)}, {"state_json": 0, "history": 0})
    return processes.instance_shape(doc)


def invite(actor: Actor, client_id, *, packet: list[str] | None = None, collect_payment: bool = False,
           invoice_id: str = "", payment_method: str = "") -> dict:
    """Invite a client to the portal with the default packet or `packet`; starts `client_intake`.

    Raises Forbidden, NotFound, ValidationFailed (packet, email), Conflict (portal off, intake running).
    """
    client = get_client_for(actor, client_id, need=INVITE)
    keys = _packet(Organization.get(), packet)
    running = ProcessInstance.objects(client_id=client.id, process_id=PROCESS, status="running").count()
    if running and packet is None:
        raise Conflict("this client's intake is already under way; resend the missed forms instead")
    shape = _start(actor, client, keys, purpose="intake", collect_payment=collect_payment,
                   invoice_id=invoice_id, payment_method=payment_method)
    audit.record(actor, "client_invited", client=client, object_type="process_instance", object_id=shape["id"],
                 details={"packet": keys})
    return shape


def send_form(actor: Actor, client_id, form_key: str) -> dict:
    """Send one form to a client (it is acknowledged and filed like a packet). Raises as `invite`."""
    client = get_client_for(actor, client_id, need=INVITE)
    if not isinstance(form_key, str) or not form_key:
        raise ValidationFailed("which form?", details={"form_key": ["required"]})
    try:
        keys = _packet(Organization.get(), [form_key])
    except ValidationFailed as exc:
        raise ValidationFailed("this form cannot be sent", details={"form_key": exc.details["packet"]}) from None
    shape = _start(actor, client, keys, purpose="form_request")
    audit.record(actor, "client_form_requested", client=client, object_type="process_instance",
                 object_id=shape["id"], details={"form": form_key})
    return shape


def outstanding(client_id, *, instance_id=None) -> list[dict]:
    """Open portal form tasks of the client's intakes: [{"task_id", "form_key", "title", "instance_id"}]."""
    from engine.models.forms import FormDefinition

    query: dict = {"client_id": client_id, "status": "open", "lane": {"$in": list(PORTAL_LANES)},
                   "form_key": {"$ne": None}}
    if instance_id is not None:
        query["instance_id"] = instance_id
    rows = list(persistence.collection(Task).find(query).sort("created_at", 1))
    titles = {f.key: f.title for f in FormDefinition.objects(key__in=[r["form_key"] for r in rows]).only("key", "title")}
    return [{"task_id": str(r["_id"]), "form_key": r["form_key"], "title": titles.get(r["form_key"], r["form_key"]),
             "instance_id": str(r["instance_id"]), "lane": r["lane"]} for r in rows]


def resend_missed(actor: Actor, client_id) -> dict:
    """Mail the client (and whoever fills in forms for them) a reminder of the forms still open.

    Raises Forbidden, NotFound. Returns {"forms": [...], "recipients": n}.
    """
    from engine.services.intake_operations import mail_reminder

    client = get_client_for(actor, client_id, need=INVITE)
    forms = outstanding(client.id)
    sent = mail_reminder(client, [f["title"] for f in forms], key=f"resend:{client.id}:{_now_key()}") if forms else 0
    audit.record(actor, "client_forms_resent", client=client, object_type="client", object_id=client.id,
                 details={"forms": [f["form_key"] for f in forms], "recipients": sent})
    return {"forms": forms, "recipients": sent}


def _now_key() -> str:
    from engine.models import utcnow

    return utcnow().strftime("%Y%m%dT%H%M%S%f")


def latest_submission(instance_id, form_key: str | None) -> Submission | None:
    """The newest sealed submission of `form_key` made through a task of this instance.

    None looks among the instance's tasks that have no form key."""
    rows = persistence.collection(Task).find({"instance_id": instance_id, "form_key": form_key, "status": "completed",
                                        "lane": {"$in": list(PORTAL_LANES)}}, {"_id": 1}).sort("completed_at", -1)
    for row in rows:
        sub = Submission.objects(seal_key=f"task:{row['_id']}").first()  # the task's one sealed submission
        if sub is not None:
            return sub
    return None


def review_context(actor: Actor, task_id) -> dict:
    """What a staff acknowledgement task shows: the form under review and the client's submission.

    Raises NotFound (task not visible, or not an acknowledgement task).
    """
    from engine.services import submissions, tasks

    row = tasks.get_task_for(actor, task_id)
    if row.get("role") != "acknowledgement" or row.get("status") != "open":
        raise NotFound("no such acknowledgement task")
    form_key = next(iter(row.get("submitted_forms") or []), None)
    sub = latest_submission(row["instance_id"], form_key) if form_key else None
    if not form_key or sub is None:
        raise NotFound("no submission to review")
    from engine.services.forms import get_form

    return {"task": tasks.shape(row), "form_key": form_key, "title": get_form(form_key).title,
            "submission": submissions.readable_submission(actor, sub.id)}


MAX_ACKNOWLEDGED_AT_ONCE = 100


def acknowledge_forms(actor: Actor, task_ids: list) -> dict:
    """Acknowledge several submitted forms at once (the inbox's "Acknowledge selected"): each task
    is completed on its own, so one that someone else just decided does not stop the others.

    Returns {"acknowledged": [task titles], "refused": [(task title or "A task", reason)]}.
    Raises ValidationFailed (nothing chosen, or more than MAX_ACKNOWLEDGED_AT_ONCE).
    """
    from engine.errors import PorticoError
    from engine.services import tasks

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


def revision_context(row: dict) -> dict:
    """For a returned form's task: staff's comment and the earlier answers to start from (signatures and
    files left out: the client signs again). Empty for other tasks."""
    if row.get("role") != "revision" or row.get("status") != "open":
        return {}
    earlier = latest_submission(row["instance_id"], row.get("form_key"))
    answers = {k: v for k, v in (earlier.answers if earlier else {}).items() if _reusable(v)}
    return {"comment": row.get("note") or "", "answers": answers}


def _reusable(value) -> bool:
    """An earlier answer that may prefill a revision: not a signature or an uploaded file."""
    if isinstance(value, str):
        return not value.startswith("portico-file:")
    if isinstance(value, list):
        return not any(isinstance(item, dict) and "content" in item for item in value)
    return True


def approval_context(actor: Actor, row: dict) -> list[dict]:
    """For a guardian's approval task: the minor's submitted packet forms to review (each audited as
    viewed). Empty for other tasks. Raises NotFound when the actor may not read them."""
    from engine.services import submissions
    from engine.services.forms import get_form

    if row.get("role") != "approval" or row.get("status") != "open":
        return []
    shown = []
    for form_key in row.get("submitted_forms") or []:
        sub = latest_submission(row["instance_id"], form_key)
        if sub is not None:
            shown.append({**submissions.readable_submission(actor, sub.id), "title": get_form(form_key).title})
    return shown


def _intake_completed(doc: dict) -> None:
    """After the save that completed an instance: an intake's completion is an integration event."""
    if doc.get("process_id") == PROCESS:
        webhooks.emit("intake.completed", key=str(doc["_id"]), client_id=doc.get("client_id"),
                      process_instance_id=doc["_id"])


runtime.COMPLETION_LISTENERS.append(_intake_completed)


def reviewed(row: dict, answers: dict) -> None:
    """After staff completed a task: an acknowledgement's decision is an integration event
    (form.acknowledged or form.returned, with the reviewed submission's id)."""
    decision = answers.get("decision")
    if row.get("role") != "acknowledgement" or decision not in ("acknowledge", "return"):
        return
    form_key = next(iter(row.get("submitted_forms") or []), None)
    sub = latest_submission(row["instance_id"], form_key) if form_key else None
    webhooks.emit("form.acknowledged" if decision == "acknowledge" else "form.returned", key=str(row["_id"]),
                  client_id=row.get("client_id"), submission_id=sub.id if sub else None, task_id=row["_id"],
                  process_instance_id=row["instance_id"])

