"""Authorization proof for contact links: a contact of client A with each single link right and with
none, across every API route of the matrix (tests/proof/test_authz_matrix.py) and every portal page.

A contact reaches a client profile only through an explicit right (forms, appointments, payments,
messages) or as the guardian of a minor. A link without rights shows nothing: not in /api/v1/me,
not in the portal's profile switcher, not the record through any route. A single right shows only
what that right needs: outside the forms right (whose forms are prefilled from the record anyway),
no route shows A's date of birth, e-mail, phone or address.

Actors (each a contact with its own portal account):
  none, forms, appointments, payments, messages   links to A (a minor) with that right only;
  guardian_none                                   A's guardian (a minor's) without rights: sees her
                                                  profile and record, no right-gated route;
  adult_guardian_none                             a guardian link without rights to an adult client:
                                                  nothing of that client either.
"""

from __future__ import annotations

from datetime import date

import pytest

from engine.models.clients import Address
from engine.services.accounts import tokens
from tests.helpers import login_as, make_client, make_portal_account
from tests.proof import test_authz_matrix as matrix
from tests.proof.test_authz_matrix import ROUTES, SURNAME, _url, api_routes

world = matrix.world  # the matrix's client A and her objects (appointment, invoice, task, ...)

RIGHTS = ("forms", "appointments", "payments", "messages")
CONTACTS = ("none", *RIGHTS, "guardian_none", "adult_guardian_none")
# Unique values of A's record that only the whole record shows.
PHI = {
    "date_of_birth": "2014-05-01",
    "email": "quorvath.family@example.org",
    "phone": "555-0142-77",
    "address": "17 Sorrel Lane",
}
ADULT_SURNAME = "Zelthorne"
# "CLIENT" routes whose portal callers need a link right beyond seeing the profile.
LINK_NEEDED = {
    "GET /api/v1/clients/<client_id>/documents": "forms",
    "GET /api/v1/clients/<client_id>/submitted-forms": "forms",
}
# Routes only the contact with this right may get through; whether it does depends on the object's
# state, which other rules decide (saving progress on a form nobody requested).
AT_MOST = {"PUT /api/v1/clients/<client_id>/forms/<key>": "forms"}
# Pages the right lets through only when the object's state allows: /portal/forms/<key> leads to the
# page of an open task asking for the form, and is not found when none does (security #13).
PAGES_AT_MOST = {"/portal/forms/<key>"}
# Every portal page (GET) and the link right it needs; "" = any signed-in portal account.
PAGES = {
    "/portal": "",
    "/portal/activate": "",
    "/portal/appointments": "appointments",
    "/portal/billing": "payments",
    "/portal/billing/receipts/<payment_id>": "payments",
    "/portal/documents": "forms",
    "/portal/forms/<key>": "forms",
    "/portal/insurance": "payments",
    "/portal/messages": "messages",
    "/portal/tasks": "forms",
    "/portal/tasks/<task_id>": "forms",
    "/portal/tasks/next": "forms",
}


@pytest.fixture()
def contacts(world):
    """The contacts above, linked to client A of the matrix world (whose record gets unique PHI)."""
    from engine.models.clients import Client, Contact, ContactLink, LinkPermissions

    minor = Client.objects(id=world["client_id"]).first()
    minor.date_of_birth = date.fromisoformat(PHI["date_of_birth"])
    minor.email, minor.phone = PHI["email"], PHI["phone"]
    minor.address = Address(line1=PHI["address"], city="Springfield")
    minor.save()
    adult = make_client(first_name="Ada", last_name=ADULT_SURNAME, date_of_birth=date(1980, 1, 1))
    accounts = {}
    for who in CONTACTS:
        person = Contact(
            first_name=who.title(), last_name="Contact", email=f"{who}@contacts.example.org"
        ).save()
        client = adult if who == "adult_guardian_none" else minor
        rights = {who: True} if who in RIGHTS else {}
        ContactLink(
            contact=person,
            client=client,
            relationship="relative",
            is_guardian="guardian" in who,
            permissions=LinkPermissions(**rights),
        ).save()
        accounts[who] = make_portal_account(contact=person)
    return {
        "accounts": accounts,
        "client_id": world["client_id"],
        "adult_id": str(adult.id),
        "params": world["params"],
    }


def _sees_profile(who: str) -> bool:
    return who in RIGHTS or who == "guardian_none"


def _whole_record(who: str) -> bool:
    return who in ("forms", "guardian_none")


def _expected(route: str, policy: str, who: str) -> str:
    """ "ok", "no" or "any" for a contact on one matrix route."""
    if policy == "PUBLIC" or AT_MOST.get(route) == who:
        return "any"
    if policy == "SELF":
        return "ok"
    if not policy.startswith(("CLIENT", "PORTAL")) or policy.startswith("STAFFCLIENT"):
        return "no"  # staff-only, someone else's, or nobody's
    link = LINK_NEEDED.get(route) or policy.partition("/")[2]
    if link:
        return "ok" if who == link else "no"
    return "ok" if _sees_profile(who) else "no"


def _leaks(who: str, body: bytes, client_id: str, adult_id: str) -> list[str]:
    """What of A (or the adult client) a response shows that this contact may not see."""
    found = []
    if not _sees_profile(who) and (client_id.encode() in body or SURNAME.encode() in body):
        found.append("client A")
    if adult_id.encode() in body or ADULT_SURNAME.encode() in body:
        found.append("the adult client")
    if not _whole_record(who):
        found += [name for name, value in PHI.items() if value.encode() in body]
    return found


def test_hole4_contact_link_without_rights_shows_nothing(app, contacts):
    """Does a contact whose link grants nothing see no profile, no record and no name of the client?"""
    client = app.test_client()
    for who in ("none", "adult_guardian_none"):
        raw, _ = tokens.issue_token(contacts["accounts"][who], label="hole4")
        headers = {"Authorization": f"Bearer {raw}"}
        me = client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200 and me.get_json()["profiles"] == [], me.get_json()
        for target in (contacts["client_id"], contacts["adult_id"]):
            assert client.get(f"/api/v1/clients/{target}", headers=headers).status_code == 404
    browser = app.test_client()
    csrf = login_as(browser, contacts["accounts"]["none"].email)
    browser.post(
        "/portal/profile", data={"client_id": contacts["client_id"], "csrf_token": csrf["X-CSRFToken"]}
    )
    home = browser.get("/portal").get_data()
    assert SURNAME.encode() not in home and contacts["client_id"].encode() not in home


def test_hole4_single_right_shows_only_what_it_needs(app, contacts):
    """Does a messages-only (or appointments-, payments-only) link show A's name but not her date of
    birth, e-mail, phone or address, while the forms right and a minor's guardian see the record?"""
    client = app.test_client()
    for who in (*RIGHTS, "guardian_none"):
        raw, _ = tokens.issue_token(contacts["accounts"][who], label="hole4")
        resp = client.get(
            f"/api/v1/clients/{contacts['client_id']}", headers={"Authorization": f"Bearer {raw}"}
        )
        assert resp.status_code == 200, (who, resp.status_code)
        record = resp.get_json()
        assert record["last_name"] == SURNAME
        shown = {name: bool(record.get(name)) for name in ("date_of_birth", "email", "phone", "address")}
        assert shown == dict.fromkeys(shown, _whole_record(who)), (who, record)


def test_contact_links_across_every_api_route(app, contacts):
    """Does each contact get exactly what its link allows on every API route, showing nothing more?"""
    client = app.test_client()
    leaks, wrong = [], []
    for route in api_routes(app):
        policy = ROUTES.get(route)
        if policy is None:
            continue  # test_authz_matrix names undeclared routes
        method = route.split(" ", 1)[0]
        url = _url(route, contacts["params"], policy)
        for who in CONTACTS:
            raw, _ = tokens.issue_token(contacts["accounts"][who], label="links")
            resp = client.open(
                url,
                method=method,
                headers={"Authorization": f"Bearer {raw}"},
                json={} if method in ("POST", "PUT", "PATCH") else None,
            )
            body = resp.get_data()
            assert resp.status_code < 500, f"{route} as {who}: {resp.status_code} {body[:200]!r}"
            got = (
                "no"
                if resp.status_code in (401, 403, 404)
                else ("neutral" if resp.status_code in (400, 422) else "ok")
            )
            want = _expected(route, policy, who)
            shown = _leaks(who, body, contacts["client_id"], contacts["adult_id"])
            if shown:
                leaks.append(f"{route} as {who}: {resp.status_code} shows {', '.join(shown)}")
            elif want == "no" and got == "ok":
                leaks.append(f"{route} as {who}: {resp.status_code}, expected a refusal")
            elif want == "ok" and got == "no":
                wrong.append(f"{route} as {who}: {resp.status_code}, expected access")
    assert leaks == [], "LEAKS:\n" + "\n".join(leaks)
    assert wrong == [], "refused although the link allows it:\n" + "\n".join(wrong)


def _page_routes(app) -> list[str]:
    return sorted(
        {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/portal") and "GET" in r.methods}
    )


def test_every_portal_page_is_declared(app):
    """Is every portal page (GET) declared in PAGES with the link right it needs?"""
    assert _page_routes(app) == sorted(PAGES)


def test_contact_links_across_every_portal_page(app, contacts):
    """With A chosen in the switcher (where the link allows), does each contact get exactly the portal
    pages its link allows, and does no page show what the link does not?"""
    import re

    leaks, wrong = [], []
    for who in CONTACTS:
        browser = app.test_client()
        csrf = login_as(browser, contacts["accounts"][who].email)
        switched = browser.post(
            "/portal/profile", data={"client_id": contacts["client_id"], "csrf_token": csrf["X-CSRFToken"]}
        )
        assert switched.status_code == 303
        for rule, need in PAGES.items():
            url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: contacts["params"][m.group(1)], rule)
            resp = browser.get(url)
            body = resp.get_data()
            assert resp.status_code < 500, f"{rule} as {who}: {resp.status_code}"
            allowed = not need or who == need
            shown = _leaks(who, body, contacts["client_id"], contacts["adult_id"])
            if shown:
                leaks.append(f"{rule} as {who}: {resp.status_code} shows {', '.join(shown)}")
            elif not allowed and resp.status_code != 404:
                leaks.append(f"{rule} as {who}: {resp.status_code}, expected 404")
            elif (
                allowed
                and resp.status_code not in (200, 303)
                and not (rule in PAGES_AT_MOST and resp.status_code == 404)
            ):
                wrong.append(f"{rule} as {who}: {resp.status_code}, expected the page")
        home = browser.get("/portal").get_data()
        if _sees_profile(who) and SURNAME.encode() not in home:
            wrong.append(f"/portal as {who}: A's profile is missing")
    assert leaks == [], "LEAKS:\n" + "\n".join(leaks)
    assert wrong == [], "refused although the link allows it:\n" + "\n".join(wrong)
