"""A therapist's own service types and locations shape booking: slots and bookings follow them."""

from __future__ import annotations

from datetime import date, timedelta

from engine.models.organization import Location, Organization, ServiceType
from tests.helpers import api_login


def _two_of_each() -> None:
    org = Organization.get()
    org.locations = [Location(key="main", name="Main office"), Location(key="north", name="North clinic")]
    org.service_types = [
        ServiceType(key="individual", name="Individual", duration_minutes=50),
        ServiceType(key="couples", name="Couples therapy", duration_minutes=50),
    ]
    org.save()


def _slots(client, headers, *, location="main", service="individual"):
    on = (date.today() + timedelta(days=3)).isoformat()
    resp = client.get(
        f"/api/v1/availability?location={location}&service_type={service}&from={on}&to={on}", headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["items"]


def _choose(client, staff_headers, **prefs):
    resp = client.put("/api/v1/staff/me/preferences", json=prefs, headers=staff_headers)
    assert resp.status_code == 200, resp.get_json()


def test_slots_only_for_the_service_types_a_therapist_offers(client, practice):
    """After the therapist offers only Individual, are there slots for it and none for Couples therapy?"""
    _two_of_each()
    guardian = api_login(client, practice["emails"]["guardian"])
    assert _slots(client, guardian, service="couples")  # no choice yet: every service type
    _choose(client, api_login(client, practice["emails"]["staff"]), service_types=["individual"])
    assert _slots(client, guardian, service="individual")
    assert _slots(client, guardian, service="couples") == []


def test_booking_a_service_the_therapist_does_not_offer_is_422_in_words(client, practice):
    """Is booking Couples therapy with a therapist who offers only Individual refused with a 422 naming it?"""
    _two_of_each()
    guardian = api_login(client, practice["emails"]["guardian"])
    slot = _slots(client, guardian, service="couples")[0]
    staff = api_login(client, practice["emails"]["staff"])
    _choose(client, staff, service_types=["individual"])
    body = {
        "client_id": str(practice["minor"].id),
        "staff_id": slot["staff_id"],
        "location": "main",
        "service_type": "couples",
        "start": slot["start"],
    }
    for headers in (guardian, staff):
        resp = client.post("/api/v1/appointments", json=body, headers=headers)
        assert resp.status_code == 422, resp.get_json()
        assert "does not offer Couples therapy" in str(resp.get_json())
        assert "couples" not in str(resp.get_json()["error"]).replace("Couples", "")
    body["service_type"] = "individual"
    assert client.post("/api/v1/appointments", json=body, headers=guardian).status_code == 201


def test_booking_at_a_location_the_therapist_does_not_work_is_422_in_words(client, practice):
    """With the therapist working only at the North clinic, are Main office slots gone and a booking
    there refused with a 422 naming the Main office?"""
    _two_of_each()
    guardian = api_login(client, practice["emails"]["guardian"])
    slot = _slots(client, guardian)[0]
    staff = api_login(client, practice["emails"]["staff"])
    _choose(client, staff, locations=["north"])
    assert _slots(client, guardian) == []
    body = {
        "client_id": str(practice["minor"].id),
        "staff_id": slot["staff_id"],
        "location": "main",
        "service_type": "individual",
        "start": slot["start"],
    }
    resp = client.post("/api/v1/appointments", json=body, headers=staff)
    assert resp.status_code == 422, resp.get_json()
    assert "does not see clients at Main office" in str(resp.get_json())


def test_calendar_page_offers_only_the_chosen_locations(client, practice):
    """On the therapist's calendar page, after choosing the North clinic only, is the Main office gone
    from the hours form and does the page say what clients can book?"""
    from tests.helpers import login_as

    _two_of_each()
    _choose(
        client, api_login(client, practice["emails"]["staff"]), locations=["north"], service_types=["couples"]
    )
    login_as(client, practice["emails"]["staff"])
    page = client.get("/staff/appointments").get_data(as_text=True)
    assert '<option value="north">North clinic</option>' in page
    assert '<option value="main">' not in page
    assert "Clients can book you for Couples therapy at North clinic" in page
