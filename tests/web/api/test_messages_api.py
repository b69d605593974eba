"""The messaging API: who reads and posts, attachments byte for byte, unread counts, upload refusals."""

from __future__ import annotations

import io

from engine import config
from engine.services.platform import files
from tests.helpers import api_login

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64


def _login(client, family, who):
    return api_login(client, family["emails"][who])


def test_guardian_reads_and_posts_in_minors_thread(client, family):
    """Can a guardian with the messages permission read and post in a minor's thread over the API?"""
    url = f"/api/v1/clients/{family['minor'].id}/messages"
    staff, guardian = _login(client, family, "staff"), _login(client, family, "guardian")
    assert client.post(url, json={"body": "Hello from the practice"}, headers=staff).status_code == 201
    resp = client.post(url, json={"body": "Thanks!"}, headers=guardian)
    assert resp.status_code == 201 and resp.get_json()["author"]["name"] == "Gail"
    thread = client.get(url, headers=guardian).get_json()
    assert [m["body"] for m in thread["messages"]] == ["Hello from the practice", "Thanks!"]


def test_contact_without_messages_permission_gets_404(client, family):
    """Does a contact without the messages permission get 404 on the thread, on posting and on attachments?"""
    url = f"/api/v1/clients/{family['minor'].id}/messages"
    posted = client.post(
        url,
        data={"body": "letter", "attachments": (io.BytesIO(PDF), "a.pdf")},
        headers=_login(client, family, "guardian"),
    ).get_json()
    aunt = _login(client, family, "aunt")
    assert client.get(url, headers=aunt).status_code == 404
    assert client.post(url, json={"body": "hi"}, headers=aunt).status_code == 404
    assert client.get(f"/api/v1/messages/{posted['id']}/attachments/0", headers=aunt).status_code == 404


def test_attachment_round_trips_byte_for_byte(client, family):
    """Does a multipart attachment come back byte for byte, as a download that is never sniffed?"""
    url = f"/api/v1/clients/{family['minor'].id}/messages"
    resp = client.post(
        url,
        data={"body": "scan", "attachments": (io.BytesIO(PDF), "scan é.pdf")},
        headers=_login(client, family, "guardian"),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    message = resp.get_json()
    assert message["attachments"][0]["filename"] == "scan é.pdf"
    got = client.get(
        f"/api/v1/messages/{message['id']}/attachments/0", headers=_login(client, family, "staff")
    )
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;")


def test_unread_counts_for_each_participant(client, family):
    """Are unread counts right for staff, client and guardian, and does marking read clear them?"""
    url = f"/api/v1/clients/{family['minor'].id}/messages"
    who = {w: _login(client, family, w) for w in ("staff", "client", "guardian")}
    client.post(url, json={"body": "one"}, headers=who["staff"])
    client.post(url, json={"body": "two"}, headers=who["guardian"])

    def unread(w):
        return client.get(url, headers=who[w]).get_json()["unread"]

    assert [unread(w) for w in ("staff", "client", "guardian")] == [1, 2, 0]
    inbox = client.get("/api/v1/messages/unread", headers=who["staff"]).get_json()["items"]
    assert [(i["client_id"], i["unread"]) for i in inbox] == [(str(family["minor"].id), 1)]
    assert client.post(f"{url}/read", json={}, headers=who["client"]).get_json() == {"unread": 0}
    assert [unread(w) for w in ("staff", "client", "guardian")] == [1, 0, 0]


def test_executable_renamed_pdf_is_415_and_oversized_is_413_nothing_stored(client, family, settings):
    """Is an executable renamed .pdf refused with 415, and an oversized file with 413, with nothing stored?"""
    url = f"/api/v1/clients/{family['minor'].id}/messages"
    headers = _login(client, family, "guardian")
    before = files.count_files()
    resp = client.post(
        url,
        data={"body": "x", "attachments": (io.BytesIO(b"MZ\x90\x00" + b"\0" * 64), "bill.pdf")},
        headers=headers,
    )
    assert resp.status_code == 415 and resp.get_json()["error"]["code"] == "unsupported_media_type"
    config.install(settings.with_(max_upload_mb=1))  # a 1 MB limit keeps the test light
    try:
        big = b"%PDF-1.4" + b"0" * (1024 * 1024)
        resp = client.post(
            url, data={"body": "x", "attachments": (io.BytesIO(big), "big.pdf")}, headers=headers
        )
    finally:
        config.install(settings)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    assert files.count_files() == before
    assert client.get(url, headers=headers).get_json()["messages"] == []
