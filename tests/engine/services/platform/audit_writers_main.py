"""Audit appends from a separate process (for the cross-process chain test).

    python tests/engine/services/platform/audit_writers_main.py <threads> <events per thread> <go file>

Connects with PORTICO_* from the environment, waits until <go file> exists, appends the events
from that many threads at once and prints the seq each append returned, one per line.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))


def main() -> None:
    from engine import config, db
    from engine.authz import SYSTEM
    from engine.services.platform import audit

    threads, events, go = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    settings = config.install(config.load(dict(os.environ, PORTICO_LOG_LEVEL="ERROR")))
    db.connect(settings.mongodb_uri)
    seqs: list[int] = []

    def write(n: int) -> None:
        for i in range(events):
            seqs.append(
                audit.record(SYSTEM, "client_record_viewed", details={"pid": os.getpid(), "t": n, "i": i}).seq
            )

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print("\n".join(str(s) for s in seqs), flush=True)


if __name__ == "__main__":
    main()
