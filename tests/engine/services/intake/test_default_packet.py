"""The default intake packet out of the box, and its order kept in the invite dialog, the staff's
outstanding list and the client's portal."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from engine.authz import staff_actor
from engine.models.forms import FormDefinition
from engine.models.organization import Organization
from engine.models.workflow import ProcessInstance
from engine.services.intake.intake_setup import (
    DEFAULT_PACKET,
    install_default_packet,
    install_shipped,
)
from engine.services.practice import settings
from tests import intake_lifecycle as lc
from tests.helpers import api_login, login_as, make_client, make_portal_account, make_staff


def _titles(keys) -> list[str]:
    found = {f.key: f.title for f in FormDefinition.objects(key__in=list(keys))}
    return [found[k] for k in keys]


def test_fresh_practice_has_the_default_packet_once(installed):
    """Does a fresh practice get the shipped default packet, and does an admin's change (even
    emptying it) survive the next start?"""
    assert list(Organization.get().portal.intake_packet) == list(DEFAULT_PACKET)
    assert all(FormDefinition.objects.get(key=k).latest_version for k in DEFAULT_PACKET)
    admin = staff_actor(make_staff(roles=("org_admin",)))
    settings.update_portal_settings(admin, {"intake_packet": []})
    install_shipped()
    assert install_default_packet() == []
    assert list(Organization.get().portal.intake_packet) == []


def test_a_packet_chosen_before_the_default_existed_is_kept(clean_db):
    """Does an installation whose admin already chose a packet keep it when the default arrives?"""
    org = Organization.get()
    org.portal.intake_packet = ["phq9"]
    org.save()
    install_shipped()
    org = Organization.get()
    assert list(org.portal.intake_packet) == ["phq9"] and org.default_packet_installed


def test_invite_without_choosing_forms_keeps_the_packet_order_everywhere(client, installed, smtp):
    """Does an invite that names no forms send the default packet, and after the admin reorders it,
    do the invite dialog, the outstanding list and the client's portal all follow the packet's order?"""
    admin = make_staff(roles=("org_admin",))
    staff = api_login(client, admin.email)
    ann = make_client(first_name="Ann", email="ann@example.org")
    make_portal_account(client=ann)

    first = client.post(f"/api/v1/clients/{ann.id}/invite", headers=staff, json={})
    assert first.status_code == 201, first.get_json()
    lc.perform_all(first.get_json()["id"])
    ours = lc.open_tasks(client, api_login(client, "ann@example.org"))
    assert sorted(t["form_key"] for t in ours) == sorted(DEFAULT_PACKET)

    # The admin puts the screeners first and the paperwork after, in an order no sort would give.
    packet = ["phq9", "npp_acknowledgment", "gad7", "demographics", "consent_adult"]
    resp = client.put("/api/v1/settings/portal", headers=staff, json={"intake_packet": packet})
    assert resp.status_code == 200, resp.get_json()
    bob = make_client(first_name="Bob", email="bob@example.org")
    make_portal_account(client=bob)
    headers = login_as(client, admin.email)
    dialog = client.get(f"/staff/clients/{bob.id}/documents").get_data(as_text=True)
    ticked = re.findall(r'name="packet" value="([a-z0-9_]+)" checked', dialog)
    assert ticked == packet
    sent = client.post(
        f"/staff/clients/{bob.id}/invite",
        headers=headers,
        data=MultiDict([("packet", key) for key in ticked]),
    )  # the browser posts them in page order
    assert sent.status_code == 303
    lc.perform_all(ProcessInstance.objects.get(client_id=bob.id).id)

    page = client.get(f"/staff/clients/{bob.id}/documents").get_data(as_text=True)
    listed = re.search(r"<p>Outstanding:</p>\s*<ul[^>]*>(.*?)</ul>", page, re.S).group(1)
    assert [t.strip() for t in re.findall(r"<li>([^<]*)", listed)] == _titles(packet)

    client.post("/logout", headers=headers)
    login_as(client, "bob@example.org")
    portal = client.get("/portal/tasks").get_data(as_text=True)
    assert re.findall(
        r'<span class="step-body"><a href="/portal/tasks/[0-9a-f]+">(.*?)</a>', portal
    ) == _titles(packet)
