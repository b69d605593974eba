"""The encrypted file store: message attachments, insurance cards, General Documents.

Uploads are checked by their content, not their name: the first bytes decide
the type (PDF, PNG, JPEG, GIF, WEBP, HEIC, Office Open XML, plain UTF-8 text),
executables and scripts are refused whatever they are called, and nothing is
written when a check fails.

At rest every file is AES-256-GCM encrypted with a key derived from
PORTICO_SECRET_KEY (never stored in the database), a fresh 96-bit nonce per
file, and the file id as associated data, so a blob copied onto another file
id fails to decrypt. The original name and type travel inside the ciphertext:
a file name can itself be health information.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gridfs import GridFSBucket
from gridfs.errors import NoFile

from engine import config
from engine.authz import parse_id
from engine.db import get_db
from engine.errors import NotFound, TooLarge, UnsupportedMediaType, ValidationFailed
from engine.models import utcnow

BUCKET = "files"
_SCHEME = "aes-256-gcm/v1"
_NONCE_BYTES = 12

# Refused whatever the file is called: native executables and anything with a shebang.
_EXECUTABLE_MAGIC = (
    (b"\x7fELF", "ELF executable"),
    (b"MZ", "Windows executable"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"#!", "script"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_OOXML = {
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
# Text that a browser would treat as markup is refused: it could carry script.
_MARKUP_PREFIXES = ("<!doctype", "<html", "<script", "<svg", "<?xml", "<body", "<iframe")

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/heic"})


@dataclass(frozen=True)
class StoredFile:
    id: str
    filename: str
    content_type: str
    size: int
    purpose: str
    client_id: str
    created_at: datetime | None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "purpose": self.purpose,
            "client_id": self.client_id,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def _refuse(what: str) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"this kind of file is not accepted ({what})", details={"file": [f"not accepted: {what}"]}
    )


def _ooxml_type(data: bytes) -> str:
    """An Office Open XML document inside a ZIP; other archives (jar, apk, plain zip) are refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("damaged archive") from None
    if "[Content_Types].xml" not in names:
        raise _refuse("ZIP archive")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refuse("document with macros")
    for prefix, (mime, _ext) in _OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return mime
    raise _refuse("unknown Office document")


def _text_type(data: bytes) -> str:
    if b"\x00" in data:
        raise _refuse("binary data")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("unrecognised binary data") from None
    head = text.lstrip("\ufeff \t\r\n").lower()
    if head.startswith(_MARKUP_PREFIXES):
        raise _refuse("HTML, SVG or XML markup")
    return "text/plain"


def sniff(data: bytes) -> str:
    """The content type of `data` from its first bytes. Raises UnsupportedMediaType."""
    if not data:
        raise ValidationFailed("the file is empty", details={"file": ["is empty"]})
    for magic, what in _EXECUTABLE_MAGIC:
        if data.startswith(magic):
            raise _refuse(what)
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    if data.startswith(b"PK\x03\x04"):
        return _ooxml_type(data)
    return _text_type(data)


def _limit_bytes() -> int:
    return config.current().max_upload_mb * 1024 * 1024


def read_upload(stream, *, limit: int | None = None) -> bytes:
    """Read an upload stream, stopping one byte past the limit. Raises TooLarge."""
    limit = _limit_bytes() if limit is None else limit
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(
            f"the file is larger than {limit // (1024 * 1024)} MB",
            details={"file": [f"larger than {limit // (1024 * 1024)} MB"]},
        )
    return data


def check_upload(data: bytes, *, allowed: frozenset[str] | None = None) -> str:
    """Size and type checks without storing; returns the sniffed content type.

    Raises TooLarge, UnsupportedMediaType or ValidationFailed (empty file).
    """
    limit = _limit_bytes()
    if len(data) > limit:
        raise TooLarge(
            f"the file is larger than {limit // (1024 * 1024)} MB",
            details={"file": [f"larger than {limit // (1024 * 1024)} MB"]},
        )
    content_type = sniff(data)
    if allowed is not None and content_type not in allowed:
        raise _refuse(content_type)
    return content_type


def _aead() -> AESGCM:
    return AESGCM(config.current().derived_key("files"))


def _clean_name(filename: str) -> str:
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name[:200] or "file"


def _bucket() -> GridFSBucket:
    return GridFSBucket(get_db(), bucket_name=BUCKET)


def store_file(
    data: bytes, *, filename: str, purpose: str, client_id=None, allowed: frozenset[str] | None = None
) -> StoredFile:
    """Check, encrypt and store one file; returns what was stored (its `id` is the file id).

    Raises TooLarge (413), UnsupportedMediaType (415) or ValidationFailed (empty);
    nothing is written when any check fails.
    """
    content_type = check_upload(data, allowed=allowed)
    file_id = ObjectId()
    name = _clean_name(filename)
    header = json.dumps({"filename": name, "content_type": content_type}).encode()
    plaintext = struct.pack(">I", len(header)) + header + data
    nonce = os.urandom(_NONCE_BYTES)
    blob = nonce + _aead().encrypt(nonce, plaintext, str(file_id).encode())
    created = utcnow()
    _bucket().upload_from_stream_with_id(
        file_id,
        str(file_id),
        io.BytesIO(blob),
        metadata={
            "scheme": _SCHEME,
            "size": len(data),
            "purpose": purpose,
            "client_id": str(client_id or ""),
            "created_at": created,
        },
    )
    return StoredFile(str(file_id), name, content_type, len(data), purpose, str(client_id or ""), created)


def read_file(file_id) -> tuple[bytes, StoredFile]:
    """Decrypt one stored file: (bytes, StoredFile). Raises NotFound (also when it fails to decrypt)."""
    oid = parse_id(file_id)
    try:
        grid_out = _bucket().open_download_stream(oid)
    except NoFile:
        raise NotFound("no such file") from None
    meta = grid_out.metadata or {}
    blob = grid_out.read()
    try:
        plaintext = _aead().decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], str(oid).encode())
    except InvalidTag:
        # Tampered, moved to another id, or encrypted under another secret key.
        raise NotFound("the file cannot be decrypted") from None
    (header_len,) = struct.unpack(">I", plaintext[:4])
    header = json.loads(plaintext[4 : 4 + header_len])
    data = plaintext[4 + header_len :]
    return data, StoredFile(
        str(oid),
        header["filename"],
        header["content_type"],
        len(data),
        meta.get("purpose", ""),
        meta.get("client_id", ""),
        meta.get("created_at"),
    )


def delete_file(file_id) -> None:
    """Remove a stored file (missing files are ignored: deleting is idempotent)."""
    try:
        _bucket().delete(parse_id(file_id))
    except NoFile:
        pass


def count_files() -> int:
    """How many files the store holds (tests check that refused uploads store nothing)."""
    return get_db()[f"{BUCKET}.files"].count_documents({})
