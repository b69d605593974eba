"""The practice's set-up (engine.services.practice.practice): people-friendly values in, keys derived and kept,
every wrong field refused at once, the logo in the encrypted file store, and the first-run checklist."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.authz import staff_actor
from engine.errors import Forbidden, NotFound, TooLarge, UnsupportedMediaType, ValidationFailed
from engine.models.audit import AuditEvent
from engine.models.organization import Organization
from engine.services.appointments import availability
from engine.services.platform import files
from engine.services.practice import practice
from engine.services.practice.settings import org_zone
from tests.helpers import make_staff, png

LOCATIONS = [
    {"name": "Harbor Street office", "address": "12 Harbor Street"},
    {"name": "Telehealth", "telehealth": True},
]
SERVICES = [
    {"name": "Individual therapy", "duration_minutes": 50, "price": "140.00"},
    {"name": "Family therapy", "duration_minutes": "80", "price": "$1,200.50", "telehealth": True},
]


@pytest.fixture()
def admin(clean_db):
    return staff_actor(make_staff(roles=("org_admin",)))


def test_practice_saves_people_values_and_derives_keys(admin):
    """Are names, dollars and minutes saved with keys derived from the names, and kept on a rename?"""
    saved = practice.update_practice(
        admin,
        {
            "name": "  Harbor Counseling ",
            "address": "12 Harbor Street, Portland",
            "phone": "207-555-0100",
            "timezone": "America/Chicago",
            "cancellation_policy": "Cancel a day ahead.",
            "locations": LOCATIONS,
            "service_types": SERVICES,
        },
    )
    assert saved["name"] == "Harbor Counseling" and saved["timezone"] == "America/Chicago"
    assert [loc["key"] for loc in saved["locations"]] == ["harbor_street_office", "telehealth"]
    assert [
        (s["key"], s["duration_minutes"], s["price_cents"], s["telehealth"]) for s in saved["service_types"]
    ] == [("individual_therapy", 50, 14000, False), ("family_therapy", 80, 120050, True)]
    assert org_zone().key == "America/Chicago"

    renamed = dict(saved["locations"][0], name="Harbor St. (main office)")
    again = practice.update_practice(admin, {"locations": [renamed, {"name": "Telehealth 2"}]})
    assert [(loc["key"], loc["name"]) for loc in again["locations"]] == [
        ("harbor_street_office", "Harbor St. (main office)"),
        ("telehealth_2", "Telehealth 2"),
    ]
    assert again["service_types"] == saved["service_types"]  # left out: kept
    assert AuditEvent.objects(action="practice_settings_changed").count() == 2


def test_wrong_fields_are_all_named_and_nothing_is_saved(admin):
    """Is a bad time zone, price, duration or a twice-listed name refused in one error, saving nothing?"""
    practice.update_practice(admin, {"name": "Harbor Counseling", "timezone": "America/New_York"})
    with pytest.raises(ValidationFailed) as caught:
        practice.update_practice(
            admin,
            {
                "name": "Renamed",
                "timezone": "Mars/Olympus_Mons",
                "locations": [{"name": "Office"}, {"name": "office"}],
                "service_types": [{"name": "Therapy", "duration_minutes": 0, "price": "cheap"}, {"name": ""}],
            },
        )
    details = caught.value.details
    assert "Mars/Olympus_Mons" in details["timezone"][0]
    assert set(details) >= {
        "locations.1.name",
        "service_types.0.duration_minutes",
        "service_types.0.price",
        "service_types.1.name",
    }
    org = Organization.get()
    assert (org.name, org.timezone, list(org.locations)) == ("Harbor Counseling", "America/New_York", [])


def test_only_staff_managers_set_up_the_practice(admin):
    """Is a therapist refused the set-up, the logo and the checklist?"""
    therapist = staff_actor(make_staff(roles=("therapist",)))
    for call in (
        lambda: practice.update_practice(therapist, {"name": "Mine"}),
        lambda: practice.set_logo(therapist, png(), "logo.png"),
        lambda: practice.checklist(therapist),
    ):
        with pytest.raises(Forbidden):
            call()
    assert Organization.get().name == practice.DEFAULT_NAME


def test_logo_is_stored_encrypted_replaced_and_refused_when_not_an_image(admin):
    """Is the logo kept in the encrypted store, replaced without leaving the old file, and is a
    script, an SVG or an oversized file refused with the old logo kept?"""
    with pytest.raises(NotFound):
        practice.logo()
    first, second = png((1, 2, 3)), png((200, 10, 10))
    practice.set_logo(admin, first, "logo.png")
    assert practice.logo() == (first, "image/png")
    raw = clean_blob()
    assert first not in raw  # encrypted at rest
    practice.set_logo(admin, second, "new.png")
    assert practice.logo()[0] == second and files.count_files() == 1
    for bad, error in (
        (b"<svg onload=alert(1)></svg>", UnsupportedMediaType),
        (b"\x7fELF\x02\x01", UnsupportedMediaType),
        (b"\x89PNG\r\n\x1a\n" + b"0" * practice.LOGO_MAX_BYTES, TooLarge),
    ):
        with pytest.raises(error):
            practice.set_logo(admin, bad, "logo.svg")
    assert practice.logo()[0] == second and files.count_files() == 1
    assert practice.remove_logo(admin)["has_logo"] is False and files.count_files() == 0


def clean_blob() -> bytes:
    from engine.db import get_db

    return b"".join(chunk["data"] for chunk in get_db()[f"{files.BUCKET}.chunks"].find())


def test_checklist_tells_what_is_done_and_what_is_left(admin):
    """Does a fresh practice's checklist list every step as left, and tick them as the admin sets up?"""
    fresh = practice.checklist(admin)
    assert fresh["done"] == 0 and fresh["total"] == len(fresh["steps"]) >= 8
    assert all(step["link"].startswith("/") and step["label"] for step in fresh["steps"])
    practice.update_practice(
        admin,
        {
            "name": "Harbor Counseling",
            "address": "12 Harbor Street",
            "phone": "207-555-0100",
            "locations": LOCATIONS,
            "service_types": SERVICES,
        },
    )
    done = {s["step"] for s in practice.checklist(admin)["steps"] if s["done"]}
    assert done == {"name", "contact", "locations", "services"}
    practice.set_logo(admin, png(), "logo.png")
    practice.update_practice(admin, {"cancellation_policy": "24 hours' notice, please."})
    therapist = make_staff(roles=("therapist",))
    availability.add_rule(
        admin,
        therapist.id,
        {"location": "harbor_street_office", "weekday": 1, "start": "09:00", "end": "12:00"},
    )
    left = {s["step"] for s in practice.checklist(admin)["steps"] if not s["done"]}
    assert left == {"packet"}  # no shipped forms in this test's database


def test_a_video_service_is_booked_only_at_a_telehealth_location(admin):
    """Is a service offered by video refused at an office, with the reason, and open at telehealth?"""
    practice.update_practice(admin, {"locations": LOCATIONS, "service_types": SERVICES})
    therapist = make_staff(roles=("therapist",))
    day = date.today() + timedelta(days=2)
    for location in ("harbor_street_office", "telehealth"):
        availability.add_rule(
            admin,
            therapist.id,
            {"location": location, "weekday": day.weekday(), "start": "09:00", "end": "12:00"},
        )
    with pytest.raises(ValidationFailed) as caught:
        availability.open_slots(
            location="harbor_street_office", service_type_key="family_therapy", date_from=day, date_to=day
        )
    assert "Family therapy is offered by video" in caught.value.details["location"][0]
    slots = availability.open_slots(
        location="telehealth", service_type_key="family_therapy", date_from=day, date_to=day
    )
    assert len(slots) == 2  # 80 minutes each in three hours
