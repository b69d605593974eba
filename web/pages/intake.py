"""Staff pages of the intake: a client's General Documents tab (upload, paper forms, sharing, downloads,
blank forms), the invite dialog with its packet picker, resend / send-form / cancel actions, and the
acknowledgement page."""

from __future__ import annotations

from bson import ObjectId
from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.errors import NotFound, ValidationFailed
from engine.services.clients import documents
from engine.services.inbox import tasks
from engine.services.intake import dynamic_forms, intake, intake_queries, intake_requests
from engine.services.platform import files
from web.pages._flash import back, on_refusal
from web.security import access, current_actor

bp = Blueprint("intake_pages", __name__, url_prefix="/staff")


@bp.get("/clients/<client_id>/documents")
@access("staff")
def documents_tab(client_id):
    """General Documents: filed forms and packets, uploads, forms waiting for acknowledgement, intake actions."""
    actor = current_actor()
    client = get_client_for(actor, client_id)
    acks = [
        t
        for t in tasks.inbox(actor, client_id=client.id, per_page=100)["items"]
        if t["role"] == "acknowledgement"
    ]
    return render_template(
        "intake/documents.html",
        client=client,
        docs=documents.list_documents(actor, client.id),
        acks=acks,
        outstanding=intake_queries.outstanding(client.id),
        intake_forms=intake.invite_choices(),
        closed=intake_requests.closed_requests(actor, client.id),
        dynamic_forms=dynamic_forms.usable(actor),
        can_invite=actor.has(intake.INVITE),
        can_upload=actor.has(documents.UPLOAD),
    )


def _back_to(client_id: str) -> str:
    """The client whose tab a form came from: only an id goes into the path we send the browser to."""
    return client_id if ObjectId.is_valid(client_id) else ""


def _act(client_id, action, done: str):
    """Run the action; back on the client's Documents tab with `done`, or with the refusal."""
    on_refusal(f"/staff/clients/{client_id}/documents")
    action()
    return back(f"/staff/clients/{client_id}/documents", done)


@bp.post("/clients/<client_id>/invite")
@access("staff:portal.invite")
def invite(client_id):
    """Invite with the packet ticked in the dialog (the practice's default packet is pre-ticked)."""
    packet = request.form.getlist("packet")
    return _act(
        client_id,
        lambda: intake.invite(current_actor(), client_id, packet=packet),
        "Invitation sent: the intake has started.",
    )


@bp.post("/clients/<client_id>/resend-missed")
@access("staff:portal.invite")
def resend(client_id):
    """Remind the client of the outstanding forms (the mail goes out from the workers)."""
    return _act(client_id, lambda: intake.resend_missed(current_actor(), client_id), "Reminder on its way.")


@bp.post("/clients/<client_id>/form-requests")
@access("staff:portal.invite")
def send_form(client_id):
    """Send one form to the client."""
    key = request.form.get("form_key", "")
    return _act(client_id, lambda: intake.send_form(current_actor(), client_id, key), "Form sent.")


@bp.post("/clients/<client_id>/documents")
@access("staff:client_documents.upload")
def upload(client_id):
    """Upload a scanned form or another file (checked by content, size-limited, encrypted); a completed
    paper form may answer an outstanding request, which then closes."""
    answers = request.form.get("answers_request", "")

    def store():
        f = request.files.get("file")
        data = files.read_upload(f.stream) if f else b""
        name, title = (f.filename if f else ""), request.form.get("title", "")
        if answers:
            intake_requests.upload_paper_form(
                current_actor(), client_id, answers, filename=name, data=data, title=title
            )
        else:
            documents.upload(current_actor(), client_id, filename=name, data=data, title=title)

    return _act(client_id, store, "Paper form filed: the request is closed." if answers else "File uploaded.")


@bp.post("/documents/<document_id>/sharing")
@access("staff:client_documents.upload")
def sharing(document_id):
    """Show an upload in the client's portal, or hide it again."""
    shared = request.form.get("shared") == "yes"
    actor = current_actor()
    doc = documents.get_document_for(actor, document_id)
    return _act(
        doc.client,
        lambda: documents.set_shared(actor, document_id, shared),
        "Shared with the client." if shared else "Hidden from the client.",
    )


@bp.get("/clients/<client_id>/dynamic-forms/<key>")
@access("staff:dynamic_forms.manage")
def dynamic_fill_page(client_id, key):
    """Fill a dynamic form for the client (prefilled from the record); submitting files it."""
    actor = current_actor()
    client = get_client_for(actor, client_id, need=dynamic_forms.RIGHT)
    form = next((f for f in dynamic_forms.usable(actor) if f.key == key), None)
    if form is None:
        raise NotFound("no such dynamic form")
    return render_template("intake/dynamic_fill.html", client=client, form=form)


@bp.post("/clients/<client_id>/dynamic-forms")
@access("staff:dynamic_forms.manage")
def send_dynamic(client_id):
    """Send the chosen dynamic form to the client's portal."""
    key = request.form.get("form_key", "")
    return _act(
        client_id,
        lambda: dynamic_forms.send_to_portal(current_actor(), client_id, key),
        "Form sent to the client's portal.",
    )


@bp.post("/intakes/<instance_id>/cancel")
@access("staff:portal.invite")
def cancel_intake(instance_id):
    """Cancel a whole intake with the reason typed in the dialog."""
    client_id = _back_to(request.form.get("client_id", ""))
    return _act(
        client_id,
        lambda: intake_requests.cancel_intake(current_actor(), instance_id, request.form.get("reason", "")),
        "Intake cancelled.",
    )


@bp.post("/form-requests/<task_id>/cancel")
@access("staff:portal.invite")
def cancel_request(task_id):
    """Cancel one requested form with the reason typed next to it."""
    client_id = _back_to(request.form.get("client_id", ""))
    return _act(
        client_id,
        lambda: intake_requests.cancel_request(current_actor(), task_id, request.form.get("reason", "")),
        "Form request cancelled.",
    )


@bp.get("/tasks/<task_id>/acknowledge")
@access("staff")
def acknowledge_page(task_id):
    """The acknowledgement task: the client's answers as the PDF shows them, the proposed changes to
    the client record, then acknowledge the form or return it with a comment."""
    return _acknowledge_page(task_id)


def _acknowledge_page(
    task_id, *, decision: str = "acknowledge", comment: str = "", error: str = "", status: int = 200
):
    context = intake_queries.review_context(current_actor(), task_id)
    return render_template(
        "intake/acknowledge.html",
        ctx=context,
        sub=context["submission"],
        decision=decision,
        comment=comment,
        error=error,
    ), status


@bp.post("/tasks/<task_id>/acknowledge")
@access("staff")
def acknowledge(task_id):
    """Complete the acknowledgement task with the decision and comment from the page. A refused
    decision shows the page again with the choice and the comment as they were typed."""
    row = tasks.get_task_for(current_actor(), task_id)
    decision = request.form.get("decision", "")
    comment = request.form.get("return_comment", "").strip()
    if decision == "return" and not comment:
        return _acknowledge_page(
            task_id,
            decision=decision,
            comment=comment,
            status=422,
            error="Write what the client should change before returning the form.",
        )
    data = {"decision": decision, **({"return_comment": comment} if decision == "return" else {})}

    def refused(exc):
        if isinstance(exc, ValidationFailed):
            return _acknowledge_page(
                task_id,
                decision=decision,
                comment=comment,
                status=422,
                error="Choose whether to acknowledge the form or return it with a comment.",
            )
        return back(f"/staff/tasks/{task_id}/acknowledge", error=exc)

    on_refusal(render=refused)
    tasks.complete(current_actor(), task_id, data)
    return back(
        f"/staff/clients/{row['client_id']}/documents",
        "Form returned to the client." if decision == "return" else "Form acknowledged.",
    )
