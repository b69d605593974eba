"""The database's floor for a task completion: the least any design could ask of it, measured bare.

    .venv/bin/python bench/floor.py [--clients 8] [--seconds 20] [--doc-kb 8]

Each of `--clients` threads loops over its own documents: one read by _id (the task and its
instance, as one find) and one multi-document transaction of two writes (the instance's
compare-and-set save and its task row), which is what a completion must at least commit durably.
No HTTP, no Python engine, no Portico code: the figure is what the embedded database (fsync on
commit, as `portico up` runs it) can do on this machine now. bench/throughput.py measures the
same in its own run and prints Portico's rate as a percentage of it.

With PORTICO_BENCH_MONGODB_URI set (as for every script here, see _harness.embedded_services), the
same loop runs against that MongoDB server instead.
"""

from __future__ import annotations

import argparse
import threading
import time

from _harness import embedded_services, external_mongodb, summary
from bson import ObjectId
from pymongo import MongoClient

DOCS_PER_CLIENT = 200


def floor_run(uri: str, *, clients: int, seconds: float, doc_kb: int = 8) -> tuple[float, list[float]]:
    """(round trips of one read + one two-write transaction per second, latencies) over `seconds`."""
    client = MongoClient(uri, maxPoolSize=clients + 2)
    database = client.get_default_database("portico_floor")
    instances, tasks = database["floor_instances"], database["floor_tasks"]
    instances.drop()
    tasks.drop()
    tasks.create_index([("status", 1), ("audience", 1), ("client_id", 1)])
    tasks.create_index([("instance_id", 1)])
    padding = "x" * (doc_kb * 1024)
    ids = [[ObjectId() for _ in range(DOCS_PER_CLIENT)] for _ in range(clients)]
    for share in ids:
        instances.insert_many([{"_id": i, "version": 1, "state_json": padding} for i in share])
        tasks.insert_many(
            [
                {"_id": i, "instance_id": i, "status": "open", "audience": "staff", "client_id": None}
                for i in share
            ]
        )
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def loop(share: list[ObjectId]) -> None:
        mine: list[float] = []
        k = 0
        while time.perf_counter() < stop_at:
            oid = share[k % len(share)]
            k += 1
            t0 = time.perf_counter()
            doc = instances.find_one({"_id": oid})
            with client.start_session() as session, session.start_transaction():
                instances.update_one(
                    {"_id": oid, "version": doc["version"]},
                    {"$set": {"state_json": padding}, "$inc": {"version": 1}},
                    session=session,
                )
                tasks.update_one(
                    {"_id": oid}, {"$set": {"status": "completed" if k % 2 else "open"}}, session=session
                )
            mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop, args=(share,)) for share in ids]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    instances.drop()
    tasks.drop()
    client.close()
    return len(latencies) / wall, latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--doc-kb", type=int, default=8)
    args = ap.parse_args()
    with embedded_services("portico-bench-floor-", redis=False) as (settings, _env, _root):
        rate, lat = floor_run(
            settings.mongodb_uri, clients=args.clients, seconds=args.seconds, doc_kb=args.doc_kb
        )
    where = "PORTICO_BENCH_MONGODB_URI's server" if external_mongodb() else "the embedded database"
    print(f"floor on {where}, {args.clients} clients: {rate:7.1f}/s  {summary(lat)}")


if __name__ == "__main__":
    main()
