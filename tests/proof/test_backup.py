"""`portico backup` and `portico restore`: a dump of the database and documents, restored into an
empty data directory, holds every record, decrypts every file and keeps the audit chain intact."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo import MongoClient

from engine import backup, db, embedded
from engine.authz import SYSTEM
from engine.services.platform import audit, files
from tests.helpers import make_client, make_staff

ROOT = Path(__file__).resolve().parents[2]


def _portico(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    environ = {k: v for k, v in environ.items() if v is not None and v != ""}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        env=environ,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _dump(database) -> dict[str, list]:
    return {
        name: list(database[name].find({}).sort("_id", 1))
        for name in sorted(database.list_collection_names())
        if not name.startswith("system.")
    }


def test_backup_restores_into_an_empty_data_dir_with_everything(clean_db, settings, tmp_path):
    """After backup and restore into an empty data dir, are all records, the file and the audit chain there?"""
    person = make_client(email="restore@example.org")
    make_staff(roles=("org_admin",))
    stored = files.store_file(
        b"%PDF-1.4 consent form", filename="consent.pdf", purpose="document", client_id=person.id
    )
    for i in range(3):
        audit.record(SYSTEM, "client_record_viewed", client=person, object_type="client", object_id=str(i))
    if "proof_empty" not in clean_db.list_collection_names():
        clean_db.create_collection("proof_empty")  # an empty collection must come back too
    before = _dump(clean_db)

    archive = tmp_path / "portico.tar.gz"
    done = _portico("backup", str(archive))
    assert done.returncode == 0, done.stderr
    assert backup.read_manifest(archive)["consistency"] in ("snapshot", "transaction")

    empty = tmp_path / "fresh-data"
    done = _portico("restore", str(archive), PORTICO_MONGODB_URI="", PORTICO_DATA_DIR=str(empty))
    assert done.returncode == 0, done.stderr + done.stdout

    server = embedded.start_mongodb(empty)  # the restored data dir, opened afresh
    try:
        restored = MongoClient(server.url, tz_aware=True, uuidRepresentation="standard")[db.DEFAULT_DB]
        assert _dump(restored) == before
        verified = _portico("audit", "verify", PORTICO_MONGODB_URI=server.url)
        assert verified.returncode == 0 and verified.stdout.startswith("ok 3 rows"), verified.stdout
        db.connect(server.url)
        try:
            data, meta = files.read_file(stored.id)
        finally:
            db.connect(settings.mongodb_uri)
        assert data == b"%PDF-1.4 consent form" and meta.filename == "consent.pdf"
    finally:
        server.stop()


def test_restore_refuses_a_non_empty_database_and_a_damaged_archive(clean_db, tmp_path):
    """Does restore refuse to overwrite data, and refuse an archive whose bytes changed?"""
    make_client()
    archive = tmp_path / "b.tar.gz"
    backup.backup(clean_db, archive)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(clean_db, archive)
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(backup.BackupError, match="not a readable"):
        backup.read_manifest(tmp_path / "junk.tar.gz")
