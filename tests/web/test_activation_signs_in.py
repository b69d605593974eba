"""After activation the client is signed in (issue 15)."""

from __future__ import annotations

from engine.models.accounts import PortalAccount
from engine.models.organization import Organization
from engine.services.portal import invitations
from tests.helpers import csrf_token, make_client

CHOSEN = "a long portal password 42"


def _invited(email="ada@example.org"):
    client = make_client(first_name="Ada", email=email)
    account = PortalAccount(email=email, first_name="Ada", client=client)
    account.save()
    client.portal_account = account
    client.save()
    return account, invitations.issue(account, client)


def _activate(client, raw):
    page = f"/portal/activate?token={raw}"
    return client.post(
        "/portal/activate",
        data={"token": raw, "password": CHOSEN, "confirm": CHOSEN, "csrf_token": csrf_token(client, page)},
    )


def test_activation_signs_the_client_in(client):
    """Is a client who sets their password from the invitation link signed in at once, in their portal?"""
    account, raw = _invited()
    done = _activate(client, raw)
    assert done.status_code == 303
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == account.email and me["kind"] == "portal"
    assert client.get("/portal").status_code == 200


def test_activation_leads_to_mfa_setup_when_the_practice_requires_it(client):
    """When the practice requires MFA for the portal, does activation lead to setting it up rather than
    skipping it?"""
    org = Organization.get()
    org.portal.require_mfa_for_portal = True
    org.save()
    _account, raw = _invited("bo@example.org")
    done = _activate(client, raw)
    assert done.status_code == 303 and done.headers["Location"].endswith("/mfa/setup")
    assert client.get("/api/v1/me").status_code == 401
