"""Form files: signatures and uploaded files taken out of a submission's answers.

A `signaturepad` or `file` answer arrives as a base64 data URL. Its bytes go through the encrypted file
store (engine/services/platform/files.py): the type is sniffed from the content (the data URL's own header is not
trusted), SVG and anything that is not an accepted image or PDF is refused, the size is capped, and the
bytes are kept AES-GCM encrypted. The answer then holds only `portico-file:<token>`, a random 256-bit
token, never a database id, so references can be neither guessed nor enumerated.

A file is bound to one client and one submission when it is stored, and the binding never changes.
Answers may carry a reference only to a file already bound to the very submission being completed (its
draft); a reference taken from anyone else's submission is refused, never re-linked. Every read goes
through the submission that holds the reference and checks that binding.

Files stored before this (records without a token) stay readable, in place: their references are
database ids into the older unencrypted `form_files` bucket, honoured only for a submission of their own
client whose sealed answers hold them. Sealed answers cannot be rewritten (the seal covers them), so
these references are kept as they are; `encrypt_stored_files` (`portico forms encrypt-files`) moves
their bytes into the encrypted store under the same record.
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
from engine.errors import NotFound, TooLarge, UnsupportedMediaType, ValidationFailed
from engine.forms.validator import all_questions, value_name
from engine.models.forms import Signature
from engine.services.platform import files

FILE_REF = "portico-file:"
MAX_FILE_BYTES = 10 * 1024 * 1024
SIGNATURE_TYPES = frozenset({"image/png", "image/jpeg"})
UPLOAD_TYPES = files.IMAGE_TYPES | {"application/pdf"}
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
        raise TooLarge(
            f"{question}: file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
            details={question: [f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"]},
        )
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("bad file", details={question: ["the file is not valid base64"]}) from None
    return declared, raw


def _store(
    data_url: str, *, question: str, client_id, submission_id, name: str, signature: bool
) -> tuple[str, str]:
    """Check, encrypt and store one data URL bound to `submission_id`; returns its reference and the
    content type its bytes showed.

    Raises ValidationFailed (bad data, a type not accepted: details by question), TooLarge."""
    declared, raw = _decode(data_url, question)
    if declared == "image/svg+xml":
        # Refused by name as well as by content: an SVG is a document that can carry script.
        raise ValidationFailed("file type not accepted", details={question: ["SVG images are not accepted"]})
    allowed = SIGNATURE_TYPES if signature else UPLOAD_TYPES
    try:
        stored = files.store_file(
            raw,
            filename=name or question,
            client_id=client_id,
            allowed=allowed,
            purpose="form_signature" if signature else "form_file",
        )
    except UnsupportedMediaType as exc:
        raise ValidationFailed(
            "file type not accepted",
            details={
                question: [
                    "the file's content is not an accepted type "
                    + ("(PNG or JPEG)" if signature else "(an image or a PDF)")
                ]
            },
        ) from exc
    except (TooLarge, ValidationFailed) as exc:
        raise type(exc)(exc.message, details={question: [exc.message]}) from exc
    token = secrets.token_urlsafe(32)
    Signature(
        token=token,
        encrypted=True,
        file_id=ObjectId(stored.id),
        content_type=stored.content_type,
        size=stored.size,
        sha256=hashlib.sha256(raw).hexdigest(),
        question=question,
        client=client_id,
        submission=submission_id,
    ).save()
    return f"{FILE_REF}{token}", stored.content_type


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
                out[name], _ = _one(
                    value, q, created, client_id=client_id, submission_id=submission_id, name=f"{name}.png"
                )
            elif kind == "file" and isinstance(value, list):
                entries = []
                for f in value:
                    if not isinstance(f, dict) or not isinstance(f.get("content"), str):
                        raise ValidationFailed("bad file", details={name: ["each file needs its content"]})
                    ref, sniffed = _one(
                        f["content"],
                        q,
                        created,
                        client_id=client_id,
                        submission_id=submission_id,
                        name=str(f.get("name", "")),
                    )
                    # The type the bytes showed, not the one the browser claimed.
                    entries.append({**f, "content": ref, **({"type": sniffed} if sniffed else {})})
                out[name] = entries
    except Exception:
        discard(created)
        raise
    return out, created


def _one(
    value: str, q: dict, created: list[str], *, client_id, submission_id, name: str
) -> tuple[str, str | None]:
    """One signature or file answer as a reference (and the sniffed type of a new upload)."""
    question = value_name(q)
    if value.startswith("data:"):
        ref, sniffed = _store(
            value,
            question=question,
            client_id=client_id,
            submission_id=submission_id,
            name=name,
            signature=q.get("type") == "signaturepad",
        )
        created.append(ref)
        return ref, sniffed
    if is_ref(value):
        return _keep_own(value, question=question, client_id=client_id, submission_id=submission_id), None
    raise ValidationFailed("bad file", details={question: ["not an uploaded file"]})


def discard(refs: Iterable[str]) -> None:
    """Remove files stored for a submission that was not saved (they would be orphans)."""
    for ref in refs:
        rec = _record(ref)
        if rec is not None and rec.encrypted:
            files.delete_file(rec.file_id)
            rec.delete()


def _legacy_bucket() -> gridfs.GridFS:
    return gridfs.GridFS(db.get_db(), collection="form_files")


def _served_type(data: bytes) -> str:
    try:
        sniffed = files.sniff(data)
    except (UnsupportedMediaType, ValidationFailed):
        return "application/octet-stream"
    return sniffed if sniffed in UPLOAD_TYPES else "application/octet-stream"


def read(sub, ref: str) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of a file that submission `sub` holds. Raises NotFound: the
    reference is not among its answers, or the file is bound to another submission or client."""
    rec = _record(ref) if ref in refs_in(sub.answers) else None
    if rec is None or rec.client != sub.client or (rec.token and rec.submission != sub.id):
        raise NotFound("no such file")
    if rec.encrypted:
        data, meta = files.read_file(rec.file_id)
        return data, meta.content_type, meta.filename
    # Stored before encryption: its recorded type came from the browser, so the bytes decide again.
    try:
        data = _legacy_bucket().get(rec.file_id).read()
    except NoFile:
        raise NotFound("no such file") from None
    return data, _served_type(data), rec.name or rec.question or "file"


def reader(*subs) -> Callable[[str], tuple[bytes, str]]:
    """A `read_file(ref) -> (bytes, content type)` for the PDF renderer that reads only files these
    submissions hold (engine/forms/pdf.py shows "(signature image unavailable)" for anything else)."""

    def read_one(ref: str) -> tuple[bytes, str]:
        for sub in subs:
            if ref in refs_in(sub.answers):
                return read(sub, ref)[:2]
        raise NotFound("no such file")

    return read_one


def encrypt_stored_files() -> dict[str, int]:
    """Move form files kept unencrypted in the `form_files` bucket into the encrypted file store, each
    under its own record (so its reference in sealed answers still holds). Safe to repeat and to run
    beside the web: a record switches by a guarded update, and the plain copy goes only after that.

    Returns counts: moved; refused (bytes the store does not accept, e.g. SVG: they stay where they
    are, served only as attachments typed by their bytes); missing (no bytes)."""
    counts = {"moved": 0, "refused": 0, "missing": 0}
    for rec in Signature.objects(encrypted__ne=True).only("id", "file_id", "client", "question", "name"):
        try:
            data = _legacy_bucket().get(rec.file_id).read()
        except NoFile:
            counts["missing"] += 1
            continue
        try:
            stored = files.store_file(
                data,
                filename=rec.name or rec.question or "file",
                client_id=rec.client,
                allowed=UPLOAD_TYPES,
                purpose="form_file",
            )
        except (UnsupportedMediaType, TooLarge, ValidationFailed):
            counts["refused"] += 1
            continue
        if Signature.objects(id=rec.id, encrypted__ne=True, file_id=rec.file_id).update_one(
            set__file_id=ObjectId(stored.id),
            set__encrypted=True,
            set__content_type=stored.content_type,
            set__name="",
        ):
            _legacy_bucket().delete(rec.file_id)
            counts["moved"] += 1
        else:  # another process moved it first
            files.delete_file(stored.id)
    return counts
