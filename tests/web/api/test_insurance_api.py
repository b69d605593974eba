"""The insurance API: a guardian adds a policy and card image; billing staff review it."""

from __future__ import annotations

import io

from tests.helpers import api_login, make_staff

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 8


def test_guardian_adds_policy_and_card_staff_accepts(client, family):
    """Can a guardian add a policy with a card photo that billing staff see byte for byte and accept?"""
    guardian = api_login(client, family["emails"]["guardian"])
    base = f"/api/v1/clients/{family['minor'].id}/insurance"
    resp = client.post(
        base,
        headers=guardian,
        json={"payer": "Aetna", "member_id": "W123", "subscriber_name": "Gail G", "relationship": "child"},
    )
    assert resp.status_code == 201, resp.get_json()
    policy = resp.get_json()
    up = client.put(
        f"{base}/{policy['id']}/cards/front",
        headers=guardian,
        data={"file": (io.BytesIO(JPEG), "IMG_0001.jpg")},
    )
    assert up.status_code == 200 and up.get_json()["cards"]["front"] is True
    desk = api_login(client, make_staff(roles=("front_desk",)).email)
    got = client.get(f"{base}/{policy['id']}/cards/front", headers=desk)
    assert got.status_code == 200 and got.data == JPEG
    resp = client.post(f"{base}/{policy['id']}/review", headers=desk, json={"decision": "rejected"})
    assert resp.status_code == 422 and "note" in resp.get_json()["error"]["details"]
    resp = client.post(f"{base}/{policy['id']}/review", headers=desk, json={"decision": "accepted"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "accepted"
    aunt = api_login(client, family["emails"]["aunt"])
    assert client.get(base, headers=aunt).status_code == 404
    assert client.get(f"{base}/{policy['id']}/cards/front", headers=aunt).status_code == 404
