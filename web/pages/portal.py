"""Portal pages: the home of a client or contact, with a switcher between the client profiles they reach."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from engine.errors import BadRequest, NotFound
from engine.services.accounts import accounts
from engine.services.portal import portal_home
from web.security import access, current_actor

bp = Blueprint("portal_pages", __name__, url_prefix="/portal")

PERMISSION_TEXT = {
    "forms": "fill in and sign forms",
    "appointments": "book and cancel appointments",
    "payments": "see invoices and pay",
    "messages": "send and read messages",
}


@bp.get("")
@access("portal")
def home():
    """Portal home: the active client profile and the switcher between reachable profiles."""
    actor = current_actor()
    me = accounts.describe_me(actor, g.active_client_id)
    active = next((p for p in me["profiles"] if p["client_id"] == me["active_profile_id"]), None)
    return render_template(
        "portal/home.html",
        me=me,
        active=active,
        permission_text=PERMISSION_TEXT,
        home=portal_home.summary(actor, active) if active else None,
        waiting=portal_home.waiting_counts(actor, me["profiles"]) if len(me["profiles"]) > 1 else {},
    )


@bp.post("/profile")
@access("portal")
def switch_profile():
    """Make another reachable client profile the active one for this browser session."""
    if g.auth_session is None:  # a bearer token has no session to remember the choice in
        raise BadRequest("switching profiles needs a browser session; API callers name the client_id instead")
    try:
        accounts.set_active_profile(g.auth_session, request.form.get("client_id", ""))
    except NotFound:
        flash("That profile is not available to you.", "error")
        return redirect("/portal", 303)
    return redirect("/portal", 303)
