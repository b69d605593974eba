"""Portal page for the active profile's secure messages: the thread with the practice, and writing to it."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.services.messaging import messaging
from web.api._files import uploads
from web.pages._flash import back, on_refusal
from web.pages._portal import active_profile
from web.security import access, current_actor

bp = Blueprint("portal_message_pages", __name__, url_prefix="/portal")


@bp.get("/messages")
@access("portal")
def messages():
    """The active profile's thread; viewing it marks it read."""
    profile = active_profile("messages")
    thread = messaging.list_messages(current_actor(), profile["client_id"])
    if thread["unread"]:
        messaging.mark_read(current_actor(), profile["client_id"])
    return render_template(
        "messages/portal_thread.html", profile=profile, thread=thread, active_tab="messages"
    )


@bp.post("/messages")
@access("portal")
def post_message():
    profile = active_profile("messages")
    on_refusal("/portal/messages")
    messaging.post_message(
        current_actor(),
        profile["client_id"],
        body=request.form.get("body", ""),
        attachments=[u for u in uploads("attachments") if u[1]],
    )
    return back("/portal/messages", "Message sent.")
