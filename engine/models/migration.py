"""Migrations of running process instances to another version: runs (with progress) and snapshots.

A snapshot is taken of every instance right before it moves, holding exactly the
fields a move changes, so a rollback can put them back as they were.
"""

from __future__ import annotations

import mongoengine as me

from engine.models import utcnow

RUN_STATUSES = ("pending", "running", "finished", "failed")


class MigrationRun(me.Document):
    """One batch: every selected instance of a process moved (or refused) to `to_version`."""

    meta = {"collection": "migration_runs", "indexes": [("process_id", "-created_at"), "status"]}

    process_id = me.StringField(required=True)
    to_version = me.IntField(required=True)
    to_version_id = me.ObjectIdField(required=True)
    instance_ids = me.ListField(me.ObjectIdField(), default=list)  # empty = every affected instance
    status = me.StringField(choices=RUN_STATUSES, default="pending")
    total = me.IntField(default=0)
    done = me.IntField(default=0)
    moved = me.IntField(default=0)
    refused = me.IntField(default=0)
    failed = me.IntField(default=0)
    # Refused and failed instances with their reasons (moved ones have a snapshot each).
    outcomes = me.ListField(me.DictField(), default=list)
    error = me.StringField(default="")
    started_by = me.StringField(default="")
    created_at = me.DateTimeField(default=utcnow)
    finished_at = me.DateTimeField()
    heartbeat_at = (
        me.DateTimeField()
    )  # the executor's last sign of life (engine.services.processes.migration._claim)


class MigrationSnapshot(me.Document):
    """An instance's state right before a migration moved it; `migrated_version` is its CAS version after."""

    meta = {"collection": "migration_snapshots", "indexes": [("instance_id", "-created_at"), "run_id"]}

    run_id = me.ObjectIdField()
    instance_id = me.ObjectIdField(required=True)
    process_id = me.StringField(required=True)
    from_version = me.IntField(required=True)
    from_version_id = me.ObjectIdField(required=True)
    to_version = me.IntField(required=True)
    state_json = me.DynamicField(
        required=True
    )  # zlib-compressed binary (engine.workflow.store), or older JSON text
    serializer_version = me.StringField(required=True)
    status = me.StringField(required=True)
    error = me.DictField(null=True)
    waiting_messages = me.ListField(me.StringField(), default=list)
    projected = me.DictField(default=dict)
    instance_version = me.IntField(required=True)  # the instance's `version` when snapshotted
    migrated_version = me.IntField()  # its `version` right after the move (unset: the move did not happen)
    created_at = me.DateTimeField(default=utcnow)
    rolled_back_at = me.DateTimeField()
    rolled_back_by = me.StringField(default="")
