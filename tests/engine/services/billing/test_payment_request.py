"""Staff request payment of an invoice: the client gives insurance (kept as their policy, never entered
twice), chooses a card in the "Update your payment method" form, and the invoice is charged; all
through the API, the operations performed as a worker would."""

from __future__ import annotations

from engine.models.billing import Invoice
from engine.models.insurance import InsurancePolicy
from engine.models.mail import MailMessage
from tests.form_fills import VALID
from tests.intake_lifecycle import perform_all

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}


def _invoice(http, people, cents=18000) -> dict:
    resp = http.post(
        f"/api/v1/clients/{people['client'].id}/invoices",
        headers=people["staff"],
        json={
            "line_items": [
                {"service": "Intake assessment", "service_date": "2026-11-02", "amount_cents": cents}
            ]
        },
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _request(http, people, invoice) -> str:
    resp = http.post(f"/api/v1/invoices/{invoice['id']}/payment-request", headers=people["staff"])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["payment_request"]


def _open_task(http, people, name) -> dict:
    items = http.get("/api/v1/tasks", headers=people["portal"]).get_json()["items"]
    [task] = [t for t in items if t["name"] == name]
    return http.get(f"/api/v1/tasks/{task['id']}", headers=people["portal"]).get_json()


def _complete(http, people, task, data):
    return http.post(f"/api/v1/tasks/{task['id']}/complete", headers=people["portal"], json={"data": data})


def test_requested_payment_runs_from_insurance_to_a_chosen_card(client, people):
    """Does "request payment" give the client the insurance form (stored as their policy), then the card
    form (validated by the server), and charge the card they chose, once?"""
    http = client
    invoice = _invoice(http, people)
    iid = _request(http, people, invoice)
    again = http.post(f"/api/v1/invoices/{invoice['id']}/payment-request", headers=people["staff"])
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "payment_already_requested")
    refused = http.post(f"/api/v1/invoices/{invoice['id']}/payment-request", headers=people["portal"])
    assert refused.status_code in (403, 404)

    insurance = _open_task(http, people, "Insurance details")
    assert _complete(http, people, insurance, VALID["insurance_information"]).status_code == 200
    [policy] = http.get(
        f"/api/v1/clients/{people['client'].id}/insurance", headers=people["staff"]
    ).get_json()["items"]
    assert (policy["payer"], policy["member_id"], policy["relationship"], policy["status"]) == (
        "Acme Health",
        "XJ-12345",
        "self",
        "pending",
    )
    assert policy["subscriber_name"] == people["client"].display_name

    assert perform_all(iid) == []  # no saved card: nothing to charge yet, the client is asked for one
    card_task = _open_task(http, people, "Update your payment method")
    assert card_task["form_key"] == "payment_method"
    empty = _complete(http, people, card_task, {})
    assert empty.status_code == 422 and "payment_method" in empty.get_json()["error"]["details"]
    saved = http.post(
        f"/api/v1/clients/{people['client'].id}/payment-methods",
        headers=people["portal"],
        json={"card": CARD},
    )
    assert saved.status_code == 201, saved.get_json()
    saved = saved.get_json()
    assert saved["label"] == "Visa ending 4242 (expires 12/2040)"
    listed = http.get(
        f"/api/v1/clients/{people['client'].id}/payment-methods", headers=people["portal"]
    ).get_json()
    assert [m["label"] for m in listed["items"]] == [saved["label"]]  # what the form's choices load
    assert _complete(http, people, card_task, {"payment_method": saved["id"]}).status_code == 200

    assert perform_all(iid) == ["charge_payment"]
    inv = Invoice.objects.get(id=invoice["id"])
    assert (inv.status, inv.paid_cents) == ("paid", 18000)
    assert MailMessage.objects(direction="out", subject__startswith="Payment received").count() == 1


def test_a_second_request_shows_the_policy_on_file_and_updates_it(client, people):
    """On a second request, is the insurance form prefilled from the policy on file, does a changed answer
    update that policy (not add one), and is the saved card charged without asking again?"""
    http = client
    first = _invoice(http, people, 9000)
    iid = _request(http, people, first)
    _complete(http, people, _open_task(http, people, "Insurance details"), VALID["insurance_information"])
    perform_all(iid)
    saved = http.post(
        f"/api/v1/clients/{people['client'].id}/payment-methods",
        headers=people["portal"],
        json={"card": CARD},
    ).get_json()
    _complete(
        http, people, _open_task(http, people, "Update your payment method"), {"payment_method": saved["id"]}
    )
    perform_all(iid)
    policy = InsurancePolicy.objects.get(client=people["client"].id)
    policy.modify(set__status="accepted")

    second = _invoice(http, people, 6000)
    iid = _request(http, people, second)
    insurance = _open_task(http, people, "Insurance details")
    shown = http.get(
        f"/api/v1/clients/{people['client'].id}/forms/insurance_information",
        query_string={"context": f"task:{insurance['id']}"},
        headers=people["portal"],
    )
    assert shown.status_code == 200, shown.get_json()
    assert (shown.get_json()["data"]["insurer_name"], shown.get_json()["data"]["member_id"]) == (
        "Acme Health",
        "XJ-12345",
    )  # what the task page shows: the policy on file
    changed = dict(VALID["insurance_information"], member_id="XJ-99999")
    assert _complete(http, people, insurance, changed).status_code == 200
    [policy] = InsurancePolicy.objects(client=people["client"].id)
    assert (policy.member_id, policy.status) == ("XJ-99999", "pending")  # changed on file: reviewed again
    assert perform_all(iid) == ["charge_payment"]  # the saved card, no card form this time
    assert Invoice.objects.get(id=second["id"]).status == "paid"
