"""Moving one running workflow onto another deployed version of its process (SpiffWorkflow's diff).

`SpecDiff`/`WorkflowDiff` (SpiffWorkflow.bpmn.util.diff) align the old version's task
specs with the new one's by BPMN id. What may move is our policy, stricter in one
place and looser in another than `migrate_workflow`'s default:

- refused when the instance already ran (COMPLETED, ERROR) an element that the new
  version removed or changed: the instance is past the change and would silently
  skip or contradict it; it stays on its version and finishes there;
- refused when an element in progress (STARTED: a waiting service task, a running
  multi-instance or subprocess) was removed or changed in more than its outgoing flows;
- refused when a running subprocess's process is not in the new version;
- refused when an element the instance waits at (READY, WAITING) was removed.

Unlike `migrate_workflow`, READY tasks are not reset: resetting copies the parent's data
over the task's own (a multi-instance child would lose its item, a half-filled task its
data). Only WAITING events whose definition changed are reset, so a changed timer
re-arms. Every live task's predicted future is then re-predicted from the new spec.
The result is checked by a serialize/restore round trip against the new spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.workflow import specs as wfspecs

_RAN = TaskState.COMPLETED | TaskState.ERROR
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_FLOW_ONLY = {"outputs", "inputs"}  # attributes that only say where the flow goes next
_spec_diffs: dict[tuple[int, int], tuple] = {}


@dataclass
class Verdict:
    """Whether a workflow can move, why not (one sentence per element), and what moving touches."""

    can_move: bool = True
    reasons: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # spec names of live tasks whose spec changed
    reset: list[str] = field(default_factory=list)  # waiting events re-armed

    def refuse(self, reason: str) -> None:
        self.can_move = False
        if reason not in self.reasons:
            self.reasons.append(reason)


def _label(ts) -> str:
    name = getattr(ts, "bpmn_name", None)
    bpmn_id = getattr(ts, "bpmn_id", None) or ts.name
    return f"{bpmn_id} ({name})" if name else bpmn_id


_UNORDERED = ("outputs", "inputs", "cond_task_specs")


class _SpecDiff(SpecDiff):
    """SpecDiff that does not count a new order of flows as a change.

    A modeler round trip (bpmn-js) may list a gateway's outgoing flows in another order; the
    process is the same, and counting it would refuse every instance past that gateway.
    """

    def _compare_task_specs(self, spec, candidate):
        s1, s2 = self._registry.convert(spec), self._registry.convert(candidate)
        if s1.get("typename") != s2.get("typename"):
            return ["typename"]

        def same(key, value) -> bool:
            other = s2.get(key)
            if key in _UNORDERED and isinstance(value, list) and isinstance(other, list):
                return sorted(map(repr, value)) == sorted(map(repr, other))
            return other == value

        return [key for key, value in s1.items() if not same(key, value)]


def spec_diff(old, new) -> SpecDiff:
    """The diff of two process specs, cached: specs are cached per version, so ids are stable."""
    key = (id(old), id(new))
    cached = _spec_diffs.get(key)
    if cached is None or cached[0] is not old or cached[1] is not new:  # ids are reused once freed
        if len(_spec_diffs) > 256:
            _spec_diffs.clear()
        cached = _spec_diffs[key] = (old, new, _SpecDiff(wfspecs.SERIALIZER.registry, old, new))
    return cached[2]


def describe(old_spec, old_subs: dict, new_spec, new_subs: dict) -> dict:
    """A version-to-version summary for people: added, removed and changed elements per process."""

    def one(diff: SpecDiff) -> dict:
        return {
            "added": sorted(_label(ts) for ts in diff.added if getattr(ts, "bpmn_id", None)),
            "removed": sorted(_label(ts) for ts in diff.removed if getattr(ts, "bpmn_id", None)),
            "changed": {
                _label(ts): sorted(c) for ts, c in diff.changed.items() if getattr(ts, "bpmn_id", None)
            },
        }

    out = {old_spec.name: one(spec_diff(old_spec, new_spec))}
    for name, sub in old_subs.items():
        out[name] = one(spec_diff(sub, new_subs[name])) if name in new_subs else {"removed_process": True}
    for name in new_subs:
        if name not in old_subs:
            out[name] = {"added_process": True}
    return out


def _judge(wf_diff: WorkflowDiff, spec_changes: dict, verdict: Verdict) -> None:
    removed = {t.id for t in wf_diff.removed}
    for task in wf_diff.removed:
        ts = task.task_spec
        if not getattr(ts, "bpmn_id", None):
            continue  # engine-internal specs (Start, End, boundary splits) follow their element
        if task.has_state(_RAN):
            verdict.refuse(f"already ran {_label(ts)}, which the new version removes")
        elif task.has_state(_LIVE):
            verdict.refuse(f"is at {_label(ts)}, which the new version removes")
    for task in wf_diff.changed:
        if task.id in removed:
            continue
        ts = task.task_spec
        changes = set(spec_changes.get(ts, []))
        label = _label(ts)
        if task.has_state(_RAN):
            verdict.refuse(f"already past {label}, which changed ({', '.join(sorted(changes))})")
        elif task.has_state(TaskState.STARTED) and changes - _FLOW_ONLY:
            verdict.refuse(f"{label} is in progress and changed ({', '.join(sorted(changes - _FLOW_ONLY))})")
        elif task.has_state(TaskState.READY | TaskState.WAITING) and changes - _FLOW_ONLY:
            verdict.updated.append(ts.name)


def _diffs(workflow, new_spec, new_subs: dict, verdict: Verdict) -> list:
    """[(workflow or subworkflow, WorkflowDiff, SpecDiff, new spec)] for the top and each running subprocess."""
    top = spec_diff(workflow.spec, new_spec)
    out = [(workflow, WorkflowDiff(workflow, top), top, new_spec)]
    for sp in workflow.subprocesses.values():
        target = new_subs.get(sp.spec.name)
        if target is None:
            verdict.refuse(f"runs {sp.spec.name}, which the new version no longer has")
            continue
        diff = spec_diff(sp.spec, target)
        out.append((sp, WorkflowDiff(sp, diff), diff, target))
    return out


def check(workflow, new_spec, new_subs: dict) -> Verdict:
    """Whether `workflow` can move to the given spec; does not change it."""
    verdict = Verdict()
    for _wf, wf_diff, diff, _target in _diffs(workflow, new_spec, new_subs, verdict):
        _judge(wf_diff, diff.changed, verdict)
    return verdict


def _repredict(task) -> None:
    """Drop the predicted (not yet definite-by-history) children of a live task and predict them anew."""
    for child in list(task.children):
        if (
            not child.triggered
            and child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE)
            and child.id in task.workflow.tasks
        ):
            child._drop_children(force=True)
            task.workflow._remove_task(child.id)
    task.task_spec._predict_hook(task)
    for child in task.children:
        if child.has_state(TaskState.PREDICTED_MASK | TaskState.FUTURE):
            child.task_spec._predict(child, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)


def _move_one(wf, wf_diff: WorkflowDiff, diff: SpecDiff, target, verdict: Verdict) -> None:
    wf.spec = target
    for task in list(wf.tasks.values()):
        aligned = wf_diff.alignment.get(task)
        if aligned is not None:
            task.task_spec = aligned
    changed = {t.id for t in wf_diff.changed}
    for task in list(wf.get_tasks(state=TaskState.WAITING, skip_subprocesses=True)):
        if task.id in changed and task.id in wf.tasks:
            task.reset_branch(None)
            verdict.reset.append(task.task_spec.bpmn_id or task.task_spec.name)
    for task in list(wf.get_tasks(state=_LIVE, skip_subprocesses=True)):
        if task.id in wf.tasks:
            _repredict(task)
    if wf.last_task is not None and wf.last_task.id not in wf.tasks:
        wf.last_task = None


class MigrationRefused(Exception):
    """The workflow cannot move; `verdict.reasons` say why."""

    def __init__(self, verdict: Verdict):
        super().__init__("; ".join(verdict.reasons))
        self.verdict = verdict


def migrate(workflow, new_spec, new_subs: dict) -> tuple[str, Verdict]:
    """Move `workflow` (changed in place) onto `new_spec`. Returns (state JSON, verdict).

    Raises MigrationRefused when the policy refuses, or when the moved state does not
    restore cleanly against the new spec (then the reason names the element left behind).
    """
    verdict = Verdict()
    parts = _diffs(workflow, new_spec, new_subs, verdict)
    for _wf, wf_diff, diff, _target in parts:
        _judge(wf_diff, diff.changed, verdict)
    if not verdict.can_move:
        raise MigrationRefused(verdict)
    try:
        for wf, wf_diff, diff, target in parts:
            _move_one(wf, wf_diff, diff, target, verdict)
    except SpiffWorkflowException as exc:  # e.g. a re-armed timer whose expression fails on this data
        task = getattr(exc, "task", None)
        where = _label(task.task_spec) if task is not None else "a task"
        verdict.refuse(f"after the move {where} would fail: {getattr(exc, 'message', None) or exc}")
        raise MigrationRefused(verdict) from exc
    workflow.subprocess_specs = new_subs
    for wf in [workflow, *workflow.subprocesses.values()]:
        for task in wf.tasks.values():
            if wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec:
                verdict.refuse(
                    f"{_label(task.task_spec)} ({TaskState.get_name(task.state)}) has no place "
                    "in the new version"
                )
    if not verdict.can_move:
        raise MigrationRefused(verdict)
    text = wfspecs.dump_state(workflow)
    try:
        wfspecs.load_state(text, new_spec, new_subs)
    except Exception as exc:  # noqa: BLE001 - any failure to restore means the move is unsafe
        verdict.refuse(f"the moved state does not restore: {type(exc).__name__}: {exc}")
        raise MigrationRefused(verdict) from exc
    return text, verdict
