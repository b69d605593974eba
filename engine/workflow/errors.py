"""Workflow-specific domain errors (each maps to an HTTP status through engine.errors)."""

from __future__ import annotations

from engine.errors import Conflict, PorticoError, ValidationFailed


class ScriptRefused(ValidationFailed):
    """A script or expression uses something the restricted engine does not allow."""

    code = "script_refused"


class ScriptFailed(PorticoError):
    """A script or expression raised an error while it ran."""

    code = "script_failed"
    status = 422


class ScriptInterrupted(Conflict):
    """The process running a script stopped for a reason of its own (killed from outside, not by its
    time or memory budget): nothing is saved and the step may be tried again."""

    code = "script_interrupted"


class DeployRejected(ValidationFailed):
    """The BPMN cannot be deployed; details name each problem by element id."""

    code = "deploy_rejected"


class InstanceBusy(Conflict):
    """Another process holds this instance's lease and did not release it in time."""

    code = "instance_busy"


class TaskNotOpen(Conflict):
    """The task is no longer waiting for completion (completed by someone else, or closed)."""

    code = "task_not_open"
