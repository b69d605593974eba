"""What the staff home shows: what needs me today (my tasks by kind, unread messages, booking requests,
intakes waiting) and the intake funnel (invited → started → submitted → acknowledged → filed) for the
practice and per therapist. Reads only, computed from the live rows; the clients counted are the ones
the actor may see (all with clients.view_all, else those assigned to them).
"""

from __future__ import annotations

from engine import persistence
from engine.authz import Actor, get_client_for
from engine.errors import Forbidden, NotAuthenticated
from engine.models.accounts import StaffMember
from engine.models.clients import Client
from engine.models.scheduling import Appointment
from engine.models.workflow import ProcessInstance, Task
from engine.services.access.form_requests import PORTAL_LANES, outstanding
from engine.services.inbox import tasks
from engine.services.intake.intake import PROCESS
from engine.services.messaging import messaging

# Each stage counts the intakes that reached it (an intake that got further counts in the earlier ones
# too), so the bars only get shorter from left to right and show where clients stop.
STAGES = (
    ("invited", "Invited"),
    ("started", "Started"),
    ("submitted", "Submitted"),
    ("acknowledged", "Acknowledged"),
    ("filed", "Filed"),
)
# One intake's stage in words, for the client's page.
STAGE_STATES = {
    "invited": "Invited, no form started yet",
    "started": "Filling in forms",
    "submitted": "Every form submitted, waiting for review",
    "acknowledged": "Reviewed, being filed",
    "filed": "Done: reviewed and filed",
}
TASK_KINDS = (("review", "Forms to review"), ("follow_up", "Follow-ups"), ("other", "Other tasks"))
# The open tasks looked at for the counts; a home page with more than this says "100 or more".
TASK_LIMIT = 100


def _require_staff(actor: Actor) -> None:
    if actor.kind == "anonymous":
        raise NotAuthenticated()
    if not actor.is_staff:
        raise Forbidden("staff only")


def _visible_clients(actor: Actor) -> dict | None:
    """{"assigned_staff": …} filter of the clients the actor may see, or None for all of them."""
    if actor.is_staff and "clients.view_all" not in actor.permissions:
        return {"assigned_staff": actor.login.id}
    return None


def _stage(instance: dict, open_rows: list[dict], done_rows: list[dict]) -> int:
    """How far one intake got: the index of its furthest stage in STAGES."""
    if instance.get("status") == "completed":
        return 4
    portal_done = any(r.get("lane") in PORTAL_LANES for r in done_rows)
    portal_open = any(r.get("lane") in PORTAL_LANES for r in open_rows)
    if not portal_done:
        return 0
    if portal_open:
        return 1
    reviews_open = any(r.get("role") == "acknowledgement" for r in open_rows)
    reviewed = any(r.get("role") == "acknowledgement" for r in done_rows)
    return 3 if reviewed and not reviews_open else 2


def intake_stages(actor: Actor) -> list[dict]:
    """Each intake the actor may see (cancelled ones left out) with its client and furthest stage:
    [{"instance_id", "client_id", "stage", "created_at"}], stage an index into STAGES."""
    _require_staff(actor)
    query: dict = {"process_id": PROCESS, "status": {"$in": ["running", "completed"]}}
    scope = _visible_clients(actor)
    if scope is not None:
        query["client_id"] = {
            "$in": [c["_id"] for c in persistence.collection(Client).find(scope, {"_id": 1})]
        }
    return _stages_of(query)


def client_intakes(actor: Actor, client_id) -> dict:
    """One client's intakes, newest first, each with its stage in words, and the forms still to fill in:
    {"intakes": [{"started", "stage", "label"}], "outstanding": [{"title", …}]} ("label" from STAGE_STATES).

    Raises NotAuthenticated, NotFound (client not visible)."""
    client = get_client_for(actor, client_id)
    rows = _stages_of(
        {"process_id": PROCESS, "client_id": client.id, "status": {"$in": ["running", "completed"]}}
    )
    return {
        "intakes": [
            {
                "started": r["created_at"],
                "stage": STAGES[r["stage"]][0],
                "label": STAGE_STATES[STAGES[r["stage"]][0]],
            }
            for r in sorted(rows, key=lambda r: r["created_at"], reverse=True)
        ],
        "outstanding": outstanding(client.id),
    }


def _stages_of(query: dict) -> list[dict]:
    instances = list(
        persistence.collection(ProcessInstance).find(query, {"status": 1, "client_id": 1, "created_at": 1})
    )
    by_instance: dict = {i["_id"]: ([], []) for i in instances}
    if by_instance:
        rows = persistence.collection(Task).find(
            {"instance_id": {"$in": list(by_instance)}}, {"instance_id": 1, "lane": 1, "role": 1, "status": 1}
        )
        for row in rows:
            opened, done = by_instance[row["instance_id"]]
            (opened if row["status"] == "open" else done if row["status"] == "completed" else []).append(row)
    return [
        {
            "instance_id": i["_id"],
            "client_id": i.get("client_id"),
            "created_at": i.get("created_at"),
            "stage": _stage(i, *by_instance[i["_id"]]),
        }
        for i in instances
    ]


def _bars(stages: list[int]) -> list[dict]:
    total = len(stages)
    return [
        {
            "key": key,
            "label": label,
            "count": sum(1 for s in stages if s >= n),
            "percent": round(100 * sum(1 for s in stages if s >= n) / total) if total else 0,
        }
        for n, (key, label) in enumerate(STAGES)
    ]


def intake_funnel(actor: Actor) -> dict:
    """The funnel for the practice and for each therapist with assigned clients in it:
    {"practice": [{key, label, count, percent}], "therapists": [{"name", "stages": [...]}]}.

    percent is of the intakes invited in the same funnel. Raises NotAuthenticated, Forbidden."""
    rows = intake_stages(actor)
    client_ids = {r["client_id"] for r in rows if r["client_id"]}
    staff_of = (
        {
            c["_id"]: c.get("assigned_staff") or []
            for c in persistence.collection(Client).find(
                {"_id": {"$in": list(client_ids)}}, {"assigned_staff": 1}
            )
        }
        if client_ids
        else {}
    )
    per_staff: dict = {}
    for row in rows:
        for staff_id in staff_of.get(row["client_id"], []):
            per_staff.setdefault(staff_id, []).append(row["stage"])
    names = {m.id: m.display_name for m in StaffMember.objects(id__in=list(per_staff))}
    therapists = sorted(
        ({"name": names[sid], "stages": _bars(stages)} for sid, stages in per_staff.items() if sid in names),
        key=lambda t: t["name"],
    )
    return {"practice": _bars([r["stage"] for r in rows]), "therapists": therapists}


def _task_kind(item: dict) -> str:
    if item.get("role") == "acknowledgement":
        return "review"
    if (item.get("name") or "").lower().startswith("follow up"):
        return "follow_up"
    return "other"


def needs_me(actor: Actor) -> dict:
    """What needs the actor today, as counts: tasks by kind, unread message threads, booking requests
    (for their calendar, or every calendar with calendar.manage), intakes waiting for review and on
    the client. Raises NotAuthenticated, Forbidden."""
    _require_staff(actor)
    open_tasks = tasks.inbox(actor, per_page=TASK_LIMIT)
    kinds = {key: 0 for key, _ in TASK_KINDS}
    for item in open_tasks["items"]:
        kinds[_task_kind(item)] += 1
    requests = Appointment.objects(status="requested")
    if not (actor.is_staff and "calendar.manage" in actor.permissions):
        requests = requests(staff=actor.login.id)
    stages = [r["stage"] for r in intake_stages(actor)]
    return {
        "tasks": [{"key": key, "label": label, "count": kinds[key]} for key, label in TASK_KINDS],
        "tasks_more": open_tasks["has_more"],
        "unread_threads": len(messaging.unread_threads_for_staff(actor)),
        "booking_requests": requests.count(),
        "intakes_to_review": sum(1 for s in stages if s == 2),
        "intakes_with_client": sum(1 for s in stages if s < 2),
    }
