"""SpiffWorkflow glue: our service task spec, the parser that uses it, and the serializer.

Service tasks never call out while the engine steps: `OutboxServiceTask`
evaluates its parameters, keeps them on the task and leaves the task STARTED.
The projection writes an outbox message for it; a worker performs the
operation and completes the task (engine.workflow.runtime.finish_operation).

The serializer stores instance state *without* the spec: specs are serialized
once per process version (engine.models.workflow.ProcessVersion) and restored
objects are cached per version in this process.
"""

from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

OPERATION_PARAMS_KEY = "portico_operation_params"


class OutboxServiceTask(ServiceTask):
    """A service task whose operation a worker performs later; the task waits STARTED."""

    def _execute(self, task):
        params = self.evaluate_params(task)
        task.internal_data[OPERATION_PARAMS_KEY] = {name: p["value"] for name, p in params.items()}
        return None  # None = STARTED: the outbox carries the work


class PorticoParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = dict(SpiffBpmnParser.OVERRIDE_PARSER_CLASSES)
    OVERRIDE_PARSER_CLASSES[full_tag("serviceTask")] = (ServiceTaskParser, OutboxServiceTask)


class _StateConverter(BpmnWorkflowConverter):
    """BpmnWorkflow <-> dict without `spec`/`subprocess_specs` (those live on the process version)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_with_specs(self, dct: dict, spec, subprocess_specs: dict) -> BpmnWorkflow:
        dct = dict(dct)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dict(dct["subprocesses"]), workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _build():
    config = dict(SPIFF_CONFIG)
    config[OutboxServiceTask] = ServiceTaskConverter
    config.pop(BpmnWorkflow, None)
    registry = BpmnWorkflowSerializer.configure(config)
    state_converter = _StateConverter(BpmnWorkflow, registry)
    return BpmnWorkflowSerializer(registry), state_converter


SERIALIZER, _STATE = _build()


def dump_state(workflow: BpmnWorkflow) -> str:
    """The instance state as JSON text, without the spec.

    JSON text rather than a Mongo sub-document: task data keys may contain "."
    or start with "$", and encoding once here is cheaper than BSON-walking it.
    """
    SERIALIZER.registry._encoder_mode = True  # SpiffWorkflow's own fast path (serialize_json)
    try:
        return json.dumps(_STATE.to_dict(workflow), cls=SERIALIZER._encoder_cls, separators=(",", ":"))
    finally:
        SERIALIZER.registry._encoder_mode = False


def load_state(text: str, spec, subprocess_specs: dict) -> BpmnWorkflow:
    return _STATE.restore_with_specs(json.loads(text), spec, subprocess_specs)


def dump_specs(spec, subprocess_specs: dict) -> dict:
    """The process spec and every spec it calls, serialized once per process version."""
    return {
        "spec": SERIALIZER.to_dict(spec),
        "subprocess_specs": {k: SERIALIZER.to_dict(v) for k, v in subprocess_specs.items()},
    }


def load_specs(dct: dict):
    spec = SERIALIZER.from_dict(dct["spec"])
    subs = {k: SERIALIZER.from_dict(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subs


def migrate_state(text: str, specs: dict, version: str | None) -> str:
    """Bring state written by an older serializer up to SERIALIZER_VERSION (SpiffWorkflow's migrations
    expect the whole workflow dict, so the spec is put back for the migration and taken out again)."""
    full = dict(json.loads(text), spec=specs["spec"], subprocess_specs=specs["subprocess_specs"])
    full[SERIALIZER.VERSION_KEY] = version
    SERIALIZER.migrate(full)
    full.pop("spec", None)
    full.pop("subprocess_specs", None)
    return json.dumps(full, separators=(",", ":"))


__all__ = [
    "SERIALIZER_VERSION",
    "OutboxServiceTask",
    "PorticoParser",
    "dump_state",
    "load_state",
    "dump_specs",
    "load_specs",
    "migrate_state",
]
