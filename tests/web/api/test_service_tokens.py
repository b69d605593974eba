"""Service tokens for integrations (issue 18, item 3): own permissions, shown once, revocable, last use listed."""

from __future__ import annotations

import re

from engine.models.integrations import ServiceToken
from tests.helpers import api_login, login_as, make_client, make_staff


def _create(client, admin, name, permissions):
    resp = client.post(
        "/api/v1/service-tokens", headers=admin, json={"name": name, "permissions": permissions}
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_read_only_token_reads_is_refused_a_write_and_is_refused_after_revocation(client):
    """Does a read-only service token read a client, get refused a write, and get refused once revoked?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    person = make_client(first_name="Ida", last_name="Reed")
    made = _create(client, admin, "Billing sync", ["clients.view_all"])
    assert made["token"].startswith("pst_") and made["last_used_at"] is None
    bearer = {"Authorization": f"Bearer {made['token']}"}

    read = client.get(f"/api/v1/clients/{person.id}", headers=bearer)
    assert read.status_code == 200 and read.get_json()["last_name"] == "Reed"
    assert client.get("/api/v1/clients", headers=bearer).status_code == 200
    assert (
        client.patch(f"/api/v1/clients/{person.id}", headers=bearer, json={"last_name": "X"}).status_code
        == 403
    )
    assert (
        client.post("/api/v1/clients", headers=bearer, json={"first_name": "A", "last_name": "B"}).status_code
        == 403
    )
    assert client.get("/api/v1/service-tokens", headers=bearer).status_code == 403
    # It is no person: no /me, no password, no portal.
    assert client.get("/api/v1/me", headers=bearer).status_code == 403

    listed = client.get("/api/v1/service-tokens", headers=admin).get_json()["items"]
    assert [t["name"] for t in listed] == ["Billing sync"] and listed[0]["last_used_at"] is not None
    assert "token" not in listed[0]  # shown once, at creation only
    assert ServiceToken.objects.get(id=made["id"]).token_hash != made["token"]

    revoked = client.post(f"/api/v1/service-tokens/{made['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    assert client.get(f"/api/v1/clients/{person.id}", headers=bearer).status_code == 401


def test_tokens_carry_only_granted_permissions(client):
    """Can an admin grant only codes they hold, and does a token without clients.view_all see no client?"""
    admin_member = make_staff(roles=("org_admin",))
    admin = api_login(client, admin_member.email)
    desk = api_login(client, make_staff(roles=("front_desk",), permissions=["integrations.manage"]).email)
    refused = client.post(
        "/api/v1/service-tokens", headers=desk, json={"name": "x", "permissions": ["staff.manage"]}
    )
    assert refused.status_code == 422 and "permissions" in refused.get_json()["error"]["details"]
    unknown = client.post(
        "/api/v1/service-tokens", headers=admin, json={"name": "x", "permissions": ["root"]}
    )
    assert unknown.status_code == 422
    person = make_client()
    blind = {"Authorization": f"Bearer {_create(client, admin, 'Forms', ['dynamic_forms.manage'])['token']}"}
    assert client.get(f"/api/v1/clients/{person.id}", headers=blind).status_code == 403
    assert (
        client.get("/api/v1/forms", headers=blind).status_code == 403
    )  # a staff route reading no permission
    writer = {
        "Authorization": f"Bearer {_create(client, admin, 'EHR', ['clients.view_all', 'clients.manage'])['token']}"
    }
    made = client.post("/api/v1/clients", headers=writer, json={"first_name": "New", "last_name": "Person"})
    assert made.status_code == 201 and made.get_json()["assigned_staff"] == []
    # Pages are for people: a bearer service token opens none.
    assert client.get("/staff/clients", headers=writer).status_code in (302, 403)


def test_admin_page_creates_shows_once_and_revokes(client):
    """Does the admin page create a token showing it once, list it by name with permission labels, and revoke it?"""
    admin = make_staff(roles=("org_admin",))
    csrf = login_as(client, admin.email)
    page = client.post(
        "/admin/service-tokens",
        data={"csrf_token": csrf["X-CSRFToken"], "name": "Spreadsheet", "permissions": ["clients.view_all"]},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 201 and "pst_" in html and "See every client" in html
    listing = client.get("/admin/service-tokens").get_data(as_text=True)
    raw = re.search(r'value="(pst_[^"]+)"', html).group(1)
    visible = re.sub(r"<[^>]+>", " ", listing)  # the text people read (codes may sit in form values)
    assert "Spreadsheet" in visible and raw not in listing and "clients.view_all" not in visible
    token = ServiceToken.objects.get(name="Spreadsheet")
    done = client.post(f"/admin/service-tokens/{token.id}/revoke", data={"csrf_token": csrf["X-CSRFToken"]})
    assert done.status_code == 303
    assert ServiceToken.objects.get(id=token.id).revoked_at is not None
    assert "Revoked" in client.get("/admin/service-tokens").get_data(as_text=True)


def test_a_token_holding_every_permission_never_gets_a_server_error(client, app):
    """Does every API route answer a token holding every permission without a 5xx (no route assumes a person)?"""
    import re as _re

    from bson import ObjectId

    from engine.authz import PERMISSIONS

    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    person = make_client()
    bearer = {"Authorization": f"Bearer {_create(client, admin, 'All', sorted(PERMISSIONS))['token']}"}
    missing = str(ObjectId())
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "logout" in rule.rule or "password" in rule.rule:
            continue
        url = _re.sub(
            r"<(?:\w+:)?(\w+)>",
            lambda m: (
                str(person.id)
                if m.group(1) == "client_id"
                else ("0" if m.group(0).startswith("<int:") else missing)
            ),
            rule.rule,
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            resp = client.open(
                url, method=method, headers=bearer, json={} if method in ("POST", "PUT", "PATCH") else None
            )
            assert resp.status_code < 500, (
                f"{method} {rule.rule}: {resp.status_code} {resp.get_data()[:300]!r}"
            )
