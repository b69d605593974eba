"""Stored bytes per finished intake, without PDFs and with them.

    .venv/bin/python bench/storage.py [--intakes 5] [--packet demographics,consent_adult,...]

Runs whole adult intakes through the HTTP API (Flask test client) on the embedded SecantusDB with a
real SMTP server, a Dramatiq worker and the scheduler: invitation, activation from the mailed link,
every packet form filled, every acknowledgement, filing, completion. Then sums the BSON size of
every document written since the baseline (shipped forms, processes and staff installed first), per
collection, divided by the number of intakes. "Without PDFs" leaves out the encrypted file bucket
(`files.*`: the packet and per-form PDFs); signature images (form_files) are counted.
BSON bytes are the logical size; the storage engine's compression makes the on-disk size smaller.
Goal (issue 8): <= 20 KB per finished intake without PDFs.
"""

from __future__ import annotations

import argparse
import threading
from collections import defaultdict
from datetime import date

import bson
from _harness import embedded_services

DEFAULT_PACKET = "demographics,emergency_contact,consent_adult,npp_acknowledgment,financial_policy,health_history,phq9,gad7"


def sizes(database) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for name in database.list_collection_names():
        for doc in database[name].find({}):
            out[name] += len(bson.encode(doc))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intakes", type=int, default=5)
    ap.add_argument("--packet", default=DEFAULT_PACKET)
    args = ap.parse_args()
    packet = args.packet.split(",")
    with embedded_services("portico-bench-storage-") as (settings, _env, _root):
        from aiosmtpd.controller import Controller
        from dramatiq import Worker

        from engine import config, db, embedded
        from engine.services.intake_setup import install_shipped
        from engine.workflow import scheduler
        from tests.helpers import api_login, make_client, make_staff
        from tests.intake import lifecycle as lc
        from tests.intake.conftest import Inbox
        from web.app import create_app
        from workers.broker import setup_broker

        inbox = Inbox()
        port = embedded.free_port()
        smtp = Controller(inbox, hostname="127.0.0.1", port=port)
        smtp.start()
        settings = config.install(settings.with_(smtp_url=f"smtp://127.0.0.1:{port}", base_url="http://portal.test"))
        broker = setup_broker(settings.broker_url)
        import workers.workflow  # noqa: F401 - the actors, on this broker
        worker = Worker(broker, worker_timeout=100, worker_threads=2)
        worker.start()
        stop = threading.Event()
        sweeper = threading.Thread(target=scheduler.run_forever, daemon=True,
                                   kwargs={"interval": 0.2, "stop": stop, "deploy_shipped_on_start": False})
        sweeper.start()
        try:
            install_shipped()
            http = create_app(settings).test_client()
            staff = api_login(http, make_staff(roles=("org_admin",)).email)
            lc.configure(intake_packet=packet, reminder_cadence="P7D", reminder_max=1)
            before = sizes(db.get_db())
            for i in range(args.intakes):
                email = f"client{i}@example.org"
                person = make_client(first_name="Ada", last_name=f"Client{i}", email=email,
                                     date_of_birth=date(1990, 1, 1 + i % 28))
                resp = http.post(f"/api/v1/clients/{person.id}/invite", headers=staff, json={})
                assert resp.status_code == 201, resp.get_json()
                portal = lc.activate(http, inbox, email)
                lc.fill_packet(http, portal, str(person.id), len(packet))
                lc.acknowledge_all(http, staff, len(packet))
                lc.wait_completed(http, staff, resp.get_json()["id"])
                print(f"intake {i + 1}/{args.intakes} finished", flush=True)
            after = sizes(db.get_db())
            fields: dict[str, int] = defaultdict(int)
            for doc in db.get_db()["process_instances"].find({}):
                for key, value in doc.items():
                    fields[key] += len(bson.encode({key: value}))
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
    print("  process_instances by field: " + ", ".join(
        f"{k} {v / n / 1024:.1f} KB" for k, v in sorted(fields.items(), key=lambda kv: -kv[1])[:6]))
    print(f"without PDFs {(total - pdf) / n / 1024:.1f} KB   PDFs {pdf / n / 1024:.1f} KB   total {total / n / 1024:.1f} KB"
          f"   (goal <= 20 KB without PDFs: {'met' if (total - pdf) / n <= 20 * 1024 else 'MISSED'})")


if __name__ == "__main__":
    main()
