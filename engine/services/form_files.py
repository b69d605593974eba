"""Form files: signatures and uploaded files taken out of a submission's answers.

A `signaturepad` or `file` answer arrives as a base64 data URL; its bytes are stored in the `form_files`
GridFS bucket. The answer then holds only `portico-file:<token>`, a random 256-bit token, never a
database id, so references can be neither guessed nor enumerated.

A file is bound to one client and one submission when it is stored, and the binding never changes.
Answers may carry a reference only to a file already bound to the very submission being completed (its
draft); a reference taken from anyone else's submission is refused, never re-linked. Every read goes
through the submission that holds the reference and checks that binding.

Files stored before this (records without a token) stay readable, in place: their references are
database ids, honoured only for a submission of their own client whose sealed answers hold them. Sealed answers cannot be rewritten (the seal covers them), so
these references are kept as they are.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable

import gridfs
from bson import ObjectId
from gridfs.errors import NoFile

from engine import db
from engine.errors import NotFound, TooLarge, ValidationFailed
from engine.forms.validator import all_questions, value_name
from engine.models.forms import Signature

FILE_REF = "portico-file:"
MAX_FILE_BYTES = 10 * 1024 * 1024
_ALLOWED_TYPES = re.compile(r"^(image/(png|jpeg|gif|webp|svg\+xml)|application/pdf)$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
_LEGACY_ID = re.compile(r"^[0-9a-f]{24}$")
_NOT_OURS = "this file is not part of this form; upload it again"


def is_ref(value) -> bool:
    return isinstance(value, str) and value.startswith(FILE_REF)


def refs_in(answers: dict) -> list[str]:
    """The file references among a submission's answers (signatures and file questions)."""
    found = []
    for v in answers.values():
        if is_ref(v):
            found.append(v)
        elif isinstance(v, list):
            found += [f["content"] for f in v if isinstance(f, dict) and is_ref(f.get("content"))]
    return found


def _record(ref: str) -> Signature | None:
    key = ref.removeprefix(FILE_REF)
    if _TOKEN.match(key):
        return Signature.objects(token=key).first()
    if _LEGACY_ID.match(key):
        # Only records from before tokens answer to their id; a tokened record is never found by id.
        return Signature.objects(id=ObjectId(key), token=None).first()
    return None


def _decode(data_url: str, question: str) -> tuple[str, bytes]:
    """(declared type, bytes) of a base64 data URL. Raises ValidationFailed, TooLarge."""
    header, comma, payload = data_url.partition(",")
    if not (header.startswith("data:") and header.endswith(";base64") and comma):
        raise ValidationFailed("bad file", details={question: ["not a base64 data URL"]})
    declared = header[5:].split(";", 1)[0].strip().lower()
    # Refuse before decoding: base64 takes 4 characters for every 3 bytes.
    if len(payload) > (MAX_FILE_BYTES // 3 + 1) * 4:
        raise TooLarge(f"{question}: file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                       details={question: [f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"]})
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("bad file", details={question: ["the file is not valid base64"]}) from None
    return declared, raw


def _store(data_url: str, *, question: str, client_id, submission_id, name: str, signature: bool) -> str:
    """Store one data URL bound to `submission_id`; returns its reference.

    Raises ValidationFailed (bad data, a type not accepted: details by question), TooLarge."""
    declared, raw = _decode(data_url, question)
    content_type = declared or "application/octet-stream"
    if not _ALLOWED_TYPES.match(content_type):
        raise ValidationFailed("file type not accepted", details={question: [f"{content_type} is not accepted"]})
    file_id = _bucket().put(raw, content_type=content_type, filename=name or question)
    token = secrets.token_urlsafe(32)
    Signature(token=token, file_id=file_id, content_type=content_type, size=len(raw),
              sha256=hashlib.sha256(raw).hexdigest(), name=name, question=question, client=client_id,
              submission=submission_id).save()
    return f"{FILE_REF}{token}"


def _keep_own(ref: str, *, question: str, client_id, submission_id) -> str:
    """A reference the client sent back: only to a file of this very submission. Raises ValidationFailed
    (the same answer whether the file is someone else's or does not exist)."""
    rec = _record(ref)
    if rec is None or rec.submission is None or rec.submission != submission_id or rec.client != client_id:
        raise ValidationFailed("a file is not part of this form", details={question: [_NOT_OURS]})
    return ref


def externalize(definition: dict, answers: dict, *, client_id, submission_id) -> tuple[dict, list[str]]:
    """Answers with every signature/file data URL stored (bound to `submission_id`) and replaced by its
    reference; also the references created. References already in the answers must be files of this
    submission. Raises ValidationFailed (details by question), TooLarge; files stored before a refusal
    are removed."""
    out = dict(answers)
    created: list[str] = []
    try:
        for q in all_questions(definition):
            name = value_name(q)
            value = out.get(name)
            kind = q.get("type")
            if kind == "signaturepad" and isinstance(value, str) and value:
                out[name] = _one(value, q, created, client_id=client_id, submission_id=submission_id,
                                 name=f"{name}.png")
            elif kind == "file" and isinstance(value, list):
                entries = []
                for f in value:
                    if not isinstance(f, dict) or not isinstance(f.get("content"), str):
                        raise ValidationFailed("bad file", details={name: ["each file needs its content"]})
                    ref = _one(f["content"], q, created, client_id=client_id, submission_id=submission_id,
                               name=str(f.get("name", "")))
                    entries.append({**f, "content": ref})
                out[name] = entries
    except Exception:
        discard(created)
        raise
    return out, created


def _one(value: str, q: dict, created: list[str], *, client_id, submission_id, name: str) -> str:
    question = value_name(q)
    if value.startswith("data:"):
        ref = _store(value, question=question, client_id=client_id, submission_id=submission_id, name=name,
                     signature=q.get("type") == "signaturepad")
        created.append(ref)
        return ref
    if is_ref(value):
        return _keep_own(value, question=question, client_id=client_id, submission_id=submission_id)
    raise ValidationFailed("bad file", details={question: ["not an uploaded file"]})


def discard(refs: Iterable[str]) -> None:
    """Remove files stored for a submission that was not saved (they would be orphans)."""
    for ref in refs:
        rec = _record(ref)
        if rec is not None:
            _bucket().delete(rec.file_id)
            rec.delete()


def _bucket() -> gridfs.GridFS:
    return gridfs.GridFS(db.get_db(), collection="form_files")


def read(sub, ref: str) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of a file that submission `sub` holds. Raises NotFound: the
    reference is not among its answers, or the file is bound to another submission or client."""
    rec = _record(ref) if ref in refs_in(sub.answers) else None
    if rec is None or rec.client != sub.client or (rec.token and rec.submission != sub.id):
        raise NotFound("no such file")
    try:
        data = _bucket().get(rec.file_id).read()
    except NoFile:
        raise NotFound("no such file") from None
    return data, rec.content_type, rec.name or rec.question or "file"


def reader(*subs) -> Callable[[str], tuple[bytes, str]]:
    """A `read_file(ref) -> (bytes, content type)` for the PDF renderer that reads only files these
    submissions hold (engine/forms/pdf.py shows "(signature image unavailable)" for anything else)."""
    def read_one(ref: str) -> tuple[bytes, str]:
        for sub in subs:
            if ref in refs_in(sub.answers):
                return read(sub, ref)[:2]
        raise NotFound("no such file")

    return read_one
