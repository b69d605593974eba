"""What the intake pages show: the forms a client still owes, the submission under review, a
returned form's comment and earlier answers, a guardian's packet to approve. Reads only; the
intake's use cases (invite, send one form, resend) are engine.services.intake.intake.
"""

from __future__ import annotations

from engine import persistence
from engine.authz import Actor
from engine.errors import NotFound
from engine.forms.catalogue import get_form
from engine.models.forms import Submission
from engine.models.workflow import Task
from engine.services.access.form_requests import PORTAL_LANES, outstanding
from engine.services.forms import submissions
from engine.services.inbox import tasks

__all__ = ["approval_context", "latest_submission", "outstanding", "review_context", "revision_context"]


def latest_submission(instance_id, form_key: str | None) -> Submission | None:
    """The newest sealed submission of `form_key` made through a task of this instance.

    None looks among the instance's tasks that have no form key."""
    rows = (
        persistence.collection(Task)
        .find(
            {
                "instance_id": instance_id,
                "form_key": form_key,
                "status": "completed",
                "lane": {"$in": list(PORTAL_LANES)},
            },
            {"_id": 1},
        )
        .sort("completed_at", -1)
    )
    for row in rows:
        sub = Submission.objects(seal_key=f"task:{row['_id']}").first()  # the task's one sealed submission
        if sub is not None:
            return sub
    return None


def review_context(actor: Actor, task_id) -> dict:
    """What a staff acknowledgement task shows: the form under review and the client's submission.

    Raises NotFound (task not visible, or not an acknowledgement task).
    """
    row = tasks.get_task_for(actor, task_id)
    if row.get("role") != "acknowledgement" or row.get("status") != "open":
        raise NotFound("no such acknowledgement task")
    form_key = next(iter(row.get("submitted_forms") or []), None)
    sub = latest_submission(row["instance_id"], form_key) if form_key else None
    if not form_key or sub is None:
        raise NotFound("no submission to review")
    return {
        "task": tasks.shape(row),
        "form_key": form_key,
        "title": get_form(form_key).title,
        "submission": submissions.readable_submission(actor, sub.id),
    }


def revision_context(row: dict) -> dict:
    """For a returned form's task: staff's comment and the earlier answers to start from (signatures and
    files left out: the client signs again). Empty for other tasks."""
    if row.get("role") != "revision" or row.get("status") != "open":
        return {}
    earlier = latest_submission(row["instance_id"], row.get("form_key"))
    answers = {k: v for k, v in (earlier.answers if earlier else {}).items() if _reusable(v)}
    return {"comment": row.get("note") or "", "answers": answers}


def _reusable(value) -> bool:
    """An earlier answer that may prefill a revision: not a signature or an uploaded file."""
    if isinstance(value, str):
        return not value.startswith("portico-file:")
    if isinstance(value, list):
        return not any(isinstance(item, dict) and "content" in item for item in value)
    return True


def approval_context(actor: Actor, row: dict) -> list[dict]:
    """For a guardian's approval task: the minor's submitted packet forms to review (each audited as
    viewed). Empty for other tasks. Raises NotFound when the actor may not read them."""
    if row.get("role") != "approval" or row.get("status") != "open":
        return []
    shown = []
    for form_key in row.get("submitted_forms") or []:
        sub = latest_submission(row["instance_id"], form_key)
        if sub is not None:
            shown.append(
                {**submissions.readable_submission(actor, sub.id), "title": get_form(form_key).title}
            )
    return shown
