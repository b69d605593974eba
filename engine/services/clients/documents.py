"""General Documents: a client's uploads and filed PDFs; listing, upload, download (audited), blank forms.

Staff who see the client list and download its documents; uploading needs
`client_documents.upload`. Portal accounts acting for the client with the
forms permission see the completed forms and packets filed for it, and the uploads staff
shared with them (not the practice's other uploads); sharing needs `client_documents.upload`. Uploads are checked by content and size and stored
encrypted (engine.services.platform.files) before a Document row points at them.
"""

from __future__ import annotations

from mongoengine.errors import NotUniqueError

from engine.authz import SYSTEM, Actor, get_client_for, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models import utcnow
from engine.models.documents import Document
from engine.services.integrations import webhooks
from engine.services.platform import audit, files

UPLOAD = "client_documents.upload"
PORTAL_KINDS = ("form", "packet")
ALLOWED_UPLOADS = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)


def shape(doc: Document) -> dict:
    return {
        "id": str(doc.id),
        "client_id": str(doc.client),
        "kind": doc.kind,
        "title": doc.title,
        "content_type": doc.content_type,
        "size": doc.size,
        "form_key": doc.form_key or None,
        "created_by": doc.created_by,
        "created_at": doc.created_at,
        "shared": bool(doc.shared),
    }


def portal_may_see(doc: Document) -> bool:
    """Whether a client's portal shows the document: filed forms and packets, and shared uploads."""
    return doc.kind in PORTAL_KINDS or bool(doc.shared)


def _client(actor: Actor, client_id):
    return get_client_for(actor, client_id, need="forms" if actor.is_portal else None)


def list_documents(actor: Actor, client_id) -> list[dict]:
    """The client's General Documents, newest first (a portal account: those its portal shows).
    Raises NotFound."""
    client = _client(actor, client_id)
    # Judged in Python rather than with an $or (engine/persistence, "Top-level `$or`": a full scan).
    rows = Document.objects(client=client.id).order_by("-created_at")
    if not actor.is_staff and actor.kind != "system":
        rows = [d for d in rows if portal_may_see(d)]
    audit.record(actor, "client_documents_listed", client=client, object_type="client", object_id=client.id)
    return [shape(d) for d in rows]


def get_document_for(actor: Actor, document_id) -> Document:
    """A document the actor may see (through its client). Raises NotFound."""
    doc = Document.objects(id=parse_id(document_id)).first()
    if doc is None:
        raise NotFound("no such document")
    _client(actor, doc.client)
    if actor.is_portal and not portal_may_see(doc):
        raise NotFound("no such document")
    return doc


def set_shared(actor: Actor, document_id, shared: bool) -> dict:
    """Show an uploaded document in the client's portal, or hide it again. Filed forms and packets are
    always shown there. Raises NotFound, Forbidden, ValidationFailed."""
    if not actor.is_staff:
        raise NotFound("no such document")
    doc = get_document_for(actor, document_id)
    client = get_client_for(actor, doc.client, need=UPLOAD)
    if doc.kind != "upload":
        raise ValidationFailed(
            "filed forms are always in the client's portal",
            details={"shared": ["only uploaded documents can be shared or hidden"]},
        )
    if bool(doc.shared) != bool(shared):
        doc.update(
            set__shared=bool(shared),
            set__shared_at=utcnow() if shared else None,
            set__shared_by=f"{actor.kind}:{actor.id}" if shared else "",
        )
        audit.record(
            actor,
            "client_document_shared" if shared else "client_document_unshared",
            client=client,
            object_type="document",
            object_id=doc.id,
            details={"title": doc.title},
        )
        doc.reload()
    return shape(doc)


def upload(actor: Actor, client_id, *, filename: str, data: bytes, title: str = "") -> dict:
    """Store an uploaded file in the client's General Documents.

    Raises NotFound, Forbidden, TooLarge (413), UnsupportedMediaType (415), ValidationFailed;
    nothing is stored when a check fails.
    """
    if not actor.is_staff:
        raise NotFound("no such client")
    client = get_client_for(actor, client_id, need=UPLOAD)
    title = (title or filename or "").strip()[:200]
    if not title:
        raise ValidationFailed("a title is needed", details={"title": ["required"]})
    stored = files.store_file(
        data, filename=filename, purpose="document", client_id=client.id, allowed=ALLOWED_UPLOADS
    )
    doc = Document(
        client=client.id,
        kind="upload",
        title=title,
        file_id=stored.id,
        content_type=stored.content_type,
        size=stored.size,
        created_by=f"{actor.kind}:{actor.id}",
    )
    doc.save()
    audit.record(
        actor,
        "client_document_uploaded",
        client=client,
        object_type="document",
        object_id=doc.id,
        details={"content_type": stored.content_type, "size": stored.size},
    )
    return shape(doc)


def download(actor: Actor, document_id) -> tuple[bytes, files.StoredFile]:
    """The decrypted bytes of a document; every download is audited. Raises NotFound."""
    doc = get_document_for(actor, document_id)
    data, meta = files.read_file(doc.file_id)
    audit.record(
        actor,
        "client_document_downloaded",
        client=doc.client,
        object_type="document",
        object_id=doc.id,
        details={"title": doc.title},
    )
    if doc.kind == "upload":
        return data, meta  # the name it was uploaded with
    return data, files.StoredFile(
        meta.id,
        f"{doc.title}.pdf",
        meta.content_type,
        meta.size,
        meta.purpose,
        meta.client_id,
        meta.created_at,
    )


def store_pdf(client_id, pdf: bytes, *, filename: str) -> str:
    """Encrypt and store a generated PDF; returns its file id (filed later with `file_pdf`)."""
    return files.store_file(
        pdf,
        filename=filename,
        purpose="document",
        client_id=client_id,
        allowed=frozenset({"application/pdf"}),
    ).id


def file_pdf(
    client_id,
    *,
    file_id: str,
    title: str,
    kind: str,
    source_key: str,
    form_key: str = "",
    submission_id: str = "",
    instance_id=None,
) -> Document:
    """File a stored PDF into General Documents once per `source_key` (a retry returns the first one)."""
    existing = Document.objects(source_key=source_key).first()
    if existing is not None:
        return _announced(existing)  # a retry of the filing: announced again (same event id) in case it died
    _data, meta = files.read_file(file_id)
    doc = Document(
        client=parse_id(client_id),
        kind=kind,
        title=title[:200],
        file_id=file_id,
        content_type=meta.content_type,
        size=meta.size,
        form_key=form_key,
        submission_id=submission_id,
        instance_id=instance_id,
        source_key=source_key,
        created_by="system",
    )
    try:
        doc.save(force_insert=True)
    except NotUniqueError:
        return _announced(Document.objects.get(source_key=source_key))
    audit.record(
        SYSTEM,
        "client_document_filed",
        client=doc.client,
        object_type="document",
        object_id=doc.id,
        details={"kind": kind, "form": form_key},
    )
    return _announced(doc)


def _announced(doc: Document) -> Document:
    """The document.filed webhook event (its id from the document's: announcing again is the same event)."""
    webhooks.emit(
        "document.filed",
        key=str(doc.id),
        client_id=doc.client,
        document_id=doc.id,
        process_instance_id=doc.instance_id,
    )
    return doc


def submitted_forms(actor: Actor, client_id) -> list[dict]:
    """The client's submitted forms that staff have not acknowledged yet (each the newest sealed
    submission of its form in an intake still under way, not yet filed and not returned for revision):
    what the portal lists as awaiting review until the filed PDF replaces it. Raises NotFound."""
    from engine.models.forms import FormDefinition, Submission
    from engine.models.workflow import ProcessInstance, Task

    client = _client(actor, client_id)
    audit.record(actor, "submitted_forms_viewed", client=client, object_type="client", object_id=client.id)
    filed = {d.submission_id for d in Document.objects(client=client.id, kind="form").only("submission_id")}
    subs = [
        s
        for s in Submission.objects(
            client=client.id, status="completed", seal_key__startswith="task:"
        ).order_by("-updated_at")
        if str(s.id) not in filed
    ]
    rows = {
        str(t.id): t for t in Task.objects(id__in=[parse_id(s.seal_key.removeprefix("task:")) for s in subs])
    }
    running = {
        p.id
        for p in ProcessInstance.objects(
            id__in=list({t.instance_id for t in rows.values()}), status="running"
        ).only("id")
    }
    returned = {
        (t.instance_id, t.form_key)
        for t in Task.objects(instance_id__in=list(running), status="open", role="revision").only(
            "instance_id", "form_key"
        )
    }
    titles = {
        f.key: f.title
        for f in FormDefinition.objects(key__in=[s.form_key for s in subs]).only("key", "title")
    }
    shown, seen = [], set()
    for sub in subs:
        row = rows.get(sub.seal_key.removeprefix("task:"))
        place = (row.instance_id, sub.form_key) if row else None
        if row is None or row.instance_id not in running or place in seen or place in returned:
            continue
        seen.add(place)
        shown.append(
            {
                "submission_id": str(sub.id),
                "title": titles.get(sub.form_key, sub.form_key),
                "submitted_at": sub.updated_at,
            }
        )
    audit.record(
        actor,
        "client_submissions_listed",
        client=client,
        object_type="client",
        object_id=client.id,
        details={"shown": len(shown)},
    )
    return shown
