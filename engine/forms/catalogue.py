"""The form catalogue: which forms are published, and their versions, read-only.

Deploy (a BPMN task names a form), the projection (a new task pins a version), submissions and the
inbox all ask these questions; they sit here, below the workflow and the use cases, so that none of
them imports the forms use cases (engine.services.forms.forms: drafts, publishing, archiving) to ask.
"""

from __future__ import annotations

import json

from bson import ObjectId
from bson.errors import InvalidId

from engine.errors import NotFound
from engine.forms.sanitize import sanitize_definition
from engine.models.forms import FormDefinition, FormVersion


def canonical_json(value) -> str:
    """The one JSON spelling used for hashing and storage: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def form_exists(key: str) -> bool:
    """Whether a form with this key has a published version and is not archived."""
    return FormDefinition.objects(key=key, archived=False, latest_version__gt=0).count() > 0


def get_form(key: str) -> FormDefinition:
    """A form definition by key. Raises NotFound."""
    form = FormDefinition.objects(key=key).first()
    if form is None:
        raise NotFound(f"no form {key!r}")
    return form


def published_definition(key: str) -> tuple[str, dict]:
    """(version id, definition) of the latest published version of `key`, its HTML cleaned again (it may
    have been published before sanitizing existed). Raises NotFound."""
    form = FormDefinition.objects(key=key, archived=False).only("latest_version_id").first()
    if form is None or form.latest_version_id is None:
        raise NotFound(f"no published form {key!r}")
    version = FormVersion.objects(id=form.latest_version_id).first()
    if version is None:
        raise NotFound(f"no published form {key!r}")
    return str(version.id), sanitize_definition(version.definition)


def published_version_id(key: str) -> str:
    """The id of the latest published version of `key` (what a new task pins), without reading the
    version: published versions are never modified or deleted. Raises NotFound."""
    form = FormDefinition.objects(key=key, archived=False).only("latest_version_id").first()
    if form is None or form.latest_version_id is None:
        raise NotFound(f"no published form {key!r}")
    return str(form.latest_version_id)


def get_version(version_id) -> FormVersion:
    """A published version by id (a malformed id is simply not found). Raises NotFound."""
    try:
        oid = version_id if isinstance(version_id, ObjectId) else ObjectId(str(version_id))
    except (InvalidId, TypeError):
        raise NotFound("no such form version") from None
    version = FormVersion.objects(id=oid).first()
    if version is None:
        raise NotFound("no such form version")
    return version
