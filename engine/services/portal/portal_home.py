"""What the portal's home page tells a client or guardian at a glance: the forms still to do (as a
checklist with a "Continue" to the next one), the next appointment and the balance due, each only
when the profile's rights include it.

A query facade over tasks, appointments and billing: it decides nothing of its own.
"""

from __future__ import annotations

from engine.authz import Actor
from engine.models.organization import Organization
from engine.services.appointments import scheduling
from engine.services.billing import billing
from engine.services.inbox import tasks

# What a client reads for each step of the packet.
STATUS_WORDS = {
    "todo": "To do",
    "returned": "Returned: needs changes",
    "submitted": "Submitted, awaiting review",
}


def _packet_index(form_key: str | None) -> int:
    packet = Organization.get().portal.intake_packet or []
    return packet.index(form_key) if form_key in packet else len(packet)


def form_steps(actor: Actor, client_id: str) -> dict:
    """The profile's forms as steps in the packet's order: each open form (to do, or returned with
    the practice's comment) and each submitted one once (a returned and resubmitted form is one
    step, not two). {"steps": [...], "done": n, "total": n, "next_task_id": id or None}."""
    open_rows = tasks.inbox(actor, client_id=client_id, per_page=100)["items"]
    closed = tasks.inbox(actor, client_id=client_id, status="completed", per_page=100)["items"]
    titles = tasks.titles(open_rows + closed)
    steps: dict[str, dict] = {}
    for t in sorted(closed, key=lambda t: t.get("completed_at") or t.get("created_at")):
        if t.get("form_key") and t.get("lane") != "guardian":
            steps[t["form_key"]] = {
                "title": titles[t["id"]].removeprefix("Revise "),
                "status": "submitted",
                "task_id": None,
                "form_key": t["form_key"],
            }
    for t in sorted(open_rows, key=lambda t: t.get("created_at")):
        if not t.get("form_key"):
            continue
        status = "returned" if t.get("role") == "revision" else "todo"
        key = t["form_key"] if t.get("lane") != "guardian" else f"approval:{t['id']}"
        steps[key] = {
            "title": titles[t["id"]].removeprefix("Revise "),
            "status": status,
            "task_id": t["id"],
            "form_key": t["form_key"],
        }
    ordered = sorted(steps.values(), key=lambda s: (s["status"] != "submitted", _packet_index(s["form_key"])))
    for step in ordered:
        step["status_text"] = STATUS_WORDS[step["status"]]
    waiting = [s for s in ordered if s["task_id"]]
    return {
        "steps": ordered,
        "done": len(ordered) - len(waiting),
        "total": len(ordered),
        "next_task_id": waiting[0]["task_id"] if waiting else None,
    }


def summary(actor: Actor, profile: dict) -> dict:
    """The home page of one profile: form steps, the next appointment, the balance due (each None
    when the profile's rights do not include it)."""
    rights = profile.get("permissions") or {}
    cid = profile["client_id"]
    forms = form_steps(actor, cid) if rights.get("forms") else None
    upcoming = (
        scheduling.list_appointments(actor, client_id=cid, limit=1) if rights.get("appointments") else None
    )
    due = None
    if rights.get("payments"):
        open_invoices = [
            i for i in billing.list_invoices(actor, cid) if i["status"] == "open" and i["balance_cents"] > 0
        ]
        due = {
            "balance_cents": sum(i["balance_cents"] for i in open_invoices),
            "count": len(open_invoices),
            "currency": open_invoices[0]["currency"] if open_invoices else "usd",
        }
    appointment: dict | None = upcoming[0] if upcoming else None
    if appointment is not None:
        org = Organization.get()
        services = {s.key: s.name for s in org.service_types}
        places = {loc.key: loc.name for loc in org.locations}
        appointment = {
            **appointment,
            "service_name": services.get(appointment["service_type"], "Appointment"),
            "location_name": places.get(appointment["location"], ""),
        }
    return {"forms": forms, "next_appointment": appointment, "balance": due}


def waiting_counts(actor: Actor, profiles: list[dict]) -> dict[str, int]:
    """client id -> forms waiting, for each profile that may fill in forms (a guardian's switcher)."""
    return {
        p["client_id"]: len(
            [
                t
                for t in tasks.inbox(actor, client_id=p["client_id"], per_page=100)["items"]
                if t.get("form_key")
            ]
        )
        for p in profiles
        if (p.get("permissions") or {}).get("forms")
    }
