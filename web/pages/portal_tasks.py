"""Portal pages of the intake: activation from the invitation link, the form task list of the active
profile, a task's form page (survey-js-ui, signature pads, save and resume), and the documents page."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from engine.errors import NotFound, ValidationFailed
from engine.services.accounts import accounts
from engine.services.clients import documents
from engine.services.inbox import tasks
from engine.services.intake import intake_queries
from engine.services.portal import invitations, portal_home
from web import sessions
from web.pages._flash import on_refusal
from web.pages.auth import continue_login
from web.security import access, current_actor, public

bp = Blueprint("portal_task_pages", __name__, url_prefix="/portal")


def _profile(actor) -> dict:
    """The active profile when it may fill in forms; NotFound otherwise."""
    me = accounts.describe_me(actor, g.active_client_id)
    active = next((p for p in me["profiles"] if p["client_id"] == me["active_profile_id"]), None)
    if active is None or not active["permissions"].get("forms"):
        raise NotFound("forms are not available for the profile you are using")
    return dict(active, switchable=len(me["profiles"]) > 1)


@bp.get("/tasks")
@access("portal")
def task_list():
    """The forms waiting for the active profile (its own, and a guardian's approvals)."""
    actor = current_actor()
    profile = _profile(actor)
    return render_template(
        "intake/portal_tasks.html",
        profile=profile,
        active_tab="tasks",
        forms=portal_home.form_steps(actor, profile["client_id"]),
    )


@bp.get("/tasks/next")
@access("portal")
def next_task():
    """Where a client goes after submitting a form: the next form waiting, or home when all are done."""
    actor = current_actor()
    steps = portal_home.form_steps(actor, _profile(actor)["client_id"])
    if steps["next_task_id"]:
        flash(f"Thank you. {steps['done']} of {steps['total']} forms done; here is the next one.", "ok")
        return redirect(f"/portal/tasks/{steps['next_task_id']}", 303)
    flash("Thank you! All your forms are in. The practice will review them.", "ok")
    return redirect("/portal", 303)


@bp.get("/tasks/<task_id>")
@access("portal")
def task_page(task_id):
    """One task's form, filled in with survey-js-ui; answers are saved and submitted through the API."""
    actor = current_actor()
    row = tasks.read_task_row(actor, task_id)
    task = tasks.shape(row)
    if task["status"] != "open" or not task["form_key"]:
        return redirect("/portal/tasks", 303)
    return render_template(
        "intake/portal_task.html",
        task=task,
        profile=_profile(actor),
        active_tab="tasks",
        revision=intake_queries.revision_context(row),
        review=intake_queries.approval_context(actor, row),
    )


@bp.get("/documents")
@access("portal")
def documents_page():
    """The active profile's submitted forms awaiting review, the forms and packets filed for it, and the
    documents the practice shared."""
    actor = current_actor()
    profile = _profile(actor)
    return render_template(
        "intake/portal_documents.html",
        profile=profile,
        active_tab="documents",
        docs=documents.list_documents(actor, profile["client_id"]),
        submitted=documents.submitted_forms(actor, profile["client_id"]),
    )


@bp.get("/activate")
@public
def activate_page():
    """The invitation link's page: choose a password."""
    return render_template("intake/activate.html", token=request.args.get("token", "")[:200], errors={})


@bp.post("/activate")
@public
def activate():
    """Set the password; on success the person is signed in (setting up MFA first when the practice requires it)."""
    token = request.form.get("token", "")[:200]
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        errors = {"confirm": ["the two passwords differ"]}
        return render_template("intake/activate.html", token=token, errors=errors), 422
    on_refusal(
        render=lambda exc: (
            render_template("intake/activate.html", token=token, errors=exc.details or {}),
            422,
        ),
        catch=(ValidationFailed,),
    )
    result = invitations.activate(
        token, password, ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")
    )
    # The link and the new password prove who this is: sign in now (the MFA step still follows).
    account = accounts.find_login(result["email"])
    raw, step = accounts.open_login(
        account,
        via="activation",
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
    )
    sessions.begin_browser_session(raw)
    return continue_login(step, "Your account is active. Welcome to the client portal.")
