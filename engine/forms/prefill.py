"""Prefill: questions name the client-record field they show (`"prefill": "client.first_name"`).

A form may show only the fields in one fixed allow-list (CLIENT_FIELDS, INSURANCE_FIELDS,
SIGNER_FIELDS): a form author must never reach other attributes of the record, such as its linked
portal account. Paths outside the list are refused when a definition is saved or published
(`prefill_problems`) and never read when a form is shown, whatever an older version says.

The same mapping drives review-before-overwrite: an answer that differs from
the record becomes a review item instead of changing the record.
"""

from __future__ import annotations

import logging
from datetime import date

from engine.forms.validator import all_questions, value_name

log = logging.getLogger(__name__)

# Fields a form may propose to change on the client record (others are display-only).
REVIEWABLE = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "email",
    "phone",
    "address.line1",
    "address.line2",
    "address.city",
    "address.region",
    "address.postal_code",
    "emergency_contact.name",
    "emergency_contact.relationship",
    "emergency_contact.phone",
)
# What `client.<path>` may show: name, date of birth, contact, address, emergency contact ...
CLIENT_FIELDS = frozenset((*REVIEWABLE, "full_name", "address.country"))
# ... and insurance basics, from the client's current primary policy (`client.insurance.<field>`).
INSURANCE_FIELDS = frozenset(
    ("payer", "member_id", "group_number", "subscriber_name", "subscriber_date_of_birth", "relationship")
)
INSURANCE = "insurance."
# What `signer.<path>` may show about the person filling the form.
SIGNER_FIELDS = frozenset(("full_name", "first_name", "last_name", "email", "phone"))
# What people call each field of the client record a form may show or propose to change.
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "preferred_name": "Preferred name",
    "full_name": "Full name",
    "date_of_birth": "Date of birth",
    "email": "Email",
    "phone": "Phone",
    "address.line1": "Address line 1",
    "address.line2": "Address line 2",
    "address.city": "City",
    "address.region": "State or region",
    "address.postal_code": "Postal code",
    "address.country": "Country",
    "emergency_contact.name": "Emergency contact's name",
    "emergency_contact.relationship": "Emergency contact's relationship",
    "emergency_contact.phone": "Emergency contact's phone",
    "insurance.payer": "Insurance company",
    "insurance.member_id": "Member ID",
    "insurance.group_number": "Group number",
    "insurance.subscriber_name": "Subscriber's name",
    "insurance.relationship": "Subscriber's relationship to the client",
}


def field_label(path: str) -> str:
    """What people call a client-record field ("address.city" -> "City")."""
    return FIELD_LABELS.get(
        path.removeprefix("client."), path.rsplit(".", 1)[-1].replace("_", " ").capitalize()
    )


ALLOWED_PATHS = frozenset(
    (
        *(f"client.{p}" for p in CLIENT_FIELDS),
        *(f"client.{INSURANCE}{p}" for p in INSURANCE_FIELDS),
        *(f"signer.{p}" for p in SIGNER_FIELDS),
    )
)


def allowed_path(source) -> bool:
    """Whether a question's `prefill` names a field a form may show."""
    return isinstance(source, str) and source in ALLOWED_PATHS


def prefill_problems(definition) -> dict[str, list[str]]:
    """Every `prefill` outside the allow-list, by JSON path, naming the path it asked for."""
    problems: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "prefill" and not allowed_path(value):
                    problems.setdefault(f"{path}.prefill", []).append(
                        f"prefill {value!r} is not a field a form may show; use one of: "
                        + ", ".join(sorted(ALLOWED_PATHS))
                    )
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(definition, "$")
    return problems


def record_value(client, path: str, *, insurance=None):
    """The client's value at an allowed dotted path ("address.city"), as a form shows it (dates as ISO
    text); `insurance` is the policy `client.insurance.*` paths read. None for any other path."""
    if path not in CLIENT_FIELDS and not (
        path.startswith(INSURANCE) and path.removeprefix(INSURANCE) in INSURANCE_FIELDS
    ):
        return None
    if path == "full_name":
        return f"{client.first_name} {client.last_name}".strip()
    value, parts = (client, path)
    if path.startswith(INSURANCE):
        value, parts = (insurance, path.removeprefix(INSURANCE))
    for part in parts.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool)) else None


def prefill_fields(definition: dict) -> dict[str, str]:
    """question value name -> client path, for every question declaring an allowed `client.<path>`.

    A path outside the allow-list (in a version published before the list existed) is skipped."""
    out = {}
    for q in all_questions(definition):
        source = q.get("prefill")
        if isinstance(source, str) and source.startswith("client."):
            if not allowed_path(source):
                log.warning("prefill %r refused: not a field a form may show", source)
                continue
            out[value_name(q)] = source.removeprefix("client.")
    return out


def insurance_answers(definition: dict, answers: dict) -> dict:
    """The answers given to questions that show the client's insurance: {policy field: answer}. A form
    that shows the policy is also how the client keeps it (engine.services.clients.insurance.record_from_form)."""
    return {
        path.removeprefix(INSURANCE): answers[name]
        for name, path in prefill_fields(definition).items()
        if path.startswith(INSURANCE) and answers.get(name) not in (None, "")
    }


def needs_insurance(definition: dict) -> bool:
    """Whether the form shows insurance basics (so the caller loads the client's policy)."""
    return any(path.startswith(INSURANCE) for path in prefill_fields(definition).values())


def signer_value(account, path: str):
    """What a `signer.<path>` question shows about the person filling the form (a contact or the client)."""
    person = getattr(account, "contact", None) or getattr(account, "client", None) or account
    if path == "full_name":
        first, last = getattr(person, "first_name", ""), getattr(person, "last_name", "")
        return f"{first} {last}".strip() or getattr(account, "display_name", "")
    value = getattr(person, path, None) if path in SIGNER_FIELDS else None
    return value if isinstance(value, str) else None


def prefill(definition: dict, client, saved: dict | None = None, *, signer=None, insurance=None) -> dict:
    """Initial answers from the client record (and the signer's own name); saved progress always wins.

    `insurance`: the client's policy, for forms that show insurance basics (see `needs_insurance`)."""
    values = {}
    if client is not None:
        for name, path in prefill_fields(definition).items():
            v = record_value(client, path, insurance=insurance)
            if v not in (None, ""):
                values[name] = v
    if signer is not None:
        for q in all_questions(definition):
            source = q.get("prefill")
            if isinstance(source, str) and source.startswith("signer.") and allowed_path(source):
                v = signer_value(signer, source.removeprefix("signer."))
                if v:
                    values[value_name(q)] = v
    values.update(saved or {})
    return values


def proposed_changes(definition: dict, client, answers: dict) -> list[dict]:
    """Answers that differ from the client record: [{field, question, old, new}]."""
    changes = []
    for name, path in prefill_fields(definition).items():
        if path not in REVIEWABLE or name not in answers:
            continue
        new = answers[name]
        if not isinstance(new, (str, int, float)):
            continue
        old = record_value(client, path)
        if str(new).strip() != str(old or "").strip():
            changes.append({"field": path, "question": name, "old": str(old or ""), "new": str(new).strip()})
    return changes


_SOURCE_LABELS = {
    "client.insurance.": "Client's insurance",
    "client.": "Client",
    "signer.": "Person filling the form",
}


def allowed_fields() -> list[dict]:
    """The fields a form may prefill, as a form editor offers them: [{path, label}], by label."""
    out = []
    for path in ALLOWED_PATHS:
        prefix = next(p for p in _SOURCE_LABELS if path.startswith(p))
        words = path.removeprefix(prefix).replace(".", " ").replace("_", " ")
        out.append({"path": path, "label": f"{_SOURCE_LABELS[prefix]}: {words}"})
    return sorted(out, key=lambda f: f["label"])
