"""The staff inbox: workflow tasks for me and my audiences, with unread client messages beside them."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request

from engine.models import utcnow
from engine.models.clients import Client
from engine.services.inbox import tasks
from engine.services.intake import intake
from engine.services.messaging import messaging
from web.pages._flash import back, on_refusal
from web.security import access, current_actor

bp = Blueprint("inbox_pages", __name__, url_prefix="/staff")

# Tasks with a page of their own (the role the BPMN declares -> the page).
DEDICATED_PAGES = {"acknowledgement": "/staff/tasks/{id}/acknowledge"}


def _client_names(items: list[dict]) -> dict[str, str]:
    ids = {t["client_id"] for t in items if t.get("client_id")}
    return {
        str(c.id): c.display_name
        for c in Client.objects(id__in=list(ids)).only("first_name", "last_name", "preferred_name")
    }


def _by_client(items: list[dict], names: dict[str, str]) -> list[tuple[str, str, list[dict]]]:
    """(client id, client name, tasks) groups in the page's order of first appearance; the
    practice's own tasks (no client) last."""
    groups: dict[str, list[dict]] = {}
    for t in items:
        groups.setdefault(t.get("client_id") or "", []).append(t)
    ordered = sorted(groups.items(), key=lambda g: not g[0])
    return [(cid, names.get(cid, "A client") if cid else "Practice tasks", rows) for cid, rows in ordered]


@bp.get("/inbox")
@access("staff")
def inbox():
    """My open tasks (claimed by me, or addressed to an audience I belong to), named by what they are
    about and grouped by client, and unread message threads."""
    actor = current_actor()
    scope = "mine" if request.args.get("scope") == "mine" else "audience"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = tasks.inbox(actor, scope=scope, page=page, per_page=25)
    names = _client_names(found["items"])
    return render_template(
        "staff/inbox.html",
        found=found,
        scope=scope,
        groups=_by_client(found["items"], names),
        titles=tasks.titles(found["items"]),
        now=utcnow(),
        unread=messaging.unread_threads_for_staff(actor, limit=20),
        me=tasks.actor_key(actor),
    )


@bp.post("/inbox/acknowledge")
@access("staff")
def acknowledge_selected():
    """Acknowledge the submitted forms ticked in the inbox, each on its own; say which were and were not."""
    on_refusal("/staff/inbox")
    result = intake.acknowledge_forms(current_actor(), request.form.getlist("task_id"))
    done = result["acknowledged"]
    if done:
        flash(f"{len(done)} form{'s' if len(done) != 1 else ''} acknowledged: {', '.join(done)}.", "ok")
    for title, reason in result["refused"]:
        flash(f"{title} was not acknowledged: {reason}", "error")
    return redirect("/staff/inbox", 303)


@bp.get("/tasks/<task_id>")
@access("staff")
def task_page(task_id):
    """One task: its dedicated page, its form, or a plain "mark done" for a task without a form."""
    task = tasks.read_task(current_actor(), task_id)
    dedicated = DEDICATED_PAGES.get(task["role"] or "")
    if dedicated and task["status"] == "open":
        return redirect(dedicated.format(id=task["id"]))
    names = _client_names([task])
    return render_template(
        "staff/task.html",
        task=task,
        client_name=names.get(task["client_id"] or "", ""),
        me=tasks.actor_key(current_actor()),
    )


@bp.post("/tasks/<task_id>/claim")
@access("staff")
def claim(task_id):
    """Claim a task so colleagues see that I am on it."""
    on_refusal(f"/staff/tasks/{task_id}")
    tasks.claim(current_actor(), task_id)
    return back(f"/staff/tasks/{task_id}", "You claimed this task.")


@bp.post("/tasks/<task_id>/done")
@access("staff")
def mark_done(task_id):
    """Complete a task that has no form (a follow-up, a call to make)."""
    on_refusal(f"/staff/tasks/{task_id}")
    tasks.complete(current_actor(), task_id, {})
    return back("/staff/inbox", "Task completed.")
