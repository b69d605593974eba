"""Database commands and bytes per client form completion (POST /api/v1/tasks/{id}/complete).

    .venv/bin/python bench/form_completion.py [--intakes 2] [--packet demographics,consent_adult,...]

Runs adult intakes through the HTTP API (Flask test client) on the embedded SecantusDB with a real SMTP
server and a Dramatiq worker up to the client's activation; then stops the worker and the scheduler so
that only the requests are counted, and completes every packet form, reading the database server's
opcounters (serverStatus: every command it answered, by kind) around each completion, and watching the
commands this process sends (pymongo command monitoring: their names, collections and BSON size).
Prints per completion: commands by kind, the commands sent by name and collection, the bytes sent.
"""

from __future__ import annotations

import argparse
import statistics
import threading
from collections import defaultdict
from datetime import date

from _harness import embedded_services
from pymongo import monitoring

DEFAULT_PACKET = "demographics,emergency_contact,consent_adult,npp_acknowledgment,financial_policy,health_history,phq9,gad7"


def _status(db) -> dict:
    return {k: int(v) for k, v in db.client.admin.command("serverStatus")["opcounters"].items()}


class Sent(monitoring.CommandListener):
    """Commands this process sends, by name and collection, and their BSON bytes (while `on`)."""

    def __init__(self):
        super().__init__()
        self.on = False
        self.names: dict[str, int] = defaultdict(int)
        self.bytes = 0

    def started(self, event) -> None:
        import bson

        if not self.on or event.command_name in ("serverStatus",):
            return
        target = event.command.get(event.command_name)
        where = f" {target}" if isinstance(target, str) else ""
        self.names[f"{event.command_name}{where}"] += 1
        self.bytes += len(bson.encode(event.command))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intakes", type=int, default=2)
    ap.add_argument("--packet", default=DEFAULT_PACKET)
    args = ap.parse_args()
    packet = args.packet.split(",")
    sent = Sent()
    monitoring.register(sent)  # before the harness connects: its client reports to it
    with embedded_services("portico-bench-forms-") as (settings, _env, _root):
        from aiosmtpd.controller import Controller
        from dramatiq import Worker

        from engine import config, db, embedded
        from engine.services.intake.intake_setup import install_shipped
        from engine.workflow import scheduler
        from tests import intake_lifecycle as lc
        from tests.fixtures.mail import Inbox
        from tests.form_fills import VALID
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

        per: dict[str, list[float]] = defaultdict(list)
        names: dict[str, int] = defaultdict(int)
        try:
            install_shipped()
            http = create_app(settings).test_client()
            staff = api_login(http, make_staff(roles=("org_admin",)).email)
            lc.configure(intake_packet=packet, reminder_cadence="P7D", reminder_max=1)
            portals = []
            worker = Worker(broker, worker_timeout=100, worker_threads=2)
            worker.start()
            stop = threading.Event()
            sweeper = threading.Thread(
                target=scheduler.run_forever, daemon=True, kwargs={"interval": 0.2, "stop": stop}
            )
            sweeper.start()
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
                tasks = lc.wait_tasks(
                    http,
                    portal,
                    lambda t, cid=str(person.id): t["lane"] == "client" and t["client_id"] == cid,
                    "packet tasks",
                    len(packet),
                )
                portals.append((portal, tasks))
            stop.set()
            worker.stop(timeout=5000)
            sweeper.join(5)
            database = db.get_db()
            for portal, tasks in portals:
                for task in tasks:
                    body = {"data": VALID[task["form_key"]]}
                    sent.names.clear()
                    sent.bytes = 0
                    before = _status(database)
                    sent.on = True
                    resp = http.post(f"/api/v1/tasks/{task['id']}/complete", headers=portal, json=body)
                    sent.on = False
                    after = _status(database)
                    assert resp.status_code == 200, resp.get_json()
                    # The two serverStatus calls count themselves once (the second one's).
                    delta = {k: after[k] - before.get(k, 0) for k in after}
                    delta["command"] -= 1
                    for k, v in delta.items():
                        per[k].append(v)
                    per["total"].append(sum(delta.values()))
                    per["bytes sent"].append(sent.bytes)
                    for name, count in sent.names.items():
                        names[name] += count
        finally:
            smtp.stop()
    n = len(per["total"])
    print(f"per client form completion ({n} completions, packet: {', '.join(packet)}), mean (min-max):")
    for k, values in per.items():
        if any(values):
            print(f"  {k:<22} {statistics.mean(values):8.1f}  ({min(values):g}-{max(values):g})")
    print(
        "  commands sent by this process, per completion: "
        + ", ".join(f"{k} {v / n:g}" for k, v in sorted(names.items(), key=lambda kv: -kv[1]))
    )


if __name__ == "__main__":
    main()
