"""The portal's home tells a client what to do next: a checklist of the packet with "Start"/"Continue",
the move to the next form after each one, and a returned form shown once, marked for changes."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests import intake_lifecycle as lc
from tests.form_fills import VALID
from tests.helpers import api_login, login_as, make_client, make_staff


@pytest.fixture()
def staff(client, installed, smtp, scheduler):
    return api_login(client, make_staff(roles=("org_admin",)).email)


def _visible(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.slow
def test_home_checklist_leads_from_form_to_form_and_shows_a_returned_form_once(app, client, staff, smtp):
    """Does home say "0 of 2 done" with Start, move the client to the next form after each one,
    mark a submitted form "Submitted, awaiting review" at once, and list a returned form once as
    "Returned: needs changes" (and once as submitted after the revision)?"""
    lc.configure(intake_packet=["demographics", "phq9"], reminder_max=0)
    ada = make_client(
        first_name="Ada", last_name="Lovelace", email="ada@example.org", date_of_birth=date(1990, 12, 10)
    )
    assert client.post(f"/api/v1/clients/{ada.id}/invite", headers=staff, json={}).status_code == 201
    portal = lc.activate(client, smtp, "ada@example.org")
    waiting = lc.wait_tasks(client, portal, lambda t: t["lane"] == "client", "two forms", 2)
    browser = app.test_client()
    login_as(browser, "ada@example.org", lc.PORTAL_PASSWORD)

    home = _visible(browser.get("/portal").get_data(as_text=True))
    assert "Your forms: 0 of 2 done" in home and "Start" in home
    assert home.index("Client information") < home.index("PHQ-9")  # the packet's order

    first = next(t for t in waiting if t["form_key"] == "demographics")
    lc.complete(client, portal, first["id"], VALID["demographics"])
    nxt = browser.get("/portal/tasks/next")
    second = next(t for t in waiting if t["form_key"] == "phq9")
    assert nxt.status_code == 303 and nxt.headers["Location"].endswith(f"/portal/tasks/{second['id']}")
    home = _visible(browser.get("/portal").get_data(as_text=True))
    assert "Your forms: 1 of 2 done" in home and "Continue" in home
    assert "Client information Submitted, awaiting review" in home

    lc.complete(client, portal, second["id"], VALID["phq9"])
    done = browser.get("/portal/tasks/next")
    assert done.status_code == 303 and done.headers["Location"].endswith("/portal")
    assert "All forms done" in _visible(browser.get("/portal").get_data(as_text=True))

    lc.acknowledge_all(client, staff, 2, returns={"demographics": "Please add your middle name."})
    lc.wait_tasks(client, portal, lambda t: t["lane"] == "client", "the returned form")
    forms_page = _visible(browser.get("/portal/tasks").get_data(as_text=True))
    assert forms_page.count("Client information") == 1
    assert "Client information Returned: needs changes" in forms_page and "1 of 2 done" in forms_page
    [revise] = [t for t in lc.open_tasks(client, portal) if t["lane"] == "client"]
    lc.complete(client, portal, revise["id"], VALID["demographics"])
    forms_page = _visible(browser.get("/portal/tasks").get_data(as_text=True))
    assert forms_page.count("Client information") == 1 and "All forms done" in forms_page
