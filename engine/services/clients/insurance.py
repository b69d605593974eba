"""Insurance policies: details, front and back card images, and a staff review.

Portal accounts with the link's `payments` permission (and the client) add and
edit policies; any change sends a policy back to `pending`. Staff with
billing.manage accept or reject it with a note.

Domain errors: NotAuthenticated, NotFound, Forbidden, ValidationFailed,
Conflict (review of a policy that is not pending), TooLarge and
UnsupportedMediaType (card images).
"""

from __future__ import annotations

from engine.authz import Actor, get_client_for, parse_id
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.forms.prefill import insurance_answers
from engine.models import utcnow
from engine.models.clients import Client
from engine.models.insurance import RELATIONSHIPS, InsurancePolicy
from engine.services._fields import Problems, text
from engine.services.appointments.availability import a_date
from engine.services.platform import audit, files

SIDES = ("front", "back")
CARD_TYPES = files.IMAGE_TYPES | {"application/pdf"}
_FIELDS = (
    "payer",
    "member_id",
    "group_number",
    "subscriber_name",
    "subscriber_date_of_birth",
    "relationship",
    "priority",
)


def _need(actor: Actor) -> str | None:
    return "payments" if actor.is_portal else None


def policy_dict(p: InsurancePolicy) -> dict:
    return {
        "id": str(p.id),
        "client_id": str(p.client),
        "priority": p.priority,
        "payer": p.payer,
        "member_id": p.member_id,
        "group_number": p.group_number,
        "subscriber_name": p.subscriber_name,
        "subscriber_date_of_birth": p.subscriber_date_of_birth.isoformat()
        if p.subscriber_date_of_birth
        else None,
        "relationship": p.relationship,
        "status": p.status,
        "review_note": p.review_note,
        "reviewed_at": p.reviewed_at.isoformat() if p.reviewed_at else None,
        "cards": {"front": bool(p.front_file_id), "back": bool(p.back_file_id)},
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }


def get_policy_for(actor: Actor, policy_id, *, client_id=None) -> tuple[InsurancePolicy, Client]:
    """Load a policy whose client the actor may see (portal: with `payments`). Raises NotFound.

    With `client_id` (from a URL), a policy of another client is not found either.
    """
    policy = InsurancePolicy.objects(id=parse_id(policy_id)).first()
    if policy is None or (client_id is not None and policy.client != parse_id(client_id)):
        raise NotFound("no such insurance policy")
    return policy, get_client_for(actor, policy.client, need=_need(actor))


def current_policy(actor: Actor, client_id) -> InsurancePolicy | None:
    """The client's newest primary policy that is not rejected, for forms showing insurance basics;
    None when there is none or the actor may not see the client's insurance (portal: `payments`)."""
    try:
        get_client_for(actor, client_id, need=_need(actor))
    except NotFound:
        return None
    return (
        InsurancePolicy.objects(client=parse_id(client_id), priority="primary", status__ne="rejected")
        .order_by("-created_at")
        .first()
    )


def _apply(policy: InsurancePolicy, data: dict, *, partial: bool) -> None:
    problems = Problems()
    for name, limit, required in (
        ("payer", 200, True),
        ("member_id", 60, True),
        ("group_number", 60, False),
        ("subscriber_name", 200, True),
    ):
        if name in data or not partial:
            setattr(policy, name, text(data.get(name), name, problems, required=required, max_length=limit))
    if "subscriber_date_of_birth" in data or not partial:
        policy.subscriber_date_of_birth = a_date(
            data.get("subscriber_date_of_birth"), "subscriber_date_of_birth", problems
        )
    if "relationship" in data or not partial:
        rel = data.get("relationship") or "self"
        if rel not in RELATIONSHIPS:
            problems.add("relationship", f"one of {', '.join(RELATIONSHIPS)}")
        policy.relationship = rel
    if "priority" in data or not partial:
        prio = data.get("priority") or "primary"
        if prio not in ("primary", "secondary"):
            problems.add("priority", "primary or secondary")
        policy.priority = prio
    unknown = set(data) - set(_FIELDS)
    for name in sorted(unknown):
        problems.add(name, "unknown field")
    problems.raise_if_any()


def list_policies(actor: Actor, client_id) -> list[dict]:
    client = get_client_for(actor, client_id, need=_need(actor))
    audit.record(actor, "insurance_viewed", client=client, object_type="client", object_id=client.id)
    return [policy_dict(p) for p in InsurancePolicy.objects(client=client.id).order_by("-created_at")]


def add_policy(actor: Actor, client_id, data: dict) -> dict:
    """Add a policy (pending review). Raises NotFound, ValidationFailed."""
    client = get_client_for(actor, client_id, need=_need(actor))
    policy = InsurancePolicy(client=client.id, submitted_by_kind=actor.kind, submitted_by_id=actor.id)
    _apply(policy, data, partial=False)
    policy.save(force_insert=True)
    audit.record(
        actor, "insurance_policy_added", client=client, object_type="insurance_policy", object_id=policy.id
    )
    return policy_dict(policy)


def update_policy(actor: Actor, policy_id, data: dict, *, client_id=None) -> dict:
    """Change a policy's details; it goes back to pending review. Raises NotFound, ValidationFailed."""
    policy, client = get_policy_for(actor, policy_id, client_id=client_id)
    _apply(policy, data, partial=True)
    policy.status, policy.updated_at = "pending", utcnow()
    policy.save()
    audit.record(
        actor,
        "insurance_policy_updated",
        client=client,
        object_type="insurance_policy",
        object_id=policy.id,
        details={"fields": sorted(data)},
    )
    return policy_dict(policy)


def record_from_form(actor: Actor, client: Client, definition: dict, answers: dict, *, submission_id) -> None:
    """Keep the insurance a submitted form gave as the client's policy, so nobody enters it twice.

    The questions that show the policy (`prefill: client.insurance.*`) say which answers are its
    fields. The client's current primary policy is updated when the answers differ from it (and goes
    back to pending review), or a primary policy is added when there is none. Answers that would not
    make a valid policy (no payer or member ID: "no insurance") change nothing.
    """
    given = insurance_answers(definition, answers)
    if not given.get("payer") or not given.get("member_id"):
        return
    if given.get("relationship", "self") == "self":
        given["relationship"] = "self"
        given.setdefault("subscriber_name", client.display_name)
        if client.date_of_birth and "subscriber_date_of_birth" not in given:
            given["subscriber_date_of_birth"] = client.date_of_birth.isoformat()
    elif given["relationship"] not in RELATIONSHIPS:
        given["relationship"] = "other"
    data = {k: str(v) for k, v in given.items() if k in _FIELDS}
    policy = (
        InsurancePolicy.objects(client=client.id, priority="primary", status__ne="rejected")
        .order_by("-created_at")
        .first()
    )
    details = {"submission": str(submission_id)}
    if policy is None:
        policy = InsurancePolicy(client=client.id, submitted_by_kind=actor.kind, submitted_by_id=actor.id)
        _apply(policy, dict(data, priority="primary"), partial=False)
        policy.save(force_insert=True)
        audit.record(
            actor,
            "insurance_policy_added",
            client=client,
            object_type="insurance_policy",
            object_id=policy.id,
            details=details,
        )
        return
    before = policy_dict(policy)
    _apply(policy, data, partial=True)
    changed = sorted(k for k in data if policy_dict(policy)[k] != before[k])
    if not changed:
        return  # the form confirmed what is on file
    policy.status, policy.updated_at = "pending", utcnow()
    policy.save()
    audit.record(
        actor,
        "insurance_policy_updated",
        client=client,
        object_type="insurance_policy",
        object_id=policy.id,
        details=dict(details, fields=changed),
    )


def upload_card(actor: Actor, policy_id, side: str, *, filename: str, data: bytes, client_id=None) -> dict:
    """Store the front or back card image (images or PDF); the policy goes back to pending review."""
    if side not in SIDES:
        raise NotFound("no such card side")
    policy, client = get_policy_for(actor, policy_id, client_id=client_id)
    stored = files.store_file(
        data, filename=filename, purpose=f"insurance_card_{side}", client_id=client.id, allowed=CARD_TYPES
    )
    old = getattr(policy, f"{side}_file_id")
    setattr(policy, f"{side}_file_id", stored.id)
    policy.status, policy.updated_at = "pending", utcnow()
    policy.save()
    if old:
        files.delete_file(old)
    audit.record(
        actor,
        "insurance_card_uploaded",
        client=client,
        object_type="insurance_policy",
        object_id=policy.id,
        details={"side": side},
    )
    return policy_dict(policy)


def read_card(actor: Actor, policy_id, side: str, *, client_id=None) -> tuple[bytes, files.StoredFile]:
    if side not in SIDES:
        raise NotFound("no such card side")
    policy, client = get_policy_for(actor, policy_id, client_id=client_id)
    file_id = getattr(policy, f"{side}_file_id")
    if not file_id:
        raise NotFound("no card image on file")
    data, meta = files.read_file(file_id)
    audit.record(
        actor,
        "insurance_card_viewed",
        client=client,
        object_type="insurance_policy",
        object_id=policy.id,
        details={"side": side},
    )
    return data, meta


def review_policy(actor: Actor, policy_id, *, decision: str, note: str = "", client_id=None) -> dict:
    """Accept or reject a pending policy (staff with billing.manage). Raises Forbidden, Conflict, ValidationFailed."""
    if not actor.is_staff and actor.kind != "system":
        raise NotFound("no such insurance policy")
    policy, client = get_policy_for(actor, policy_id, client_id=client_id)
    actor.require("billing.manage")
    if decision not in ("accepted", "rejected"):
        raise ValidationFailed("bad decision", details={"decision": ["accepted or rejected"]})
    if decision == "rejected" and not (note or "").strip():
        raise ValidationFailed("say why", details={"note": ["is required when rejecting"]})
    updated = InsurancePolicy.objects(id=policy.id, status="pending").update_one(
        set__status=decision,
        set__review_note=(note or "").strip()[:1000],
        set__reviewed_by=actor.id,
        set__reviewed_at=utcnow(),
    )
    if not updated:
        raise Conflict("only a pending policy can be reviewed", code="not_pending")
    audit.record(
        actor,
        f"insurance_policy_{decision}",
        client=client,
        object_type="insurance_policy",
        object_id=policy.id,
    )
    policy.reload()
    return policy_dict(policy)
