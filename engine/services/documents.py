"""General Documents: a client's uploads and filed PDFs; listing, upload, download (audited), blank forms.

Staff who see the client list and download its documents; uploading needs
`client_documents.upload`. Portal accounts acting for the client with the
forms permission see the completed forms and packets filed for it (not the
practice's uploads). Uploads are checked by content and size and stored
encrypted (engine.services.files) before a Document row points at them.
"""

from __future__ import annotations

from mongoengine.errors import NotUniqueError

from engine.authz import SYSTEM, Actor, get_client_for, parse_id
from engine.errors import NotFound, ValidationFailed
from engine.models.documents import Document
from engine.services import audit, files, webhooks

UPLOAD = "client_documents.upload"
PORTAL_KINDS = ("form", "packet")
ALLOWED_UPLOADS = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})


def shape(doc: Document) -> dict:
    return {"id": str(doc.id), "client_id": str(doc.client), "kind": doc.kind, "title": doc.title,
            "content_type": doc.content_type, "size": doc.size, "form_key": doc.form_key or None,
            "created_by": doc.created_by, "created_at": doc.created_at}


def _client(actor: Actor, client_id):
    return get_client_for(actor, client_id, need="forms" if actor.is_portal else None)


def _query(actor: Actor, client) -> dict:
    query: dict = {"client": client.id}
    if not actor.is_staff and actor.kind != "system":
        query["kind__in"] = PORTAL_KINDS
    return query


def list_documents(actor: Actor, client_id) -> list[dict]:
    """The client's General Documents, newest first. Raises NotFound."""
    client = _client(actor, client_id)
    rows = Document.objects(**_query(actor, client)).order_by("-created_at")
    audit.record(actor, "client_documents_listed", client=client, object_type="client", object_id=client.id)
    return [shape(d) for d in rows]


def get_document_for(actor: Actor, document_id) -> Document:
    """A document the actor may see (through its client). Raises NotFound."""
    doc = Document.objects(id=parse_id(document_id)).first()
    if doc is None:
        raise NotFound("no such document")
    _client(actor, doc.client)
    if actor.is_portal and doc.kind not in PORTAL_KINDS:
        raise NotFound("no such document")
    return doc


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
    stored = files.store_file(data, filename=filename, purpose="document", client_id=client.id,
                              allowed=ALLOWED_UPLOADS)
    doc = Document(client=client.id, kind="upload", title=title, file_id=stored.id,
                   content_type=stored.content_type, size=stored.size, created_by=f"{actor.kind}:{actor.id}")
    doc.save()
    audit.record(actor, "client_document_uploaded", client=client, object_type="document", object_id=doc.id,
                 details={"content_type": stored.content_type, "size": stored.size})
    return shape(doc)


def download(actor: Actor, document_id) -> tuple[bytes, files.StoredFile]:
    """The decrypted bytes of a document; every download is audited. Raises NotFound."""
    doc = get_document_for(actor, document_id)
    data, meta = files.read_file(doc.file_id)
    audit.record(actor, "client_document_downloaded", client=doc.client, object_type="document",
                 object_id=doc.id, details={"title": doc.title})
    if doc.kind == "upload":
        return data, meta  # the name it was uploaded with
    return data, files.StoredFile(meta.id, f"{doc.title}.pdf", meta.content_type, meta.size, meta.purpose,
                                  meta.client_id, meta.created_at)


def store_pdf(client_id, pdf: bytes, *, filename: str) -> str:
    """Encrypt and store a generated PDF; returns its file id (filed later with `file_pdf`)."""
    return files.store_file(pdf, filename=filename, purpose="document", client_id=client_id,
                            allowed=frozenset({"application/pdf"})).id


def file_pdf(client_id, *, file_id: str, title: str, kind: str, source_key: str, form_key: str = "",
             submission_id: str = "", instance_id=None) -> Document:
    """File a stored PDF into General Documents once per `source_key` (a retry returns the first one)."""
    existing = Document.objects(source_key=source_key).first()
    if existing is not None:
        return _announced(existing)  # a retry of the filing: announced again (same event id) in case it died
    _data, meta = files.read_file(file_id)
    doc = Document(client=parse_id(client_id), kind=kind, title=title[:200], file_id=file_id,
                   content_type=meta.content_type, size=meta.size, form_key=form_key,
                   submission_id=submission_id, instance_id=instance_id, source_key=source_key,
                   created_by="system")
    try:
        doc.save(force_insert=True)
    except NotUniqueError:
        return _announced(Document.objects.get(source_key=source_key))
    audit.record(SYSTEM, "client_document_filed", client=doc.client, object_type="document",
                 object_id=doc.id, details={"kind": kind, "form": form_key})
    return _announced(doc)


def _announced(doc: Document) -> Document:
    """The document.filed webhook event (its id from the document's: announcing again is the same event)."""
    webhooks.emit("document.filed", key=str(doc.id), client_id=doc.client, document_id=doc.id,
                  process_instance_id=doc.instance_id)
    return doc
