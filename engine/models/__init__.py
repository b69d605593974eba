"""MongoEngine documents, one module per aggregate.

`all_documents()` lists every document class so that indexes can be created
at start-up and tests can empty every collection between cases.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A datetime in UTC with its zone: one read back naive (a driver without tz_aware) is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def all_documents() -> list[type[me.Document]]:
    """Every concrete Document class that has been imported (import the models package first)."""
    import importlib
    import pkgutil

    import engine.models as pkg  # this package itself, to walk its modules

    # Every module of this package is imported, so a new aggregate needs no registration.
    for info in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"engine.models.{info.name}")

    seen: list[type[me.Document]] = []
    stack = list(me.Document.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not cls._meta.get("abstract") and cls not in seen:
            seen.append(cls)
    return seen
