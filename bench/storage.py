"""Stored bytes per finished intake, without PDFs and with them.

    .venv/bin/python bench/storage.py [--intakes 5] [--packet demographics,consent_adult,...]

Runs whole adult intakes through the HTTP API (Flask test client) on the embedded SecantusDB with a
real SMTP server, a Dramatiq worker and the scheduler: invitation, activation from the mailed link,
every packet form filled, every acknowledgement, filing, completion (waited for on the database,
then the finished instance viewed once through the API: polling the API would add an audit row
per poll, which no practice does). Then sums the BSON size of
every document written since the baseline (shipped forms, processes and staff installed first), per
collection, divided by the number of intakes. "Without PDFs" leaves out the encrypted file bucket
(`files.*`: the packet and per-form PDFs); signature images (form_files) are counted.
BSON bytes are the logical size. The script also prints what the embedded SecantusDB's files grew
by (a checkpoint forced with `fsync` before and after; WiredTiger files, by kind): that includes
the PDFs and the oplog, which keeps another copy of every write, and is rounded to WiredTiger's
pages, so with few intakes it is coarse. (SecantusDB's dbStats reports storageSize = dataSize.)
Goal (issue 8): <= 20 KB per finished intake without PDFs.
"""

from __future__ import annotations

import argparse
import threading
from collections import defaultdict
from datetime import date
from pathlib import Path

import bson
from _harness import embedded_services

DEFAULT_PACKET = "demographics,emergency_contact,consent_adult,npp_acknowledgment,financial_policy,health_history,phq9,gad7"


def sizes(database) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for name in database.list_collection_names():
        for doc in database[name].find({}):
            out[name] += len(bson.encode(doc))
    return out


def field_sizes(collection, query: dict) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for doc in collection.find(query):
        for key, value in doc.items():
            out[key] += len(bson.encode({key: value}))
    return out


def wait_finished(http, staff, instance_id: str) -> None:
    from bson import ObjectId

    from engine.workflow import store
    from tests.helpers import wait_for

    def done():
        doc = store.instances().find_one({"_id": ObjectId(instance_id)}, {"status": 1, "error": 1})
        assert doc["status"] != "errored", doc.get("error")
        return doc["status"] == "completed"

    wait_for(done, timeout=40, what="the intake to complete")
    assert (
        http.get(f"/api/v1/process-instances/{instance_id}", headers=staff).get_json()["status"]
        == "completed"
    )


def disk(database, root: Path) -> dict[str, int]:
    """Bytes of the database's WiredTiger files right after a checkpoint, by kind."""
    database.command("fsync")  # a checkpoint: the files hold what the journal held
    out: dict[str, int] = defaultdict(int)
    for f in (root / "db").glob("*.wt"):
        name = f.name.removeprefix("secantus_")
        kind = (
            "documents"
            if name.startswith("documents")
            else "oplog"
            if name.startswith(("oplog", "preimages"))
            else "indexes"
            if name.startswith(("index", "unique_keys"))
            else "other"
        )
        out[kind] += f.stat().st_size
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intakes", type=int, default=5)
    ap.add_argument("--packet", default=DEFAULT_PACKET)
    args = ap.parse_args()
    packet = args.packet.split(",")
    with embedded_services("portico-bench-storage-") as (settings, _env, root):
        from aiosmtpd.controller import Controller
        from dramatiq import Worker

        from engine import config, db, embedded
        from engine.services.intake.intake_setup import install_shipped
        from engine.services.platform import audit
        from engine.workflow import scheduler
        from tests import intake_lifecycle as lc
        from tests.fixtures.mail import Inbox
        from tests.helpers import api_login, make_client, make_staff
        from web.app import create_app
        from workers.broker import setup_broker

        inbox = Inbox()
        port = embedded.free_port()
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        settings = config.install(
            settings.with_(smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://portal.test")
        )
        broker = setup_broker(settings.broker_url)
        import workers.workflow  # noqa: F401 - the actors, on this broker

        worker = Worker(broker, worker_timeout=100, worker_threads=2)
        worker.start()
        stop = threading.Event()
        sweeper = threading.Thread(
            target=scheduler.run_forever, daemon=True, kwargs={"interval": 0.2, "stop": stop}
        )
        sweeper.start()
        try:
            install_shipped()
            http = create_app(settings).test_client()
            staff = api_login(http, make_staff(roles=("org_admin",)).email)
            lc.configure(intake_packet=packet, reminder_cadence="P7D", reminder_max=1)
            before, disk_before = sizes(db.get_db()), disk(db.get_db(), root)
            first_audit = db.get_db()["audit_events"].count_documents({})
            for i in range(args.intakes):
                email = f"client{i}@example.org"
                person = make_client(
                    first_name="Ada",
                    last_name=f"Client{i}",
                    email=email,
                    date_of_birth=date(1990, 1, 1 + i % 28),
                )
                resp = http.post(f"/api/v1/clients/{person.id}/invite", headers=staff, json={})
                assert resp.status_code == 201, resp.get_json()
                portal = lc.activate(http, inbox, email)
                lc.fill_packet(http, portal, str(person.id), len(packet))
                lc.acknowledge_all(http, staff, len(packet))
                wait_finished(http, staff, resp.get_json()["id"])
                print(f"intake {i + 1}/{args.intakes} finished", flush=True)
            # Entries committed with completions are chained by the worker's sweep within a second;
            # chain what is left so that every intake's rows are counted as the rows they become.
            audit.chain_pending()
            after, disk_after = sizes(db.get_db()), disk(db.get_db(), root)
            new_audit = {"seq": {"$gt": first_audit}}
            fields = {
                "process_instances": field_sizes(db.get_db()["process_instances"], {}),
                "audit_events": field_sizes(db.get_db()["audit_events"], new_audit),
            }
            actions: dict[str, int] = defaultdict(int)
            name = audit.STORED_KEYS["action"]
            for row in db.get_db()["audit_events"].find(new_audit, {name: 1, "action": 1}):
                actions[row.get(name, row.get("action"))] += 1
        finally:
            stop.set()
            worker.stop(timeout=5000)
            smtp.stop()
    grown = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    pdf = sum(v for k, v in grown.items() if k.startswith("files."))
    total = sum(grown.values())
    n = args.intakes
    print(f"\nper finished intake ({n} intakes, packet of {len(packet)} forms: {', '.join(packet)}):")
    for name, value in sorted(grown.items(), key=lambda kv: -kv[1]):
        if value:
            print(f"  {name:<28} {value / n / 1024:8.1f} KB")
    for name, split in fields.items():
        print(
            f"  {name} by field: "
            + ", ".join(
                f"{k} {v / n / 1024:.1f} KB" for k, v in sorted(split.items(), key=lambda kv: -kv[1])[:6]
            )
        )
    print(
        f"  audit events per intake: {sum(actions.values()) / n:.0f} ("
        + ", ".join(f"{k} {v / n:g}" for k, v in sorted(actions.items(), key=lambda kv: -kv[1]))
        + ")"
    )
    grown_disk = {k: v - disk_before.get(k, 0) for k, v in disk_after.items()}
    print(
        "on disk after a checkpoint, PDFs included: "
        + "   ".join(
            f"{k} {v / n / 1024:.1f} KB" for k, v in sorted(grown_disk.items(), key=lambda kv: -kv[1])
        )
        + f"   total {sum(grown_disk.values()) / n / 1024:.1f} KB"
    )
    print(
        f"without PDFs {(total - pdf) / n / 1024:.1f} KB   PDFs {pdf / n / 1024:.1f} KB   total {total / n / 1024:.1f} KB"
        f"   (goal <= 20 KB without PDFs: {'met' if (total - pdf) / n <= 20 * 1024 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
