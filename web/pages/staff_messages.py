"""Staff pages for secure messages: threads with messages you have not read, and a client's thread."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.services.messaging import messaging
from web.api._files import uploads
from web.pages._flash import back, on_refusal
from web.security import access, current_actor

bp = Blueprint("staff_message_pages", __name__, url_prefix="/staff")


@bp.get("/messages")
@access("staff")
def unread():
    """Threads with messages you have not read, newest first."""
    return render_template(
        "messages/staff_unread.html", rows=messaging.unread_threads_for_staff(current_actor())
    )


@bp.get("/clients/<client_id>/messages")
@access("staff")
def thread(client_id):
    client = get_client_for(current_actor(), client_id)
    data = messaging.list_messages(current_actor(), client_id)
    if data["unread"]:
        messaging.mark_read(current_actor(), client_id)
    return render_template("messages/staff_thread.html", client=client, thread=data, tab="messages")


@bp.post("/clients/<client_id>/messages")
@access("staff")
def reply(client_id):
    on_refusal(f"/staff/clients/{client_id}/messages")
    messaging.post_message(
        current_actor(),
        client_id,
        body=request.form.get("body", ""),
        attachments=[u for u in uploads("attachments") if u[1]],
    )
    return back(f"/staff/clients/{client_id}/messages", "Message sent.")
