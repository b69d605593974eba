"""/dev/mail: what the development mail sink received (development only; 404 in production).

Mail bodies are client data (invitation links, names), so the pages are for
staff, not public.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from engine.errors import NotFound
from engine.services.messaging import mail
from web.security import access

bp = Blueprint("devmail", __name__, url_prefix="/dev/mail")


@bp.url_value_preprocessor
def _development_only(_endpoint, _values):
    # Runs before the access gate, so production answers 404 to everyone, logged in or not.
    if current_app.config["PORTICO"].production:
        raise NotFound()


@bp.get("/")
@access("staff")
def inbox():
    return render_template("devmail/inbox.html", messages=mail.sink_messages())


@bp.get("/<message_id>")
@access("staff")
def message(message_id: str):
    found = mail.sink_message(message_id)
    return render_template("devmail/message.html", message=found, links=mail.links(found.text))
