"""Secure messaging: who may read and post, attachments, read receipts and unread counts."""

from __future__ import annotations

import pytest

from engine.errors import NotFound, UnsupportedMediaType
from engine.models.mail import MailMessage
from engine.services.messaging import messaging
from engine.services.platform import files

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def test_guardian_with_messages_permission_reads_and_posts_in_minors_thread(family):
    """Can a guardian with the messages permission read and post in a minor's thread?"""
    minor = family["minor"].id
    messaging.post_message(family["staff"], minor, body="Hello from the practice")
    posted = messaging.post_message(family["guardian"], minor, body="Thanks, see you Monday")
    assert posted["author"]["name"] == "Gail"
    thread = messaging.list_messages(family["guardian"], minor)
    assert [m["body"] for m in thread["messages"]] == ["Hello from the practice", "Thanks, see you Monday"]


def test_contact_without_messages_permission_gets_not_found(family):
    """Does a contact whose link lacks `messages` get NotFound for reading and posting alike?"""
    minor = family["minor"].id
    messaging.post_message(family["staff"], minor, body="Private")
    with pytest.raises(NotFound):
        messaging.list_messages(family["aunt"], minor)
    with pytest.raises(NotFound):
        messaging.post_message(family["aunt"], minor, body="let me in")


def test_attachment_round_trips_byte_for_byte(family):
    """Does an attachment come back byte for byte to another participant?"""
    minor = family["minor"].id
    posted = messaging.post_message(
        family["guardian"], minor, body="school letter", attachments=[("letter.pdf", PDF)]
    )
    data, meta = messaging.read_attachment(family["staff"], posted["id"], 0)
    assert data == PDF and meta.filename == "letter.pdf" and meta.content_type == "application/pdf"
    with pytest.raises(NotFound):
        messaging.read_attachment(family["aunt"], posted["id"], 0)


def test_refused_attachment_stores_nothing(family):
    """Is a message with one bad attachment refused whole, with no file and no message stored?"""
    before = files.count_files()
    with pytest.raises(UnsupportedMediaType):
        messaging.post_message(
            family["guardian"],
            family["minor"].id,
            body="x",
            attachments=[("ok.pdf", PDF), ("run.pdf", b"\x7fELF\x02\x01")],
        )
    assert files.count_files() == before
    assert messaging.list_messages(family["staff"], family["minor"].id)["messages"] == []


def test_unread_counts_are_right_for_each_participant(family):
    """Are unread counts right for the staff member, the client and the guardian as messages come and go?"""
    minor = family["minor"].id
    staff, client, guardian = family["staff"], family["client"], family["guardian"]
    messaging.post_message(staff, minor, body="one")
    messaging.post_message(staff, minor, body="two")
    assert [messaging.unread_count(a, minor) for a in (staff, client, guardian)] == [0, 2, 2]
    messaging.post_message(client, minor, body="three")  # posting reads the thread up to your post
    assert [messaging.unread_count(a, minor) for a in (staff, client, guardian)] == [1, 0, 3]
    messaging.mark_read(guardian, minor, up_to_seq=1)
    assert messaging.unread_count(guardian, minor) == 2
    messaging.mark_read(guardian, minor, up_to_seq=0)  # never moves backwards
    assert messaging.unread_count(guardian, minor) == 2
    assert messaging.mark_read(guardian, minor)["unread"] == 0
    inbox = messaging.unread_threads_for_staff(staff)
    assert [(r["client_id"], r["unread"]) for r in inbox] == [(str(minor), 1)]
    messaging.mark_read(staff, minor)
    assert messaging.unread_threads_for_staff(staff) == []


def test_read_receipts_name_who_read_a_message(family):
    """Does a message list each participant who has read it, and not its author?"""
    minor = family["minor"].id
    messaging.post_message(family["staff"], minor, body="hello")
    messaging.mark_read(family["guardian"], minor)
    message = messaging.list_messages(family["staff"], minor)["messages"][0]
    assert [r["name"] for r in message["read_by"]] == ["Gail"]


def test_notification_mail_carries_no_health_information(family):
    """Does the notice mail name the practice and a link, but never the message text?"""
    messaging.post_message(family["staff"], family["minor"].id, body="Your anxiety screening results")
    mails = list(MailMessage.objects(direction="out"))
    assert {m.to[0] for m in mails} == {family["client"].account.email, "gail@example.org"}
    for mail in mails:
        assert "anxiety" not in mail.text and "anxiety" not in mail.subject
        assert "/portal/messages" in mail.text
