"""Process definitions and versions, process instances, inbox tasks, timers and the outbox.

The engine's hot paths (engine.workflow.store) talk to these collections
through pymongo directly — one round trip per step matters — so these classes
mainly declare fields and indexes, and serve the less frequent reads.
"""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

INSTANCE_STATUSES = ("running", "completed", "errored", "cancelled")
TASK_STATUSES = ("open", "completed", "closed")
TIMER_STATUSES = ("waiting", "fired", "cancelled")
OUTBOX_STATUSES = ("pending", "performed", "done", "failed", "cancelled")


class ProcessDefinition(me.Document):
    """A BPMN process by id; `latest_version` is the one new instances start on."""

    meta = {"collection": "process_definitions", "indexes": [{"fields": ["process_id"], "unique": True}]}

    process_id = me.StringField(required=True, max_length=200)
    name = me.StringField(default="", max_length=300)
    latest_version = me.IntField(default=0)
    latest_version_id = me.ObjectIdField()
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)


class ProcessVersion(me.Document):
    """One immutable deployed version: its BPMN text and its spec, serialized once for every instance."""

    meta = {
        "collection": "process_versions",
        "indexes": [{"fields": ["process_id", "number"], "unique": True}, ("process_id", "sha256")],
    }

    process_id = me.StringField(required=True)
    number = me.IntField(required=True)
    bpmn_xml = me.StringField(required=True)
    sha256 = me.StringField(required=True)  # of the XML together with the specs it calls
    spec_json = me.StringField(required=True)  # {"spec": …, "subprocess_specs": {…}}
    serializer_version = me.StringField(required=True)
    calls = me.ListField(me.StringField(), default=list)  # process ids of call activities
    form_keys = me.ListField(me.StringField(), default=list)
    operations = me.ListField(me.StringField(), default=list)
    permissions = me.ListField(me.StringField(), default=list)  # codes its tasks are addressed to
    # Unset on versions stored before tasks declared roles (engine.workflow.roles.declare_legacy).
    declares_roles = me.BooleanField()
    deployed_by = me.StringField(default="")
    deployed_at = me.DateTimeField(default=utcnow)


class ProcessInstance(me.Document):
    """One running (or finished) process: SpiffWorkflow state without the spec, written with CAS on `version`.

    `lease_owner`/`lease_until`: the process working on it; an expired lease may be taken over.
    `dirty`: the inbox/timer/outbox projection of this version is not written yet (the
    scheduler's sweep repairs it if the writer died in between).
    """

    meta = {
        "collection": "process_instances",
        "indexes": [
            ("process_id", "status", "-created_at"),
            ("client_id", "-created_at"),
            ("status", "-created_at"),
            ("dirty", "updated_at"),
            ("waiting_messages", "client_id"),
        ],
    }

    process_id = me.StringField(required=True)
    process_version = me.IntField(required=True)
    process_version_id = me.ObjectIdField(required=True)
    client_id = me.ObjectIdField()
    status = me.StringField(choices=INSTANCE_STATUSES, default="running")
    state_json = me.DynamicField(
        required=True
    )  # zlib-compressed binary (engine.workflow.store), or older JSON text
    serializer_version = me.StringField(required=True)
    version = me.IntField(default=1)
    lease_owner = me.StringField()
    lease_until = me.DateTimeField()
    dirty = me.BooleanField(default=True)
    projected = me.DictField(default=dict)  # what the projection last wrote: task ids, timers, ops
    waiting_messages = me.ListField(me.StringField(), default=list)
    history = me.ListField(me.DictField(), default=list)  # {at, kind, by, task, details}
    error = me.DictField()
    started_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    updated_at = me.DateTimeField(default=utcnow)
    completed_at = me.DateTimeField()


class Task(me.Document):
    """An inbox row: one READY human task of an instance, addressed to an audience.

    audience strings: "client:<id>" (the client's profile), "guardian:<id>" (the client's guardians),
    "staff" (staff who see the client), "perm:<code>" (staff holding it), "staff:<id>" (one member).
    """

    meta = {
        "collection": "tasks",
        "indexes": [
            {"fields": ["instance_id", "task_id"], "unique": True},
            ("status", "audience", "due_at"),
            ("status", "client_id", "due_at"),
            # A therapist's "staff" rows: one client equality per assigned client, without the clients' other tasks.
            ("status", "audience", "client_id"),
            ("claimed_by", "status", "due_at"),
        ],
    }

    instance_id = me.ObjectIdField(required=True)
    task_id = me.StringField(required=True)  # SpiffWorkflow task UUID
    process_id = me.StringField(required=True)
    spec_name = me.StringField(required=True)
    name = me.StringField(required=True)
    lane = me.StringField(default="")
    audience = me.StringField(required=True)
    form_key = me.StringField()
    # What the task is for in the product (engine.workflow.roles), and what its page shows: the form
    # keys whose submissions it is about, and a text for whoever does it (a returned form's comment).
    role = me.StringField()
    submitted_forms = me.ListField(me.StringField(), default=list)
    note = me.StringField(default="")
    form_version_id = me.StringField()  # pinned when the row is created
    client_id = me.ObjectIdField()
    due_at = me.DateTimeField()
    claimed_by = me.StringField()
    status = me.StringField(choices=TASK_STATUSES, default="open")
    created_at = me.DateTimeField(default=utcnow)
    completed_at = me.DateTimeField()
    completed_by = me.StringField()
    # A request closed without a submission (engine.services.intake.intake_requests): "cancelled" or "paper",
    # staff's reason, who closed it, and the uploaded paper form that answered it.
    closed_as = me.StringField()
    close_reason = me.StringField()
    closed_by = me.StringField()
    paper_document_id = me.StringField()


class Timer(me.Document):
    """A waiting timer event of an instance, due at `due_at`; fired once by a worker."""

    meta = {
        "collection": "timers",
        "indexes": [
            {"fields": ["instance_id", "task_id", "due_at"], "unique": True},
            ("status", "due_at"),
        ],
    }

    instance_id = me.ObjectIdField(required=True)
    task_id = me.StringField(required=True)
    name = me.StringField(default="")
    due_at = me.DateTimeField(required=True)
    status = me.StringField(choices=TIMER_STATUSES, default="waiting")
    enqueued_at = me.DateTimeField()  # last sent to the broker
    sends = me.IntField(default=0)
    resend_at = me.DateTimeField()  # sent again then if still waiting (the wake-up may be lost)
    fired_at = me.DateTimeField()


class OutboxMessage(me.Document):
    """An operation a service task waits for; `key` (instance id:task id) makes performing it idempotent."""

    meta = {
        "collection": "outbox",
        "indexes": [{"fields": ["key"], "unique": True}, ("status", "resend_at"), "instance_id"],
    }

    key = me.StringField(required=True)
    instance_id = me.ObjectIdField(required=True)
    task_id = me.StringField(required=True)
    operation = me.StringField(required=True)
    params = me.DictField(default=dict)
    max_attempts = me.IntField(default=5)
    status = me.StringField(choices=OUTBOX_STATUSES, default="pending")
    attempts = me.IntField(default=0)
    result = me.DynamicField()
    last_error = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    enqueued_at = me.DateTimeField()  # last sent to the broker
    sends = me.IntField(default=0)
    resend_at = me.DateTimeField()  # the relay sends it again then if it is still pending
    claimed_until = me.DateTimeField()  # a worker is performing it until then
    done_at = me.DateTimeField()
