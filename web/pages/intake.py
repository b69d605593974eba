"""Staff pages of the intake: a client's General Documents tab (upload, downloads, blank forms),
the invite dialog with its packet picker, resend / send-form actions, and the acknowledgement page."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.errors import PorticoError, ValidationFailed
from engine.models.forms import FormDefinition
from engine.models.organization import Organization
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
        outstanding=intake.outstanding(client.id), default_packet=Organization.get().portal.intake_packet,
        intake_forms=FormDefinition.objects(kind="intake", archived=False, latest_version__gt=0).order_by("title"),
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
    """The acknowledgement task: the client's answers as the PDF shows them, the proposed changes to
    the client record, then acknowledge the form or return it with a comment."""
    return _acknowledge_page(task_id)


def _acknowledge_page(task_id, *, decision: str = "acknowledge", comment: str = "", error: str = "",
                      status: int = 200):
    context = intake.review_context(current_actor(), task_id)
    return render_template("intake/acknowledge.html", ctx=context, sub=context["submission"], decision=decision,
                           comment=comment, error=error), status


@bp.post("/tasks/<task_id>/acknowledge")
@access("staff")
def acknowledge(task_id):
    """Complete the acknowledgement task with the decision and comment from the page. A refused
    decision shows the page again with the choice and the comment as they were typed."""
    row = tasks.get_task_for(current_actor(), task_id)
    decision = request.form.get("decision", "")
    comment = request.form.get("return_comment", "").strip()
    if decision == "return" and not comment:
        return _acknowledge_page(task_id, decision=decision, comment=comment, status=422,
                                 error="Write what the client should change before returning the form.")
    data = {"decision": decision, **({"return_comment": comment} if decision == "return" else {})}
    try:
        tasks.complete(current_actor(), task_id, data)
    except ValidationFailed:
        return _acknowledge_page(task_id, decision=decision, comment=comment, status=422,
                                 error="Choose whether to acknowledge the form or return it with a comment.")
    except PorticoError as exc:
        return back(f"/staff/tasks/{task_id}/acknowledge", error=exc)
    return back(f"/staff/clients/{row['client_id']}/documents",
                "Form returned to the client." if decision == "return" else "Form acknowledged.")
