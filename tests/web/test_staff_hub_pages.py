"""The staff home (what needs me today, the intake funnel) and the client hub's tabs, on the demo practice."""

from __future__ import annotations

import re

import pytest

from engine.models.clients import Client
from engine.services.demo import seed_demo
from tests.helpers import login_as

PASSWORD = "demo-password-123"
TABS = ["Overview", "Documents", "Messages", "Appointments", "Billing", "Insurance", "Contacts"]


def _visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture()
def demo(clean_db):
    seed_demo(PASSWORD)


def test_staff_home_shows_what_needs_me_and_the_funnel_with_counts(client, demo):
    """Does the admin's home keep the set-up card, count two forms to review and one intake waiting for
    review with links, and draw the funnel with each bar labelled with its count (practice and therapist)?"""
    login_as(client, "orgadmin@harbor.example", PASSWORD)
    html = client.get("/staff").get_data(as_text=True)
    text = _visible(html)
    assert 'id="setup-card"' in html
    assert "What needs you today" in text and "2 Forms to review" in text
    assert "1 Intake waiting for review" in text and "2 Intakes waiting on the client" in text
    assert 'href="/staff/inbox"' in html and 'href="/staff/messages"' in html
    assert "Whole practice" in text and "Priya Natarajan’s clients" in text
    for label, count, share in (
        ("Invited", 4, 100),
        ("Started", 3, 75),
        ("Submitted", 2, 50),
        ("Acknowledged", 1, 25),
        ("Filed", 1, 25),
    ):
        assert f'aria-label="{label}: {count} of 4 intakes, {share}%"' in html
        assert f'<th scope="row">{label}</th><td class="n">{count}</td>' in html
    assert html.count('aria-current="page"') == 1 and '<a href="/staff" aria-current="page">' in html


def test_client_hub_shows_the_same_tab_bar_on_every_tab_with_the_right_one_current(client, demo):
    """Does every page of a client show the seven tabs in order with its own tab marked current, and the
    Clients item of the staff navigation?"""
    login_as(client, "orgadmin@harbor.example", PASSWORD)
    alex = Client.objects.get(first_name="Alex")
    base = f"/staff/clients/{alex.id}"
    for tab, path in zip(
        TABS,
        ["", "/documents", "/messages", "/appointments", "/billing", "/insurance", "/contacts"],
        strict=True,
    ):
        resp = client.get(base + path)
        assert resp.status_code == 200, path
        html = resp.get_data(as_text=True)
        bar = html[html.index('<nav class="tabs"') :]
        bar = bar[: bar.index("</nav>")]
        assert re.findall(r">([A-Za-z]+)</a>", bar) == TABS
        assert re.findall(r'aria-current="page">([A-Za-z]+)</a>', bar) == [tab]
        assert '<a href="/staff/clients" aria-current="page">Clients</a>' in html


def test_client_overview_shows_the_portal_invitation_and_intake_state(client, demo):
    """Does the overview say "Portal active" for a client who signed in, "Invitation sent" with a resend
    for one invited but not signed in, offer "Invite to portal" to one never invited, and say where each
    intake stands in words?"""
    login_as(client, "orgadmin@harbor.example", PASSWORD)
    page = {
        c.first_name: _visible(client.get(f"/staff/clients/{c.id}").get_data(as_text=True))
        for c in Client.objects(first_name__in=["Alex", "Casey", "Riley", "Sam"])
    }
    assert "Portal active" in page["Alex"] and "Filling in forms" in page["Alex"]
    assert "Still to fill in: Client information" in page["Alex"]
    assert "Invitation sent" in page["Casey"] and "Resend" in page["Casey"]
    assert "Invited, no form started yet" in page["Casey"]
    assert "Done: reviewed and filed" in page["Riley"]
    assert "Not invited to the portal" in page["Sam"] and "Invite to portal" in page["Sam"]
    assert "No intake yet" in page["Sam"]


def test_client_appointments_tab_lists_the_booked_session_in_words(client, demo):
    """Does the Appointments tab show the demo client's booked session with the service, therapist and
    place by name?"""
    login_as(client, "orgadmin@harbor.example", PASSWORD)
    alex = Client.objects.get(first_name="Alex")
    text = _visible(client.get(f"/staff/clients/{alex.id}/appointments").get_data(as_text=True))
    assert "with Priya Natarajan" in text and "Booked" in text
    assert "harbor_st" not in text


NAV = [
    ("/staff", "Home"),
    ("/staff/appointments", "Appointments"),
    ("/staff/calendar", "Calendar"),
    ("/staff/messages", "Messages"),
    ("/staff/inbox", "Inbox"),
    ("/staff/preferences", "My preferences"),
    ("/admin/setup", "Practice set-up"),
    ("/admin/practice", "Practice set-up"),
    ("/staff/clients", "Clients"),
    ("/admin/staff", "Staff"),
    ("/admin/permissions", "Default permissions"),
    ("/admin/portal", "Portal settings"),
]


def test_the_staff_navigation_marks_the_page_you_are_on(client, demo):
    """On each staff page, is exactly one staff navigation item current, and is it the page's own?"""
    login_as(client, "orgadmin@harbor.example", PASSWORD)
    for path, label in NAV:
        html = client.get(path).get_data(as_text=True)
        nav = html[html.index('aria-label="Staff"') :]
        nav = nav[: nav.index("</nav>")]
        assert re.findall(r'aria-current="page">([^<]+)</a>', nav) == [label], path
