"""The encrypted file store: content sniffing, size limit, encryption at rest."""

from __future__ import annotations

import io
import zipfile

import pytest

from engine import config
from engine.errors import NotFound, TooLarge, UnsupportedMediaType
from engine.services.platform import files

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        ("Notes from today — café".encode(), "text/plain"),
    ],
)
def test_sniff_accepts_documents_and_images(data, expected):
    """Does sniffing name each accepted kind by its first bytes?"""
    assert files.sniff(data) == expected


def test_sniff_accepts_docx():
    """Is a Word document (an Office Open XML ZIP) accepted?"""
    assert files.sniff(_docx()).endswith("wordprocessingml.document")


@pytest.mark.parametrize(
    "data",
    [
        b"\x7fELF\x02\x01\x01" + b"\x00" * 50,
        b"MZ\x90\x00" + b"\x00" * 50,
        b"\xcf\xfa\xed\xfe" + b"\x00" * 50,
        b"#!/bin/sh\nrm -rf /\n",
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04garbage",
        b"\x00\x01\x02binary",
    ],
)
def test_sniff_refuses_executables_scripts_markup_and_unknown_binary(data):
    """Are executables, scripts, markup and unknown binaries refused whatever they are called?"""
    with pytest.raises(UnsupportedMediaType):
        files.sniff(data)


def test_round_trip_is_byte_for_byte_and_encrypted_at_rest(clean_db):
    """Does a stored file come back byte for byte, while GridFS holds only ciphertext?"""
    stored = files.store_file(PNG, filename="../../card front.png", purpose="test")
    data, meta = files.read_file(stored.id)
    assert data == PNG
    assert (meta.filename, meta.content_type, meta.size) == ("card front.png", "image/png", len(PNG))
    raw = b"".join(c["data"] for c in clean_db["files.chunks"].find())
    assert PNG[16:80] not in raw and b"card front" not in raw


def test_blob_moved_to_another_id_does_not_decrypt(clean_db):
    """Does the file id bind the ciphertext (associated data), so a swapped blob is refused?"""
    a = files.store_file(b"%PDF-1.4 a", filename="a.pdf", purpose="test")
    b = files.store_file(b"%PDF-1.4 b", filename="b.pdf", purpose="test")
    chunks = clean_db["files.chunks"]
    blob_a = chunks.find_one({"files_id": files.parse_id(a.id)})["data"]
    chunks.update_one({"files_id": files.parse_id(b.id)}, {"$set": {"data": blob_a}})
    with pytest.raises(NotFound):
        files.read_file(b.id)


def test_executable_named_pdf_is_refused_and_not_stored(clean_db):
    """Is an executable renamed .pdf refused (415) with nothing stored?"""
    before = files.count_files()
    with pytest.raises(UnsupportedMediaType) as err:
        files.store_file(b"MZ\x90\x00" + b"\x00" * 100, filename="invoice.pdf", purpose="test")
    assert err.value.status == 415
    assert files.count_files() == before


def test_oversized_file_is_refused_and_not_stored(clean_db, settings):
    """Is a file over PORTICO_MAX_UPLOAD_MB refused (413) with nothing stored?"""
    config.install(settings.with_(max_upload_mb=1))
    try:
        before = files.count_files()
        with pytest.raises(TooLarge) as err:
            files.store_file(b"%PDF-1.4" + b"x" * (1024 * 1024), filename="big.pdf", purpose="test")
        assert err.value.status == 413
        with pytest.raises(TooLarge):
            files.read_upload(io.BytesIO(b"y" * (1024 * 1024 + 5)))
        assert files.count_files() == before
    finally:
        config.install(settings)
