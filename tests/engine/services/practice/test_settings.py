"""Organization settings: default permissions, portal settings, ISO-8601 durations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.authz import staff_actor
from engine.errors import Forbidden, ValidationFailed
from engine.models.audit import AuditEvent
from engine.models.forms import FormDefinition
from engine.models.organization import Organization
from engine.services.practice import settings as svc
from tests.helpers import make_staff


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3D", timedelta(days=3)),
        ("PT12H", timedelta(hours=12)),
        ("P1W", timedelta(weeks=1)),
        ("PT2S", timedelta(seconds=2)),
        ("P1DT30M", timedelta(days=1, minutes=30)),
        ("P1M", timedelta(days=30)),
    ],
)
def test_durations_parse(text, expected):
    """Does the strict parser read the ISO-8601 durations a practice would use?"""
    assert svc.parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "3D", "P3", "P1.5D", "P-1D", "P0D", "P1W2D", "PT1D", "p3d", "P3D ", "P1DT", None, 3],
)
def test_bad_durations_are_refused(text):
    """Are malformed, zero and mixed-week durations refused?"""
    with pytest.raises(ValueError):
        svc.parse_duration(text)


def test_therapist_gets_portal_invite_only_once_admin_adds_it_to_defaults(clean_db):
    """Does a therapist have the preset codes but not portal.invite until it joins the default set?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    therapist = make_staff(roles=("therapist",))
    before = staff_actor(therapist)
    assert {"dynamic_forms.manage", "client_documents.upload"} <= before.permissions
    assert "portal.invite" not in before.permissions
    with pytest.raises(Forbidden):
        svc.set_default_permissions(before, ["portal.invite"])
    result = svc.set_default_permissions(admin, ["portal.invite"])
    assert result["permissions"] == ["portal.invite"]
    assert "portal.invite" in staff_actor(therapist).permissions
    event = AuditEvent.objects.get(action="default_permissions_changed")
    assert event.details["added"] == ["portal.invite"]
    with pytest.raises(ValidationFailed):
        svc.set_default_permissions(admin, ["portal.invite", "make.coffee"])


def test_portal_settings_update_validates_each_field(clean_db):
    """Are good portal settings saved and every bad one named in one error?"""
    admin = staff_actor(make_staff(roles=("org_admin",)))
    FormDefinition(key="consent_adult", kind="intake", title="Consent", latest_version=1).save()
    FormDefinition(key="mood_check", kind="dynamic", title="Mood", latest_version=1).save()
    saved = svc.update_portal_settings(
        admin,
        {
            "reminder_cadence": "PT12H",
            "reminder_max": 5,
            "intake_packet": ["consent_adult"],
            "contact_network_enabled": False,
        },
    )
    assert saved["reminder_cadence"] == "PT12H" and saved["intake_packet"] == ["consent_adult"]
    assert Organization.get().portal.contact_network_enabled is False
    with pytest.raises(ValidationFailed) as err:
        svc.update_portal_settings(
            admin,
            {
                "reminder_cadence": "3 days",
                "reminder_max": 99,
                "age_of_majority": "x",
                "guardian_approval_rule": "most",
                "intake_packet": ["mood_check", "nope"],
                "colour": "blue",
            },
        )
    assert set(err.value.details) == {
        "reminder_cadence",
        "reminder_max",
        "age_of_majority",
        "guardian_approval_rule",
        "intake_packet",
        "colour",
    }
    assert Organization.get().portal.reminder_max == 5  # nothing half-written
    with pytest.raises(Forbidden):
        svc.portal_settings(staff_actor(make_staff(roles=("therapist",))))
