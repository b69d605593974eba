"""Staff pages of the intake: a client's General Documents tab (upload, downloads, blank forms),
the invite dialog with its packet picker, resend / send-form actions, and the acknowledgement page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.errors import PorticoError
from engine.services import documents, files, intake, tasks
from web.pages._flash import back
from web.security import access, current_actor

bp = Blueprint("intake_pages", __name__, url_prefix="/staff")


@bp.get("/clients/<client_id>/documents")
@access("staff")
def documents_tab(client_id):
    """General Documents: filed forms and packets, uploads, forms waiting for acknowledgement, intake actions."""
    actor = current_actor()
    client = get_client_for(actor, client_id)
    acks = [t for t in tasks.inbox(actor, client_id=client.id, per_page=100)["items"]
            if t["role"] == "acknowledgement"]
    return render_template(
        "intake/documents.html", client=client, docs=documents.list_documents(actor, client.id), acks=acks,
        outstanding=intake.outstanding(client.id), intake_forms=intake.invite_choices(),
        can_invite=actor.has(intake.INVITE), can_upload=actor.has(documents.UPLOAD))


def _act(client_id, action, done: str):
    try:
        action()
    except PorticoError as exc:
        return back(f"/staff/clients/{client_id}/documents", error=exc)
    return back(f"/staff/clients/{client_id}/documents", done)


@bp.post("/clients/<client_id>/invite")
@access("staff:portal.invite")
def invite(client_id):
    """Invite with the packet ticked in the dialog (the practice's default packet is pre-ticked)."""
    packet = request.form.getlist("packet")
    return _act(client_id, lambda: intake.invite(current_actor(), client_id, packet=packet),
                "Invitation sent: the intake has started.")


@bp.post("/clients/<client_id>/resend-missed")
@access("staff:portal.invite")
def resend(client_id):
    """Mail a reminder of the outstanding forms now."""
    return _act(client_id, lambda: intake.resend_missed(current_actor(), client_id), "Reminder sent.")


@bp.post("/clients/<client_id>/form-requests")
@access("staff:portal.invite")
def send_form(client_id):
    """Send one form to the client."""
    key = request.form.get("form_key", "")
    return _act(client_id, lambda: intake.send_form(current_actor(), client_id, key), "Form sent.")


@bp.post("/clients/<client_id>/documents")
@access("staff:client_documents.upload")
def upload(client_id):
    """Upload a scanned form or another file (checked by content, size-limited, encrypted)."""
    def store():
        f = request.files.get("file")
        data = files.read_upload(f.stream) if f else b""
        documents.upload(current_actor(), client_id, filename=f.filename if f else "", data=data,
                         title=request.form.get("title", ""))
    return _act(client_id, store, "File uploaded.")


@bp.get("/tasks/<task_id>/acknowledge")
@access("staff")
def acknowledge_page(task_id):
    """The acknowledgement task: the client's submission, then acknowledge it or return it with a comment."""
    context = intake.review_context(current_actor(), task_id)
    return render_template("intake/acknowledge.html", ctx=context, sub=context["submission"],
                           client_id=context["task"]["client_id"])


@bp.post("/tasks/<task_id>/acknowledge")
@access("staff")
def acknowledge(task_id):
    """Complete the acknowledgement task with the decision and comment from the page."""
    row = tasks.get_task_for(current_actor(), task_id)
    data = {"decision": request.form.get("decision", "")}
    if data["decision"] == "return":
        data["return_comment"] = request.form.get("return_comment", "")
    try:
        tasks.complete(current_actor(), task_id, data)
    except PorticoError as exc:
        return back(f"/staff/tasks/{task_id}/acknowledge", error=exc)
    return back(f"/staff/clients/{row['client_id']}/documents",
                "Form returned to the client." if data["decision"] == "return" else "Form acknowledged.")
