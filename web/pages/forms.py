"""Form pages: a portal link to a form asked of the client (it leads to the task that asks for it),
and the staff page showing a completed submission with its evidence and review items."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from engine.errors import NotFound
from engine.forms.prefill import field_label
from engine.services.access.form_requests import open_request_id
from engine.services.forms import submissions as sub_service
from web.security import access, current_actor
from web.sessions import safe_next

bp = Blueprint("form_pages", __name__)


@bp.get("/portal/forms/<key>")
@access("portal")
def fill(key):
    """A form asked of the active client profile: its task's page (a form nobody asked for is 404)."""
    client_id = getattr(g, "active_client_id", None)
    if not client_id:
        raise NotFound("no active client profile")
    return redirect(f"/portal/tasks/{open_request_id(current_actor(), client_id, key)}", 303)


@bp.get("/staff/submissions/<submission_id>")
@access("staff")
def submission(submission_id):
    """A submission as staff see it: answers, signature images, evidence and whether the seal verifies."""
    return render_template(
        "forms/submission.html", sub=sub_service.readable_submission(current_actor(), submission_id)
    )


@bp.post("/staff/review-items/<item_id>")
@access("staff:clients.manage")
def decide_review(item_id):
    """Accept or reject one proposed client-record change, then return to its submission."""
    decision = request.form.get("decision")
    item = sub_service.decide_proposed_change(current_actor(), item_id, accept=decision == "accept")
    flash(
        f"Change to {field_label(item.field).lower()} {'accepted' if decision == 'accept' else 'rejected'}.",
        "ok",
    )
    return redirect(safe_next(request.form.get("next"), f"/staff/submissions/{item.submission}"), 303)
