"""Writes committed together: one transaction, all of them or none (see engine.persistence,
"Transactions" and "updateMany").

A Write is plain data, so that layers above can add their rows (an audit entry, say) to a
transaction a layer below commits.
"""

from __future__ import annotations

import random
import time

from pymongo import DeleteOne, InsertOne, UpdateMany, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ClientBulkWriteException, OperationFailure, PyMongoError

from engine.db import get_db

# A write to commit with others: (collection name, "insert" | "update_one" | "update_many" |
# "delete_one", arguments as pymongo's InsertOne/UpdateOne/UpdateMany/DeleteOne take them).
Write = tuple[str, str, dict]
_MODELS = {"insert": InsertOne, "update_one": UpdateOne, "update_many": UpdateMany, "delete_one": DeleteOne}
DUPLICATE_KEY = 11000
_CLIENT_BULK_WIRE_VERSION = 25  # MongoDB 8.0: one bulkWrite command may write to several collections
_WRITE_CONFLICT = "TransientTransactionError"


class GuardFailed(Exception):
    """A guard write of a transaction matched nothing (or another transaction wrote the same document
    first): nothing was committed. `failed`: the indexes of the guards that matched nothing (empty
    after a write conflict, which names none)."""

    def __init__(self, failed: list[int] | None = None):
        super().__init__(f"guard writes matched nothing: {failed}")
        self.failed = failed or []


_CONFLICT_RETRIES = 8


def commit_writes(writes: list[Write], *, guards: list[int] = ()) -> list[int]:  # type: ignore[assignment]
    """Commit `writes` in order as one transaction: all of them, or none. Returns how many documents
    each write matched (inserted, deleted).

    guards: indexes of updates whose filters are compare-and-set guards; if one matches nothing,
    nothing is committed and GuardFailed is raised. Where the server takes one bulkWrite command for
    several collections (the embedded server does; MongoDB from 8.0), the writes travel in that one
    command, then the commit: two round trips and one durable commit whatever their number.

    A write conflict (another transaction wrote a document or index entry this one writes; the
    embedded server also reports some between inserts of different documents) aborts the attempt;
    the same writes are tried again a few times, their guards judged afresh, before GuardFailed
    (guarded) or the conflict (unguarded) is raised.
    """
    for attempt in range(_CONFLICT_RETRIES):
        if attempt:
            time.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311 - jitter, not a secret
        try:
            return _commit_once(writes, guards)
        except PyMongoError as exc:
            if not _write_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                if guards and _write_conflict(exc):
                    raise GuardFailed() from exc
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def update_many(collection: str, query: dict, update: dict) -> int:
    """update_many as a transaction of its own; how many documents it matched.

    Use it for every multi-document update of a collection that transactions write: a plain
    updateMany can deadlock against an open transaction on the embedded server (engine.persistence,
    "updateMany"); inside a transaction the conflict is reported at once instead, and retried here.
    """
    return commit_writes([(collection, "update_many", {"filter": query, "update": update})])[0]


def _commit_once(writes: list[Write], guards) -> list[int]:
    client = get_db().client
    with client.start_session() as session:
        session.start_transaction()
        try:
            matched = _run(get_db(), writes, session, set(guards))
            failed = [i for i in guards if not matched[i]]
            if failed:
                raise GuardFailed(failed)
        except BaseException:
            session.abort_transaction()
            raise
        _commit(session)
        return matched


def _write_conflict(exc: BaseException) -> bool:
    """Whether another transaction wrote a document this one wrote (the client bulk write wraps it)."""
    if isinstance(exc, ClientBulkWriteException) and isinstance(exc.error, PyMongoError):
        exc = exc.error
    return isinstance(exc, PyMongoError) and exc.has_error_label(_WRITE_CONFLICT)


def _commit(session) -> None:
    """Commit, retrying only while the outcome is unknown (the driver's own rule for commits)."""
    for attempt in range(3):
        try:
            session.commit_transaction()
            return
        except PyMongoError as exc:
            if attempt == 2 or not exc.has_error_label("UnknownTransactionCommitResult"):
                raise


def _run(database: Database, writes: list[Write], session, guards: set[int]) -> list[int]:
    """Send `writes` inside the session's transaction; for each, how many documents it matched."""
    if not writes:
        return []
    client = database.client
    if (client.topology_description.common_wire_version or 0) >= _CLIENT_BULK_WIRE_VERSION:
        models = [_MODELS[kind](**args, namespace=f"{database.name}.{name}") for name, kind, args in writes]
        try:
            result = client.bulk_write(models, session=session, ordered=True, verbose_results=True)
        except ClientBulkWriteException as exc:
            # A write after a guard that matched nothing may fail on a unique index: the rows it adds
            # were just added by the writer that won the race. The lost guard is the answer.
            partial = exc.partial_result
            answered = partial.update_results if partial is not None and partial.has_verbose_results else {}
            lost = [i for i in sorted(guards) if i in answered and not answered[i].matched_count]
            if lost:
                raise GuardFailed(lost) from exc
            raise
        updates, inserts, deletes = result.update_results, result.insert_results, result.delete_results
        return [
            int(i in inserts)
            if kind == "insert"
            else (deletes[i].deleted_count if i in deletes else 0)
            if kind == "delete_one"
            else (updates[i].matched_count if i in updates else 0)
            for i, (_name, kind, _args) in enumerate(writes)
        ]
    # Older servers: one bulk write per run of writes to the same collection, in order; a guard's
    # answer is known only for a run of one write, so each guard travels alone.
    matched: list[int] = []
    start = 0
    while start < len(writes):
        end = start + 1
        while (
            end < len(writes)
            and writes[end][0] == writes[start][0]
            and start not in guards
            and end not in guards
        ):
            end += 1
        run = database[writes[start][0]].bulk_write(
            [_MODELS[kind](**args) for _name, kind, args in writes[start:end]], ordered=True, session=session
        )
        done = run.inserted_count + run.matched_count + run.upserted_count + run.deleted_count
        if start in guards and not done:
            raise GuardFailed([start])  # lost: the writes after it would only collide with the winner's
        # Exact for a run of one (every guard); a longer run's writes each get the run's least answer.
        matched.extend([done if end - start == 1 else int(done >= end - start)] * (end - start))
        start = end
    return matched


def is_duplicate_key(exc: BaseException) -> bool:
    """Whether a bulk write failed (only) on a unique index."""
    errors: list = []
    if isinstance(exc, ClientBulkWriteException):
        errors = [getattr(e, "details", None) or e for e in exc.write_errors or []]
    elif isinstance(exc, BulkWriteError):
        errors = exc.details.get("writeErrors", [])
    else:
        return isinstance(exc, OperationFailure) and exc.code == DUPLICATE_KEY
    return bool(errors) and all(isinstance(e, dict) and e.get("code") == DUPLICATE_KEY for e in errors)


def model(kind: str, args: dict):
    """The pymongo write model of a Write's kind and arguments (for a collection's bulk_write)."""
    return _MODELS[kind](**args)


def runs(writes: list[Write]) -> list[tuple[str, list]]:
    """Consecutive writes to the same collection, as (collection, [(kind, args), ...])."""
    out: list[tuple[str, list]] = []
    for name, kind, args in writes:
        if not out or out[-1][0] != name:
            out.append((name, []))
        out[-1][1].append((kind, args))
    return out
