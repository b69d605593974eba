"""Workflow engine figures: per-step cost raw vs persisted, and inbox query latency at scale.

    .venv/bin/python bench/engine.py [--steps 200] [--rows 1000000] [--open 100000] [--queries 300]
    .venv/bin/python bench/engine.py --only inbox --keep /tmp/inbox-1m   # fill once, measure again later

Starts its own embedded SecantusDB (fsync on commit, as `portico up` runs it) in a
temporary directory (or in --keep DIR, kept afterwards: a database that DIR already holds,
filled for the same --rows/--open, is measured as it is). Prints medians (and p95) only;
nothing here asserts. The inbox's task rows are synthetic (see fill_inbox): no instance stands behind them.

Per step = completing one user task of a sequential flow and running the engine
steps that follow (a script task), for the same BPMN:
- raw: SpiffWorkflow in memory, state round-tripped through its own serializer
  (to_dict/from_dict, spec included, as SpiffWorkflow persists by default); also
  shown without any serialization.
- Portico: runtime.complete_task — lease + load from the database, run, compare-and-set
  save, inbox projection; and the full service path (tasks.complete: guard, audit).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = 12
PERSISTED_ROUND_TRIPS: dict[bool, int] = {}  # service path? -> database commands in one step


def flow_bpmn(n: int = TASKS) -> bytes:
    nodes, flows = [], []
    prev = "start"
    for i in range(n):
        nodes.append(f'<bpmn:userTask id="u{i}" name="Step {i}"/>')
        nodes.append(
            f'<bpmn:scriptTask id="s{i}"><bpmn:script>count = {i} + 1</bpmn:script></bpmn:scriptTask>'
        )
        flows += [(prev, f"u{i}"), (f"u{i}", f"s{i}")]
        prev = f"s{i}"
    flows.append((prev, "end"))
    seq = "".join(
        f'<bpmn:sequenceFlow id="f{k}" sourceRef="{a}" targetRef="{b}"/>' for k, (a, b) in enumerate(flows)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
        f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">'
        f'<bpmn:process id="bench_flow" isExecutable="true"><bpmn:startEvent id="start"/>{"".join(nodes)}'
        f'<bpmn:endEvent id="end"/>{seq}</bpmn:process></bpmn:definitions>'
    ).encode()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def raw_steps(steps: int) -> tuple[list[float], list[float]]:
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    from engine.workflow.scripting import script_engine
    from engine.workflow.specs import PorticoParser

    parser = PorticoParser()
    parser.add_bpmn_str(flow_bpmn())
    spec = parser.get_spec("bench_flow")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    with_io, without_io = [], []
    done = 0
    while done < steps:
        wf = BpmnWorkflow(spec, {}, script_engine=script_engine())
        wf.do_engine_steps()
        state = serializer.to_dict(wf)
        for _ in range(TASKS):
            t0 = time.perf_counter()
            wf = serializer.from_dict(state)
            wf.script_engine = script_engine()
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
            state = serializer.to_dict(wf)
            with_io.append(time.perf_counter() - t0)
        wf = BpmnWorkflow(spec, {}, script_engine=script_engine())
        wf.do_engine_steps()
        for _ in range(TASKS):
            t0 = time.perf_counter()
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
            without_io.append(time.perf_counter() - t0)
        done += TASKS
    return with_io, without_io


class _Commands:
    """Counts database commands (round trips) sent by this process."""

    count = 0

    @classmethod
    def install(cls) -> None:
        from pymongo import monitoring

        class Listener(monitoring.CommandListener):
            def started(self, event):
                cls.count += 1

            def succeeded(self, event):
                pass

            def failed(self, event):
                pass

        monitoring.register(Listener())


def cpu_steps(steps: int) -> list[float]:
    """Portico's in-process share of a step: load state without spec, run, project, dump (no database)."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from engine.models.workflow import ProcessDefinition
    from engine.workflow import projection, store
    from engine.workflow.scripting import script_engine
    from engine.workflow.specs import dump_state, load_state

    spec, subs, _raw = store.version_specs(
        ProcessDefinition.objects.get(process_id="bench_flow").latest_version_id
    )
    timings: list[float] = []
    while len(timings) < steps:
        wf = BpmnWorkflow(spec, subs, script_engine=script_engine())
        wf.do_engine_steps()
        text = dump_state(wf)
        for _ in range(TASKS):
            t0 = time.perf_counter()
            wf = load_state(text, spec, subs)
            wf.script_engine = script_engine()
            wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
            wf.do_engine_steps()
            projection.compute(wf, {"client_id": None})
            text = dump_state(wf)
            timings.append(time.perf_counter() - t0)
    return timings


def persisted_steps(steps: int) -> tuple[list[float], list[float]]:
    from engine.authz import SYSTEM, staff_actor
    from engine.models.workflow import Task
    from engine.services.inbox import tasks
    from engine.workflow import runtime
    from engine.workflow.deploy import deploy

    deploy(SYSTEM, flow_bpmn())
    from engine.models.accounts import StaffMember

    member = StaffMember(email="bench@example.org", first_name="B", last_name="Ench", roles=["org_admin"])
    member.save()
    actor = staff_actor(member)
    engine_only, service = [], []
    done = 0
    round_trips = PERSISTED_ROUND_TRIPS
    while done < steps:
        for timings, use_service in ((engine_only, False), (service, True)):
            iid = runtime.start("bench_flow")
            for _ in range(TASKS):
                row = Task._get_collection().find_one({"instance_id": iid, "status": "open"})
                t0 = time.perf_counter()
                before = _Commands.count
                if use_service:
                    tasks.complete(actor, row["_id"], {})
                else:
                    runtime.complete_task(iid, row["task_id"], {}, by="bench")
                timings.append(time.perf_counter() - t0)
                round_trips[use_service] = _Commands.count - before
        done += TASKS
    return engine_only, service


def fill_inbox(
    rows: int,
    open_rows: int,
    clients: list,
    therapists: list[str],
    batch_rows: int = 50_000,
    checkpoints: tuple[int, ...] = (),
    at_checkpoint=None,
) -> None:
    """SYNTHETIC rows, spread like a large practice's inbox: most open tasks are clients' portal forms (a few
    per client), then guardians', tasks assigned to one therapist, permission-addressed and general staff ones.

    No process, instance or form stands behind them (instance ids are fresh ObjectIds): the rows exist only to
    give the inbox queries a collection and indexes of this size. They are built here as plain documents and
    written with insert_many in batches of `batch_rows` straight into the collection (engine.persistence),
    not through the services one task at a time: the server's cost per row is its index entries, and the
    fewer commands the less the wire and the client add to it.

    The open rows come first, so that every row count from `open_rows` on has the full open inbox (the rows
    the queries return) and only the completed part of the indexes grows; `at_checkpoint(n)` is called once
    n rows are in, for each n of `checkpoints` (the inbox measured at 200,000 rows, then at 1,000,000)."""
    from bson import ObjectId

    from engine import persistence
    from engine.models.workflow import Task

    coll = persistence.collection(Task)
    now = datetime.now(UTC)
    rng = random.Random(7)
    perms = ["perm:billing.manage", "perm:staff.manage"]
    made = 0
    t0 = time.perf_counter()
    stops = sorted({n for n in checkpoints if 0 < n < rows} | {open_rows, rows})
    while made < rows:
        batch = []
        for i in range(made, min(rows, made + batch_rows, next(n for n in stops if n > made))):
            client = rng.choice(clients)
            kind = rng.random()
            audience = (
                f"client:{client}"
                if kind < 0.6
                else f"guardian:{client}"
                if kind < 0.7
                else f"staff:{rng.choice(therapists)}"
                if kind < 0.8
                else rng.choice(perms)
                if kind < 0.9
                else "staff"
            )
            batch.append(
                {
                    "instance_id": ObjectId(),
                    "task_id": f"t{i}",
                    "process_id": "bench",
                    "spec_name": "u",
                    "name": "Bench task",
                    "lane": "",
                    "audience": audience,
                    "form_key": None,
                    "form_version_id": None,
                    "client_id": client,
                    "status": "open" if i < open_rows else "completed",
                    "due_at": now + timedelta(minutes=rng.randint(-5000, 50000)),
                    "created_at": now,
                    "claimed_by": audience if audience.startswith("staff:") else None,
                }
            )
        coll.insert_many(batch, ordered=False)
        made += len(batch)
        if made % 100_000 == 0 or made in stops:
            print(
                f"  inserted {made:,} synthetic rows ({made / (time.perf_counter() - t0):,.0f}/s)", flush=True
            )
        if made in checkpoints and made < rows and at_checkpoint is not None:
            at_checkpoint(made)


def inbox_latency(queries: int, actors: list) -> tuple[list[float], list[float], float, float]:
    """(unbounded queries' times, inbox() times, database CPU ms and commands per inbox() page).

    The database server's CPU per page is the figure a loaded machine disturbs least: wall times
    include every wait for a core that other processes hold."""
    from engine.models.workflow import Task
    from engine.services.inbox import tasks

    raw, service, cpu, commands = [], [], 0.0, 0
    for i in range(queries):
        actor = actors[i % len(actors)]
        t0 = time.perf_counter()
        for query in tasks.inbox_queries(actor):
            list(Task._get_collection().find(query).sort([("due_at", 1), ("_id", 1)]).limit(26))
        raw.append(time.perf_counter() - t0)
        c0, n0 = _server_cpu(), _Commands.count
        t0 = time.perf_counter()
        tasks.inbox(actor, page=1 + i % 3)
        service.append(time.perf_counter() - t0)
        cpu += _server_cpu() - c0
        commands += _Commands.count - n0
    return raw, service, cpu / queries * 1000, commands / queries


SERVER_PID: list[int] = []  # the embedded database server's process id


def _server_cpu() -> float:
    import psutil

    if not SERVER_PID:
        return 0.0
    times = psutil.Process(SERVER_PID[0]).cpu_times()
    return times.user + times.system


def report_inbox(label: str, raw: list[float], service: list[float], cpu_ms: float, commands: float) -> None:
    ms = 1000
    print(
        f"  {label:34s} queries p50 {statistics.median(raw) * ms:7.2f} p95 {pct(raw, 95) * ms:7.2f} ms | "
        f"inbox() p50 {statistics.median(service) * ms:7.2f} p95 {pct(service, 95) * ms:7.2f} ms | "
        f"per page: database CPU {cpu_ms:5.2f} ms, {commands:.1f} commands",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--no-fsync", action="store_true", help="run the database without fsync on commit")
    ap.add_argument("--only", choices=("steps", "inbox"), help="run one half only")
    ap.add_argument(
        "--measure-at",
        type=int,
        nargs="*",
        default=[],
        help="inbox: also measure when the fill has reached these row counts (e.g. 200000)",
    )
    ap.add_argument(
        "--as-is",
        action="store_true",
        help="inbox: measure the --keep database as it is, even if its fill was stopped part way",
    )
    ap.add_argument("--keep", type=Path, help="database directory to reuse and keep (inbox: filled once)")
    args = ap.parse_args()

    from engine import config, db, embedded

    _Commands.install()
    root = args.keep or Path(tempfile.mkdtemp(prefix="portico-bench-"))
    mongo = embedded.start_mongodb(root, sync_on_commit=not args.no_fsync, log=root / "db.log")
    SERVER_PID.append(mongo.proc.pid)
    try:
        settings = config.install(
            config.load(
                {
                    "PORTICO_MONGODB_URI": mongo.url,
                    "PORTICO_DATA_DIR": str(root),
                    "PORTICO_SECRET_KEY": "bench-" * 8,
                }
            )
        )
        db.connect(settings.mongodb_uri)
        db.ensure_indexes()
        if args.only != "inbox":
            step_figures(args.steps)
        if args.only != "steps":
            inbox_figures(args)
    finally:
        mongo.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def step_figures(steps: int) -> None:
    ms = 1000
    raw_io, raw_mem = raw_steps(steps)
    engine_only, service = persisted_steps(steps)
    cpu = cpu_steps(steps)
    r, p, s = statistics.median(raw_io), statistics.median(engine_only), statistics.median(service)
    print(f"per step, {TASKS}-task flow, {len(raw_io)} steps each (median / p95 ms):")
    print(
        f"  raw SpiffWorkflow, in memory, no serialization   {statistics.median(raw_mem) * ms:7.2f} / "
        f"{pct(raw_mem, 95) * ms:.2f}"
    )
    print(f"  raw SpiffWorkflow, in memory, to_dict/from_dict  {r * ms:7.2f} / {pct(raw_io, 95) * ms:.2f}")
    print(
        f"  Portico in-process share (no database)           {statistics.median(cpu) * ms:7.2f} / "
        f"{pct(cpu, 95) * ms:.2f}"
    )
    print(
        f"  Portico persisted (runtime.complete_task)        {p * ms:7.2f} / {pct(engine_only, 95) * ms:.2f}"
        f"   ({PERSISTED_ROUND_TRIPS.get(False)} round trips)"
    )
    print(
        f"  Portico service (tasks.complete: guard+audit)    {s * ms:7.2f} / {pct(service, 95) * ms:.2f}"
        f"   ({PERSISTED_ROUND_TRIPS.get(True)} round trips)"
    )
    print(f"  ratio persisted / raw (serialized)  {p / r:5.2f}x   (target <= 5x)")
    print(f"  ratio persisted / raw (no serial.)  {p / statistics.median(raw_mem):5.2f}x")
    print(f"  ratio service / raw (serialized)    {s / r:5.2f}x")


def inbox_figures(args) -> None:
    from engine.models.workflow import Task

    filled = args.keep / f"inbox-filled-{args.rows}-{args.open}" if args.keep else None
    if args.as_is or (filled is not None and filled.exists()):
        rows = Task.objects.count()  # as_is: open rows came first (fill_inbox), so all or most are in
        print(f"reusing the inbox of {args.keep}: {rows:,} task rows", flush=True)
        measure_inbox(args, rows)
        return
    fill_world(args, lambda n: measure_inbox(args, n))
    if filled is not None:
        filled.touch()
    measure_inbox(args, args.rows)


def measure_inbox(args, rows: int) -> None:
    from engine.authz import portal_actor, staff_actor
    from engine.models.accounts import PortalAccount, StaffMember
    from engine.models.clients import Client
    from engine.services.inbox import task_windows

    task_windows.HINTS.clear()  # as a freshly started web worker has them (each run used to be a new process)
    client_ids = [c["_id"] for c in Client._get_collection().find({}, {"_id": 1}).limit(40)]
    therapists = [StaffMember.objects.get(email=f"t{i}@example.org") for i in range(5)]
    portal = [portal_actor(acc) for acc in PortalAccount.objects(client__in=client_ids[:30])]
    member = StaffMember.objects(email="bench@example.org").first()
    if member is None:
        member = StaffMember(email="bench@example.org", first_name="B", last_name="E", roles=["org_admin"])
        member.save()
    admin = staff_actor(member)
    groups = {
        "portal accounts (30)": portal,
        "therapists, assigned clients (5)": [staff_actor(t) for t in therapists],
        "org admin (sees every staff task)": [admin],
    }
    print(
        f"inbox page (25 rows), {rows:,} rows / {args.open:,} open (target p95 <= 30 ms), "
        f"{datetime.now(UTC):%H:%M:%S}, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}:",
        flush=True,
    )
    for label, actors in groups.items():
        n = args.queries if label.startswith("portal") else max(10, args.queries // 10)
        report_inbox(label, *inbox_latency(n, actors))


def fill_world(args, at_checkpoint=None) -> None:
    """20,000 clients, 50 therapists (5 assigned to the first 40 clients), 30 portal accounts, the task rows
    (synthetic, see fill_inbox); at_checkpoint(n): measure the inbox at --measure-at row counts on the way."""
    from engine.models.accounts import PortalAccount, StaffMember
    from engine.models.clients import Client

    clients = [Client(first_name="C", last_name=str(i)) for i in range(20_000)]
    Client.objects.insert(clients, load_bulk=False)
    client_ids = [c["_id"] for c in Client._get_collection().find({}, {"_id": 1})]
    therapists = [
        StaffMember(email=f"t{i}@example.org", first_name="T", last_name=str(i), roles=["therapist"])
        for i in range(50)
    ]
    for t in therapists:
        t.save()
    for t in therapists[:5]:
        Client.objects(id__in=client_ids[:40]).update(push__assigned_staff=t.id)
    for cid in client_ids[:30]:
        PortalAccount(email=f"p{cid}@example.org", client=cid).save()
    print(f"filling the inbox: {args.rows:,} synthetic task rows, {args.open:,} open ...", flush=True)
    t0 = time.perf_counter()
    # Into the declared indexes: SecantusDB builds an index over existing rows far more slowly than it
    # keeps one up to date (measured here: 20,000 rows 3 s + 46 s building vs 11 s; 100,000: 10 s + 639 s).
    fill_inbox(
        args.rows,
        args.open,
        client_ids,
        [str(t.id) for t in therapists],
        checkpoints=tuple(args.measure_at),
        at_checkpoint=at_checkpoint,
    )
    print(f"  inserted in {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
