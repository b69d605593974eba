"""Form pages: the portal page that fills a form with survey-js-ui (answers go through the API),
and the staff page showing a completed submission with its evidence and review items."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request

from engine.errors import NotFound
from engine.models.forms import ReviewItem
from engine.services import submissions as sub_service
from web.security import access, current_actor

bp = Blueprint("form_pages", __name__)


@bp.get("/portal/forms/<key>")
@access("portal")
def fill(key):
    """Fill a form for the active client profile: progress is saved, field errors come from the server."""
    client_id = getattr(g, "active_client_id", None)
    if not client_id:
        raise NotFound("no active client profile")
    context = request.args.get("context", "")[:100]
    sub_service.start(current_actor(), client_id, key, context=context)  # 404 before rendering anything
    return render_template("forms/fill.html", key=key, client_id=client_id, context=context)


@bp.get("/staff/submissions/<submission_id>")
@access("staff")
def submission(submission_id):
    """A submission as staff see it: answers, signature images, evidence and whether the seal verifies."""
    view = sub_service.read_submission(current_actor(), submission_id)
    reviews = list(ReviewItem.objects(submission=view["id"]).order_by("created_at"))
    return render_template("forms/submission.html", sub=view, reviews=reviews, file_ref=sub_service.FILE_REF)


@bp.post("/staff/review-items/<item_id>")
@access("staff:clients.manage")
def decide_review(item_id):
    """Accept or reject one proposed client-record change, then return to its submission."""
    decision = request.form.get("decision")
    item = sub_service.decide_review(current_actor(), item_id, accept=decision == "accept")
    flash(f"Change to {item.field} {'accepted' if decision == 'accept' else 'rejected'}.", "ok")
    return redirect(f"/staff/submissions/{item.submission}", 303)
