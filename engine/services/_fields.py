"""Small input helpers shared by the people services (staff, clients, settings).

They turn loosely typed input (JSON bodies, HTML form posts) into checked
values and collect every problem by field name, so a caller gets one 422 with
all the fields that are wrong rather than the first one only.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

import mongoengine as me

from engine.errors import ValidationFailed


class Problems:
    """Collects field -> messages; `raise_if_any()` raises ValidationFailed with all of them."""

    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.details.setdefault(field_name, []).append(message)

    def merge(self, exc: ValidationFailed, prefix: str = "") -> None:
        for name, msgs in (exc.details or {}).items():
            for msg in msgs if isinstance(msgs, list) else [msgs]:
                self.add(f"{prefix}{name}", str(msg))

    def raise_if_any(self, message: str = "some fields are invalid") -> None:
        if self.details:
            raise ValidationFailed(message, details=self.details)


def text(value, field_name: str, problems: Problems, *, required: bool = False, max_length: int = 200) -> str:
    """A trimmed string; empty allowed unless required."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems.add(field_name, "must be text")
        return ""
    value = value.strip()
    if required and not value:
        problems.add(field_name, "is required")
    elif len(value) > max_length:
        problems.add(field_name, f"must be at most {max_length} characters")
    return value


def boolean(value, field_name: str, problems: Problems) -> bool:
    """True/False from JSON booleans or HTML checkbox values ("on", "true", "1")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("on", "true", "1", "yes"):
        return True
    if value in (None, "") or (isinstance(value, str) and value.lower() in ("off", "false", "0", "no")):
        return False
    problems.add(field_name, "must be true or false")
    return False


def day(value, field_name: str, problems: Problems) -> date | None:
    """A calendar date from a date object or an ISO `YYYY-MM-DD` string; empty -> None."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        parsed = date.fromisoformat(str(value).strip())
    except ValueError:
        problems.add(field_name, "must be a date like 2015-04-30")
        return None
    if parsed > date.today():
        problems.add(field_name, "must not be in the future")
    return parsed


def email(value, field_name: str, problems: Problems, *, required: bool = False) -> str | None:
    """A lower-cased e-mail address checked the way the models check it; empty -> None."""
    raw = text(value, field_name, problems, required=required, max_length=254).lower()
    if not raw:
        return None
    try:
        me.EmailField().validate(raw)
    except me.ValidationError:
        problems.add(field_name, "must be an e-mail address")
    return raw


def save_checked(doc: me.Document, **save_kwargs) -> me.Document:
    """Save a document, turning MongoEngine's validation errors into ValidationFailed."""
    try:
        doc.validate()
    except me.ValidationError as exc:
        details = {name: [str(err)] for name, err in (exc.errors or {}).items()} or {"": [str(exc)]}
        raise ValidationFailed("some fields are invalid", details=details) from None
    doc.save(validate=False, **save_kwargs)
    return doc


def money(value, field_name: str, problems: Problems, *, most: int = 100_000) -> int:
    """Dollars and cents as people type them ("180", "180.00", "$1,200.50") -> cents; 0 and a
    problem ("must be an amount such as 140 or 140.00") for anything else."""
    raw = str(value if value is not None else "").strip().lstrip("$").strip().replace(",", "")
    try:
        amount = Decimal(raw or "0")
    except InvalidOperation:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount > most or amount != amount.quantize(Decimal("0.01")):
        problems.add(field_name, "must be an amount such as 140 or 140.00")
        return 0
    return int(amount * 100)
