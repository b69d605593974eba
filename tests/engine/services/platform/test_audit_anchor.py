"""`portico audit anchor` and `portico audit verify --anchor`: the chain's head kept outside the
database catches what the chain alone cannot (rows cut off its end, an end rewritten with the key)."""

from __future__ import annotations

import re

import pytest

from engine import config
from engine.authz import SYSTEM
from engine.cli import main
from engine.models.audit import AuditEvent
from engine.services.platform import audit


@pytest.fixture()
def chain(settings, clean_db):
    """Five audit rows; the settings are put back after each command (the CLI installs its own)."""
    for n in range(5):
        audit.record(SYSTEM, "client_record_viewed", client=f"client-{n}")
    yield
    config.install(settings)


def _anchor(path, capsys) -> str:
    assert main(["audit", "anchor", "--file", str(path)]) == 0
    printed = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\S+ seq=5 mac=[0-9a-f]{64}", printed), printed
    assert path.read_text() == printed + "\n"
    return printed


def test_hole12_audit_anchor_detects_deleted_tail(chain, tmp_path, capsys):
    """Rows deleted from the end still verify as a chain; does verifying against an anchor catch it?"""
    anchors = tmp_path / "anchors.txt"
    _anchor(anchors, capsys)
    assert main(["audit", "verify", "--anchor", str(anchors)]) == 0
    assert capsys.readouterr().out.strip() == "ok 5 rows, 1 anchors hold"
    AuditEvent._get_collection().delete_many({"seq": {"$gte": 4}})
    assert main(["audit", "verify"]) == 0  # the shortened chain is whole: only the anchor can tell
    capsys.readouterr()
    assert main(["audit", "verify", "--anchor", str(anchors)]) == 1
    out = capsys.readouterr().out
    assert "seq=4" in out and "missing" in out, out


def test_hole12_audit_anchor_detects_replaced_tail(chain, tmp_path, capsys):
    """Someone holding the key deletes the last rows and chains new ones in their place: is it caught?"""
    anchors = tmp_path / "anchors.txt"
    _anchor(anchors, capsys)
    AuditEvent._get_collection().delete_many({"seq": {"$gte": 3}})
    for n in range(4):
        audit.record(SYSTEM, "client_record_viewed", client=f"someone-else-{n}")
    assert audit.verify().ok  # correctly chained with the key
    assert main(["audit", "verify", "--anchor", str(anchors)]) == 1
    out = capsys.readouterr().out
    assert "seq=5" in out and "replaced" in out, out


def test_anchors_append_and_all_are_checked(chain, tmp_path, capsys):
    """Does --file append one line per anchor, and does verify check every one of them?"""
    anchors = tmp_path / "anchors.txt"
    first = _anchor(anchors, capsys)
    audit.record(SYSTEM, "client_record_viewed", client="client-6")
    assert main(["audit", "anchor", "--file", str(anchors)]) == 0
    second = capsys.readouterr().out.strip()
    assert anchors.read_text().splitlines() == [first, second] and "seq=6" in second
    assert main(["audit", "verify", "--anchor", str(anchors)]) == 0
    assert capsys.readouterr().out.strip() == "ok 6 rows, 2 anchors hold"


def test_anchor_of_an_empty_chain_and_a_missing_anchor_file(settings, clean_db, tmp_path, capsys):
    """Does anchoring an empty chain say so (exit 1), and is an unreadable anchor file refused (exit 2)?"""
    try:
        assert main(["audit", "anchor"]) == 1
        assert "empty" in capsys.readouterr().err
        assert main(["audit", "verify", "--anchor", str(tmp_path / "nope.txt")]) == 2
        assert "cannot read the anchor file" in capsys.readouterr().err
        (tmp_path / "blank.txt").write_text("nothing here\n")
        assert main(["audit", "verify", "--anchor", str(tmp_path / "blank.txt")]) == 2
    finally:
        config.install(settings)
