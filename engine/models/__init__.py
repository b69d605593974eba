"""MongoEngine documents, one module per aggregate.

`all_documents()` lists every document class so that indexes can be created
at start-up and tests can empty every collection between cases.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me


def utcnow() -> datetime:
    return datetime.now(UTC)


def all_documents() -> list[type[me.Document]]:
    """Every concrete Document class that has been imported (import the models package first)."""
    import engine.models.accounts  # noqa: F401
    import engine.models.audit  # noqa: F401
    import engine.models.clients  # noqa: F401
    import engine.models.organization  # noqa: F401

    seen: list[type[me.Document]] = []
    stack = list(me.Document.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls._meta.get("abstract") and cls not in seen:
            seen.append(cls)
    return seen
