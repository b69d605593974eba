"""Form definitions, their immutable published versions, submissions, signatures and review items.

Answers are stored as canonical JSON text rather than a Mongo sub-document:
SurveyJS answer keys (matrix row values, choice values) may contain "." or
start with "$", which MongoDB field names refuse, and the exact text is what
the evidence hash covers.
"""

from __future__ import annotations

import json

import mongoengine as me

from engine.models import utcnow

FORM_KINDS = ("intake", "dynamic", "task")
KEY_REGEX = r"^[a-z][a-z0-9_]{1,59}$"


class FormDefinition(me.Document):
    """A form by key: its editable draft and a pointer to the latest published version."""

    meta = {"collection": "form_definitions", "indexes": [{"fields": ["key"], "unique": True}, "kind"]}

    key = me.StringField(required=True, regex=KEY_REGEX)
    kind = me.StringField(required=True, choices=FORM_KINDS)
    title = me.StringField(required=True, max_length=200)
    draft = me.DictField(default=dict)
    archived = me.BooleanField(default=False)
    latest_version = me.IntField(default=0)  # 0 = never published
    latest_version_id = me.ObjectIdField()
    copied_from = me.StringField(default="")
    created_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)
    version = me.IntField(default=0)


class FormVersion(me.Document):
    """One published, never-modified version of a form; submissions pin to it."""

    meta = {"collection": "form_versions", "indexes": [{"fields": ["key", "number"], "unique": True}]}

    key = me.StringField(required=True)
    number = me.IntField(required=True)
    kind = me.StringField(required=True, choices=FORM_KINDS)
    title = me.StringField(required=True)
    definition_json = me.StringField(required=True)
    sha256 = me.StringField(required=True)
    published_by = me.StringField(default="")
    published_at = me.DateTimeField(default=utcnow)

    @property
    def definition(self) -> dict:
        return json.loads(self.definition_json)


class Evidence(me.EmbeddedDocument):
    """Who completed a submission, for whom, when and from where, and the hash that seals it."""

    signer_kind = me.StringField(default="")
    signer_account = me.StringField(default="")
    signer_name = me.StringField(default="")
    profile = me.StringField(default="")  # client id the form was signed for
    signed_at = me.StringField(default="")  # ISO-8601 UTC, stored as text so the hash input is exact
    ip = me.StringField(default="")
    user_agent = me.StringField(default="")
    sha256 = me.StringField(default="")


class Submission(me.Document):
    """Answers to one form version for one client profile: an in-progress draft or a sealed completion."""

    meta = {
        "collection": "form_submissions",
        "indexes": [
            "client",
            "form_key",
            "status",
            ("client", "form_key", "context", "status"),
            # One sealed submission per task, whatever crashes and retries happen (engine/services/tasks._seal).
            {"fields": ["seal_key"], "unique": True, "sparse": True},
        ],
    }

    form_key = me.StringField(required=True)
    form_version = me.ObjectIdField(required=True)
    version_number = me.IntField(required=True)
    client = me.ObjectIdField()
    context = me.StringField(default="")  # e.g. a task id or form request id
    # superseded: sealed by an attempt whose task completion never happened (a crash, a closed task) and
    # replaced or voided; kept as evidence, never filed or counted as the client's answers.
    status = me.StringField(choices=("in_progress", "completed", "superseded"), default="in_progress")
    seal_key = me.StringField()  # "task:<task row id>" while this is the task's sealed submission; else unset
    fingerprint = (
        me.StringField()
    )  # SHA-256 of signer, form version and submitted answers: a retry's identity
    answers_json = me.StringField(default="{}")
    saved_by = me.StringField(default="")
    evidence = me.EmbeddedDocumentField(Evidence)
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)

    @property
    def answers(self) -> dict:
        return json.loads(self.answers_json or "{}")


class Signature(me.Document):
    """A signature or uploaded file taken out of a submission's answers (engine/services/forms/form_files.py)."""

    meta = {
        "collection": "form_signatures",
        "indexes": ["submission", "sha256", {"fields": ["token"], "unique": True, "sparse": True}],
    }

    # The random reference answers hold (`portico-file:<token>`); unset on records from before tokens,
    # whose answers hold their id.
    token = me.StringField()
    encrypted = me.BooleanField(default=False)  # bytes in the encrypted file store, else in `form_files`
    file_id = me.ObjectIdField(required=True)  # GridFS id
    content_type = me.StringField(required=True)
    size = me.IntField(default=0)
    sha256 = me.StringField(required=True)
    name = me.StringField(default="")
    question = me.StringField(default="")
    submission = me.ObjectIdField()
    client = me.ObjectIdField()
    created_at = me.DateTimeField(default=utcnow)


class ProposedChange(me.Document):
    """A proposed change to a client record from a form answer, waiting for staff to accept or reject.

    Named ReviewItem before issue 13 ("review" also meant acknowledging a form and a guardian's
    approval); its collection keeps the old name so that existing rows stay where they are."""

    meta = {"collection": "form_review_items", "indexes": ["client", "status", "submission"]}

    client = me.ObjectIdField(required=True)
    submission = me.ObjectIdField(required=True)
    form_key = me.StringField(default="")
    field = me.StringField(required=True)  # client record path, e.g. "address.city"
    question = me.StringField(default="")
    old_value = me.StringField(default="")
    new_value = me.StringField(default="")
    status = me.StringField(choices=("pending", "accepted", "rejected"), default="pending")
    decided_by = me.StringField(default="")
    decided_at = me.DateTimeField()
    created_at = me.DateTimeField(default=utcnow)
