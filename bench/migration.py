"""Migrating running instances: preview and batch run rates, and the cost of one rollback.

    .venv/bin/python bench/migration.py [--n 2000] [--batch 50]

Embedded SecantusDB (fsync on commit, as `portico up` runs it). The studio's test process
(tests/data/bpmn/s_flow_v1.bpmn: multi-instance client task with a reminder timer, staff acknowledgement,
staff payment) gets `--n` running instances cloned from one instance at acknowledgement, then
version 2 (a task after acknowledgement) is deployed. Printed: preview instances/s, run instances/s
(snapshot + CAS write + re-projection each), and p50/p99 of 50 rollbacks.
"""

from __future__ import annotations

import argparse
import time

from _harness import ROOT, embedded_services, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with embedded_services("portico-bench-migration-", redis=False):
        from bson import ObjectId

        from engine.authz import SYSTEM
        from engine.models.workflow import Task
        from engine.services.forms import forms
        from engine.services.processes import migration
        from engine.workflow import runtime, store
        from engine.workflow.deploy import deploy

        data = ROOT / "tests" / "studio" / "data"
        for key, kind in (("s_ack", "task"), ("s_form_a", "intake")):
            forms.create_form(
                SYSTEM,
                key,
                kind,
                key,
                {"pages": [{"name": "p", "elements": [{"type": "text", "name": "answer"}]}]},
            )
            forms.publish(SYSTEM, key)
        deploy(SYSTEM, (data / "s_flow_v1.bpmn").read_bytes())
        seed = runtime.start("s_flow", data={"packet": ["s_form_a"]})
        task = Task.objects.get(instance_id=seed, status="open")
        runtime.complete_task(seed, task.task_id, {"answer": "x"}, by="bench")
        doc = store.instances().find_one({"_id": seed})
        rows = Task._get_collection().find({"instance_id": seed, "status": "open"})
        seed_rows = list(rows)
        clones = [dict(doc, _id=ObjectId()) for _ in range(args.n - 1)]
        store.instances().insert_many(clones)
        Task._get_collection().insert_many(
            [dict(r, _id=ObjectId(), instance_id=c["_id"]) for c in clones for r in seed_rows]
        )
        deploy(SYSTEM, (data / "s_flow_v2.bpmn").read_bytes())

        started = time.perf_counter()
        preview = migration.preview(SYSTEM, "s_flow", 2)
        took = time.perf_counter() - started
        print(f"preview: {preview['total']} instances in {took:.2f} s = {preview['total'] / took:,.0f}/s")
        run = migration.create_run(SYSTEM, "s_flow", 2)
        started = time.perf_counter()
        result = migration.execute_run(run.id, batch=args.batch)
        took = time.perf_counter() - started
        print(
            f"run (batch {args.batch}): moved {result['moved']} refused {result['refused']} failed "
            f"{result['failed']} in {took:.2f} s = {result['total'] / took:,.0f}/s"
        )
        times = []
        for clone in clones[:50]:
            started = time.perf_counter()
            migration.rollback(SYSTEM, clone["_id"])
            times.append(time.perf_counter() - started)
        print(f"rollback: {summary(times)}")


if __name__ == "__main__":
    main()
