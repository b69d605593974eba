"""Prefill: questions name the client-record field they show (`"prefill": "client.first_name"`).

The same mapping drives review-before-overwrite: an answer that differs from
the record becomes a review item instead of changing the record.
"""

from __future__ import annotations

from datetime import date

from engine.forms.validator import all_questions, value_name

# Fields a form may propose to change on the client record (others are display-only).
REVIEWABLE = ("first_name", "last_name", "preferred_name", "date_of_birth", "email", "phone",
              "address.line1", "address.line2", "address.city", "address.region", "address.postal_code",
              "emergency_contact.name", "emergency_contact.relationship", "emergency_contact.phone")


def record_value(client, path: str):
    """The client's value at a dotted path ("address.city"), as a form shows it (dates as ISO text)."""
    if path == "full_name":
        return f"{client.first_name} {client.last_name}".strip()
    value = client
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, (str, int, float, bool)) else None


def prefill_fields(definition: dict) -> dict[str, str]:
    """question value name -> client path, for every question declaring `prefill: "client.<path>"`."""
    out = {}
    for q in all_questions(definition):
        source = q.get("prefill")
        if isinstance(source, str) and source.startswith("client."):
            out[value_name(q)] = source.removeprefix("client.")
    return out


def signer_value(account, path: str):
    """What a `signer.<path>` question shows about the person filling the form (a contact or the client)."""
    person = getattr(account, "contact", None) or getattr(account, "client", None) or account
    if path == "full_name":
        first, last = getattr(person, "first_name", ""), getattr(person, "last_name", "")
        return f"{first} {last}".strip() or getattr(account, "display_name", "")
    value = getattr(person, path, None) if path in ("first_name", "last_name", "email", "phone") else None
    return value if isinstance(value, str) else None


def prefill(definition: dict, client, saved: dict | None = None, *, signer=None) -> dict:
    """Initial answers from the client record (and the signer's own name); saved progress always wins."""
    values = {}
    if client is not None:
        for name, path in prefill_fields(definition).items():
            v = record_value(client, path)
            if v not in (None, ""):
                values[name] = v
    if signer is not None:
        for q in all_questions(definition):
            source = q.get("prefill")
            if isinstance(source, str) and source.startswith("signer."):
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
