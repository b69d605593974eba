"""Page forms are read with the API's schemas (web/pages/_forms.py): a page refuses a field as the API does,
keyed by the field, beside it when the page shows the form again."""

from __future__ import annotations

from engine.models.organization import Organization
from engine.services.clients import insurance
from tests.helpers import api_login, login_as, make_staff


def _post(client, path, csrf, data):
    return client.post(path, data={**data, "csrf_token": csrf["X-CSRFToken"]})


def test_a_review_decision_the_api_refuses_is_refused_on_the_page_in_the_api_words(client, family):
    """Does the staff insurance page refuse a decision outside the API's choices with the API's message, by
    its field, and leave the policy pending?"""
    policy = insurance.add_policy(
        family["guardian"],
        family["minor"].id,
        {"payer": "Aetna", "member_id": "W1", "subscriber_name": "Gail G"},
    )
    csrf = login_as(client, make_staff(roles=("front_desk",)).email)
    base = f"/staff/clients/{family['minor'].id}/insurance"
    resp = _post(client, f"{base}/{policy['id']}/review", csrf, {"decision": "maybe"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(base)
    html = client.get(base).get_data(as_text=True)
    assert "some fields are invalid — Decision: Must be one of: accepted, rejected." in html
    assert insurance.list_policies(family["staff"], family["minor"].id)[0]["status"] == "pending"


def test_portal_settings_refuse_a_number_the_api_refuses_beside_its_field_as_typed(client):
    """Does the portal settings page show the API schema's problem with a whole number beside its field,
    keep what was typed, and save nothing?"""
    csrf = login_as(client, make_staff(roles=("org_admin",)).email)
    before = Organization.get().portal.reminder_max
    resp = _post(
        client,
        "/admin/portal",
        csrf,
        {
            "reminder_max": "lots",
            "age_of_majority": "18",
            "cancellation_window_hours": "24",
            "guardian_approval_rule": "any",
            "late_cancellation": "flag",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="reminder_max-error"' in html and "Not a valid integer." in html
    assert 'value="lots"' in html
    assert Organization.get().portal.reminder_max == before


def test_the_invoice_schema_takes_the_amount_as_typed_as_the_page_does(client, family):
    """Does the API accept a line's amount as people type it ("$180"), as the staff billing page sends it?"""
    desk = make_staff(roles=("front_desk",))
    resp = client.post(
        f"/api/v1/clients/{family['minor'].id}/invoices",
        headers=api_login(client, desk.email),
        json={"line_items": [{"service": "Session", "service_date": "2026-11-02", "amount": "$180"}]},
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["total_cents"] == 18000 and "amount" not in resp.get_json()["line_items"][0]
