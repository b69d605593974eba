"""Security issue 12, holes 1 and 2: form files and signatures.

Hole 1: a client could put another client's `portico-file:<id>` reference into her own answers; it was
re-linked to her submission (so she could download it and the owner lost it), ids were sequential, and
the PDF renderer read any file by id.
Hole 2: form files were stored unencrypted in their own GridFS bucket, typed by the browser's data-URL
header (SVG accepted), and served inline.
"""

from __future__ import annotations

import base64
import io
import re

import gridfs
import pypdf
import pytest
from bson import ObjectId

from engine import config, db
from engine.authz import SYSTEM
from engine.errors import TooLarge
from engine.models.forms import Signature, Submission
from engine.models.workflow import Task
from engine.services.forms import submissions
from engine.services.forms.forms import published_definition
from tests.form_file_world import DEFINITION, FORM_KEY, PDF_BYTES, build_world, data_url
from tests.form_fills import SIG

REF = "portico-file:"


@pytest.fixture()
def world(clean_db):
    return build_world()


def _signed_by_a(http, world):
    """Client A's completed submission (a signature and a PDF upload) and her task id."""
    task = world.task_for(world.minor)
    resp = world.complete(http, "client_a", task, world.answers())
    assert resp.status_code == 200, resp.get_json()
    return world.sealed(task), task


def _file_url(sub, ref: str) -> str:
    return f"/api/v1/submissions/{sub.id}/files/{ref.removeprefix(REF)}"


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _plant(sub, **answers) -> None:
    """Write answers straight into a stored submission (what no request may do; the read paths must
    still refuse files that are not the submission's own)."""
    Submission.objects(id=sub.id).update_one(
        set__answers_json=submissions.canonical_json({**sub.answers, **answers})
    )


def _legacy_submission(client_id, raw: bytes) -> tuple[Submission, Signature]:
    """A sealed-looking submission whose signature was stored the old way (plain bytes, id reference)."""
    file_id = gridfs.GridFS(db.get_db(), collection="form_files").put(raw, content_type="image/png")
    old = Signature(
        file_id=file_id, content_type="image/png", sha256="x", question="signature", client=client_id
    )
    old.save()
    version_id, _ = published_definition(FORM_KEY)
    sub = Submission(
        form_key=FORM_KEY,
        form_version=ObjectId(version_id),
        version_number=1,
        client=client_id,
        status="completed",
        answers_json=submissions.canonical_json({"signature": f"{REF}{old.id}"}),
    )
    sub.save()
    Signature.objects(id=old.id).update_one(set__submission=sub.id)
    return sub, old


def test_hole1_foreign_file_reference_is_refused(client, world):
    """May client B put client A's signature or file reference into her own form? (No: refused, nothing
    re-linked, A keeps her file, and B cannot read it through a submission of her own.)"""
    sub_a, _ = _signed_by_a(client, world)
    sig_a, doc_a = sub_a.answers["signature"], sub_a.answers["docs"][0]["content"]
    task_b = world.task_for(world.client_b)
    stolen_signature = world.complete(client, "client_b", task_b, world.answers(signature=sig_a))
    assert stolen_signature.status_code == 422
    assert "signature" in stolen_signature.get_json()["error"]["details"]
    stolen_doc = world.complete(
        client,
        "client_b",
        task_b,
        world.answers(docs=[{"name": "x.pdf", "type": "application/pdf", "content": doc_a}]),
    )
    assert stolen_doc.status_code == 422 and "docs" in stolen_doc.get_json()["error"]["details"]
    assert Task.objects(id=ObjectId(task_b)).first().status == "open"
    assert {s.submission for s in Signature.objects(client=world.minor.id)} == {sub_a.id}
    for ref in (sig_a, doc_a):
        assert client.get(_file_url(sub_a, ref), headers=world.headers("therapist_a")).status_code == 200
    assert world.complete(client, "client_b", task_b, world.answers()).status_code == 200
    sub_b = world.sealed(task_b)
    for ref in (sig_a, doc_a):
        assert client.get(_file_url(sub_b, ref), headers=world.headers("client_b")).status_code == 404


def test_hole1_file_of_another_submission_of_the_same_client_is_not_relinked(client, world):
    """May a client reuse a file reference from one of her earlier submissions? (No: a reference is only
    good for the submission it was uploaded to; the earlier submission keeps its file.)"""
    sub_a, _ = _signed_by_a(client, world)
    again = world.task_for(world.minor)
    resp = world.complete(client, "client_a", again, world.answers(signature=sub_a.answers["signature"]))
    assert resp.status_code == 422 and "signature" in resp.get_json()["error"]["details"]
    assert Signature.objects(submission=sub_a.id).count() == 2


def test_hole1_file_references_are_unguessable_tokens(client, world):
    """Are file references random tokens rather than database ids, and do database ids (of the file's
    record or of its stored bytes) fail both as a reference in answers and in the download URL?"""
    sub_a, _ = _signed_by_a(client, world)
    refs = [sub_a.answers["signature"], sub_a.answers["docs"][0]["content"]]
    for ref in refs:
        token = ref.removeprefix(REF)
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token
        assert not ObjectId.is_valid(token)
    staff = world.headers("therapist_a")
    for record in Signature.objects(submission=sub_a.id):
        for guess in (str(record.id), str(record.file_id)):
            assert (
                client.get(f"/api/v1/submissions/{sub_a.id}/files/{guess}", headers=staff).status_code == 404
            )
            task_b = world.task_for(world.client_b)
            resp = world.complete(client, "client_b", task_b, world.answers(signature=REF + guess))
            assert resp.status_code == 422, guess
    assert {s.submission for s in Signature.objects(client=world.minor.id)} == {sub_a.id}


def test_hole1_pdf_reads_only_the_submissions_own_files(client, world):
    """Does a submission's PDF show only its own files, even when another client's reference sits in
    its stored answers?"""
    sub_a, _ = _signed_by_a(client, world)
    admin = world.headers("admin")
    assert _images(client.get(f"/api/v1/submissions/{sub_a.id}/pdf", headers=admin).data) == 1
    task_b = world.task_for(world.client_b)
    assert world.complete(client, "client_b", task_b, world.answers()).status_code == 200
    sub_b = world.sealed(task_b)
    _plant(sub_b, signature=sub_a.answers["signature"])
    pdf = client.get(f"/api/v1/submissions/{sub_b.id}/pdf", headers=world.headers("client_b"))
    assert pdf.status_code == 200 and _images(pdf.data) == 0
    assert (
        client.get(
            _file_url(sub_b, sub_a.answers["signature"]), headers=world.headers("client_b")
        ).status_code
        == 404
    )


def test_a_reference_to_a_file_of_the_same_draft_is_kept(world):
    """May answers carry a reference to a file already uploaded to this very draft? (Yes, and it is
    read back through the sealed submission.)"""
    # Imported here, not at the top: the hole tests also run against the code from before the fix.
    from engine.services.forms import form_files

    draft = submissions.save_progress(SYSTEM, world.minor.id, FORM_KEY, {"note": "half done"})
    stored, created = form_files.externalize(
        DEFINITION, {"signature": SIG}, client_id=world.minor.id, submission_id=draft.id
    )
    sub = submissions.complete(SYSTEM, world.minor.id, FORM_KEY, {"note": "done", **stored})
    assert sub.id == draft.id and sub.answers["signature"] == created[0]
    data, content_type, _ = form_files.read(sub, created[0])
    assert content_type == "image/png" and data.startswith(b"\x89PNG")


def test_files_stored_before_tokens_stay_readable_through_their_own_submission_only(client, world):
    """Is a signature stored the old way (database-id reference, plain GridFS bytes) still shown with
    its own submission, and refused through anyone else's?"""
    sub_a, old = _legacy_submission(world.minor.id, base64.b64decode(SIG.partition(",")[2]))
    staff = world.headers("therapist_a")
    got = client.get(f"/api/v1/submissions/{sub_a.id}/files/{old.id}", headers=staff)
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG") and got.mimetype == "image/png"
    task_b = world.task_for(world.client_b)
    assert world.complete(client, "client_b", task_b, world.answers()).status_code == 200
    sub_b = world.sealed(task_b)
    _plant(sub_b, signature=f"{REF}{old.id}")
    assert (
        client.get(
            f"/api/v1/submissions/{sub_b.id}/files/{old.id}", headers=world.headers("client_b")
        ).status_code
        == 404
    )
    assert (
        world.complete(
            client, "client_b", world.task_for(world.client_b), world.answers(signature=f"{REF}{old.id}")
        ).status_code
        == 422
    )


# Hole 2 ----------------------------------------------------------------------------------------------


def _stored_count() -> tuple[int, int, int]:
    database = db.get_db()
    return (
        database["files.files"].count_documents({}),
        database["form_files.files"].count_documents({}),
        Signature.objects.count(),
    )


def test_hole2_form_files_are_encrypted_and_sniffed(client, world):
    """Are signatures and uploads kept encrypted in the file store, typed by their bytes rather than by
    the browser's data-URL header?"""
    task = world.task_for(world.minor)
    png_sent_as_jpeg = SIG.replace("data:image/png", "data:image/jpeg")
    pdf_sent_as_png = [
        {"name": "letter.pdf", "type": "image/png", "content": data_url(PDF_BYTES, "image/png")}
    ]
    resp = world.complete(
        client, "client_a", task, world.answers(signature=png_sent_as_jpeg, docs=pdf_sent_as_png)
    )
    assert resp.status_code == 200, resp.get_json()
    sub = world.sealed(task)
    assert db.get_db()["form_files.files"].count_documents({}) == 0
    assert db.get_db()["files.files"].count_documents({}) == 2
    for chunk in db.get_db()["files.chunks"].find():
        assert b"\x89PNG" not in chunk["data"] and b"%PDF" not in chunk["data"]
    for record in Signature.objects(submission=sub.id):
        assert record.encrypted and record.name == ""  # the file name travels inside the ciphertext
    got = client.get(_file_url(sub, sub.answers["signature"]), headers=world.headers("therapist_a"))
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data.startswith(b"\x89PNG")
    assert sub.answers["docs"][0]["type"] == "application/pdf"
    doc = client.get(_file_url(sub, sub.answers["docs"][0]["content"]), headers=world.headers("client_a"))
    assert doc.mimetype == "application/pdf" and doc.data == PDF_BYTES


@pytest.mark.parametrize(
    "answers",
    [
        {
            "signature": data_url(
                b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"
            )
        },
        {"signature": data_url(b'<!-- hi --><svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml")},
        {
            "docs": [
                {"name": "a.pdf", "content": data_url(PDF_BYTES, "application/pdf")},
                {"name": "x.png", "content": data_url(b'<?xml version="1.0"?><svg/>', "image/png")},
            ]
        },
    ],
    ids=["svg-signature", "svg-without-prolog", "svg-named-png-after-a-good-file"],
)
def test_hole2_svg_is_refused(client, world, answers):
    """Is an SVG refused, whatever its header says, with nothing stored (not even files before it)?"""
    task = world.task_for(world.minor)
    resp = world.complete(client, "client_a", task, world.answers(**answers))
    assert resp.status_code == 422, resp.get_json()
    assert set(resp.get_json()["error"]["details"]) <= {"signature", "docs"}
    assert _stored_count() == (0, 0, 0)
    assert Task.objects(id=ObjectId(task)).first().status == "open"


@pytest.mark.parametrize(
    ("question", "raw"),
    [
        ("signature", b"\x7fELF\x02\x01\x01" + b"\0" * 64),
        ("signature", b"<html><body onload=alert(1)>hi</body></html>"),
        ("signature", b"just some text, not a picture"),
        ("signature", PDF_BYTES),  # a PDF is an accepted upload, but not a signature
        ("docs", b"MZ\x90\x00" + b"\0" * 64),
        ("docs", b"plain text is not an accepted upload"),
    ],
    ids=["elf", "html", "text", "pdf-as-signature", "exe-upload", "text-upload"],
)
def test_hole2_bytes_that_do_not_match_an_allowed_type_are_refused(client, world, question, raw):
    """Is a file refused when its bytes are not an accepted type, although its header claims one?"""
    value = (
        data_url(raw)
        if question == "signature"
        else [{"name": "f.png", "type": "image/png", "content": data_url(raw)}]
    )
    task = world.task_for(world.minor)
    resp = world.complete(client, "client_a", task, world.answers(**{question: value}))
    assert resp.status_code == 422, resp.get_json()
    assert question in resp.get_json()["error"]["details"]
    assert _stored_count() == (0, 0, 0)


def test_hole2_form_files_are_served_as_attachments(client, world):
    """Is a form file downloaded as an attachment, never rendered as a page?"""
    sub, _ = _signed_by_a(client, world)
    for ref in (sub.answers["signature"], sub.answers["docs"][0]["content"]):
        got = client.get(_file_url(sub, ref), headers=world.headers("therapist_a"))
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert got.headers["X-Content-Type-Options"] == "nosniff"


def test_hole2_the_file_stores_size_limit_applies(world, settings):
    """Does the file store's size limit (PORTICO_MAX_UPLOAD_MB) apply to form files, with nothing stored?"""
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 1)
    config.install(settings.with_(max_upload_mb=1))
    try:
        with pytest.raises(TooLarge) as exc:
            submissions.complete(SYSTEM, world.minor.id, FORM_KEY, world.answers(signature=data_url(big)))
    finally:
        config.install(settings)
    assert "signature" in exc.value.details
    assert _stored_count() == (0, 0, 0)


def test_hole2_files_stored_before_are_moved_into_the_encrypted_store(client, world):
    """Does `portico forms encrypt-files` encrypt files stored before the fix under their own records (so
    sealed references still hold), leave what the store refuses in place, and change nothing when run
    again?"""
    from engine.cli import parser
    from engine.cli_forms import cmd_encrypt_files
    from engine.services.forms.form_files import encrypt_stored_files

    assert parser().parse_args(["forms", "encrypt-files"]).func is cmd_encrypt_files
    png = base64.b64decode(SIG.partition(",")[2])
    sub, old = _legacy_submission(world.minor.id, png)
    svg_sub, svg = _legacy_submission(world.minor.id, b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert encrypt_stored_files() == {"moved": 1, "refused": 1, "missing": 0}
    assert encrypt_stored_files() == {"moved": 0, "refused": 1, "missing": 0}
    assert Signature.objects(id=old.id).first().encrypted
    assert db.get_db()["form_files.files"].count_documents({}) == 1  # only the refused SVG is left
    staff = world.headers("therapist_a")
    got = client.get(f"/api/v1/submissions/{sub.id}/files/{old.id}", headers=staff)
    assert got.status_code == 200 and got.data == png and got.mimetype == "image/png"
    kept = client.get(f"/api/v1/submissions/{svg_sub.id}/files/{svg.id}", headers=staff)
    assert kept.status_code == 200 and kept.mimetype == "application/octet-stream"
    assert kept.headers["Content-Disposition"].startswith("attachment")
