"""What a user task is for in the product: its `role`, declared in the BPMN, never read from its id.

A user task names its role with a property, written like `formKey`:

    <spiffworkflow:property name="role" value="acknowledgement"/>

Element ids belong to whoever edits the process in the studio; pages that treat a task
specially (the staff acknowledgement page, a returned form's comment, a guardian's view of the
minor's answers) find it by the role the projection copies onto its inbox row, with the data
they show (`submittedForms`, `note`: expressions on task data, evaluated when the row is made),
so they never load the workflow.
"""

from __future__ import annotations

# role -> what it means (the studio and deploy messages show these).
ROLES = {
    "acknowledgement": "staff acknowledge a submitted form, or return it to the client with a comment",
    "revision": "the client revises a returned form, starting from the earlier answers",
    "approval": "a guardian reviews the minor's submitted forms and approves them",
}

# Properties a role cannot work without (each an expression on task data, compiled at deploy).
NEEDS = {
    "acknowledgement": ("submittedForms",),  # the form acknowledged
    "approval": ("submittedForms",),  # the forms the guardian is shown
}

# Processes the product starts by id, and the roles its pages rely on in them (anywhere in the
# process or what it calls). Declared here, not in engine.services, because deploy must refuse a
# version without them before storing it, and the scheduler deploys the shipped files without
# the services layer.
REQUIRED = {
    "client_intake": ("acknowledgement", "revision"),
    "guardian_approval": ("approval",),
}

# Versions deployed before roles existed: the old code recognised these element ids, so a version
# stored then gets exactly these declarations when it is loaded (see declare_legacy); running
# instances keep the pages they had. Nothing else reads element ids.
_LEGACY = {
    "acknowledge_form": {"role": "acknowledgement", "submittedForms": "review_form"},
    "revise_form": {"role": "revision", "note": 'return_comments.get(returned_form, "")'},
    "approve": {"role": "approval", "submittedForms": "packet"},
}


def properties(ts) -> dict:
    """A task spec's `spiffworkflow:properties` (empty for tasks without any)."""
    return (getattr(ts, "extensions", None) or {}).get("properties", {})


def role_of(ts) -> str | None:
    return properties(ts).get("role") or None


def _task_specs(spec, subprocess_specs: dict):
    for process in [spec, *[s for s in subprocess_specs.values() if s is not None]]:
        yield from process.task_specs.values()


def used(spec, subprocess_specs: dict) -> set[str]:
    """The roles declared in a process and in everything it calls."""
    return {r for ts in _task_specs(spec, subprocess_specs) if (r := role_of(ts))}


def declare_legacy(spec, subprocess_specs: dict) -> None:
    """Give a version stored before roles existed the declarations its element ids stood for.

    Only for such versions (ProcessVersion.declares_roles unset): every newer version declares its
    roles in the BPMN, checked at deploy."""
    for ts in _task_specs(spec, subprocess_specs):
        bpmn_id = getattr(ts, "bpmn_id", None) or ""
        legacy = _LEGACY.get(bpmn_id)
        if legacy is None or role_of(ts):
            continue
        extensions = ts.extensions if isinstance(getattr(ts, "extensions", None), dict) else {}
        extensions.setdefault("properties", {})
        for name, value in legacy.items():
            extensions["properties"].setdefault(name, value)
        ts.extensions = extensions
