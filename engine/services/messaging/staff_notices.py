"""Staff are told about new work: a task for them, a client's message, a booking request.

Each member chooses (StaffPreferences) whether tasks and messages are worth a mail at all, and
whether each comes right away (`notify_digest` "none") or gathered in one mail a day or a week.
The mail says only how much is waiting ("You have 2 new tasks and 1 new message") and where: never a
form's name, an answer or a message's text, because mail leaves our control.

Messages and booking requests are noticed where they happen (engine.services.messaging.messaging,
engine.services.appointments.scheduling). New workflow tasks are noticed by a worker's sweep over the task rows
(`notice_new_tasks`): the rows are written inside the workflow's transactions, and a sweep sees only
what was committed, without the workflow layer knowing about mail. Digests are sent by the same
sweep (`send_digests`), one per member per day (or week) under an idempotency key naming the member
and the day, so several workers sweeping at once send one.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bson import ObjectId
from mongoengine.errors import NotUniqueError

from engine import authz
from engine.models import utcnow
from engine.models.accounts import StaffMember
from engine.models.clients import Client
from engine.models.organization import Organization
from engine.models.staff_notices import StaffNotice
from engine.models.workflow import Task
from engine.services.messaging import notices
from engine.services.practice.settings import org_zone

# Tasks created this long ago or less are looked at by the sweep (a worker down for longer than
# this leaves older tasks unannounced; they are in the inbox all the same).
LOOKBACK = timedelta(days=2)
_WORDS = {
    "task": ("new task", "new tasks"),
    "message": ("new message", "new messages"),
    "booking": ("booking request", "booking requests"),
}
_PATHS = {"task": "/staff/inbox", "message": "/staff/clients", "booking": "/staff/appointments"}


def _wants(member: StaffMember, kind: str) -> bool:
    prefs = member.preferences
    if prefs is None:
        return True
    return {"task": prefs.notify_new_task, "message": prefs.notify_new_message}.get(kind, True)


def _digest(member: StaffMember) -> str:
    return (member.preferences.notify_digest if member.preferences else "") or "daily"


def summary(counts: Counter) -> str:
    """ "2 new tasks and 1 new message" (kinds in a fixed order, zero counts left out)."""
    parts = [f"{counts[k]} {_WORDS[k][counts[k] != 1]}" for k in ("task", "message", "booking") if counts[k]]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def tell(member: StaffMember | None, kind: str, key: str, *, path: str = "") -> bool:
    """Note new work of `kind` for `member` under `key` (once per key); mail it now when they want
    each one right away, else leave it for their digest. Returns whether it was new."""
    if member is None or member.disabled or not _wants(member, kind):
        return False
    try:
        notice = StaffNotice(key=key, staff=member.id, kind=kind).save(force_insert=True)
    except NotUniqueError:
        return False
    if _digest(member) == "none":
        notices.notify(
            member,
            headline=f"You have a {_WORDS[kind][0]}",
            path=path or _PATHS[kind],
            key=f"staff-notice:{key}",
            sentence=f"You have 1 {_WORDS[kind][0]} in Portico.",
        )
        StaffNotice.objects(id=notice.id).update_one(set__mailed_at=utcnow())
    return True


def _members_for(row: Task, org: Organization) -> list[StaffMember]:
    """The active staff a task row is addressed to (none for a client's or guardian's task)."""
    audience = row.audience or ""
    if audience.startswith("staff:"):
        staff_id = audience.removeprefix("staff:")
        return (
            list(StaffMember.objects(id=ObjectId(staff_id), disabled=False))
            if ObjectId.is_valid(staff_id)
            else []
        )
    if audience.startswith("perm:"):
        code = audience[5:]
        return [
            m
            for m in StaffMember.objects(disabled=False)
            if code in authz.effective_permissions(m.roles, m.permissions, org.default_permissions)
        ]
    if audience == "staff" and row.client_id is not None:
        client = Client.objects(id=row.client_id).only("assigned_staff").first()
        if client is not None and client.assigned_staff:
            return list(StaffMember.objects(id__in=client.assigned_staff, disabled=False))
    return []


def notice_new_tasks(*, now: datetime | None = None) -> int:
    """Tell staff about open task rows created lately; returns how many notices were new."""
    now = now or utcnow()
    org = Organization.get()
    told = 0
    rows = Task.objects(
        status="open", created_at__gte=now - LOOKBACK, audience__not__regex=r"^(client|guardian|account):"
    )
    for row in rows.only("audience", "client_id", "instance_id", "task_id"):
        for member in _members_for(row, org):
            told += tell(member, "task", f"task:{row.instance_id}:{row.task_id}:{member.id}")
    return told


def _period(member: StaffMember, now: datetime) -> str | None:
    """The digest's period label in the practice's zone ("2026-12-03" or "2026-W49"), or None."""
    local = now.astimezone(org_zone())
    digest = _digest(member)
    if digest == "daily":
        return local.date().isoformat()
    if digest == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return None


def send_digests(*, now: datetime | None = None) -> int:
    """One digest mail per member with unmailed notices, at most once per day (or week) each;
    returns how many digests were recorded."""
    now = now or utcnow()
    sent = 0
    for staff_id in StaffNotice.objects(mailed_at=None).distinct("staff"):
        member = StaffMember.objects(id=staff_id).first()
        pending = list(StaffNotice.objects(staff=staff_id, mailed_at=None).only("id", "kind"))
        if member is None or member.disabled:
            StaffNotice.objects(id__in=[n.id for n in pending]).update(set__mailed_at=now)
            continue
        period = _period(member, now)
        if period is None:  # switched to "right away" meanwhile: nothing gathered is mailed twice
            continue
        key = f"staff-digest:{member.id}:{period}"
        if notices.already_queued(key):
            continue  # this period's digest went out; the rest waits for the next one
        what = summary(Counter(n.kind for n in pending))
        notices.notify(
            member,
            headline="New work is waiting for you",
            path="/staff",
            key=key,
            sentence=f"You have {what} in Portico.",
        )
        StaffNotice.objects(id__in=[n.id for n in pending]).update(set__mailed_at=now)
        sent += 1
    return sent


def sweep() -> int:
    """The workers' sweep: notice new tasks, then send the digests that are due."""
    return notice_new_tasks() + send_digests()
