"""Human-task completions per second and their latency over HTTP, against raw SpiffWorkflow.

    .venv/bin/python bench/throughput.py [--tasks 3000] [--clients 8] [--web-workers 2]
    .venv/bin/python bench/throughput.py --minutes 10 --tasks 40000   # the soak: 10 minutes, a rate per minute

Portico: `portico web` (gunicorn, two worker processes) on the embedded SecantusDB (fsync on
commit), `--clients` concurrent HTTP clients (keep-alive) each POSTing /api/v1/tasks/<id>/complete
for its share of open tasks. Every completion is a full request: bearer auth, guard, lease, load,
run, compare-and-set save, inbox projection, audit row.
Baseline, same run, same BPMN: raw SpiffWorkflow in memory in this process (one core), completing
the same user task and running the engine steps after it; with and without a to_dict/from_dict
round trip (how SpiffWorkflow persists by default).
Floor, same run, same client count: bench/floor.py's bare database loop (one read, one two-write
transaction per completion); Portico's rate is printed as a percentage of it.
Goals (issue 14): >= 80 % of the floor; p99 <= 50 ms at one client, <= 150 ms at 8; no decay: the
last third (and the last minute) of the run within 10 % of the first.

Setup copies one started instance (its document, inbox row) rather than starting each: 25,000
instances in seconds, and the setup writes no retryable-write records of its own before the run.

Also printed, for the measured run: database commands per completion (the server's own counters,
driver heartbeats included) and CPU per completion of the database server, the web workers and
this process (the HTTP clients), read from the operating system.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from _harness import embedded_services, summary, web_processes
from floor import floor_run

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d_bench" targetNamespace="x">
  <bpmn:process id="bench_complete" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l_admin" name="admin"><bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:scriptTask id="tally"><bpmn:script>reviewed = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="tally"/>
    <bpmn:sequenceFlow id="f3" sourceRef="tally" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def raw_baseline(n: int) -> tuple[list[float], list[float]]:
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    from SpiffWorkflow.util.task import TaskState

    from engine.workflow.scripting import script_engine
    from engine.workflow.specs import PorticoParser

    parser = PorticoParser()
    parser.add_bpmn_str(BPMN)
    spec = parser.get_spec("bench_complete")
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    plain, round_trip = [], []
    for _ in range(n):
        wf = BpmnWorkflow(spec, {}, script_engine=script_engine())
        wf.do_engine_steps()
        state = serializer.to_dict(wf)
        t0 = time.perf_counter()
        wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
        wf.do_engine_steps()
        plain.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        wf = serializer.from_dict(state)
        wf.script_engine = script_engine()
        wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
        wf.do_engine_steps()
        serializer.to_dict(wf)
        round_trip.append(time.perf_counter() - t0)
    return plain, round_trip


def http_run(
    base: str, token: str, task_ids: list[str], clients: int, seconds: float | None = None
) -> tuple[list[float], float, dict, list]:
    """(latencies, wall seconds, status counts, each completion's end in seconds from the start).

    seconds: stop starting completions after this long (the soak: a fixed duration, whatever the rate)."""
    import requests

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    shares = [task_ids[i::clients] for i in range(clients)]

    def client(ids: list[str]) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine, ends, codes = [], [], {}
        for tid in ids:
            t0 = time.perf_counter()
            if stop_at is not None and t0 >= stop_at:
                break
            resp = session.post(
                f"{base}/api/v1/tasks/{tid}/complete", json={"data": {"note": "ok"}}, timeout=60
            )
            t1 = time.perf_counter()
            mine.append(t1 - t0)
            ends.append(t1)
            codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
        with lock:
            latencies.extend(mine)
            done_at.extend(ends)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    done_at: list[float] = []
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    t0 = time.perf_counter()
    stop_at = t0 + seconds if seconds else None
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - t0, statuses, sorted(x - t0 for x in done_at)


def rates_over_time(done_at: list[float], wall: float) -> tuple[list[float], list[float]]:
    """(completions/s in each third of the run, completions/s in each whole minute)."""
    thirds = [
        sum(1 for x in done_at if k * wall / 3 <= x < (k + 1) * wall / 3) / (wall / 3) for k in range(3)
    ]
    minutes = [sum(1 for x in done_at if m * 60 <= x < (m + 1) * 60) / 60 for m in range(int(wall // 60))]
    return thirds, minutes


def started_tasks(n: int) -> list[str]:
    """Ids of `n` open inbox rows, each of its own instance: one started, the rest copies of it."""
    from bson import ObjectId

    from engine.models.workflow import Task
    from engine.workflow import store
    from engine.workflow.runtime import start

    seed = start("bench_complete")
    doc = store.instances().find_one({"_id": seed})
    row = Task._get_collection().find_one({"instance_id": seed, "status": "open"})
    for first in range(0, n - 1, 5000):
        batch = [ObjectId() for _ in range(min(5000, n - 1 - first))]
        store.instances().insert_many([dict(doc, _id=i) for i in batch])
        Task._get_collection().insert_many([dict(row, _id=ObjectId(), instance_id=i) for i in batch])
    return [str(t["_id"]) for t in Task._get_collection().find({"status": "open"}, {"_id": 1})]


def _cpu_by_role() -> dict[str, float]:
    """CPU seconds used so far by this process and its descendants, by role."""
    import psutil

    totals = {"database": 0.0, "web": 0.0, "other": 0.0}
    for proc in psutil.Process().children(recursive=True):
        try:
            line = " ".join(proc.cmdline())
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        role = (
            "database"
            if "secantus" in line
            else "web"
            if "gunicorn" in line or "engine.cli" in line
            else "other"
        )
        totals[role] += times.user + times.system
    return totals


def _commands(db) -> int:
    """Commands the database server has answered so far (all clients)."""
    counters = db.client.admin.command("serverStatus")["opcounters"]
    return sum(int(v) for v in counters.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=3000)
    ap.add_argument("--floor-seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--web-workers", type=int, default=2)
    ap.add_argument(
        "--minutes", type=float, help="the soak: stop after this many minutes (--tasks: enough for them)"
    )
    args = ap.parse_args()

    with embedded_services("portico-bench-throughput-") as (_settings, env, _root):
        from engine import db
        from engine.authz import SYSTEM
        from engine.services.accounts import tokens
        from engine.workflow.deploy import deploy
        from tests.helpers import make_staff

        database = db.get_db()
        deploy(SYSTEM, BPMN)
        token, _ = tokens.issue_token(make_staff(roles=("org_admin",)), label="bench")
        print(f"starting {args.tasks} instances (setup, not measured) ...", flush=True)
        task_ids = started_tasks(args.tasks)
        with web_processes(env, workers=args.web_workers) as base:
            warm = task_ids[:50]
            http_run(base, token, warm, 2)  # import and connection warm-up in each gunicorn worker
            cpu0, own0, commands0 = _cpu_by_role(), time.process_time(), _commands(database)
            latencies, wall, statuses, done_at = http_run(
                base, token, task_ids[50:], args.clients, seconds=args.minutes * 60 if args.minutes else None
            )
            cpu1, own1, commands1 = _cpu_by_role(), time.process_time(), _commands(database)
        floor_rate, floor_latencies = floor_run(
            _settings.mongodb_uri, clients=args.clients, seconds=args.floor_seconds
        )
        plain, round_trip = raw_baseline(min(args.tasks, 1000))

    n = len(latencies)
    rate = n / wall
    raw_rate = 1 / statistics.mean(plain)
    rt_rate = 1 / statistics.mean(round_trip)
    print(
        f"HTTP, {args.web_workers} gunicorn workers, {args.clients} clients: {rate:7.1f} completions/s  "
        f"{summary(latencies)}  statuses {statuses}"
    )
    print(f"raw SpiffWorkflow in memory, 1 core:          {raw_rate:7.1f} completions/s  {summary(plain)}")
    print(
        f"raw SpiffWorkflow + to_dict/from_dict, 1 core: {rt_rate:7.1f} completions/s  {summary(round_trip)}"
    )
    per = {role: (cpu1[role] - cpu0[role]) / n * 1000 for role in cpu0}
    print(
        f"per completion: {(commands1 - commands0) / n:.2f} database commands; CPU ms: database {per['database']:.2f}"
        f"  web workers {per['web']:.2f}  HTTP clients (this process) {(own1 - own0) / n * 1000:.2f}"
        f"  other {per['other']:.2f}"
    )
    thirds, minutes = rates_over_time(done_at, wall)
    print(
        f"floor (bare database: 1 read + 1 two-write transaction), {args.clients} clients: {floor_rate:7.1f}/s  "
        f"{summary(floor_latencies)}"
    )
    print(f"Portico = {100 * rate / floor_rate:.0f} % of the floor (goal >= 80 %)")
    print(
        "completions/s by third: "
        + "  ".join(f"{r:.1f}" for r in thirds)
        + f"   last/first {thirds[-1] / thirds[0]:.3f} (goal >= 0.90)"
    )
    if minutes:
        print(
            "completions/s by minute: "
            + "  ".join(f"{r:.1f}" for r in minutes)
            + (f"   last/first {minutes[-1] / minutes[0]:.3f}" if len(minutes) > 1 else "")
        )
    print(
        f"ratio Portico/raw {rate / raw_rate:.3f}   Portico/raw+serialize {rate / rt_rate:.3f}   "
        f"(goal >= 150/s: {'met' if rate >= 150 else 'MISSED'}; p99 <= 50 ms: "
        f"{'met' if sorted(latencies)[int(0.99 * (n - 1))] <= 0.05 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
