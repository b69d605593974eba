"""Reading an inbox query's first rows in (due_at, _id) order, window by window (engine.services.inbox.tasks).

The inbox never asks for "the first N rows sorted" in one query (engine.persistence, "Sort before
limit"); see below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bson import ObjectId
from pymongo.errors import ExecutionTimeout

from engine import persistence
from engine.models import aware, utcnow
from engine.models.workflow import Task


def sort_key(row: dict):
    due = row.get("due_at")
    return (due is not None, due or datetime.min, row["_id"])  # MongoDB's order: no due date first


def _sorted(rows) -> list[dict]:
    """Rows read whole (a window, a small query) in (due_at, _id) order. Sorted here, not by the
    server (engine.persistence, "sort before limit": over half of the database time a window costs)."""
    return sorted(rows, key=sort_key)


# A sorted query with a limit may cost every row of its index prefix, but a due_at range costs only
# the rows inside it (engine.persistence). So a page is read window by window in
# (due_at, _id) order: rows without a due date (MongoDB sorts null first), then [-inf, t0), [t0, t1), ...
# until enough rows are in. A window holds every row of its due dates, so the rows equal the unbounded
# sorted query's. HINTS (where a query's rows began, how far apart a page's due dates lay, whether the
# whole query was small) only saves queries: whatever they say, the windows cover every due date.
HINTS: dict[str, tuple[datetime, timedelta | None, bool]] = {}  # query → (first due, due span per row, few)
_FAR = timedelta(days=4096)  # the first window holds what is older; then quarter the distance to now
_MARGIN = 1.5  # a window sized from the hint is this much wider than the rows asked for should need
_MARGIN_KIND = 2.0  # ... from the hint of another query of its kind (another person's due dates)
_LAST = datetime(9000, 1, 1, tzinfo=UTC)
_END = datetime.max.replace(tzinfo=UTC)  # every date a row can hold (Python reads no later one)
_BATCH = 10_000  # rows per reply (the driver asks for 101 first)
QUICK_MS = 5  # a whole query that takes longer holds too many rows: read it in windows (0: always)


def first_rows(query: dict, need: int, keep=None, due_before: datetime | None = None) -> list[dict]:
    """The first `need` rows (kept by `keep`) of `query` in (due_at, _id) order, due no later than due_before."""
    coll = persistence.collection(Task)
    rows: list[dict] = []

    def take(
        bound: dict | None, limit_ms: int = 0
    ) -> int:  # limit_ms: 0 a window, -1 whole, >0 whole if quick
        if due_before is not None and bound is not None:
            bound = {k: v for k, v in bound.items() if k != "$lt"} | (
                {"$lt": bound["$lt"]} if "$lt" in bound and bound["$lt"] <= cap else {"$lte": cap}
            )
        before = len(rows)
        where = query if limit_ms and bound is None else {**query, "due_at": bound}
        cursor = coll.find(where).max_time_ms(max(limit_ms, 0) or None)
        cursor = cursor.batch_size(_BATCH)  # a window in one reply: no getMore round trip past 101 rows
        if limit_ms and keep is None:
            # MongoDB proper stops at the limit, walking the index in order
            cursor = cursor.sort([("due_at", 1), ("_id", 1)]).limit(need)
        rows.extend(_sorted(r for r in cursor if keep is None or keep(r)))
        return len(rows) - before

    cap = aware(due_before) if due_before is not None else None
    if any(isinstance(v, dict) for v in query.values()):
        # An $in with a due_at range may read every open row (engine.persistence, "`$in` with a range"):
        # read such a query whole, its rows are few, and leave out here what is due after due_before.
        for r in _sorted(coll.find(query).batch_size(_BATCH)):
            if (cap is None or (r.get("due_at") is not None and aware(r["due_at"]) <= cap)) and (
                keep is None or keep(r)
            ):
                rows.append(r)
        return rows[:need]
    key = repr(sorted(query.items()))
    now = utcnow()
    # Never asked: a practice-wide queue ("staff", a permission's) is large, and reading a large query
    # whole costs every row before any time limit applies; anything else (one person's, one client's) is
    # likely small enough to read whole.
    shared = query.get("audience") == "staff" or str(query.get("audience")).startswith("perm:")
    kind = None if shared else _kind(query)
    hint, margin = HINTS.get(key), _MARGIN
    if hint is None and kind is not None and kind in HINTS:
        hint, margin = HINTS[kind], _MARGIN_KIND
    start, pace, few = hint or (now - _FAR, None, not shared)
    width = pace * (need * margin) if pace is not None else None
    if (
        few and QUICK_MS
    ):  # few rows last time (or never asked): the whole query is cheapest, if it stays quick
        try:
            take({"$lte": cap} if cap is not None else None, limit_ms=QUICK_MS)
        except ExecutionTimeout:
            rows.clear()
        else:
            _remember(key, kind, rows, start, None, True, need)
            return rows[:need]
    if cap is None:
        take(None)  # no due date: matched by null, never by a date range; $lte excludes it too
    lo, floor = start, None  # floor: the lower bound of the next window; the first window has none
    if cap is not None and lo > cap:
        take({"$lt": lo})
    while len(rows) < need and not (cap is not None and lo > cap):
        if width is not None:
            hi = lo + width if width < _LAST - lo else _LAST
        elif lo < now - timedelta(hours=1):
            hi = now - (now - lo) / 4  # nothing found yet: close in on now, where due dates cluster
        else:
            width = timedelta(hours=1)
            hi = lo + width
        # The first window also holds what is due before the hint's start: one query, not two.
        if hi >= _LAST or (cap is not None and hi > cap):
            take({"$gte": floor} if floor is not None else {"$lte": _END})
            read_to: datetime | None = None  # to the end
            break
        found = take({"$gte": floor, "$lt": hi} if floor is not None else {"$lt": hi})
        if found or width is not None:
            # Sized for the rows still missing at this window's density, but for no fewer than a
            # quarter page: one row short, a window sized for one row came back empty about a time
            # in four, and a query costs more than a few rows more.
            missing = max(need - len(rows), need / 4)
            width = max(
                timedelta(seconds=1), (hi - lo) * (4 if not found else min(8.0, 1.25 * missing / found))
            )
        lo = floor = hi
    else:
        read_to = lo
    _remember(key, kind, rows, start, read_to, read_to is None and len(rows) <= need, need)
    return rows[:need]


def _kind(query: dict) -> str | None:
    """The hint key shared by queries alike but for whom they are (one therapist's "staff:<id>" and
    another's, one client's and another's), or None for a query naming nobody.

    A person's first page after a start has no hint of its own; without one a large queue is first
    tried whole (wasted: it overruns QUICK_MS) and then found window by window from _FAR back, up to
    ~10 queries. The last hint of a query of the same kind is a far better first guess, and only a
    guess: the windows still cover every due date, and the page's own hint replaces it."""
    parts, named = [], False
    for field, value in sorted(query.items()):
        if isinstance(value, ObjectId):
            value, named = "*", True
        elif isinstance(value, str) and ":" in value:
            value, named = value.split(":", 1)[0] + ":*", True
        parts.append((field, value))
    return f"like {parts!r}" if named else None


def _remember(
    key: str, kind: str | None, rows: list[dict], start: datetime, end: datetime | None, few: bool, need: int
) -> None:
    """Hint the next read of `key` (and the first of another of its kind) with what this one found:
    `rows` in order, read up to `end` (None: all)."""
    dated = [aware(r["due_at"]) for r in rows[:need] if r.get("due_at") is not None]
    first = dated[0] if dated else start
    if len(HINTS) > 4096:
        HINTS.clear()
    pace = None
    if end is not None and end > first:
        # The due dates the page needed, not how far the last window reached past them (a window
        # much wider than the page would be read again and again).
        span = dated[-1] - first if dated and len(rows) >= need else end - first
        pace = max(span, timedelta(minutes=1)) / max(len(dated), 1)
    HINTS[key] = (first, pace, few)
    if kind is not None:
        HINTS[kind] = HINTS[key]
