"""The persistence seam stays the one place for database specifics (engine/persistence, issue 13).

Two rules, checked on the source tree: nothing outside engine/persistence/ calls MongoEngine's
private collection API, and nothing outside it names the embedded database, except the code that
starts it (its process, its setting, its start-up line). A workaround's reason belongs in the
seam's docstring; its site says what the code needs and points there.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ("engine", "web", "workers")
SEAM = Path("engine/persistence")
# Where the product genuinely starts the embedded server or offers it as a setting.
STARTS_THE_SERVER = {Path("engine/embedded.py"), Path("engine/config.py"), Path("engine/supervisor.py")}
SKIP_DIRS = {"node_modules", "vendor", "__pycache__"}
TEXT = {".py", ".html", ".js", ".css", ".md", ".txt", ".json", ".toml", ".cfg", ".ini", ".sh"}


def _files(root: Path):
    for tree in TREES:
        for path in sorted((root / tree).rglob("*")):
            rel = path.relative_to(root)
            if path.is_file() and path.suffix in TEXT and not SKIP_DIRS & set(rel.parts):
                yield rel, path.read_text(encoding="utf-8", errors="replace")


def _hits(root: Path, pattern: str, allowed) -> list[str]:
    found = re.compile(pattern, re.IGNORECASE)
    return [
        f"{rel}:{n}: {line.strip()}"
        for rel, text in _files(root)
        if not allowed(rel)
        for n, line in enumerate(text.splitlines(), 1)
        if found.search(line)
    ]


def _in_seam(rel: Path) -> bool:
    return rel.is_relative_to(SEAM)


def private_collection_calls(root: Path = ROOT) -> list[str]:
    return _hits(root, r"_get_collection", _in_seam)


def private_row_loads(root: Path = ROOT) -> list[str]:
    """MongoEngine's private loader of a raw row, outside the seam and the model classes themselves."""
    return _hits(root, r"\._from_son\(", lambda rel: _in_seam(rel) or rel.is_relative_to("engine/models"))


def embedded_database_named(root: Path = ROOT) -> list[str]:
    # By its name anywhere, or as "the embedded database/server" in a comment (a workaround's reason).
    return _hits(
        root, r"secantus|#.*embedded (database|server)", lambda rel: _in_seam(rel) or rel in STARTS_THE_SERVER
    )


def test_the_tree_is_where_the_rules_look():
    """Are the seam and the files that start the server where the rules expect them (so that a move
    cannot make the rules pass by looking at nothing)?"""
    assert (ROOT / SEAM / "__init__.py").is_file()
    assert all((ROOT / rel).is_file() for rel in STARTS_THE_SERVER)
    assert sum(1 for _ in _files(ROOT)) > 100


def test_only_the_seam_calls_private_collection_api():
    """Does nothing in engine/, web/ or workers/ outside engine/persistence call `_get_collection()`
    or `_get_collection_name()` (use persistence.collection / collection_name)?"""
    assert private_collection_calls() == []


def test_only_the_seam_loads_raw_rows_into_documents():
    """Does no service or view call MongoEngine's private `_from_son` (use persistence.document)?"""
    assert private_row_loads() == []


def test_only_the_seam_names_the_embedded_database():
    """Does nothing outside engine/persistence name the embedded database, but the code that starts
    it (a workaround's reason goes into the seam's docstring, its site points there)?"""
    assert embedded_database_named() == []


def test_the_seam_documents_each_workaround():
    """Does the seam's docstring keep a note for each database specific the code works around?"""
    from engine import persistence

    notes = persistence.__doc__ or ""
    for heading in (
        "Round trips",
        "Top-level `$or`",
        "findAndModify",
        "Sort before limit",
        "`$in` with a range",
        "updateMany against an open transaction",
        "Transactions",
        "Retryable writes",
        "Snapshot reads",
    ):
        assert f"\n{heading}\n" in notes, heading
