"""Authorization matrix for form file references: every actor × every read path (download, PDF) ×
real, foreign, forged and guessed references, and every kind of reference sent back in answers.

Real references of client A's submission are readable exactly by those who may see her forms (the
policy `CLIENT/forms` of tests/proof/test_authz_matrix.py). Everything else is refused, for everyone,
the admin included: another submission's file through this submission, database ids of the file's
record or bytes (and their sequential neighbours), tokens one character off, made-up tokens, malformed
references. Sent back in answers, any reference that is not a file of that very submission is a 422,
and no file ever changes hands.
"""

from __future__ import annotations

import io
import secrets

import pypdf
import pytest
from bson import ObjectId

from engine.models.forms import Signature, Submission
from engine.services.forms import submissions
from tests.form_file_world import PDF_BYTES, build_world
from tests.proof.test_authz_matrix import ACTORS, OUTSIDERS, expected

REF = "portico-file:"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def world(clean_db):
    return build_world()


def _seal(http, world, who: str, client) -> Submission:
    task = world.task_for(client)
    resp = world.complete(http, who, task, world.answers())
    assert resp.status_code == 200, resp.get_json()
    return world.sealed(task)


def _refs(sub: Submission) -> list[str]:
    return [sub.answers["signature"], sub.answers["docs"][0]["content"]]


def _next_id(oid: ObjectId, step: int) -> str:
    raw = bytearray(oid.binary)
    raw[-3:] = ((int.from_bytes(raw[-3:], "big") + step) % (1 << 24)).to_bytes(3, "big")
    return str(ObjectId(bytes(raw)))


def _guesses(sub: Submission) -> dict[str, str]:
    """Reference bodies (after `portico-file:`) that someone might try instead of a real one."""
    out: dict[str, str] = {}
    for n, record in enumerate(Signature.objects(submission=sub.id)):
        out[f"record id {n}"] = str(record.id)
        out[f"stored bytes id {n}"] = str(record.file_id)
        out[f"next record id {n}"] = _next_id(record.id, 1)
        out[f"previous record id {n}"] = _next_id(record.id, -1)
    for n, ref in enumerate(_refs(sub)):
        token = ref.removeprefix(REF)
        out[f"token one off {n}"] = token[:-1] + ("A" if token[-1] != "A" else "B")
        out[f"token upper-cased {n}"] = token.upper() if token.upper() != token else token.lower()
    out["made-up token"] = secrets.token_urlsafe(32)
    out["empty"] = ""
    out["path"] = "..%2F..%2Fetc%2Fpasswd"
    out["missing id"] = str(ObjectId())
    return out


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_file_references_matrix(client, world):
    """Does every actor read exactly the files of submissions it may see, through those submissions
    only, and does no forged, foreign or guessed reference read or move a file?"""
    sub_a = _seal(client, world, "client_a", world.minor)
    sub_b = _seal(client, world, "client_b", world.client_b)
    bindings = {r.id: (r.submission, r.client) for r in Signature.objects}
    headers = {who: world.headers(who) for who in ACTORS}
    a_bytes = [PNG_MAGIC, PDF_BYTES]
    problems: list[str] = []

    def get(who: str, url: str):
        resp = client.get(url, headers=headers[who])
        assert resp.status_code < 500, f"{url} as {who}: {resp.status_code}"
        if who in OUTSIDERS and any(b in resp.data for b in a_bytes) and resp.status_code == 200:
            problems.append(f"{url} as {who}: shows client A's file")
        return resp

    for who in ACTORS:
        want = expected("CLIENT/forms", who, world.perms)
        for ref in _refs(sub_a):
            status = get(who, f"/api/v1/submissions/{sub_a.id}/files/{ref.removeprefix(REF)}").status_code
            if (status == 200) != (want == "ok") or status not in (200, 401, 404):
                problems.append(f"A's own file as {who}: {status}, expected {want}")
        for name, guess in _guesses(sub_a).items():
            status = get(who, f"/api/v1/submissions/{sub_a.id}/files/{guess}").status_code
            if status not in (401, 404):
                problems.append(f"guessed reference ({name}) on A's submission as {who}: {status}")
        for ref in _refs(sub_a):  # A's files through B's submission: nobody, B's own readers included
            status = get(who, f"/api/v1/submissions/{sub_b.id}/files/{ref.removeprefix(REF)}").status_code
            if status not in (401, 404):
                problems.append(f"A's file through B's submission as {who}: {status}")

    # References sent back in answers: foreign (the other client's), guessed, forged, from an earlier
    # submission of the same client. Each is refused by question, and nothing is stored or re-linked.
    sent = {f"A's {n}": ref for n, ref in enumerate(_refs(sub_a))}
    sent |= {f"guess {name}": REF + guess for name, guess in _guesses(sub_a).items()}
    sent["forged"] = REF + "x" * 43
    open_tasks = {"client_b": world.task_for(world.client_b), "client_a": world.task_for(world.minor)}
    for label, ref in sent.items():
        for question in ("signature", "docs"):
            value = (
                ref
                if question == "signature"
                else [{"name": "f.pdf", "type": "application/pdf", "content": ref}]
            )
            for who, task in open_tasks.items():  # a refusal leaves the task open for the next row
                if who == "client_a" and not label.startswith("A's"):
                    continue  # A reusing her own earlier file: covered by the A's-refs rows
                resp = world.complete(client, who, task, world.answers(**{question: value}))
                details = (resp.get_json() or {}).get("error", {}).get("details") or {}
                if resp.status_code != 422 or question not in details:
                    problems.append(f"{label} sent as {question} by {who}: {resp.status_code} {details}")
    b_refs = _refs(sub_b)
    resp = world.complete(client, "guardian_a", open_tasks["client_a"], world.answers(signature=b_refs[0]))
    if resp.status_code not in (404, 422):
        problems.append(f"B's signature sent by A's guardian: {resp.status_code}")

    # A foreign reference planted in stored answers: the PDF and the download both refuse it.
    Submission.objects(id=sub_b.id).update_one(
        set__answers_json=submissions.canonical_json({**sub_b.answers, "signature": _refs(sub_a)[0]})
    )
    for who in ("client_b", "admin"):
        pdf = get(who, f"/api/v1/submissions/{sub_b.id}/pdf")
        if pdf.status_code != 200 or _images(pdf.data) != 0:
            problems.append(
                f"PDF of B's submission with A's reference planted, as {who}: "
                f"{pdf.status_code}, {_images(pdf.data) if pdf.status_code == 200 else '-'} images"
            )

    assert problems == [], "\n".join(problems)
    assert {r.id: (r.submission, r.client) for r in Signature.objects} == bindings, "a file changed hands"
