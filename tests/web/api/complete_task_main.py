"""One HTTP completion of a task from a separate process (for the concurrency test).

    python tests/web/api/complete_task_main.py <task id> <bearer token> <go file>

Builds the app from PORTICO_* in the environment, waits until <go file> exists,
POSTs /api/v1/tasks/<id>/complete and prints the status code.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def main() -> None:
    from engine import config
    from web.app import create_app

    task_id, token, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    app = create_app(config.load(dict(os.environ, PORTICO_LOG_LEVEL="ERROR")))
    client = app.test_client()
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    resp = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"data": {"approved": True}},
        headers={"Authorization": f"Bearer {token}"},
    )
    print(resp.status_code, flush=True)


if __name__ == "__main__":
    main()
