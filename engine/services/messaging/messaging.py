"""Secure messaging: one thread per client profile between its portal users and the practice.

Participants: the client's own portal account, contacts whose link has the
`messages` permission (guardians of a minor, typically), and staff who can see
the client. Each participant has a read state (the highest message number read)
from which read receipts and unread counts follow.

Domain errors: NotAuthenticated, NotFound (thread invisible to the caller, or
no such message or attachment), ValidationFailed (empty message), TooLarge and
UnsupportedMediaType (attachments, from the file store).
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engine import persistence
from engine.authz import Actor, get_client_for, parse_id, staff_can_see_client
from engine.errors import NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.accounts import PortalAccount, StaffMember
from engine.models.clients import Client
from engine.models.messaging import Attachment, Message, MessageThread, ThreadReadState
from engine.services.messaging import notices, staff_notices
from engine.services.platform import audit, files

MAX_ATTACHMENTS = 5
MAX_BODY = 20000
PAGE = 100


def _client_for(actor: Actor, client_id) -> Client:
    # Portal accounts need the link's `messages` permission; staff only need to see the client.
    return get_client_for(actor, client_id, need="messages" if actor.is_portal else None)


def _participant(actor: Actor) -> tuple[str, object]:
    if actor.kind not in ("staff", "portal"):
        raise ValidationFailed("only people take part in a thread", details={"actor": ["staff or portal"]})
    return actor.kind, actor.login.id


def _thread(client_id) -> MessageThread | None:
    return MessageThread.objects(client=client_id).first()


def _read_states(thread_id) -> list[ThreadReadState]:
    return list(ThreadReadState.objects(thread=thread_id))


def _names(states: list[ThreadReadState]) -> dict[tuple[str, str], str]:
    staff_ids = [s.participant_id for s in states if s.participant_kind == "staff"]
    portal_ids = [s.participant_id for s in states if s.participant_kind == "portal"]
    names = {("staff", str(m.id)): m.display_name for m in StaffMember.objects(id__in=staff_ids)}
    names.update({("portal", str(a.id)): a.display_name for a in PortalAccount.objects(id__in=portal_ids)})
    return names


def message_dict(message: Message, states: list[ThreadReadState], names: dict) -> dict:
    """A message as the API shows it, with who has read it (its author excluded)."""
    read_by = [
        {
            "kind": s.participant_kind,
            "id": str(s.participant_id),
            "name": names.get((s.participant_kind, str(s.participant_id)), ""),
            "at": s.last_read_at.isoformat() if s.last_read_at else None,
        }
        for s in states
        if s.last_read_seq >= message.seq
        and not (s.participant_kind == message.author_kind and s.participant_id == message.author_id)
    ]
    return {
        "id": str(message.id),
        "seq": message.seq,
        "client_id": str(message.client),
        "author": {"kind": message.author_kind, "id": str(message.author_id), "name": message.author_name},
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "attachments": [
            {"n": i, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for i, a in enumerate(message.attachments)
        ],
        "read_by": read_by,
    }


def _unread(thread: MessageThread | None, kind: str, participant_id, states=None) -> int:
    if thread is None or thread.last_seq == 0:
        return 0
    read = 0
    for s in (
        states
        if states is not None
        else ThreadReadState.objects(thread=thread.id, participant_kind=kind, participant_id=participant_id)
    ):
        if s.participant_kind == kind and s.participant_id == participant_id:
            read = s.last_read_seq
    if read >= thread.last_seq:
        return 0
    own = {"author_kind": kind, "author_id": participant_id}
    return (
        Message.objects(thread=thread.id, seq__gt=read).count()
        - Message.objects(thread=thread.id, seq__gt=read, **own).count()
    )


def list_messages(actor: Actor, client_id, *, before_seq: int | None = None, limit: int = PAGE) -> dict:
    """The thread of a client profile, newest `limit` messages (oldest first) with receipts."""
    client = _client_for(actor, client_id)
    kind, me = _participant(actor)
    thread = _thread(client.id)
    messages: list[Message] = []
    states: list[ThreadReadState] = []
    if thread is not None:
        query = {"thread": thread.id, **({"seq__lt": before_seq} if before_seq else {})}
        messages = list(Message.objects(**query).order_by("-seq").limit(min(max(limit, 1), PAGE)))[::-1]
        states = _read_states(thread.id)
    names = _names(states)
    audit.record(
        actor,
        "message_thread_viewed",
        client=client,
        object_type="message_thread",
        object_id=thread.id if thread else "",
        details={"messages": len(messages)},
    )
    return {
        "client_id": str(client.id),
        "thread_id": str(thread.id) if thread else None,
        "unread": _unread(thread, kind, me, states),
        "messages": [message_dict(m, states, names) for m in messages],
    }


def _mark(thread_id, kind: str, participant_id, seq: int) -> None:
    # $max: a late, older "read up to" never moves the marker backwards.
    persistence.collection(ThreadReadState).update_one(
        {"thread": thread_id, "participant_kind": kind, "participant_id": participant_id},
        {"$max": {"last_read_seq": seq}, "$set": {"last_read_at": utcnow()}},
        upsert=True,
    )


def mark_read(actor: Actor, client_id, *, up_to_seq: int | None = None) -> dict:
    """Mark the thread read up to `up_to_seq` (default: everything); returns the new unread count."""
    client = _client_for(actor, client_id)
    kind, me = _participant(actor)
    thread = _thread(client.id)
    if thread is None:
        return {"unread": 0}
    seq = thread.last_seq if up_to_seq is None else max(0, min(int(up_to_seq), thread.last_seq))
    _mark(thread.id, kind, me, seq)
    audit.record(
        actor,
        "message_thread_read",
        client=client,
        object_type="message_thread",
        object_id=thread.id,
        details={"up_to_seq": seq},
    )
    return {"unread": _unread(thread, kind, me)}


def _next_seq(client_id, author_kind: str) -> MessageThread:
    coll = persistence.collection(MessageThread)
    for _ in range(2):  # two first posts racing on the upsert: the loser retries as an update
        try:
            doc = coll.find_one_and_update(
                {"client": client_id},
                {
                    "$inc": {"last_seq": 1},
                    "$set": {"last_message_at": utcnow(), "last_author_kind": author_kind},
                    "$setOnInsert": {"created_at": utcnow()},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            return persistence.document(MessageThread, doc)
        except DuplicateKeyError:
            continue
    raise DuplicateKeyError("message thread upsert kept colliding")


def post_message(
    actor: Actor, client_id, *, body: str, attachments: Sequence[tuple[str, bytes]] = ()
) -> dict:
    """Post a message (with up to five attachments) and notify the other participants by mail.

    Attachments are all checked before any is stored, so a refused one leaves nothing behind.
    """
    client = _client_for(actor, client_id)
    kind, me = _participant(actor)
    body = (body or "").strip()
    if not body and not attachments:
        raise ValidationFailed("write a message or attach a file", details={"body": ["is required"]})
    if len(body) > MAX_BODY:
        raise ValidationFailed(
            "the message is too long", details={"body": [f"at most {MAX_BODY} characters"]}
        )
    if len(attachments) > MAX_ATTACHMENTS:
        raise ValidationFailed(
            "too many attachments", details={"attachments": [f"at most {MAX_ATTACHMENTS}"]}
        )
    for _name, data in attachments:
        files.check_upload(data)
    stored = [
        files.store_file(data, filename=name, purpose="message_attachment", client_id=client.id)
        for name, data in attachments
    ]
    thread = _next_seq(client.id, kind)
    message = Message(
        thread=thread.id,
        client=client.id,
        seq=thread.last_seq,
        author_kind=kind,
        author_id=me,
        author_name=actor.login.display_name,
        body=body,
        attachments=[
            Attachment(file_id=s.id, filename=s.filename, content_type=s.content_type, size=s.size)
            for s in stored
        ],
    )
    message.save(force_insert=True)
    _mark(thread.id, kind, me, message.seq)  # your own message is read by you
    audit.record(
        actor,
        "message_posted",
        client=client,
        object_type="message",
        object_id=message.id,
        details={"attachments": len(stored)},
    )
    _notify_others(client, message)
    states = _read_states(thread.id)
    return message_dict(message, states, _names(states))


def portal_participants(client: Client) -> list[PortalAccount]:
    """Portal accounts that take part in a client's thread: the client and contacts with `messages`."""
    return notices.portal_accounts_with(client, "messages")


def _notify_others(client: Client, message: Message) -> None:
    if message.author_kind == "staff":
        for account in portal_participants(client):
            if account.id != message.author_id:
                notices.notify(
                    account,
                    headline="You have a new secure message",
                    path=f"/portal/messages?client={client.id}",
                    key=f"message:{message.id}:portal:{account.id}",
                    sentence="You have a new secure message from {practice}.",
                )
        return
    # Right away or in the member's digest, as they chose (and not at all if they turned it off).
    for member in StaffMember.objects(id__in=client.assigned_staff or [], disabled=False):
        staff_notices.tell(
            member,
            "message",
            f"message:{message.id}:staff:{member.id}",
            path=f"/staff/clients/{client.id}/messages",
        )


def read_attachment(actor: Actor, message_id, n: int) -> tuple[bytes, files.StoredFile]:
    """The decrypted bytes of attachment `n` of a message the actor may read. Raises NotFound."""
    message = Message.objects(id=parse_id(message_id)).first()
    if message is None:
        raise NotFound("no such message")
    client = _client_for(actor, message.client)
    if not 0 <= n < len(message.attachments):
        raise NotFound("no such attachment")
    data, meta = files.read_file(message.attachments[n].file_id)
    audit.record(
        actor,
        "message_attachment_downloaded",
        client=client,
        object_type="message",
        object_id=message.id,
        details={"n": n},
    )
    return data, meta


def unread_threads_for_staff(actor: Actor, *, limit: int = 50) -> list[dict]:
    """Threads with messages this staff member has not read, newest first (for the staff inbox)."""
    if not actor.is_staff:
        return []
    query: dict = {"last_seq__gt": 0}
    if "clients.view_all" not in actor.permissions:
        assigned = [c.id for c in Client.objects(assigned_staff=actor.login.id).only("id")]
        query["client__in"] = assigned
    reads = {
        s.thread: s.last_read_seq
        for s in ThreadReadState.objects(participant_kind="staff", participant_id=actor.login.id)
    }
    rows = []
    for thread in MessageThread.objects(**query).order_by("-last_message_at"):
        if reads.get(thread.id, 0) >= thread.last_seq:
            continue
        unread = _unread(
            thread,
            "staff",
            actor.login.id,
            [
                ThreadReadState(
                    participant_kind="staff",
                    participant_id=actor.login.id,
                    last_read_seq=reads.get(thread.id, 0),
                )
            ],
        )
        if unread:
            rows.append(
                {
                    "client_id": str(thread.client),
                    "thread_id": str(thread.id),
                    "unread": unread,
                    "last_message_at": thread.last_message_at.isoformat(),
                }
            )
        if len(rows) >= limit:
            break
    clients = {c.id: c for c in Client.objects(id__in=[parse_id(r["client_id"]) for r in rows])}
    for row in rows:
        client = clients.get(parse_id(row["client_id"]))
        row["client_name"] = client.display_name if client and staff_can_see_client(actor, client) else ""
    audit.record(
        actor, "message_thread_list_viewed", object_type="message_thread", details={"shown": len(rows)}
    )
    return rows


def unread_count(actor: Actor, client_id) -> int:
    """How many messages in a client's thread the actor has not read (their own excluded)."""
    client = _client_for(actor, client_id)
    kind, me = _participant(actor)
    return _unread(_thread(client.id), kind, me)
