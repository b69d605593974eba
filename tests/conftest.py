"""Fixtures: the real embedded database (SecantusDB) and the bundled redis-server,
started once per test session; every test gets emptied collections.

Helpers in the CTFd style: `make_staff`, `make_client`, `login_as`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from engine import config as config_mod
from engine import db, embedded, wiring


@pytest.fixture(scope="session")
def services():
    """SecantusDB and redis-server, each on a free port, data in a temp dir.

    pytest-xdist workers each get their own pair (the storage path is locked by
    one server process).
    """
    root = Path(tempfile.mkdtemp(prefix="portico-test-"))
    mongo = embedded.start_mongodb(root, log=root / "mongodb.log", sync_on_commit=False)
    redis = embedded.start_redis(root, log=root / "redis.log")
    yield {"mongodb": mongo, "redis": redis, "root": root}
    redis.stop()
    mongo.stop()


@pytest.fixture(scope="session")
def settings(services) -> config_mod.Settings:
    root = services["root"]
    env = {
        "PORTICO_ENV": "development",
        "PORTICO_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "PORTICO_MONGODB_URI": services["mongodb"].url,
        "PORTICO_BROKER_URL": services["redis"].url,
        "PORTICO_DATA_DIR": str(root / "data"),
        "PORTICO_LOG_LEVEL": "WARNING",
    }
    s = config_mod.load(env)
    config_mod.install(s)
    db.connect(s.mongodb_uri)
    db.ensure_indexes()
    wiring.wire()  # what every process does at start (engine/wiring.py)
    os.environ.update({k: v for k, v in env.items() if k != "PORTICO_LOG_LEVEL"})
    return s


def _empty_database() -> None:
    database = db.get_db()
    for name in database.list_collection_names():
        if not name.startswith("system."):
            database[name].delete_many({})


@pytest.fixture()
def clean_db(settings):
    """An empty database (indexes kept) and an empty Redis."""
    _empty_database()
    import redis

    redis.Redis.from_url(settings.broker_url).flushdb()
    yield db.get_db()


@pytest.fixture()
def app(settings, clean_db):
    from web.app import create_app

    application = create_app(settings)
    application.config.update(TESTING=True)
    return application


@pytest.fixture()
def client(app):
    return app.test_client()
