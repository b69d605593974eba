"""Staff preferences set by each therapist themselves (issue 15): service types, locations, notifications."""

from __future__ import annotations

from engine.models.accounts import StaffMember
from engine.models.organization import Location, Organization, ServiceType
from tests.helpers import login_as, make_staff


def _practice():
    org = Organization.get()
    org.locations = [
        Location(key="main", name="Main office"),
        Location(key="video", name="Video", telehealth=True),
    ]
    org.service_types = [ServiceType(key="individual", name="Individual therapy", duration_minutes=50)]
    org.save()


def test_therapist_sets_own_preferences_without_staff_management(client):
    """Can a therapist (no staff management right) set their own service types, locations and how they
    are told about new work, through the API and the page, with unknown choices refused?"""
    _practice()
    therapist = make_staff(roles=("therapist",))
    headers = login_as(client, therapist.email)
    saved = client.put(
        "/api/v1/staff/me/preferences",
        headers=headers,
        json={"locations": ["video"], "service_types": ["individual"], "notify_digest": "none"},
    )
    assert saved.status_code == 200, saved.get_json()
    prefs = StaffMember.objects.get(id=therapist.id).preferences
    assert (prefs.locations, prefs.service_types, prefs.notify_digest) == (["video"], ["individual"], "none")
    wrong = client.put("/api/v1/staff/me/preferences", headers=headers, json={"locations": ["moon"]})
    assert wrong.status_code == 422 and "preferences.locations" in wrong.get_json()["error"]["details"]
    assert StaffMember.objects.get(id=therapist.id).preferences.locations == ["video"]

    page = client.get("/staff/preferences").get_data(as_text=True)
    assert "Main office" in page and "Individual therapy" in page and "Each one right away" in page
    posted = client.post(
        "/staff/preferences",
        headers=headers,
        data={"locations": ["main"], "notify_new_task": "on", "notify_digest": "daily"},
    )
    assert posted.status_code == 303
    prefs = StaffMember.objects.get(id=therapist.id).preferences
    assert (
        prefs.locations,
        prefs.service_types,
        prefs.notify_new_task,
        prefs.notify_new_message,
        prefs.notify_digest,
    ) == (["main"], [], True, False, "daily")
    assert client.get(f"/api/v1/staff/{therapist.id}", headers=headers).status_code in (403, 405)
