"""The practice's set-up through the API and the pages, and what uses it: the header, booking and invoices."""

from __future__ import annotations

import io
from datetime import date, timedelta

from engine.models.organization import Organization
from tests.helpers import api_login, login_as, make_client, make_portal_account, make_staff, png

PRACTICE = {
    "name": "Harbor Counseling",
    "address": "12 Harbor Street, Portland",
    "phone": "207-555-0100",
    "timezone": "America/Los_Angeles",
    "cancellation_policy": "Please cancel a day ahead.",
    "locations": [{"name": "Harbor Street office"}, {"name": "Video", "telehealth": True}],
    "service_types": [{"name": "Individual therapy", "duration_minutes": 45, "price": "140.00"}],
}


def test_practice_api_round_trip_and_refusals(client, clean_db):
    """Does an admin read and change the practice through the API, with 422 naming a wrong time zone
    and 403 for a therapist?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    therapist = api_login(client, make_staff(roles=("therapist",)).email)
    assert client.get("/api/v1/settings/practice", headers=therapist).status_code == 403
    resp = client.put("/api/v1/settings/practice", headers=admin, json=PRACTICE)
    assert resp.status_code == 200, resp.get_json()
    body = client.get("/api/v1/settings/practice", headers=admin).get_json()
    assert body["name"] == "Harbor Counseling" and body["timezone"] == "America/Los_Angeles"
    assert [(s["key"], s["price_cents"]) for s in body["service_types"]] == [("individual_therapy", 14000)]
    bad = client.put("/api/v1/settings/practice", headers=admin, json={"timezone": "Pacific Time"})
    assert bad.status_code == 422 and "timezone" in bad.get_json()["error"]["details"]
    steps = client.get("/api/v1/settings/checklist", headers=admin).get_json()
    assert {s["step"] for s in steps["steps"] if s["done"]} >= {
        "name",
        "contact",
        "locations",
        "services",
        "policy",
    }


def test_logo_uploaded_by_api_is_in_every_header(client, clean_db):
    """Is an uploaded logo served to anyone (the sign-in page shows it) as an image that cannot run,
    and is a non-image refused with 415?"""
    admin = api_login(client, make_staff(roles=("org_admin",)).email)
    client.put("/api/v1/settings/practice", headers=admin, json={"name": "Harbor Counseling"})
    login_page = client.get("/login").get_data(as_text=True)
    assert "Harbor Counseling" in login_page and "/practice/logo" not in login_page
    refused = client.put(
        "/api/v1/settings/practice/logo",
        headers=admin,
        data={"file": (io.BytesIO(b"<html><script>x</script>"), "logo.png")},
    )
    assert refused.status_code == 415
    image = png()
    resp = client.put(
        "/api/v1/settings/practice/logo", headers=admin, data={"file": (io.BytesIO(image), "logo.png")}
    )
    assert resp.status_code == 200 and resp.get_json()["has_logo"] is True
    fresh = client.application.test_client()
    logo = fresh.get("/practice/logo")
    assert logo.status_code == 200 and logo.data == image and logo.mimetype == "image/png"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    assert 'src="/practice/logo"' in fresh.get("/login").get_data(as_text=True)


def test_setup_page_saves_rows_and_keeps_what_was_typed_on_error(client, clean_db):
    """Does the set-up page save names and prices typed by a person, and on a wrong price show the
    error beside it, keep the typed rows, and save nothing?"""
    admin = make_staff(roles=("org_admin",))
    headers = login_as(client, admin.email)
    home = client.get("/staff").get_data(as_text=True)
    assert "Set up your practice" in home and "0 of 9 steps done" in home
    form = {
        "name": "Harbor Counseling",
        "address": "",
        "phone": "",
        "timezone": "America/Chicago",
        "cancellation_policy": "",
        "loc-0-key": "",
        "loc-0-name": "Main office",
        "loc-0-address": "1 Main St",
        "loc-1-key": "",
        "loc-1-name": "",
        "loc-1-address": "",
        "svc-0-key": "",
        "svc-0-name": "Couples therapy",
        "svc-0-duration_minutes": "80",
        "svc-0-price": "twelve",
        "svc-0-mode": "in_person",
        "svc-1-key": "",
        "svc-1-name": "",
        "svc-1-duration_minutes": "",
        "svc-1-price": "",
        "svc-1-mode": "in_person",
    }
    wrong = client.post("/admin/practice", data=form, headers=headers)
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "must be an amount such as 140 or 140.00" in page
    assert 'value="Couples therapy"' in page and 'value="Main office"' in page
    assert Organization.get().name == "My Practice"
    saved = client.post(
        "/admin/practice",
        data=dict(form, **{"svc-0-price": "180", "svc-0-mode": "telehealth"}),
        headers=headers,
    )
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/admin/setup")
    org = Organization.get()
    assert [(loc.key, loc.name) for loc in org.locations] == [("main_office", "Main office")]
    assert [(s.key, s.duration_minutes, s.price_cents, s.telehealth) for s in org.service_types] == [
        ("couples_therapy", 80, 18000, True)
    ]
    page = client.get("/admin/practice").get_data(as_text=True)
    assert 'value="180.00"' in page and 'value="main_office"' in page  # the key rides along hidden
    checklist = client.get("/admin/setup").get_data(as_text=True)
    assert (
        "Harbor Counseling" in checklist
        and 'Done:</span>\n    <a href="/admin/practice">Name your practice' in checklist
    )


def test_booking_and_invoices_work_from_the_setup_alone(client, clean_db):
    """On a practice set up only through the API, can a client book the service (for its length, in
    the practice's time zone) from a therapist's hours, and does an invoice line take the service's
    name and price?"""
    admin_member = make_staff(roles=("org_admin",))
    admin = api_login(client, admin_member.email)
    therapist = make_staff(roles=("therapist",), first_name="Priya")
    client.put("/api/v1/settings/practice", headers=admin, json=PRACTICE)
    day = date.today() + timedelta(days=3)
    rule = client.post(
        "/api/v1/availability/rules",
        headers=admin,
        json={
            "staff_id": str(therapist.id),
            "location": "harbor_street_office",
            "weekday": day.weekday(),
            "start": "09:00",
            "end": "10:30",
        },
    )
    assert rule.status_code == 201, rule.get_json()
    ann = make_client(first_name="Ann", email="ann@example.org")
    portal = api_login(client, make_portal_account(client=ann).email)
    slots = client.get(
        f"/api/v1/availability?location=harbor_street_office&service_type=individual_therapy"
        f"&from={day}&to={day}",
        headers=portal,
    ).get_json()["items"]
    assert [s["start"][11:16] for s in slots] == ["16:00", "16:45"] or [s["start"][11:16] for s in slots] == [
        "17:00",
        "17:45",
    ]  # 09:00 Pacific in UTC (DST or not), 45 min
    booked = client.post(
        "/api/v1/appointments",
        headers=portal,
        json={
            "client_id": str(ann.id),
            "staff_id": slots[0]["staff_id"],
            "location": "harbor_street_office",
            "service_type": "individual_therapy",
            "start": slots[0]["start"],
        },
    )
    assert booked.status_code == 201, booked.get_json()
    browser = client.application.test_client()
    login_as(browser, therapist.email)
    mine = browser.get("/staff/appointments").get_data(as_text=True)
    assert "Harbor Street office · Individual therapy" in mine and "at Harbor Street office" in mine
    assert "harbor_street_office ·" not in mine and "individual_therapy</p>" not in mine
    portal_browser = client.application.test_client()
    login_as(portal_browser, "ann@example.org")
    assert "Please cancel a day ahead." in portal_browser.get("/portal/appointments").get_data(as_text=True)

    inv = client.post(
        f"/api/v1/clients/{ann.id}/invoices",
        headers=admin,
        json={
            "line_items": [
                {"service_type": "individual_therapy", "service_date": day.isoformat()},
                {
                    "service_type": "individual_therapy",
                    "service_date": day.isoformat(),
                    "amount_cents": 9000,
                    "service": "Individual therapy (sliding scale)",
                },
            ]
        },
    )
    assert inv.status_code == 201, inv.get_json()
    lines = inv.get_json()["line_items"]
    assert [(li["service"], li["amount_cents"]) for li in lines] == [
        ("Individual therapy", 14000),
        ("Individual therapy (sliding scale)", 9000),
    ]
    unknown = client.post(
        f"/api/v1/clients/{ann.id}/invoices",
        headers=admin,
        json={"line_items": [{"service_type": "massage", "service_date": day.isoformat()}]},
    )
    assert (
        unknown.status_code == 422 and "line_items.0.service_type" in unknown.get_json()["error"]["details"]
    )
