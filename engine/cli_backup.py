"""`portico backup ARCHIVE` and `portico restore ARCHIVE`, registered into engine.cli's parser.

With PORTICO_MONGODB_URI set they talk to that database. In development without it they start the
embedded database on PORTICO_DATA_DIR for the duration (stop `portico up` first, or point
PORTICO_MONGODB_URI at the one it printed). Exit 0 on success, 1 on a refused restore/damaged archive.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from engine import config


@contextlib.contextmanager
def _database(settings):
    # Imported here, as in every command (engine/cli.py): `portico --help` loads none of them.
    from engine import db, embedded

    service = None
    uri = settings.mongodb_uri
    if not uri:
        if settings.production:
            raise config.ConfigError("PORTICO_MONGODB_URI must be set in production")
        service = embedded.start_mongodb(Path(settings.data_dir))
        uri = service.url
    try:
        yield db.connect(uri)
    finally:
        if service is not None:
            service.stop()


def cmd_backup(args) -> int:
    from engine import backup

    settings = config.install(config.load())
    with _database(settings) as database:
        summary = backup.backup(
            database, Path(args.archive), data_dir=settings.data_dir, include_secret=not settings.production
        )
    print(
        f"backup {summary.path}: {summary.documents} documents in {len(summary.collections)} collections "
        f"({summary.consistency} read)"
    )
    if settings.production:
        print("PORTICO_SECRET_KEY is not in the archive: keep it separately, files cannot be read without it")
    return 0


def cmd_restore(args) -> int:
    from engine import backup, db

    settings = config.install(config.load())
    try:
        with _database(settings) as database:
            db.ensure_indexes()
            summary = backup.restore(
                database, Path(args.archive), data_dir=settings.data_dir, force=args.force
            )
    except backup.BackupError as exc:
        print(f"portico restore: {exc.message}", file=sys.stderr)
        return 1
    print(f"restored {summary.documents} documents in {len(summary.collections)} collections")
    return 0


def register(sub) -> None:
    """Add the backup and restore subcommands to `portico`'s subparsers."""
    b = sub.add_parser("backup", help="write a consistent archive of the database and documents")
    b.add_argument("archive", help="path of the .tar.gz to write")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="load an archive into an empty database")
    r.add_argument("archive", help="path of the .tar.gz to read")
    r.add_argument("--force", action="store_true", help="replace the collections of a non-empty database")
    r.set_defaults(func=cmd_restore)
