"""The staff home's counts: the intake funnel and what needs me today, from the demo practice's live
intakes (one invited, one in progress, one awaiting acknowledgement, one filed)."""

from __future__ import annotations

from engine.authz import staff_actor
from engine.models.accounts import StaffMember
from engine.models.clients import Client
from engine.services.demo import seed_demo
from engine.services.intake import dashboard
from tests.helpers import make_staff

PASSWORD = "demo-password-123"


def _counts(bars: list[dict]) -> dict:
    return {b["key"]: b["count"] for b in bars}


def test_funnel_counts_each_demo_intake_at_its_furthest_stage(clean_db):
    """Does the practice funnel count 4 invited, 3 started, 2 submitted, 1 acknowledged and 1 filed
    (invited, in progress, awaiting acknowledgement, filed), and the therapist's funnel the same?"""
    seed_demo(PASSWORD)
    admin = staff_actor(StaffMember.objects.get(email="orgadmin@harbor.example"))
    funnel = dashboard.intake_funnel(admin)
    want = {"invited": 4, "started": 3, "submitted": 2, "acknowledged": 1, "filed": 1}
    assert _counts(funnel["practice"]) == want
    assert [b["label"] for b in funnel["practice"]] == [
        "Invited",
        "Started",
        "Submitted",
        "Acknowledged",
        "Filed",
    ]
    assert [b["percent"] for b in funnel["practice"]] == [100, 75, 50, 25, 25]
    assert [(t["name"], _counts(t["stages"])) for t in funnel["therapists"]] == [("Priya Natarajan", want)]


def test_a_therapist_without_view_all_counts_only_assigned_clients(clean_db):
    """Does a therapist whose only client is the filed one see a funnel of that one intake, and one
    with no clients an empty funnel?"""
    seed_demo(PASSWORD)
    other = make_staff(roles=("therapist",), email="solo@harbor.example")
    assert "clients.view_all" not in staff_actor(other).permissions
    assert _counts(dashboard.intake_funnel(staff_actor(other))["practice"]) == dict.fromkeys(
        ("invited", "started", "submitted", "acknowledged", "filed"), 0
    )
    Client.objects(first_name="Riley").update(set__assigned_staff=[other.id])
    funnel = dashboard.intake_funnel(staff_actor(other))
    assert _counts(funnel["practice"]) == dict.fromkeys(
        ("invited", "started", "submitted", "acknowledged", "filed"), 1
    )
    assert [t["name"] for t in funnel["therapists"]] == [other.display_name]


def test_needs_me_counts_reviews_waiting_and_intakes_with_clients(clean_db):
    """Does the org admin's "needs me today" count the two forms awaiting review, the one intake to
    review, the two intakes still with the client, and no booking requests?"""
    seed_demo(PASSWORD)
    admin = staff_actor(StaffMember.objects.get(email="orgadmin@harbor.example"))
    today = dashboard.needs_me(admin)
    assert {t["key"]: t["count"] for t in today["tasks"]}["review"] == 2
    assert today["intakes_to_review"] == 1 and today["intakes_with_client"] == 2
    assert today["booking_requests"] == 0
