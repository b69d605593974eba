"""Helpers shared by API areas that take uploads or send stored files back."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request

from engine.services.platform import files


def uploads(field: str = "attachments") -> list[tuple[str, bytes]]:
    """(filename, bytes) of each uploaded file in a multipart field; each read at most to the size limit."""
    return [(f.filename or "file", files.read_upload(f.stream)) for f in request.files.getlist(field)]


def download(data: bytes | str, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    """Bytes sent as a file (a stored file, a PDF, a calendar): never rendered as a page, never sniffed,
    never cached."""
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


def file_response(data: bytes, meta: files.StoredFile, *, inline: bool = False) -> Response:
    """A decrypted stored file as a download; inline only for images and PDFs."""
    return download(
        data,
        meta.content_type,
        meta.filename,
        inline=inline and meta.content_type in files.IMAGE_TYPES | {"application/pdf"},
    )
