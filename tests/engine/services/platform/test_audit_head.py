"""Appending finds the chain's head from a remembered seq (SecantusDB sorts a whole collection for
"highest seq"): whatever that remembered seq says, the next row goes right after the real head."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from engine.authz import SYSTEM
from engine.models.audit import AuditEvent
from engine.services.platform import audit

ROOT = Path(__file__).resolve().parents[4]


def _append_seq() -> int:
    return audit.record(SYSTEM, "client_record_viewed").seq


def _chain(n: int) -> None:
    for _ in range(n):
        _append_seq()


@pytest.mark.parametrize("length", [0, 1, 2, 7, 64])
def test_next_row_follows_the_real_head_whatever_this_process_remembers(clean_db, length):
    """Does a row get seq = head + 1 when the remembered seq is unknown (a new process), behind the
    head (other processes appended since), at it, or beyond it (the chain was emptied or restored)?"""
    _chain(length)
    coll = AuditEvent._get_collection()
    for remembered in sorted({0, 1, length // 2, length, length + 1, length + 50}):
        audit._seen_seq = remembered
        assert _append_seq() == length + 1, f"remembered {remembered}"
        coll.delete_one({"seq": length + 1})
    result = audit.verify()
    assert result.ok and result.rows == length


def test_a_chain_emptied_under_a_process_starts_again_at_one(clean_db):
    """After the rows this process wrote are gone (restore of an empty backup), does the chain restart at 1 and verify?"""
    _chain(5)
    AuditEvent._get_collection().delete_many({})
    assert _append_seq() == 1
    _chain(2)
    result = audit.verify()
    assert result.ok and result.rows == 3


def test_restored_older_chain_is_continued_not_forked(clean_db):
    """After a restore to an older, shorter chain, does the next row continue that chain (verify still passes)?"""
    _chain(12)
    AuditEvent._get_collection().delete_many({"seq": {"$gt": 4}})
    assert _append_seq() == 5
    assert audit.verify().ok


def test_a_gap_does_not_make_a_row_reuse_a_seq(clean_db):
    """With a row missing in the middle (which verify reports), does a new process still append after the last row?"""
    _chain(9)
    AuditEvent._get_collection().delete_one({"seq": 3})
    audit._seen_seq = 0
    assert _append_seq() == 10
    assert audit.verify().first_bad_seq == 3


def test_each_caller_gets_its_own_row_when_appends_are_grouped(clean_db):
    """With many threads appending at once (their events stored in groups), does each caller get back
    the row holding its own event, and does the chain stay unbroken?"""
    returned: list[tuple[int, int, int]] = []

    def write(t: int) -> None:
        for i in range(15):
            event = audit.record(SYSTEM, "client_record_viewed", details={"t": t, "i": i})
            returned.append((event.seq, t, i))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    details = audit.STORED_KEYS["details"]
    stored = {
        doc["seq"]: (doc[details]["t"], doc[details]["i"]) for doc in AuditEvent._get_collection().find()
    }
    assert sorted(seq for seq, _, _ in returned) == list(range(1, 121))
    assert all(stored[seq] == (t, i) for seq, t, i in returned)
    result = audit.verify()
    assert result.ok and result.rows == 120, result.reason


@pytest.mark.timeout(180)
def test_processes_racing_with_grouped_appends_keep_one_chain(clean_db, tmp_path):
    """Do two processes, each appending from four threads at once, build one gap-free chain that
    verifies, each seq handed to exactly one caller?"""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/engine/services/platform/audit_writers_main.py"),
                "4",
                "25",
                str(go),
            ],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    seqs = [int(line) for p in procs for line in p.communicate(timeout=150)[0].split()]
    assert sorted(seqs) == list(range(1, 201))
    result = audit.verify()
    assert result.ok and result.rows == 200, result.reason
