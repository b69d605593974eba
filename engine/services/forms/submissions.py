"""Submissions: save and resume progress, complete with evidence, verify, and review record changes.

A completed submission is sealed: the SHA-256 of its canonical JSON (answers,
form version, client, signer, time, IP, user agent) is stored with it and
`verify_submission` recomputes it. Signature and file data URLs move to the
encrypted file store first, so answers hold only `portico-file:<token>` references
(engine/services/forms/form_files.py: who may reference and read which file).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import mongoengine as me
from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from engine.authz import Actor, get_client_for, parse_id
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.forms import clean_submission, pdf, validate_submission
from engine.forms.answers import readable, readable_date, title_of
from engine.forms.prefill import field_label, needs_insurance, prefill, proposed_changes
from engine.forms.sanitize import sanitize_definition
from engine.models import utcnow
from engine.models.clients import Client
from engine.models.forms import Evidence, FormVersion, ProposedChange, Submission
from engine.services.access.form_requests import TASK_CONTEXT, require_request
from engine.services.clients.insurance import current_policy, record_from_form
from engine.services.forms import form_files
from engine.services.forms.forms import canonical_json, get_version, published_definition
from engine.services.integrations import webhooks
from engine.services.platform import audit

FILE_REF = form_files.FILE_REF


def _open_progress(client_id, form_key, context) -> Submission | None:
    return Submission.objects(
        client=client_id, form_key=form_key, context=context, status="in_progress"
    ).first()


def start(actor: Actor, client_id, form_key: str, *, context: str = "") -> dict:
    """The form to show: version id, definition and initial answers (saved progress over prefill).

    A portal account opens only a form an open task of theirs asks for (`context` "task:<id>").
    Raises NotFound (no such form or client, not visible to the actor, or not asked of them)."""
    client = get_client_for(actor, client_id, need="forms" if actor.is_portal else None)
    require_request(actor, client.id, form_key, context)
    version_id, definition = published_definition(form_key)
    draft = _open_progress(client.id, form_key, context)
    saved = draft.answers if draft is not None else None
    if draft is not None:
        # What the browser renders: HTML cleaned, also of versions published before sanitizing existed.
        version_id = str(draft.form_version)
        definition = sanitize_definition(get_version(draft.form_version).definition)
    audit.record(actor, "client_form_opened", client=client, object_type="form", object_id=form_key)
    policy = current_policy(actor, client.id) if needs_insurance(definition) else None
    return {
        "form_key": form_key,
        "version_id": version_id,
        "definition": definition,
        "data": prefill(
            definition, client, saved, insurance=policy, signer=actor.account if actor.is_portal else None
        ),
        "has_progress": draft is not None,
    }


def save_progress(actor: Actor, client_id, form_key: str, data: dict, *, context: str = "") -> Submission:
    """Keep partial answers (not validated) to resume later; a portal account only under an open task
    of theirs asking for the form (`context`). Raises NotFound, ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed("answers must be an object", details={"data": ["must be an object"]})
    client = get_client_for(actor, client_id, need="forms" if actor.is_portal else None)
    require_request(actor, client.id, form_key, context)
    draft = _open_progress(client.id, form_key, context)
    if draft is None:
        version_id, _ = published_definition(form_key)
        version = get_version(version_id)
        draft = Submission(
            form_key=form_key,
            form_version=version.id,
            version_number=version.number,
            client=client.id,
            context=context,
        )
    draft.answers_json = canonical_json(data)
    draft.saved_by = actor.id
    draft.updated_at = utcnow()
    draft.save()
    audit.record(
        actor, "form_progress_saved", client=client, object_type="submission", object_id=str(draft.id)
    )
    return draft


def _seal_fields(sub: Submission) -> dict:
    e = sub.evidence
    return {
        "form_key": sub.form_key,
        "form_version": str(sub.form_version),
        "version_number": sub.version_number,
        "client": str(sub.client or ""),
        "context": sub.context,
        "answers": sub.answers_json,
        "signer_kind": e.signer_kind,
        "signer_account": e.signer_account,
        "signer_name": e.signer_name,
        "profile": e.profile,
        "signed_at": e.signed_at,
        "ip": e.ip,
        "user_agent": e.user_agent,
    }


def seal_hash(sub: Submission) -> str:
    return hashlib.sha256(canonical_json(_seal_fields(sub)).encode()).hexdigest()


def _fingerprint(actor: Actor, version_id, cleaned: dict) -> str:
    """Who signed which version with which answers: equal for a retried submission, else different."""
    return hashlib.sha256(
        canonical_json(
            {"signer": f"{actor.kind}:{actor.id}", "version": str(version_id), "answers": cleaned}
        ).encode()
    ).hexdigest()


def _earlier_seal(seal_key: str, fingerprint: str | None) -> Submission | None:
    """The submission already sealed under `seal_key`: returned when it is this very submission again (a
    retry after a lost answer), Conflict (already_sealed) when it holds other answers or another signer."""
    earlier = Submission.objects(seal_key=seal_key).first()
    if earlier is None:
        return None
    if earlier.fingerprint == fingerprint:
        return earlier
    raise Conflict("this form was already signed and submitted; reload to see it", code="already_sealed")


def supersede(
    actor: Actor, seal_key: str, submission_id=None, *, sealed_before: datetime | None = None
) -> bool:
    """Retire the submission sealed under `seal_key` (only `submission_id` if given; only when sealed before
    `sealed_before` if given): it stays as evidence with status superseded and frees the key. True if retired."""
    query = Submission.objects(seal_key=seal_key, status="completed")
    if submission_id is not None:
        query = query.filter(id=submission_id)
    if sealed_before is not None:
        query = query.filter(updated_at__lt=sealed_before)
    target = query.only("id", "client").first()
    if target is None or not Submission.objects(id=target.id, seal_key=seal_key).update_one(
        unset__seal_key=True, set__status="superseded", set__updated_at=utcnow()
    ):
        return False
    audit.record(
        actor,
        "form_submission_superseded",
        client=target.client,
        object_type="submission",
        object_id=str(target.id),
        details={"seal_key": seal_key},
    )
    return True


def complete(
    actor: Actor,
    client_id,
    form_key: str,
    data: dict,
    *,
    context: str = "",
    version_id: str | None = None,
    seal_key: str | None = None,
    version: FormVersion | None = None,
    audit_to: list | None = None,
) -> Submission:
    """Validate, move files to GridFS, seal with evidence, propose record changes for review.

    A portal account submits only by completing the task that asks for the form
    (engine.services.access.form_requests).
    With `seal_key` (a task's forms: engine/services/inbox/tasks.py), at most one submission is ever sealed under
    that key: the same signer sending the same answers again gets the earlier seal back (a retry after a
    crash or a lost answer), anything else gets Conflict (already_sealed).

    `version`: the form version already read by the caller (its id is `version_id`). `audit_to`: a list
    to append this seal's audit entry to (engine.services.platform.audit.entry), for the caller to commit with its
    own writes, instead of recording it here.

    Raises NotFound, ValidationFailed (details by question name; earlier progress kept), Conflict."""
    if not isinstance(data, dict):
        raise ValidationFailed("answers must be an object", details={"data": ["must be an object"]})
    if context.startswith(TASK_CONTEXT) and seal_key != context:
        raise ValidationFailed(
            "a task's form is submitted by completing the task",
            details={"context": ["complete the task instead"]},
        )
    client = get_client_for(actor, client_id, need="forms" if actor.is_portal else None)
    if seal_key is None:  # with a seal key, the task service has already checked the open task
        require_request(actor, client.id, form_key, context)
    draft = _open_progress(client.id, form_key, context)
    if version_id is None and draft is not None:
        version_id = str(draft.form_version)
    if version is not None and str(version.id) != str(version_id or version.id):
        version = None  # not the version to seal against (the draft's): read that one
    if version is None:
        if version_id is None:
            version_id, _ = published_definition(form_key)
        version = get_version(version_id)
    if version.key != form_key:
        raise NotFound("no such form version")
    definition = version.definition
    errors = validate_submission(definition, data)
    if errors:
        raise ValidationFailed("some answers are invalid", details=errors)
    cleaned = clean_submission(definition, data)
    fingerprint = _fingerprint(actor, version.id, cleaned) if seal_key else None
    if seal_key and (earlier := _earlier_seal(seal_key, fingerprint)) is not None:
        return _announced(earlier)  # a retry: the event is announced again (same id) in case the first died
    # A new submission's id is fixed now: its files are bound to it as they are stored.
    sub = draft or Submission(id=ObjectId(), form_key=form_key, client=client.id, context=context)
    answers, created = form_files.externalize(definition, cleaned, client_id=client.id, submission_id=sub.id)
    sub.form_version, sub.version_number = version.id, version.number
    sub.answers_json = canonical_json(answers)
    sub.status, sub.saved_by, sub.updated_at = "completed", actor.id, utcnow()
    sub.seal_key, sub.fingerprint = seal_key, fingerprint
    account = actor.account
    sub.evidence = Evidence(
        signer_kind=actor.kind,
        signer_account=actor.id,
        signer_name=getattr(account, "display_name", "") or getattr(account, "email", "") or "",
        profile=str(client.id),
        signed_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        ip=actor.ip,
        user_agent=actor.user_agent[:500],
    )
    sub.evidence.sha256 = seal_hash(sub)
    try:
        if draft is not None:
            sealed = Submission.objects(id=sub.id, status="in_progress").update_one(
                set__status="completed",
                set__answers_json=sub.answers_json,
                set__evidence=sub.evidence,
                set__form_version=sub.form_version,
                set__version_number=sub.version_number,
                set__saved_by=sub.saved_by,
                set__updated_at=sub.updated_at,
                **({"set__seal_key": seal_key, "set__fingerprint": fingerprint} if seal_key else {}),
            )
            if not sealed:
                raise me.NotUniqueError("the draft was sealed by a racing request")
        else:
            sub.save(force_insert=True)  # an insert, not a save by id (engine.persistence)
    except (me.NotUniqueError, DuplicateKeyError):
        # A racing request sealed first: the same submission is answered with that seal, not a second one.
        form_files.discard(created)
        earlier = _earlier_seal(seal_key, fingerprint) if seal_key else None
        if earlier is None:
            raise Conflict("this form was already completed") from None
        return _announced(earlier)
    items = [
        ProposedChange(
            client=client.id,
            submission=sub.id,
            form_key=form_key,
            field=change["field"],
            question=change["question"],
            old_value=change["old"],
            new_value=change["new"],
        )
        for change in proposed_changes(definition, client, answers)
    ]
    for item in items:
        item.validate()  # what save() checks; the insert below does not
    if items:
        ProposedChange.objects.insert(items, load_bulk=False)  # one insert for all of them
    if needs_insurance(definition):
        record_from_form(actor, client, definition, answers, submission_id=sub.id)
    event = {
        "client": client,
        "object_type": "submission",
        "object_id": str(sub.id),
        "details": {"form": form_key, "version": version.number},
    }
    if audit_to is not None:
        audit_to.append(audit.entry(actor, "form_submission_completed", **event))
    else:
        audit.record(actor, "form_submission_completed", **event)
    return _announced(sub)


def _announced(sub: Submission) -> Submission:
    """The form.submitted webhook event of a sealed submission; its id comes from the submission's, so
    announcing again (a retry that found the seal) is the same event, recorded once."""
    webhooks.emit("form.submitted", key=str(sub.id), client_id=sub.client, submission_id=sub.id)
    return sub


def verify_submission(submission_id) -> bool:
    """Whether a completed submission is exactly as sealed (any changed byte makes this False)."""
    sub = Submission.objects(id=parse_id(submission_id)).first()
    if sub is None or sub.status != "completed" or sub.evidence is None:
        return False
    import hmac

    return hmac.compare_digest(seal_hash(sub), sub.evidence.sha256 or "")


def get_submission_for(actor: Actor, submission_id) -> Submission:
    """A submission the actor may see (through its client). Raises NotFound."""
    sub = Submission.objects(id=parse_id(submission_id)).first()
    if sub is None:
        raise NotFound("no such submission")
    get_client_for(actor, sub.client, need="forms" if actor.is_portal else None)
    return sub


def decide_proposed_change(actor: Actor, item_id, *, accept: bool) -> ProposedChange:
    """Accept (apply to the client record) or reject one proposed change. Raises NotFound, Forbidden, Conflict."""
    item = ProposedChange.objects(id=parse_id(item_id)).first()
    if item is None:
        raise NotFound("no such review item")
    client = get_client_for(actor, item.client, need="clients.manage")
    if not actor.is_staff and actor.kind != "system":
        raise NotFound("no such review item")
    if not ProposedChange.objects(id=item.id, status="pending").update_one(
        set__status="accepted" if accept else "rejected", set__decided_by=actor.id, set__decided_at=utcnow()
    ):
        raise Conflict("this change was already decided")
    if accept:
        value = item.new_value
        if item.field == "date_of_birth":
            value = datetime.fromisoformat(value).date()
        Client.objects(id=client.id).update_one(
            **{"set__" + item.field.replace(".", "__"): value, "inc__version": 1}
        )
    audit.record(
        actor,
        "client_change_accepted" if accept else "client_change_rejected",
        client=client,
        object_type="review_item",
        object_id=str(item.id),
        details={"field": item.field},
    )
    return ProposedChange.objects(id=item.id).first()


def pending_changes(actor: Actor, client_id) -> list[ProposedChange]:
    """Proposed record changes waiting for staff (an audited read). Raises NotFound."""
    client = get_client_for(actor, client_id)
    items = list(ProposedChange.objects(client=client.id, status="pending").order_by("created_at"))
    audit.record(
        actor,
        "client_changes_viewed",
        client=client,
        object_type="client",
        object_id=client.id,
        details={"shown": len(items)},
    )
    return items


def submission_view(sub: Submission) -> dict:
    """A submission as the API and staff pages show it, with whether its seal still holds."""
    e = sub.evidence
    return {
        "id": str(sub.id),
        "form_key": sub.form_key,
        "form_version": str(sub.form_version),
        "version_number": sub.version_number,
        "client_id": str(sub.client or ""),
        "status": sub.status,
        "context": sub.context,
        "data": sub.answers,
        "updated_at": sub.updated_at,
        "evidence": (
            {
                k: getattr(e, k)
                for k in (
                    "signer_kind",
                    "signer_account",
                    "signer_name",
                    "profile",
                    "signed_at",
                    "ip",
                    "user_agent",
                    "sha256",
                )
            }
            if e
            else None
        ),
        "verified": verify_submission(sub.id) if sub.status == "completed" else None,
    }


def read_submission(actor: Actor, submission_id) -> dict:
    """A submission the actor may see, audited. Raises NotFound."""
    sub = get_submission_for(actor, submission_id)
    audit.record(
        actor, "form_submission_viewed", client=sub.client, object_type="submission", object_id=str(sub.id)
    )
    return submission_view(sub)


def submission_file(actor: Actor, submission_id, file_ref) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of a signature or uploaded file that a submission the actor may
    see holds (`file_ref`: the reference without its prefix). Raises NotFound."""
    sub = get_submission_for(actor, submission_id)
    found = form_files.read(sub, f"{FILE_REF}{file_ref}")
    audit.record(
        actor, "form_file_downloaded", client=sub.client, object_type="submission", object_id=str(sub.id)
    )
    return found


def readable_submission(actor: Actor, submission_id) -> dict:
    """A submission as people read it (audited like read_submission): the view, plus the form's title,
    the client's name and every question with its answer in words, in the form's order (the same
    reading as the PDF). Raises NotFound."""
    view = read_submission(actor, submission_id)
    sub = Submission.objects.get(id=view["id"])
    definition = get_version(sub.form_version).definition
    client = (
        Client.objects(id=sub.client).only("first_name", "last_name", "preferred_name").first()
        if sub.client
        else None
    )
    return {
        **view,
        "title": title_of(definition) or view["form_key"],
        "client_name": client.display_name if client is not None else "",
        "answers": readable(definition, sub.answers, file_prefix=FILE_REF),
        "proposed_changes": [
            {
                "id": str(r.id),
                "label": field_label(r.field),
                "status": r.status,
                "current": readable_date(r.old_value) if r.field == "date_of_birth" else r.old_value,
                "proposed": readable_date(r.new_value) if r.field == "date_of_birth" else r.new_value,
            }
            for r in ProposedChange.objects(submission=sub.id).order_by("created_at")
        ],
    }


def submission_pdf(actor: Actor, submission_id) -> bytes:
    """The filled PDF of a completed submission (answers, signature images, evidence). Raises NotFound, Conflict."""
    sub = get_submission_for(actor, submission_id)
    if sub.status != "completed":
        raise Conflict("only completed submissions have a PDF")
    view = submission_view(sub)
    audit.record(
        actor, "form_submission_printed", client=sub.client, object_type="submission", object_id=str(sub.id)
    )
    return pdf.submission_pdf(
        get_version(sub.form_version).definition,
        view["data"],
        view["evidence"],
        read_file=form_files.reader(sub),
    )


def packet_pdf(actor: Actor, submission_ids: list) -> bytes:
    """Several completed submissions joined into one PDF, in the given order. Raises NotFound, Conflict."""
    items, subs = [], []
    for sid in submission_ids:
        sub = get_submission_for(actor, sid)
        if sub.status != "completed":
            raise Conflict("only completed submissions go into a packet")
        view = submission_view(sub)
        items.append((get_version(sub.form_version).definition, view["data"], view["evidence"]))
        subs.append(sub)
    return pdf.packet_pdf(items, read_file=form_files.reader(*subs))
