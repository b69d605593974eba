"""Insurance policies: details, card images, staff review."""

from __future__ import annotations

import pytest

from engine.authz import staff_actor
from engine.errors import Conflict, Forbidden, NotFound, UnsupportedMediaType, ValidationFailed
from engine.services.clients import insurance
from engine.services.platform import files
from tests.helpers import make_staff

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 500
POLICY = {
    "payer": "Blue Shield",
    "member_id": "XZ123456",
    "group_number": "G-77",
    "subscriber_name": "Gail Guardian",
    "subscriber_date_of_birth": "1985-03-02",
    "relationship": "child",
}


def test_guardian_adds_policy_with_card_images_and_staff_reviews(family):
    """Can a guardian add a policy with both card images, and billing staff accept it?"""
    policy = insurance.add_policy(family["guardian"], family["minor"].id, POLICY)
    assert policy["status"] == "pending"
    insurance.upload_card(family["guardian"], policy["id"], "front", filename="front.png", data=PNG)
    insurance.upload_card(family["guardian"], policy["id"], "back", filename="back.png", data=PNG)
    data, meta = insurance.read_card(family["staff"], policy["id"], "front")
    assert data == PNG and meta.content_type == "image/png"
    with pytest.raises(Forbidden):
        insurance.review_policy(
            family["staff"], policy["id"], decision="accepted"
        )  # a therapist lacks billing.manage
    desk = staff_actor(make_staff(roles=("front_desk",)))
    reviewed = insurance.review_policy(desk, policy["id"], decision="accepted")
    assert reviewed["status"] == "accepted" and reviewed["cards"] == {"front": True, "back": True}
    with pytest.raises(Conflict):
        insurance.review_policy(desk, policy["id"], decision="rejected", note="late")
    assert (
        insurance.update_policy(family["guardian"], policy["id"], {"member_id": "XZ999"})["status"]
        == "pending"
    )


def test_contact_without_payments_cannot_see_insurance(family):
    """Does a contact whose link lacks `payments` get NotFound?"""
    insurance.add_policy(family["guardian"], family["minor"].id, POLICY)
    with pytest.raises(NotFound):
        insurance.list_policies(family["aunt"], family["minor"].id)


def test_missing_fields_are_named_and_non_images_refused(family):
    """Are missing required fields named, and a text file refused as a card image with nothing stored?"""
    with pytest.raises(ValidationFailed) as err:
        insurance.add_policy(family["client"], family["minor"].id, {"payer": "X"})
    assert {"member_id", "subscriber_name"} <= set(err.value.details)
    policy = insurance.add_policy(family["client"], family["minor"].id, POLICY)
    before = files.count_files()
    with pytest.raises(UnsupportedMediaType):
        insurance.upload_card(family["client"], policy["id"], "front", filename="card.png", data=b"just text")
    assert files.count_files() == before
