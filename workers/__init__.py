"""Dramatiq actors: thin adapters that call engine services, taking ids, never objects.

Importing this package imports every actor module in it (each module here not
starting with "_", except `broker`), so a new module needs no registration.
The broker is set up by workers.broker (see there).
"""

from __future__ import annotations

import importlib
import pkgutil

import workers.broker  # noqa: F401 - installs the placeholder broker before any actor is declared


def _import_actor_modules() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.name.startswith("_") and info.name != "broker":
            importlib.import_module(f"{__name__}.{info.name}")


_import_actor_modules()
