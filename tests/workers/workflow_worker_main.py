"""A Dramatiq worker process for tests: PORTICO_* from the environment, workflow actors, N threads.

    python tests/workers/workflow_worker_main.py [threads]

Runs until killed (the tests kill -9 it on purpose), or until the test process that started it is
gone: a test that fails or times out half-way must not leave workers behind.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    from dramatiq import Worker

    from workers.broker import setup_from_environment

    parent = os.getppid()
    broker = setup_from_environment()
    worker = Worker(
        broker,
        queues={"workflow", "workflow.DQ"},
        worker_threads=int(sys.argv[1]) if len(sys.argv) > 1 else 4,
    )
    worker.start()
    print("ready", flush=True)
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main()
