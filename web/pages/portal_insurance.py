"""Portal page for the active profile's insurance: the policies on file and sending a new one with its card images."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from engine.services.clients import insurance
from engine.services.platform import files
from web.api.insurance import PolicyIn
from web.pages._flash import back, on_refusal
from web.pages._forms import load
from web.pages._portal import active_profile
from web.security import access, current_actor

bp = Blueprint("portal_insurance_pages", __name__, url_prefix="/portal")


@bp.get("/insurance")
@access("portal")
def insurance_page():
    profile = active_profile("payments")
    return render_template(
        "insurance/portal_insurance.html",
        profile=profile,
        active_tab="insurance",
        policies=insurance.list_policies(current_actor(), profile["client_id"]),
    )


@bp.post("/insurance")
@access("portal")
def add_policy():
    profile = active_profile("payments")
    on_refusal("/portal/insurance")
    fields = (
        "payer",
        "member_id",
        "group_number",
        "subscriber_name",
        "subscriber_date_of_birth",
        "relationship",
    )
    cards = {
        side: (f.filename, files.read_upload(f.stream))
        for side in insurance.SIDES
        if (f := request.files.get(side)) is not None and f.filename
    }
    for _name, data in cards.values():  # refuse a bad image before anything is saved
        files.check_upload(data, allowed=insurance.CARD_TYPES)
    policy = insurance.add_policy(
        current_actor(), profile["client_id"], load(PolicyIn, {f: request.form.get(f, "") for f in fields})
    )
    for side, (name, data) in cards.items():
        insurance.upload_card(current_actor(), policy["id"], side, filename=name, data=data)
    return back("/portal/insurance", "Insurance details sent; the practice will review them.")
