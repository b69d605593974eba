"""The staff review pages read like the PDF, and a returned form is safe to send and reaches the client.

Real worker, scheduler and SMTP (tests/fixtures); staff use the pages with a cookie session,
the client the API with a bearer token, each in a browser of their own.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests import intake_lifecycle as lc
from tests.helpers import api_login, login_as, make_client, make_staff

_KEYS = re.compile(r"\b(address_line1|ok_to_text|postal_code|first_name|True|False|None)\b")
_HEX_ID = re.compile(r"\b[0-9a-f]{24}\b")


@pytest.fixture()
def staff(client, installed, smtp, scheduler):
    admin = make_staff(roles=("org_admin",))
    return {"api": api_login(client, admin.email), "email": admin.email}


def _visible(html: str) -> str:
    """The text a person reads: no tags, scripts, attributes or hidden inputs."""
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _submitted(client, staff, smtp, **packet) -> tuple[object, dict]:
    """A client (record says "Annie"; her form says "Ada") who submitted her demographics; the open
    acknowledgement task."""
    lc.configure(intake_packet=["demographics"], reminder_max=0)
    ann = make_client(
        first_name="Annie", last_name="Lovelace", email="ann@example.org", date_of_birth=date(1990, 12, 10)
    )
    assert client.post(f"/api/v1/clients/{ann.id}/invite", headers=staff["api"], json={}).status_code == 201
    portal = lc.activate(client, smtp, "ann@example.org")
    lc.fill_packet(client, portal, str(ann.id), 1)
    [ack] = lc.wait_tasks(
        client, staff["api"], lambda t: t["form_key"] == "form_acknowledgement", "acknowledgement"
    )
    return ann, ack


@pytest.mark.slow
def test_acknowledge_page_reads_like_the_pdf_with_the_record_changes_on_it(app, client, staff, smtp):
    """Does the acknowledgement page show question titles with answers in words (Yes/No, dates, no
    field keys, no True/False, no database ids), and the proposed record change with its own
    Accept/Reject on the same page?"""
    ann, ack = _submitted(client, staff, smtp)
    browser = app.test_client()
    login_as(browser, staff["email"])
    page = browser.get(f"/staff/tasks/{ack['id']}/acknowledge")
    assert page.status_code == 200
    text = _visible(page.get_data(as_text=True))
    assert "Review Client information from Annie Lovelace" in text
    assert (
        "May we send appointment reminders by text message? Yes" in text
        and "10 Dec 1990" in text
        and "12 Analytical Way" in text
    )
    assert not _KEYS.search(text), _KEYS.search(text)
    assert not _HEX_ID.search(text), _HEX_ID.search(text)
    # The form says "Ada", the record "Annie": the change waits on this page, accepted in place.
    assert re.search(r"First name Annie Ada", text), text
    html = page.get_data(as_text=True)
    item = re.search(
        r'(?s)<th scope="row">First name</th>.*?action="/staff/review-items/([0-9a-f]{24})"', html
    ).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = browser.post(
        f"/staff/review-items/{item}",
        data={"decision": "accept", "csrf_token": token, "next": f"/staff/tasks/{ack['id']}/acknowledge"},
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        f"/staff/tasks/{ack['id']}/acknowledge"
    )
    ann.reload()
    assert ann.first_name == "Ada"
    again = _visible(browser.get(f"/staff/tasks/{ack['id']}/acknowledge").get_data(as_text=True))
    assert "Accepted" in again and "Change to first name accepted." in again


@pytest.mark.slow
def test_returning_without_a_comment_keeps_the_choice_and_a_return_mails_the_client(app, client, staff, smtp):
    """Is "Return" without a comment refused in plain words with "Return" still chosen (never a field
    key, never reset to Acknowledge), and does a return with a comment mail the client, without the
    comment or the form's name in the mail?"""
    ann, ack = _submitted(client, staff, smtp)
    browser = app.test_client()
    headers = login_as(browser, staff["email"])
    mails_before = len(smtp.to("ann@example.org"))

    refused = browser.post(
        f"/staff/tasks/{ack['id']}/acknowledge",
        headers=headers,
        data={"decision": "return", "return_comment": "   "},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'value="return"\s+checked', html)
    assert "Write what the client should change before returning the form." in _visible(html)
    assert "return_comment:" not in html and "Response required" not in html
    assert [t["id"] for t in lc.open_tasks(client, staff["api"])] == [ack["id"]]  # nothing was decided

    comment = "Your phone number is missing a digit."
    done = browser.post(
        f"/staff/tasks/{ack['id']}/acknowledge",
        headers=headers,
        data={"decision": "return", "return_comment": comment},
    )
    assert done.status_code == 303
    mails = lc.wait_for(
        lambda: smtp.to("ann@example.org")[mails_before:] or None, what="the returned-form mail"
    )
    [mail] = mails
    assert "has returned a form for you to change" in mail
    assert comment not in mail and "Client information" not in mail  # no health information in mail
    portal = api_login(client, "ann@example.org", lc.PORTAL_PASSWORD)
    [reopened] = lc.wait_tasks(client, portal, lambda t: t["lane"] == "client", "the reopened form")
    assert reopened["form_key"] == "demographics"


@pytest.mark.slow
def test_front_desk_acknowledges_three_forms_at_once_from_the_inbox(app, client, staff, smtp):
    """Does the inbox name each form and its client (grouped by client, never "Acknowledge a submitted
    form" five times), and can the front desk acknowledge three forms with one button, with a task
    that is not a form review refused by name and left open?"""
    lc.configure(intake_packet=["demographics"], reminder_max=0)
    people = []
    for first in ("Ada", "Bea", "Cy"):
        person = make_client(
            first_name=first,
            last_name="Tester",
            email=f"{first.lower()}@example.org",
            date_of_birth=date(1990, 1, 1),
        )
        assert (
            client.post(f"/api/v1/clients/{person.id}/invite", headers=staff["api"], json={}).status_code
            == 201
        )
        portal = lc.activate(client, smtp, person.email)
        lc.fill_packet(client, portal, str(person.id), 1)
        people.append(person)
    acks = lc.wait_tasks(
        client, staff["api"], lambda t: t["form_key"] == "form_acknowledgement", "three reviews", 3
    )
    desk = make_staff(roles=("front_desk",))
    browser = app.test_client()
    headers = login_as(browser, desk.email)
    html = browser.get("/staff/inbox").get_data(as_text=True)
    text = _visible(html)
    for person in people:
        assert f"{person.first_name} Tester" in text
    assert text.count("Review Client information") == 3 and "Acknowledge a submitted form" not in text
    assert len(re.findall(r'name="task_id" value="([0-9a-f]{24})"', html)) == 3

    resp = browser.post(
        "/staff/inbox/acknowledge", headers=headers, data={"task_id": [t["id"] for t in acks]}
    )
    assert resp.status_code == 303
    after = _visible(browser.get("/staff/inbox").get_data(as_text=True))
    assert (
        "3 forms acknowledged: Review Client information, Review Client information, Review Client information."
        in after
    )
    assert not [t for t in lc.open_tasks(client, staff["api"]) if t["form_key"] == "form_acknowledgement"]
    assert browser.post("/staff/inbox/acknowledge", headers=headers, data={}).status_code == 303
    assert "Choose the forms to acknowledge." in _visible(browser.get("/staff/inbox").get_data(as_text=True))
