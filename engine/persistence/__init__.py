"""The one seam between Portico and its database: every database specific lives here.

Portico runs on MongoDB in production and on SecantusDB in development and in the tests: the
embedded server `portico up` starts when PORTICO_MONGODB_URI is unset (engine/embedded.py), which
speaks MongoDB's wire protocol over WiredTiger storage. What the code does is right on both; what
it costs is not. Code elsewhere says what it needs ("one query per case", "a guarded update, not
findAndModify") and points here; why is written once, below. Nothing outside this package calls
MongoEngine's private API for a collection or a raw row: `collection(Document)`,
`collection_name(Document)` and `document(Document, row)`.

Helpers
    collection(Document), collection_name(Document)   the pymongo collection of a document class
    document(Document, row)          the document instance of a row read through it
    update_then_read (claims.py)     a claim: a guarded update_one, then a read by _id
    commit_writes, update_many, Write, GuardFailed, is_duplicate_key (transactions.py)
                                     writes committed together, guards, idempotent inserts

Costs of SecantusDB that shape the code (measured on the development machine; figures from
its Python server, which uses at most one core whatever the number of clients)

Round trips
    Every round trip counts: ping ~0.3 ms, a find by _id ~0.4 ms, a find plus a compare-and-set
    update of an 8 KB document ~1 ms. An update of a document in a collection with 5 secondary
    indexes costs ~3.5 ms of its CPU (~1.1 ms with none): every index costs on every write. So a
    workflow step reads once and saves with one compare-and-set update_one
    (engine/workflow/store.py), and due timers fire in batches of one query per kind of row and
    one transaction (engine/workflow/timers.py).

Top-level `$or`
    Any filter with a top-level `$or` scans the whole collection, whatever indexes its branches
    could use: an instance save filtered on "no lease, or an expired one" as an `$or` cost
    ~270 ms at 20,000 instances instead of ~2 ms. So code writes one query per case (the
    scheduler's due timers and sendable outbox rows, the mail and webhook retry sweeps), a guarded
    update per claimable state (mail and webhook delivery claims, the invoice payment lock), two
    deletes rather than one (an appointment's slot claims when it moves), `{"$not": {"$gte": now}}`
    for "none, null or expired" (instance leases, outbox claims: store._free), or fetches a row by
    id and judges it in Python (a task's visibility rule).

findAndModify
    Every findAndModify (find_one_and_update, find_one_and_delete, MongoEngine's modify) scans
    the whole collection whatever its filter: ~140 ms against ~1 ms for an update_one and a
    find_one by _id at 20,000 documents. So a claim is `update_then_read`, and a sweep takes its
    candidates from an index first and claims each by a guarded update by _id (appointment
    reminders). The findAndModify calls that remain (a counter's upsert-and-read, which must be one
    step; appointment changes; message-thread numbers; mail status marks) pay that scan. A new submission is inserted (`save(force_insert=True)`): MongoEngine saves a new
    document that already has its id with a find_one_and_replace, a findAndModify.

Sort before limit
    A query reads, fetches and sorts every row matching an index's equality prefix before a limit
    applies; a range on the sorted field costs only the rows inside it. "Sort by seq descending,
    take one" for the audit chain's head cost ~60 ms at 2,000 rows and ~330 ms at 10,000, on every
    append; it is read as "the highest seq at or above one this process has seen"
    (engine/services/platform/audit.py). The inbox reads its first rows window by window in (due_at, _id)
    order (engine/services/inbox/task_windows.py), never as "the first N rows sorted".

`$in` with a range
    An index is bounded by an `$in` only when the query has no range on another field; with one
    (`$in` on the audience plus a due_at range) every row of the prefix is read. So the inbox asks
    one filter per audience key (engine/services/inbox/tasks.py inbox_queries), and reads a query that
    holds an `$in` whole, its rows being few (task_windows.first_rows).

updateMany against an open transaction
    A plain updateMany that meets another transaction's uncommitted write is retried by the server
    while it holds the collection's lock, so that transaction can never write the collection again
    to commit: both wait forever (seen with timer claims against a batch of firings). Inside a
    transaction the conflict is reported at once instead, and retried: `update_many` is that, for
    every multi-document update of a collection that transactions write.

Transactions
    Multi-document transactions and client bulk writes (one bulkWrite command for several
    collections, as MongoDB has from 8.0) work, and are the cheapest way to commit several writes
    at once: `commit_writes` sends them in one command, then commits. The server also reports a
    write conflict between inserts of different documents of one collection now and then, so a
    conflicting attempt is tried again a few times before it is given up.

Retryable writes
    SecantusDB keeps a record of each retryable write for 30 minutes and scans them all (past
    10,000, sorts them) on every retryable write: a small update went from ~0.7 ms to 6.6-8.8 ms
    after a few minutes of load (~150 writes/s). The records live in its memory and vanish with a
    restart, so they buy nothing against it: its URI says `retryWrites=false`
    (engine/embedded.py). A real MongoDB keeps the driver's default.

Snapshot reads
    Both MongoDB 5+ replica sets and SecantusDB read in a snapshot session, which backups use
    (engine/backup.py). SecantusDB has no replica sets, text indexes or `$where`.
"""

from __future__ import annotations

from typing import Any

from mongoengine import Document

from engine.persistence.claims import update_then_read
from engine.persistence.transactions import (
    DUPLICATE_KEY,
    GuardFailed,
    Write,
    commit_writes,
    is_duplicate_key,
    model,
    runs,
    update_many,
)

__all__ = [
    "DUPLICATE_KEY",
    "GuardFailed",
    "Write",
    "collection",
    "collection_name",
    "commit_writes",
    "document",
    "is_duplicate_key",
    "model",
    "runs",
    "update_many",
    "update_then_read",
]


def collection(document: type[Document]) -> Any:
    """The pymongo collection of a MongoEngine document class (connected on first use).

    Typed Any, as MongoEngine's own accessor is: its rows are plain dicts, and a typed Collection
    would make every find_one's row Optional at call sites that were written for MongoEngine's.
    """
    return document._get_collection()


def document(model: type[Document], row: dict) -> Any:
    """The `model` instance of a raw row read through `collection` (as MongoEngine loads its own)."""
    return model._from_son(row)


def collection_name(document: type[Document]) -> str:
    """The name of a MongoEngine document class's collection (for a Write or a `$lookup`)."""
    return document._get_collection_name()
