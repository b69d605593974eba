"""Connection to MongoDB (or the embedded development server, which speaks its wire protocol).

Reads and writes that need more than MongoEngine's documents go through engine.persistence.
"""

from __future__ import annotations

from urllib.parse import urlparse

import mongoengine
from pymongo.database import Database

from engine.models import all_documents

DEFAULT_DB = "portico"


def database_name(uri: str) -> str:
    path = urlparse(uri).path.strip("/")
    return path or DEFAULT_DB


def connect(uri: str, *, db: str | None = None) -> Database:
    """Connect MongoEngine's default alias to `uri` (idempotent) and return the database.

    Connections are made lazily by pymongo, so a forked worker must call this
    again after the fork (mongoengine.disconnect first) — `reconnect` does that.
    """
    name = db or database_name(uri)
    mongoengine.disconnect()
    mongoengine.connect(
        host=uri, db=name, uuidRepresentation="standard", tz_aware=True, serverSelectionTimeoutMS=5000
    )
    return mongoengine.get_db()


def get_db() -> Database:
    return mongoengine.get_db()


def ensure_indexes() -> None:
    """Create the declared indexes of every document class (safe to repeat)."""
    for doc in all_documents():
        doc.ensure_indexes()
