"""Form definitions: create, edit drafts, publish immutable versions, archive, copy into intake.

Who may manage what: intake and task forms need `intake_forms.manage`;
dynamic forms need `dynamic_forms.manage` (therapists manage dynamic forms,
not intake forms).
"""

from __future__ import annotations

import hashlib
import re

from engine import events
from engine.authz import Actor
from engine.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from engine.forms.catalogue import (  # noqa: F401 - the catalogue's reads are part of this area's API
    canonical_json,
    form_exists,
    get_form,
    get_version,
    published_definition,
    published_version_id,
)
from engine.forms.definition import check_definition, problems_by_element
from engine.forms.sanitize import sanitize_definition
from engine.models import utcnow
from engine.models.forms import FORM_KINDS, KEY_REGEX, FormDefinition, FormVersion
from engine.services.platform import audit

_MANAGE = {"intake": "intake_forms.manage", "task": "intake_forms.manage", "dynamic": "dynamic_forms.manage"}


def _check_definition(definition) -> None:
    problems = check_definition(definition)
    if problems:
        raise ValidationFailed("the form definition is invalid", details=problems)


def check(definition) -> list[dict]:
    """The problems publishing this definition would meet, by element (see `problems_by_element`),
    checked on the definition as it would be stored (its HTML cleaned); [] when it could be published."""
    if not isinstance(definition, dict):
        return [
            {"path": "$", "name": "", "title": "", "messages": ["a form definition must be a JSON object"]}
        ]
    return problems_by_element(sanitize_definition(definition))


def last_published(key: str) -> FormVersion:
    """The latest published version of `key`, archived or not (what a builder compares its draft with).
    Raises NotFound (no such form, or never published)."""
    form = get_form(key)
    version = FormVersion.objects(id=form.latest_version_id).first() if form.latest_version_id else None
    if version is None:
        raise NotFound(f"form {key!r} was never published")
    return version


def list_forms(
    actor: Actor, *, kind: str | None = None, include_archived: bool = False
) -> list[FormDefinition]:
    """Form definitions visible to staff, optionally of one kind."""
    query: dict = {}
    if kind:
        query["kind"] = kind
    if not include_archived:
        query["archived"] = False
    return list(FormDefinition.objects(**query).order_by("key"))


def form_title(key: str) -> str:
    """A form's title, or "" when there is no such form (the page then says so itself)."""
    form = FormDefinition.objects(key=key).only("title").first()
    return form.title if form else ""


def create_form(actor: Actor, key: str, kind: str, title: str, definition: dict) -> FormDefinition:
    """Create a draft form. Raises Forbidden, ValidationFailed (bad key/kind/definition), Conflict (key taken)."""
    problems: dict[str, list[str]] = {}
    if kind not in FORM_KINDS:
        problems["kind"] = [f"must be one of {', '.join(FORM_KINDS)}"]
    if not isinstance(key, str) or not re.match(KEY_REGEX, key):
        problems["key"] = ["use 2-60 lowercase letters, digits or _ (starting with a letter)"]
    if not isinstance(title, str) or not title.strip():
        problems["title"] = ["required"]
    if problems:
        raise ValidationFailed("invalid form", details=problems)
    actor.require(_MANAGE[kind])
    definition = sanitize_definition(definition)
    _check_definition(definition)
    if FormDefinition.objects(key=key).count():
        raise Conflict(f"a form with key {key!r} exists")
    form = FormDefinition(key=key, kind=kind, title=title.strip(), draft=definition, created_by=actor.id)
    form.save()
    audit.record(actor, "form_definition_created", object_type="form", object_id=key)
    return form


def update_draft(actor: Actor, key: str, definition: dict, *, title: str | None = None) -> FormDefinition:
    """Replace a form's draft. Raises NotFound, Forbidden, ValidationFailed, StaleVersion."""
    form = get_form(key)
    actor.require(_MANAGE[form.kind])
    definition = sanitize_definition(definition)
    _check_definition(definition)
    changes = {"set__draft": definition, "set__updated_at": utcnow(), "inc__version": 1}
    if title:
        changes["set__title"] = title.strip()
    if not FormDefinition.objects(id=form.id, version=form.version).update_one(**changes):
        raise StaleVersion()
    audit.record(actor, "form_draft_updated", object_type="form", object_id=key)
    return get_form(key)


def publish(actor: Actor, key: str) -> FormVersion:
    """Publish the draft as the next immutable version. Raises NotFound, Forbidden, ValidationFailed, Conflict."""
    form = get_form(key)
    actor.require(_MANAGE[form.kind])
    if form.archived:
        raise Conflict("an archived form cannot be published")
    draft = sanitize_definition(form.draft)  # a draft saved before sanitizing existed is cleaned too
    _check_definition(draft)
    text = canonical_json(draft)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if form.latest_version_id:
        current = FormVersion.objects(id=form.latest_version_id).only("sha256").first()
        if current is not None and current.sha256 == digest:
            return FormVersion.objects(id=form.latest_version_id).first()  # nothing changed
    number = form.latest_version + 1
    version = FormVersion(
        key=key,
        number=number,
        kind=form.kind,
        title=form.title,
        definition_json=text,
        sha256=digest,
        published_by=actor.id,
    )
    version.save()  # unique (key, number): a concurrent publish loses here
    if not FormDefinition.objects(id=form.id, latest_version=form.latest_version).update_one(
        set__latest_version=number, set__latest_version_id=version.id, set__updated_at=utcnow()
    ):
        version.delete()
        raise Conflict("someone else published this form at the same time")
    audit.record(
        actor, "form_version_published", object_type="form", object_id=key, details={"number": number}
    )
    events.emit(events.FormVersionPublished(actor=actor, version=version))  # re-consent listens
    return version


def archive(actor: Actor, key: str) -> FormDefinition:
    """Archive a form: no new requests; existing submissions keep their version. Raises NotFound, Forbidden."""
    form = get_form(key)
    actor.require(_MANAGE[form.kind])
    FormDefinition.objects(id=form.id).update_one(set__archived=True, set__updated_at=utcnow())
    audit.record(actor, "form_definition_archived", object_type="form", object_id=key)
    return get_form(key)


def copy_to_intake(actor: Actor, key: str, new_key: str, title: str | None = None) -> FormDefinition:
    """Copy a dynamic form into a new intake form (draft). Raises NotFound, Forbidden, ValidationFailed, Conflict."""
    source = get_form(key)
    if source.kind != "dynamic":
        raise ValidationFailed(
            "only dynamic forms can be copied to intake", details={"key": ["not a dynamic form"]}
        )
    definition = source.draft
    if source.latest_version_id:
        definition = FormVersion.objects(id=source.latest_version_id).first().definition
    form = create_form(actor, new_key, "intake", title or source.title, definition)
    FormDefinition.objects(id=form.id).update_one(set__copied_from=key)
    return get_form(new_key)
