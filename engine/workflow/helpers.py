"""Safe helpers offered to BPMN scripts and expressions: date arithmetic and ISO-8601 durations.

They take and return ISO-8601 strings (not datetime objects) so that whatever
a script stores stays plain JSON in task data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


class Namespace:
    """A read-only bag of helper functions (attribute access to it is allowed in scripts)."""

    def __init__(self, **functions):
        self.__dict__.update(functions)


def _parse_dt(value) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def duration_delta(duration: str, start=None) -> timedelta:
    """An ISO-8601 duration ("P3D", "PT36H", "P1M") as a timedelta measured from `start` (now)."""
    parsed = TimerEventDefinition.parse_iso_duration(str(duration))
    return TimerEventDefinition.get_timedelta_from_start(parsed, _parse_dt(start) if start else None)


def now() -> str:
    """The current UTC time, ISO-8601."""
    return datetime.now(UTC).isoformat()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def add_duration(when, duration: str) -> str:
    """`when` (ISO date/time) plus an ISO-8601 duration, ISO-8601."""
    start = _parse_dt(when)
    return (start + duration_delta(duration, start)).isoformat()


def duration_seconds(duration: str) -> float:
    """An ISO-8601 duration in seconds (months counted from now)."""
    return duration_delta(duration).total_seconds()


def days_between(a, b) -> int:
    """Whole days from `a` to `b` (negative when b is earlier)."""
    return (_parse_dt(b) - _parse_dt(a)).days


def is_before(a, b) -> bool:
    return _parse_dt(a) < _parse_dt(b)


def age_on(birth_date, on=None) -> int:
    born = _parse_dt(birth_date).date()
    day = _parse_dt(on).date() if on else datetime.now(UTC).date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def script_globals() -> dict:
    """The names every script sees besides task data and the safe builtins."""
    return {
        "now": now,
        "today": today,
        "add_duration": add_duration,
        "duration_seconds": duration_seconds,
        "days_between": days_between,
        "is_before": is_before,
        "age_on": age_on,
    }
