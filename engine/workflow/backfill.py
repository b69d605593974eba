"""One-off upgrades of rows written by an older Portico, run at the scheduler's start.

Each is idempotent (it touches only rows that lack what it adds), so several schedulers
starting at once, or a start after a crash, repeat nothing.
"""

from __future__ import annotations

import logging

from engine import persistence
from engine.models.workflow import Task
from engine.workflow import projection, store

log = logging.getLogger(__name__)


def task_roles() -> int:
    """Give open inbox rows written before tasks declared roles their role fields; returns how many.

    Rows written since always carry `role` (None for a task without one). The fields come from the
    projection of the instance's current state, as for a new row: versions stored before roles
    existed get their declarations when loaded (engine.workflow.roles.declare_legacy).
    """
    tasks = persistence.collection(Task)
    missing = {"status": "open", "role": {"$exists": False}}
    instance_ids = {row["instance_id"] for row in tasks.find(missing, {"instance_id": 1})}
    done = 0
    for iid in sorted(instance_ids):
        computed: dict = {}
        doc = store.instances().find_one({"_id": iid}, {"history": 0})
        if doc is not None and doc.get("status") == "running":
            try:
                computed = projection.compute(store.restore(doc), doc).tasks
            except Exception:  # noqa: BLE001 - one broken instance must not stop the others
                log.exception("could not project instance %s for task roles", iid)
                continue
        for row in tasks.find(dict(missing, instance_id=iid), {"task_id": 1}):
            fields = computed.get(row["task_id"], {})
            result = tasks.update_one(
                {"_id": row["_id"], "role": {"$exists": False}},
                {
                    "$set": {
                        "role": fields.get("role"),
                        "submitted_forms": fields.get("submitted_forms", []),
                        "note": fields.get("note", ""),
                    }
                },
            )
            done += result.modified_count
    return done
