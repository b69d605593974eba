"""Backup and restore: one archive holding every collection (documents live in GridFS, so they come along).

Archive (tar.gz):
    manifest.json          format, database, time, consistency, per-collection count/sha256/indexes
    db/<collection>.bson   the documents, concatenated BSON (the format mongodump writes)
    secret.json            only in development, where the secret key lives in the data dir

Consistency: every collection is read in one snapshot session (MongoDB 5+ replica sets and the
embedded development server); a server without snapshot reads falls back to one read-only transaction,
and the manifest records which was used. Production keeps PORTICO_SECRET_KEY outside the archive
on purpose: a stolen backup must not carry the key that decrypts its files.

Raises BackupError (a PorticoError) for a damaged archive or a non-empty target.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
from pymongo.database import Database
from pymongo.errors import OperationFailure
from pymongo.read_concern import ReadConcern

from engine.errors import PorticoError

FORMAT = "portico-backup/1"
BATCH = 500
_INDEX_OPTIONS = ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression", "collation")


class BackupError(PorticoError):
    status = 422
    code = "backup_invalid"


@dataclass
class Summary:
    collections: dict[str, int]
    consistency: str
    path: Path | None = None

    @property
    def documents(self) -> int:
        return sum(self.collections.values())


def _collections(database: Database) -> list[str]:
    return sorted(n for n in database.list_collection_names() if not n.startswith("system."))


def _index_specs(database: Database, name: str) -> list[dict]:
    specs = []
    for index_name, info in database[name].index_information().items():
        if index_name == "_id_":
            continue
        spec = {"name": index_name, "key": [list(k) for k in info["key"]]}
        spec.update({k: info[k] for k in _INDEX_OPTIONS if k in info})
        specs.append(spec)
    return specs


def _snapshot_reads(database: Database):
    """A context manager yielding a session whose reads all see one moment, and its name."""
    client = database.client
    try:
        session = client.start_session(snapshot=True)
        database.command("ping", session=session)
        return session, "snapshot"
    except (OperationFailure, ValueError, TypeError):
        session = client.start_session()
        session.start_transaction(read_concern=ReadConcern("snapshot"))
        return session, "transaction"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def backup(
    database: Database, target: Path, *, data_dir: Path | None = None, include_secret: bool = False
) -> Summary:
    """Write every collection of `database` to the archive `target` (written beside, then renamed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "database": database.name,
        "created_at": datetime.now(UTC).isoformat(),
        "collections": {},
    }
    session, consistency = _snapshot_reads(database)
    manifest["consistency"] = consistency
    counts: dict[str, int] = {}
    try:
        with tarfile.open(partial, "w:gz") as tar:
            for name in _collections(database):
                digest, count = hashlib.sha256(), 0
                with tempfile.TemporaryFile() as spool:
                    for doc in database[name].find({}, session=session).sort("_id", 1):
                        raw = bson.encode(doc)
                        spool.write(raw)
                        digest.update(raw)
                        count += 1
                    size = spool.tell()
                    spool.seek(0)
                    info = tarfile.TarInfo(f"db/{name}.bson")
                    info.size = size
                    tar.addfile(info, spool)
                counts[name] = count
                manifest["collections"][name] = {
                    "count": count,
                    "sha256": digest.hexdigest(),
                    "indexes": _index_specs(database, name),
                }
            secret = Path(data_dir) / "secret.json" if include_secret and data_dir else None
            if secret is not None and not secret.exists():
                secret = None
            manifest["secret_included"] = secret is not None
            if secret is not None:
                _add_bytes(tar, "secret.json", secret.read_bytes())
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1, default=str).encode())
    finally:
        if session.in_transaction:
            session.abort_transaction()
        session.end_session()
    partial.replace(target)
    return Summary(counts, consistency, target)


def read_manifest(archive: Path) -> dict:
    """The archive's manifest; BackupError when it is not a Portico backup."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else None
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"{archive} is not a readable Portico backup: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a {FORMAT} archive")
    return manifest


def _documents(raw: bytes) -> Iterator[dict]:
    return iter(bson.decode_all(raw))


def restore(
    database: Database, archive: Path, *, data_dir: Path | None = None, force: bool = False
) -> Summary:
    """Load `archive` into `database`, which must be empty unless `force` (then its collections are replaced).

    Call engine.db.ensure_indexes() first: indexes the models declare keep their own options, and
    only the archive's other indexes (GridFS's, for one) are created here.
    """
    manifest = read_manifest(archive)
    busy = [n for n in _collections(database) if database[n].estimated_document_count()]
    if busy and not force:
        raise BackupError(
            f"the target database is not empty ({', '.join(busy[:5])}…); restore needs an empty one"
        )
    counts: dict[str, int] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for name, meta in manifest["collections"].items():
            member = tar.extractfile(f"db/{name}.bson")
            raw = member.read() if member else b""
            if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
                raise BackupError(f"collection {name} in {archive} is damaged (checksum mismatch)")
            if name in database.list_collection_names():
                database[name].delete_many({})  # keeps indexes the application already declared
            else:
                database.create_collection(name)  # an empty collection is part of the backup too
            batch: list[dict] = []
            for doc in _documents(raw):
                batch.append(doc)
                if len(batch) >= BATCH:
                    database[name].insert_many(batch, ordered=False)
                    batch = []
            if batch:
                database[name].insert_many(batch, ordered=False)
            existing = set(database[name].index_information())
            for spec in meta.get("indexes", []):
                if spec["name"] in existing:
                    continue  # declared by a model and created by ensure_indexes, with its own options
                options = {k: spec[k] for k in _INDEX_OPTIONS if k in spec}
                database[name].create_index([tuple(k) for k in spec["key"]], name=spec["name"], **options)
            counts[name] = database[name].count_documents({})
            if counts[name] != meta["count"]:
                raise BackupError(f"collection {name}: restored {counts[name]} of {meta['count']} documents")
        if manifest.get("secret_included") and data_dir is not None:
            _restore_secret(tar, Path(data_dir))
    return Summary(counts, manifest.get("consistency", ""))


def _restore_secret(tar: tarfile.TarFile, data_dir: Path) -> None:
    """Put the development secret back, so encrypted files and the audit chain verify again."""
    target = data_dir / "secret.json"
    member = tar.extractfile("secret.json")
    if member is None:
        return
    data = member.read()
    if target.exists() and target.read_bytes() != data:
        raise BackupError(f"{target} holds a different secret; move it away to restore this backup's")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=data_dir, delete=False) as tmp:
        tmp.write(data)
    shutil.move(tmp.name, target)
    target.chmod(0o600)
