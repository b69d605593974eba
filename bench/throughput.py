"""Human-task completions per second and their latency over HTTP, against raw SpiffWorkflow.

    .venv/bin/python bench/throughput.py [--tasks 1500] [--clients 8] [--web-workers 2]

Portico: `portico web` (gunicorn, two worker processes) on the embedded SecantusDB (fsync on
commit), `--clients` concurrent HTTP clients (keep-alive) each POSTing /api/v1/tasks/<id>/complete
for its share of open tasks. Every completion is a full request: bearer auth, guard, lease, load,
run, compare-and-set save, inbox projection, audit row.
Baseline, same run, same BPMN: raw SpiffWorkflow in memory in this process (one core), completing
the same user task and running the engine steps after it; with and without a to_dict/from_dict
round trip (how SpiffWorkflow persists by default).
Goal (issue 8): >= 150 completions/s and p99 <= 50 ms on a 2-core machine.

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


def http_run(base: str, token: str, task_ids: list[str], clients: int) -> tuple[list[float], float, dict]:
    import requests

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    shares = [task_ids[i::clients] for i in range(clients)]

    def client(ids: list[str]) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine, codes = [], {}
        for tid in ids:
            t0 = time.perf_counter()
            resp = session.post(f"{base}/api/v1/tasks/{tid}/complete", json={"data": {"note": "ok"}}, timeout=60)
            mine.append(time.perf_counter() - t0)
            codes[resp.status_code] = codes.get(resp.status_code, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in codes.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - t0, statuses


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
        role = "database" if "secantus" in line else "web" if "gunicorn" in line or "engine.cli" in line else "other"
        totals[role] += times.user + times.system
    return totals


def _commands(db) -> int:
    """Commands the database server has answered so far (all clients)."""
    counters = db.client.admin.command("serverStatus")["opcounters"]
    return sum(int(v) for v in counters.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1500)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--web-workers", type=int, default=2)
    args = ap.parse_args()

    with embedded_services("portico-bench-throughput-") as (_settings, env, _root):
        from engine import db
        from engine.authz import SYSTEM
        from engine.models.workflow import Task
        from engine.services import tokens
        from engine.workflow.deploy import deploy
        from engine.workflow.runtime import start
        from tests.helpers import make_staff

        database = db.get_db()
        deploy(SYSTEM, BPMN)
        token, _ = tokens.issue_token(make_staff(roles=("org_admin",)), label="bench")
        print(f"starting {args.tasks} instances (setup, not measured) ...", flush=True)
        for _ in range(args.tasks):
            start("bench_complete")
        task_ids = [str(t.id) for t in Task.objects(status="open").only("id")]
        with web_processes(env, workers=args.web_workers) as base:
            warm = task_ids[:50]
            http_run(base, token, warm, 2)  # import and connection warm-up in each gunicorn worker
            cpu0, own0, commands0 = _cpu_by_role(), time.process_time(), _commands(database)
            latencies, wall, statuses = http_run(base, token, task_ids[50:], args.clients)
            cpu1, own1, commands1 = _cpu_by_role(), time.process_time(), _commands(database)
        plain, round_trip = raw_baseline(min(args.tasks, 1000))

    n = len(latencies)
    rate = n / wall
    raw_rate = 1 / statistics.mean(plain)
    rt_rate = 1 / statistics.mean(round_trip)
    print(f"HTTP, {args.web_workers} gunicorn workers, {args.clients} clients: {rate:7.1f} completions/s  "
          f"{summary(latencies)}  statuses {statuses}")
    print(f"raw SpiffWorkflow in memory, 1 core:          {raw_rate:7.1f} completions/s  {summary(plain)}")
    print(f"raw SpiffWorkflow + to_dict/from_dict, 1 core: {rt_rate:7.1f} completions/s  {summary(round_trip)}")
    per = {role: (cpu1[role] - cpu0[role]) / n * 1000 for role in cpu0}
    print(f"per completion: {(commands1 - commands0) / n:.2f} database commands; CPU ms: database {per['database']:.2f}"
          f"  web workers {per['web']:.2f}  HTTP clients (this process) {(own1 - own0) / n * 1000:.2f}"
          f"  other {per['other']:.2f}")
    print(f"ratio Portico/raw {rate / raw_rate:.3f}   Portico/raw+serialize {rate / rt_rate:.3f}   "
          f"(goal >= 150/s: {'met' if rate >= 150 else 'MISSED'}; p99 <= 50 ms: "
          f"{'met' if sorted(latencies)[int(0.99 * (n - 1))] <= 0.05 else 'MISSED'})")


if __name__ == "__main__":
    main()
