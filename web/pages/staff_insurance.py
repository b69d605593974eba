"""Staff pages for a client's insurance: the policies on file and their review (billing.manage)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.authz import get_client_for
from engine.services.clients import insurance
from web.api.insurance import InsuranceReview
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.security import access, current_actor

bp = Blueprint("staff_insurance_pages", __name__, url_prefix="/staff")


@bp.get("/clients/<client_id>/insurance")
@access("staff")
def client_insurance(client_id):
    client = get_client_for(current_actor(), client_id)
    return render_template(
        "insurance/staff_insurance.html",
        client=client,
        tab="insurance",
        policies=insurance.list_policies(current_actor(), client_id),
        can_review=current_actor().has("billing.manage"),
    )


@bp.post("/clients/<client_id>/insurance/<policy_id>/review")
@access("staff:billing.manage")
def review(client_id, policy_id):
    on_refusal(f"/staff/clients/{client_id}/insurance")
    body = load(
        InsuranceReview, {"decision": request.form.get("decision", ""), "note": request.form.get("note", "")}
    )
    done = insurance.review_policy(current_actor(), policy_id, client_id=client_id, **body)
    return back(f"/staff/clients/{client_id}/insurance", f"Policy {done['status']}.")
