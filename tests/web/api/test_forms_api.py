"""HTTP API for forms: definitions, publishing, filling for a client profile, submissions, review."""

from __future__ import annotations

import json
from pathlib import Path

from engine.models.forms import Submission
from tests.form_fills import VALID
from tests.form_requests import request_form
from tests.helpers import api_login, make_client, make_portal_account, make_staff

ROOT = Path(__file__).resolve().parents[3]


def _definition(key):
    return json.loads((ROOT / "form_defs" / f"{key}.json").read_text())


def test_bad_definition_gets_422_listing_each_problem(client):
    """Does a bad definition get 422 with each problem at its JSON path, and leave nothing behind?"""
    admin = make_staff(roles=("org_admin",))
    h = api_login(client, admin.email)
    bad = {
        "elements": [{"type": "text", "name": "a"}, {"type": "text", "name": "a", "visibleIf": "{nope} = 1"}]
    }
    r = client.post(
        "/api/v1/forms",
        json={"key": "bad_form", "kind": "intake", "title": "Bad", "definition": bad},
        headers=h,
    )
    assert r.status_code == 422
    assert set(r.get_json()["error"]["details"]) == {"$.elements[1].name", "$.elements[1].visibleIf"}
    assert client.get("/api/v1/forms/bad_form", headers=h).status_code == 404


def test_portal_client_fills_saves_and_submits(client):
    """Can a client resume saved answers, see field errors from the server, and submit a sealed form?"""
    admin = make_staff(roles=("org_admin",))
    h = api_login(client, admin.email)
    assert (
        client.post(
            "/api/v1/forms",
            json={
                "key": "consent_adult",
                "kind": "intake",
                "title": "Consent",
                "definition": _definition("consent_adult"),
            },
            headers=h,
        ).status_code
        == 201
    )
    r = client.post("/api/v1/forms/consent_adult/publish", headers=h)
    assert r.status_code == 201 and r.get_json()["number"] == 1
    person = make_client(first_name="Ada", last_name="Lovelace", email="ada@example.org")
    account = make_portal_account(client=person)
    ph = api_login(client, account.email)
    url = f"/api/v1/clients/{person.id}/forms/consent_adult"
    task = request_form(person, "consent_adult")  # a client fills only a form asked of her (issue 12 #13)
    context = {"context": f"task:{task.id}"}
    start = client.get(url, headers=ph, query_string=context).get_json()
    assert start["data"]["signed_name"] == "Ada Lovelace"
    assert client.put(url, json={"data": {"consent_given": True}, **context}, headers=ph).status_code == 204
    assert client.get(url, headers=ph, query_string=context).get_json()["data"]["consent_given"] is True
    done = f"/api/v1/tasks/{task.id}/complete"
    r = client.post(done, json={"data": {"consent_given": True}}, headers=ph)
    assert r.status_code == 422 and {"acknowledgements", "signature"} <= set(r.get_json()["error"]["details"])
    r = client.post(done, json={"data": VALID["consent_adult"]}, headers=ph)
    assert r.status_code == 200, r.get_json()
    sealed = Submission.objects(seal_key=f"task:{task.id}").get()
    sub = client.get(f"/api/v1/submissions/{sealed.id}", headers=ph).get_json()
    assert sub["verified"] is True and sub["evidence"]["signer_account"] == str(account.id)
    assert sub["data"]["signature"].startswith("portico-file:")
    staff_view = client.get(f"/api/v1/submissions/{sub['id']}", headers=h).get_json()
    assert staff_view["evidence"]["sha256"] == sub["evidence"]["sha256"]
    pdf = client.get(f"/api/v1/submissions/{sub['id']}/pdf", headers=h)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    file_id = sub["data"]["signature"].removeprefix("portico-file:")
    img = client.get(f"/api/v1/submissions/{sub['id']}/files/{file_id}", headers=h)
    assert img.status_code == 200 and img.mimetype == "image/png"
    other = make_portal_account(client=make_client())
    assert (
        client.get(f"/api/v1/submissions/{sub['id']}", headers=api_login(client, other.email)).status_code
        == 404
    )
