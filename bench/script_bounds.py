"""What bounding scripts costs per engine step (issue 12, hole 10).

    .venv/bin/python bench/script_bounds.py [--steps 600]

Runs bench/engine.py's sequential flow (a user task, then a script task `count = i + 1`) in
memory, without serialization, the way its "raw" figure does, three ways:
- sandboxed: the script runs in the bounded child process (engine.workflow.sandbox), as now;
- in-process: the same restricted script run in this process, unbounded (as before hole 10);
- condition: a step whose only expression is a gateway condition on task data, which runs
  in-process because it cannot compute anything larger than the data it reads.
Prints medians and p95 per step; nothing here asserts.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _flow_bpmn() -> bytes:
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "bench" / "engine.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.flow_bpmn()


CONDITION_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions
 xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
<bpmn:process id="bench_condition" isExecutable="true"><bpmn:startEvent id="start"/>
<bpmn:userTask id="u"/><bpmn:exclusiveGateway id="g" default="f_no"/>
<bpmn:endEvent id="yes"/><bpmn:endEvent id="no"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="u"/>
<bpmn:sequenceFlow id="f1" sourceRef="u" targetRef="g"/>
<bpmn:sequenceFlow id="f_yes" sourceRef="g" targetRef="yes">
<bpmn:conditionExpression>approved == True and answers['age'] &gt;= 18</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f_no" sourceRef="g" targetRef="no"/>
</bpmn:process></bpmn:definitions>"""


def _steps(bpmn: bytes, pid: str, engine, steps: int, data: dict | None = None) -> list[float]:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    from engine.workflow.specs import PorticoParser

    parser = PorticoParser()
    parser.add_bpmn_str(bpmn)
    spec = parser.get_spec(pid)
    timings: list[float] = []
    while len(timings) < steps:
        wf = BpmnWorkflow(spec, {}, script_engine=engine)
        wf.do_engine_steps()
        while ready := wf.get_tasks(state=TaskState.READY, manual=True):
            t0 = time.perf_counter()
            ready[0].set_data(**(data or {}))
            ready[0].run()
            wf.do_engine_steps()
            timings.append(time.perf_counter() - t0)
    return timings[:steps]


def _in_process_engine():
    """The restricted engine as it was before hole 10: every script in this process."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    from engine.workflow import scripting

    class InProcess(scripting.RestrictedEnvironment):
        def evaluate(self, expression, context, external_context=None):
            return scripting.evaluate_here(expression, context, external_context)

        def execute(self, script, context, external_context=None):
            scripting.execute_here(script, context, external_context)
            return True

    return PythonScriptEngine(environment=InProcess())


def _line(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"  {name:<34} p50 {statistics.median(ms):6.3f} ms   p95 {ms[int(0.95 * (len(ms) - 1))]:6.3f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    args = ap.parse_args()
    from engine.workflow.scripting import script_engine

    flow = _flow_bpmn()
    _steps(flow, "bench_flow", script_engine(), 24)  # start the child (a few hundred ms, once)
    print(f"per step, {args.steps} steps each:")
    print(_line("script task, sandboxed (now)", _steps(flow, "bench_flow", script_engine(), args.steps)))
    print(
        _line(
            "script task, in-process (before)", _steps(flow, "bench_flow", _in_process_engine(), args.steps)
        )
    )
    data = {"approved": True, "answers": {"age": 30}}
    print(
        _line(
            "gateway condition (in-process)",
            _steps(CONDITION_BPMN, "bench_condition", script_engine(), args.steps, data),
        )
    )


if __name__ == "__main__":
    main()
