"""Chaos run: intakes driven over HTTP by concurrent clients while web workers, Dramatiq workers, the
scheduler and the database server are killed with SIGKILL at random and restarted.

    .venv/bin/python bench/chaos.py [--intakes 12] [--clients 4] [--kill-every 4] [--seed 1]

Processes: `portico web --workers 2`, two `portico worker`, one `portico scheduler`, on an embedded
SecantusDB (fsync on commit, restarted on the same port and data after each kill) and redis-server;
mail goes to a real SMTP server in this process. Each intake: staff invite (HTTP), the client
activates from the mailed link, logs in, fills the packet, staff acknowledge each form, the instance
completes. Clients retry on connection errors and 5xx, and read the state again before repeating a
write (a retried completion that already happened answers 409/404).
Summary: intakes finished, kills by target, and
  lost       = forms answered 2xx but not stored as a completed submission
  duplicated = completed submissions beyond one per (client, form), plus invitation mails beyond one per client
  stuck      = instances unfinished when the run ends (after a settle period) with nothing left to wait
               for: no open human task and no waiting timer
Each client also pays an invoice issued before the run (test card 4242, one Idempotency-Key per client,
reused on every retry); charges are counted in the sandbox gateway's ledger:
  lost charges       = payments answered 201 whose invoice is not paid by exactly one ledger charge
  duplicated charges = succeeded ledger charges beyond one per invoice
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date

import psutil
import requests
from _harness import ROOT, embedded_services, external_mongodb

PACKET = ["demographics", "consent_adult"]
TIMEOUT = float(
    os.environ.get("CHAOS_HTTP_TIMEOUT", "30")
)  # seconds a client waits for an answer before asking again


class Http:
    """requests with retries on connection errors and 5xx (the server may be dead for a moment)."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()
        self.retried: list[str] = []  # writes sent again after an error or no answer (see the duplicates)

    def call(self, method: str, path: str, headers=None, **kw) -> requests.Response:
        for attempt in range(120):
            try:
                resp = self.session.request(
                    method, f"{self.base}{path}", headers=headers, timeout=TIMEOUT, **kw
                )
                if resp.status_code < 500:
                    return resp
                error = str(resp.status_code)
            except requests.RequestException as exc:
                self.session = requests.Session()
                error = type(exc).__name__
            if method != "GET":
                self.retried.append(f"{time.strftime('%H:%M:%S')} {method} {path}: {error}, sent again")
            time.sleep(min(2.0, 0.1 * (attempt + 1)))
        raise RuntimeError(f"{method} {path}: no answer after retries")


def wait(predicate, timeout=300.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def pay(http: Http, portal: dict, person, invoice_id: str, paid: list, lock) -> None:
    """Pay the client's invoice; retries (after a lost answer, or while another attempt holds the
    invoice) reuse one Idempotency-Key, so the processor is asked once."""
    card = {
        "card": {
            "number": "4242424242424242",
            "exp_month": 12,
            "exp_year": date.today().year + 2,
            "cvc": "123",
        }
    }
    headers = {**portal, "Idempotency-Key": f"chaos-{person.id}"}

    def answered():  # 409: an earlier attempt of this payment is still being processed; ask again
        resp = http.call("POST", f"/api/v1/invoices/{invoice_id}/payments", headers=headers, json=card)
        return resp if resp.status_code != 409 else None

    r = wait(answered, what="payment")
    if r.status_code != 201:
        raise RuntimeError(f"payment {r.status_code} {r.text[:200]}")
    with lock:
        paid.append(invoice_id)


def one_intake(
    http: Http,
    staff: dict,
    inbox,
    person,
    answered: list,
    lock,
    invoice_id: str = "",
    paid: list | None = None,
) -> None:
    from tests.form_fills import VALID
    from tests.intake_lifecycle import PORTAL_PASSWORD

    cid = str(person.id)

    def invited():  # 409 invite_in_progress: an earlier attempt (its answer lost) is starting the intake; ask again
        resp = http.call("POST", f"/api/v1/clients/{cid}/invite", headers=staff, json={})
        busy = (
            resp.status_code == 409 and (resp.json().get("error") or {}).get("code") == "invite_in_progress"
        )
        return None if busy else resp

    resp = wait(invited, what="invite")
    if resp.status_code not in (201, 409):  # 409: an earlier attempt whose answer was lost started the intake
        raise RuntimeError(f"invite {resp.status_code} {resp.text[:200]}")
    link = wait(lambda: inbox.links(person.email, "/portal/activate?token="), what="invitation")[-1]
    token = link.split("token=", 1)[1]
    activated = http.call(
        "POST", "/api/v1/portal/activate", json={"token": token, "password": PORTAL_PASSWORD}
    )
    last = {}

    def logged_in():
        last["r"] = http.call(
            "POST", "/api/v1/auth/token", json={"email": person.email, "password": PORTAL_PASSWORD}
        )
        return last["r"].status_code == 200 and last["r"].json()

    try:
        login = wait(logged_in, what="login")
    except RuntimeError:
        raise RuntimeError(
            f"no login: activation answered {activated.status_code} {activated.text[:120]}; "
            f"login answers {last['r'].status_code} {last['r'].text[:120]}"
        ) from None
    portal = {"Authorization": f"Bearer {login['token']}"}
    if invoice_id and paid is not None:
        pay(http, portal, person, invoice_id, paid, lock)

    def open_tasks(headers, pred):
        r = http.call("GET", "/api/v1/tasks", headers=headers, params={"per_page": 100})
        return [t for t in r.json()["items"] if pred(t)] if r.status_code == 200 else []

    def finished(resp, task, headers) -> bool:
        """Is the task done: completed by this call (200) or no longer open (404: an earlier attempt
        whose answer was lost completed it)? A 409 (instance busy, script interrupted, stale version)
        means nothing was saved: ask again. Counting a 409 as done once left a form unanswered and
        the client waiting for an acknowledgement that could never come."""
        if resp.status_code in (200, 404):
            return True
        if resp.status_code == 409:
            time.sleep(0.5)
            again = http.call("GET", f"/api/v1/tasks/{task['id']}", headers=headers)
            return again.status_code == 404 or (
                again.status_code == 200 and again.json().get("status") != "open"
            )
        return False

    done: set[str] = set()
    while len(done) < len(PACKET):
        for task in wait(
            lambda: (
                open_tasks(
                    portal,
                    lambda t: t["client_id"] == cid and t["lane"] == "client" and t["form_key"] not in done,
                )
                or None
            ),
            what="packet task",
        ):
            r = http.call(
                "POST",
                f"/api/v1/tasks/{task['id']}/complete",
                headers=portal,
                json={"data": VALID[task["form_key"]]},
            )
            if r.status_code == 200:
                with lock:
                    answered.append((cid, task["form_key"]))
            if finished(r, task, portal):
                done.add(task["form_key"])
    acked = 0
    while acked < len(PACKET):
        for task in wait(
            lambda: (
                open_tasks(staff, lambda t: t["form_key"] == "form_acknowledgement" and t["client_id"] == cid)
                or None
            ),
            what="acknowledgement",
        ):
            r = http.call(
                "POST",
                f"/api/v1/tasks/{task['id']}/complete",
                headers=staff,
                json={"data": {"decision": "acknowledge"}},
            )
            if finished(r, task, staff):
                acked += 1


def duplicate_evidence(people, stored: Counter, invitations: Counter, inbox) -> list[str]:
    """What each duplicate is: the completed submissions of a (client, form) counted more than once (their
    seal keys, the task rows and instances behind them, statuses and times), the invitation mails of a
    client with more than one activation link (Message-ID, idempotency key), and the client's intakes."""
    from engine.models.forms import Submission
    from engine.models.mail import MailMessage
    from engine.models.workflow import Task
    from engine.workflow import store
    from tests.fixtures.mail import LINK

    lines = []
    by_id = {str(p.id): p for p in people}
    clients = {cid for (cid, _), n in stored.items() if n > 1}
    clients |= {str(p.id) for p in people if invitations[p.email] > 1}
    for cid in sorted(clients):
        person = by_id[cid]
        for doc in (
            store.instances()
            .find({"client_id": person.id}, {"process_id": 1, "status": 1, "created_at": 1, "started_by": 1})
            .sort("created_at", 1)
        ):
            lines.append(
                f"{person.email} instance {doc['_id']} {doc['process_id']} {doc['status']} "
                f"created {doc['created_at']} by {doc.get('started_by')}"
            )
        for sub in Submission.objects(client=person.id).order_by("created_at"):
            row = Task._get_collection().find_one(
                {"_id": _oid(sub.context.split(":", 1)[-1])}, {"instance_id": 1, "task_id": 1, "status": 1}
            )
            lines.append(
                f"{person.email} submission {sub.id} {sub.form_key} {sub.status} seal={sub.seal_key} "
                f"context={sub.context} created {sub.created_at} updated {sub.updated_at} "
                f"task row {row and (row['instance_id'], row['task_id'], row['status'])}"
            )
        for m in MailMessage.objects(to=person.email.lower()).order_by("created_at"):
            tokens = [link.rsplit("=", 1)[-1][:12] for link in LINK.findall(m.text) if "token=" in link]
            lines.append(
                f"{person.email} mail {m.id} key={m.idempotency_key} status={m.status} "
                f"message_id={m.message_id} created {m.created_at} tokens={tokens}"
            )
        with inbox.lock:
            got = [m for rcpts, m in inbox.messages if person.email.lower() in rcpts]
        for m in got:
            lines.append(f"{person.email} received Message-ID {m['Message-ID']} subject {m['Subject']!r}")
    return lines


def _oid(value: str):
    from bson import ObjectId

    return ObjectId(value) if ObjectId.is_valid(value) else None


class Fleet:
    """The processes under fire, each restartable."""

    def __init__(self, env: dict, port: int):
        self.env = {**os.environ, **env, "PORTICO_PORT": str(port), "PORTICO_LOG_LEVEL": "WARNING"}
        self.procs: dict[str, subprocess.Popen] = {}
        for name in ("web", "worker1", "worker2", "scheduler"):
            self.start(name)

    def start(self, name: str) -> None:
        args = {"web": ["web", "--workers", "2"], "scheduler": ["scheduler"]}.get(
            name, ["worker", "--processes", "1", "--threads", "4"]
        )
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", *args],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def kill_child(self, name: str) -> bool:
        """SIGKILL one child (a gunicorn or Dramatiq worker process) of `name`'s master."""
        try:
            children = psutil.Process(self.procs[name].pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if not children:
            return False
        random.choice(children).kill()
        return True

    def kill_all(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()
        self.start(name)

    def revive(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--intakes", type=int, default=12)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--kill-every", type=float, default=4.0, help="mean seconds between kills")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    random.seed(args.seed)
    with embedded_services("portico-chaos-") as (settings, env, root):
        from aiosmtpd.controller import Controller

        from engine import config, embedded
        from engine.models.forms import Submission
        from engine.models.organization import Organization
        from engine.services.accounts import tokens
        from engine.services.intake.intake_setup import install_shipped
        from engine.workflow import store
        from tests.fixtures.mail import Inbox
        from tests.helpers import make_client, make_staff

        mongo_port = 0 if external_mongodb() else int(settings.mongodb_uri.rsplit(":", 1)[1].split("/")[0])
        inbox = Inbox()
        smtp_port = embedded.free_port()
        smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        env = {
            **env,
            "PORTICO_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "PORTICO_BASE_URL": "http://portal.test",
        }
        config.install(config.load(env))
        install_shipped()
        org = Organization.get()
        org.name = "Chaos Counseling"
        org.portal.intake_packet = PACKET
        org.portal.reminder_cadence = "P7D"
        org.save()
        raw, _ = tokens.issue_token(make_staff(roles=("org_admin",)), label="chaos")
        staff = {"Authorization": f"Bearer {raw}"}
        people = [
            make_client(
                first_name="Chaos",
                last_name=f"Client{i}",
                email=f"chaos{i}@example.org",
                date_of_birth=date(1990, 1, 1),
            )
            for i in range(args.intakes)
        ]
        from engine.authz import SYSTEM
        from engine.services.billing import billing

        invoices = {
            p.id: billing.create_invoice(
                SYSTEM,
                p.id,
                {
                    "line_items": [
                        {
                            "service": "Intake session",
                            "service_date": date.today().isoformat(),
                            "amount_cents": 15000,
                        }
                    ]
                },
            )["id"]
            for p in people
        }
        paid: list = []
        port = embedded.free_port()
        fleet = Fleet(env, port)
        embedded.wait_for_port(port, timeout=60)
        http_base = f"http://127.0.0.1:{port}"
        answered: list = []
        errors: list = []
        retried: list = []
        lock = threading.Lock()
        kills: Counter = Counter()
        stop = threading.Event()
        mongo = {"svc": None}

        def killer():
            while not stop.wait(random.expovariate(1 / args.kill_every)):
                # Against PORTICO_BENCH_MONGODB_URI's server the database is not ours to kill.
                target = random.choice(
                    ["web", "worker", "scheduler"] + ([] if external_mongodb() else ["database"])
                )
                if target == "web" and fleet.kill_child("web"):
                    kills["web worker"] += 1
                elif target == "worker":
                    fleet.kill_all(random.choice(["worker1", "worker2"]))
                    kills["dramatiq worker"] += 1
                elif target == "scheduler":
                    fleet.kill_all("scheduler")
                    kills["scheduler"] += 1
                elif target == "database":
                    for proc in psutil.process_iter(["cmdline"]):
                        if f"{mongo_port}" in " ".join(
                            proc.info["cmdline"] or []
                        ) and "secantusd" in " ".join(proc.info["cmdline"] or []):
                            proc.kill()
                            proc.wait(10)
                    time.sleep(1)
                    mongo["svc"] = embedded.start_mongodb(root, port=mongo_port, log=root / "mongodb.log")
                    kills["database"] += 1
                fleet.revive()

        def run_client(mine):
            http = Http(http_base)
            for person in mine:
                try:
                    one_intake(http, staff, inbox, person, answered, lock, invoices[person.id], paid)
                except Exception as exc:  # noqa: BLE001 - reported in the summary
                    with lock:
                        errors.append(f"{person.email}: {exc}")
            with lock:
                retried.extend(http.retried)

        started = time.monotonic()
        chaos = threading.Thread(target=killer, daemon=True)
        chaos.start()
        clients = [
            threading.Thread(target=run_client, args=(people[i :: args.clients],))
            for i in range(args.clients)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        stop.set()
        chaos.join(30)
        fleet.revive()
        # Settle: no more kills; let the workers and the scheduler finish what is in flight.
        ids = [p.id for p in people]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and store.instances().count_documents(
            {"client_id": {"$in": ids}, "status": {"$ne": "completed"}}
        ):
            time.sleep(1)
        elapsed = time.monotonic() - started
        stored = Counter(
            (str(s.client), s.form_key) for s in Submission.objects(client__in=ids, status="completed")
        )
        lost = sum(1 for key in set(answered) if stored[key] == 0)
        dup_forms = sum(n - 1 for n in stored.values() if n > 1)
        invitations = Counter(
            p.email for p in people for _ in set(inbox.links(p.email, "/portal/activate?token="))
        )
        dup_mails = sum(n - 1 for n in invitations.values() if n > 1)
        from engine.models.billing import Invoice, Payment, SandboxCharge

        charges = {}
        for invoice_id in invoices.values():
            keys = [p.idempotency_key for p in Payment.objects(invoice=invoice_id)]
            charges[invoice_id] = SandboxCharge.objects(idempotency_key__in=keys, status="succeeded").count()
        lost_charges = sum(
            1 for i in set(paid) if charges[i] != 1 or Invoice.objects.get(id=i).status != "paid"
        )
        dup_charges = sum(n - 1 for n in charges.values() if n > 1)
        lost += lost_charges
        duplicated = dup_forms + dup_mails + dup_charges
        mails = Counter(p.email for p in people for _ in inbox.to(p.email))
        # Stuck = unfinished with nothing left to wait for: no open human task, no waiting timer.
        # An unfinished instance waiting on a client who gave up (a client error) is not stuck.
        from engine.models.workflow import Task, Timer

        unfinished = [
            d["_id"]
            for d in store.instances().find(
                {"client_id": {"$in": ids}, "status": {"$ne": "completed"}}, {"_id": 1}
            )
        ]
        stuck = sum(
            1
            for iid in unfinished
            if not Task.objects(instance_id=iid, status="open").count()
            and not Timer.objects(instance_id=iid, status="waiting").count()
        )
        waiting = len(unfinished) - stuck
        # What each stuck instance still has: its lease, its unfinished operations (sends, attempts, errors).
        from engine.models.workflow import OutboxMessage

        stuck_lines, waiting_lines = [], []
        for iid in unfinished:
            open_tasks = [f"{t.name} ({t.lane})" for t in Task.objects(instance_id=iid, status="open")]
            if open_tasks or Timer.objects(instance_id=iid, status="waiting").count():
                waiting_lines.append(f"{iid} waits on {', '.join(open_tasks) or 'a timer'}")
                continue
            doc = store.instances().find_one(
                {"_id": iid}, {"status": 1, "lease_until": 1, "dirty": 1, "error": 1}
            )
            ops = [
                f"{o.operation} {o.status} sends={o.sends} "
                f"attempts={o.attempts} resend_at={o.resend_at} {o.last_error[:80]!r}"
                for o in OutboxMessage.objects(instance_id=iid)
            ]
            stuck_lines.append(
                f"{iid} {doc.get('status')} lease_until={doc.get('lease_until')} "
                f"dirty={doc.get('dirty')} error={str(doc.get('error'))[:80]} ops={ops}"
            )
        finished = store.instances().count_documents({"client_id": {"$in": ids}, "status": "completed"})
        dup_lines = duplicate_evidence(people, stored, invitations, inbox)
        # The audit trail: the chain still verifies, and every completed task has its audit entry (it
        # is committed with the completion, so no kill can separate the two).
        from engine.models.audit import AuditEvent
        from engine.services.platform import audit

        chain = audit.verify()
        audited = {e.object_id for e in AuditEvent.objects(action="task_completed").only("object_id")}
        unaudited = sum(
            1
            for t in Task._get_collection().find({"status": "completed"}, {"_id": 1})
            if str(t["_id"]) not in audited
        )
        fleet.stop()
        smtp.stop()
        if mongo["svc"] is not None:
            mongo["svc"].stop()
    print(
        f"chaos: {args.intakes} intakes, {finished} finished in {elapsed:.0f} s; kills {sum(kills.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(kills.items()))}); forms answered 2xx {len(answered)}"
    )
    print(
        f"payments answered 201 {len(paid)}; lost charges {lost_charges}, duplicated charges {dup_charges} "
        f"(sandbox ledger)"
    )
    print(
        f"lost {lost}   duplicated {duplicated} (submissions {dup_forms}, invitation mails {dup_mails})   "
        f"stuck {stuck}   client errors {len(errors)}   mails per client {sorted(mails.values())}"
    )
    print(f"unfinished but waiting on a person (a client who gave up): {waiting}")
    print(
        f"audit chain {'verified' if chain.ok else 'BROKEN: ' + chain.reason} ({chain.rows} rows); "
        f"completed tasks without their audit entry {unaudited}"
    )
    for line in waiting_lines:
        print("  waiting: " + line)
    for line in stuck_lines:
        print("  stuck: " + line)
    for line in dup_lines:
        print("  duplicate: " + line)
    if dup_lines:
        for line in sorted(retried):
            print("  retried: " + line)
    for line in errors[:10]:
        print("  " + line[:300])


if __name__ == "__main__":
    main()
