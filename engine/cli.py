"""The `portico` command.

    portico up [--demo] [--port N]   development: embedded services + web + worker + scheduler
    portico web                      gunicorn serving web.wsgi:app on PORTICO_HOST:PORTICO_PORT
    portico worker                   one Dramatiq master with its worker processes
    portico scheduler                the timer/sweep loop (engine.workflow.scheduler.run_forever)
    portico mailsink --port N        the development SMTP sink (started by `portico up`)
    portico config                   every PORTICO_* variable, its value and default
    portico audit verify [--anchor F]   check the audit chain (and the anchors in F); exit 1 naming
                                        the first bad row
    portico audit anchor [--file F]     print the chain head's seq and MAC (and append it to F)
    portico instances migrate --process ID --to N   move running instances (engine/cli_instances.py)
    portico backup|restore ARCHIVE   database and documents to/from one archive (engine/cli_backup.py)

web, worker and scheduler refuse to start on bad configuration with a one-line
reason on stderr and exit code 2 (production needs every service URL and a
secret key). This module imports neither Flask nor Dramatiq: web and worker
exec gunicorn and dramatiq, which import them. Each command imports what it runs inside its
function, so that `portico web` or `portico config` does not load the engine it does not use.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading

from engine import config
from engine.config import Settings
from engine.errors import ConfigError

EXIT_CONFIG = 2


class _Refused(Exception):
    """Configuration makes this command impossible; the message is the one-line reason."""


def _settings(*needs: str) -> Settings:
    """Load and install the settings; `needs` are Settings attributes that must be set."""
    try:
        settings = config.install(config.load())
    except ConfigError as exc:
        raise _Refused(exc.message) from None
    missing = [f"PORTICO_{n.upper()}" for n in needs if not getattr(settings, n)]
    if missing:
        raise _Refused(f"{' and '.join(missing)} must be set (or run `portico up` for embedded services)")
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _connect(settings: Settings) -> None:
    """Connect to the database; callers asked `_settings` for mongodb_uri, so it is set."""
    from engine import db

    if not settings.mongodb_uri:
        raise _Refused("PORTICO_MONGODB_URI must be set (or run `portico up` for embedded services)")
    db.connect(settings.mongodb_uri)


def cmd_up(args) -> int:
    from engine.supervisor import run_up

    if args.port:
        os.environ["PORTICO_PORT"] = str(args.port)  # before load(), so the base URL uses it too
    try:
        return run_up(config.load(), demo=args.demo)
    except ConfigError as exc:
        raise _Refused(exc.message) from None


# gunicorn's default access line with the request line's path only: no query string (activation
# links carry their single-use token there, and logs travel further than the database) and no
# Referer (another site's URL, with its own query string).
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def cmd_web(args) -> int:
    settings = _settings("mongodb_uri", "broker_url")
    workers = str(args.workers or settings.web_workers)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "web.wsgi:app",
        "--bind",
        f"{settings.host}:{settings.port}",
        "--workers",
        workers,
        "--threads",
        "4",
        "--graceful-timeout",
        "10",
        "--timeout",
        "60",
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        "--log-level",
        settings.log_level.lower(),
        # Its default is one socket path per user ($HOME): several instances would fight over it.
        "--no-control-socket",
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process; the supervisor keeps the pid


def cmd_worker(args) -> int:
    _settings("mongodb_uri", "broker_url")
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "workers.broker:setup_from_environment",
        "workers",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
        # Stop within the supervisor's grace period; unfinished messages are redelivered.
        "--worker-shutdown-timeout",
        str(args.shutdown_timeout * 1000),
        *args.dramatiq_args,
    ]
    os.execv(sys.executable, argv)  # noqa: S606


def cmd_scheduler(args) -> int:
    settings = _settings("mongodb_uri", "broker_url")
    _connect(settings)
    from engine import wiring
    from engine.services.intake.intake_setup import deploy_on_start
    from engine.workflow.scheduler import run_forever

    wiring.wire()
    wiring.wire_broker(settings.broker_url)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(stop=stop, on_start=deploy_on_start)  # returns once a signal sets `stop`
    return 0


def cmd_mailsink(args) -> int:
    settings = _settings("mongodb_uri")
    if settings.production:
        raise _Refused("the mail sink is for development; production sends through PORTICO_SMTP_URL")
    _connect(settings)
    from engine.mailsink import serve

    serve(args.host, args.port)
    return 0


def cmd_config(args) -> int:
    current = dict(os.environ)
    width = max(len(n) for n in config.VARIABLES)
    for name, (default, help_text) in config.VARIABLES.items():
        value = current.get(name)
        if value is not None and ("SECRET" in name or "PASSWORD" in name):
            value = "(set, hidden)"
        elif value is not None:
            value = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", value)  # passwords inside URLs
        shown = value if value is not None else "(unset)"
        print(f"{name:<{width}}  {shown}")
        print(f"{'':<{width}}  default: {default if default is not None else '-'}; {help_text}")
    return 0


def cmd_audit_verify(args) -> int:
    settings = _settings("mongodb_uri")
    anchors: list[tuple[int, str]] = []
    if args.anchor:
        from engine.services.platform.audit_anchors import parse_anchors

        try:
            with open(args.anchor, encoding="utf-8") as f:
                anchors = parse_anchors(f.read())
        except OSError as exc:
            raise _Refused(f"cannot read the anchor file: {exc.strerror}: {args.anchor}") from None
        if not anchors:
            raise _Refused(f"no anchor lines (written by `portico audit anchor`) in {args.anchor}")
    _connect(settings)
    from engine.services.platform import audit

    result = audit.verify(anchors=anchors)
    if result.ok:
        print(f"ok {result.rows} rows" + (f", {len(anchors)} anchors hold" if anchors else ""))
        return 0
    print(f"tampered: first bad row seq={result.first_bad_seq}: {result.reason}")
    return 1


def cmd_audit_anchor(args) -> int:
    """Print the chain head's anchor line; with --file also append it there (kept off the database host)."""
    settings = _settings("mongodb_uri")
    _connect(settings)
    from engine.services.platform import audit_anchors

    head = audit_anchors.anchor()
    if head is None:
        print("the audit chain is empty: nothing to anchor", file=sys.stderr)
        return 1
    line = head.line()
    if args.file:
        try:
            with open(args.file, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError as exc:
            raise _Refused(f"cannot append to the anchor file: {exc.strerror}: {args.file}") from None
    print(line)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="portico", description="Portico: client intake and portal for therapy practices"
    )
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="development: run everything, embedded services for unset URLs")
    up.add_argument("--demo", action="store_true", help="seed demo data and print the demo logins")
    up.add_argument("--port", type=int, help="web port (default PORTICO_PORT)")
    up.set_defaults(func=cmd_up)
    web = sub.add_parser("web", help="serve the web app with gunicorn")
    web.add_argument("--workers", type=int, help="gunicorn worker processes (default PORTICO_WEB_WORKERS)")
    web.set_defaults(func=cmd_web)
    worker = sub.add_parser("worker", help="run Dramatiq workers for every actor in workers/")
    worker.add_argument("--processes", type=int, default=1)
    worker.add_argument("--threads", type=int, default=4)
    worker.add_argument(
        "--shutdown-timeout", type=int, default=8, help="seconds to finish running messages on stop"
    )
    worker.add_argument("dramatiq_args", nargs=argparse.REMAINDER, help="passed on to dramatiq")
    worker.set_defaults(func=cmd_worker)
    sub.add_parser("scheduler", help="run the scheduler loop").set_defaults(func=cmd_scheduler)
    sink = sub.add_parser("mailsink", help="development SMTP sink storing mail in the database")
    sink.add_argument("--host", default="127.0.0.1")
    sink.add_argument("--port", type=int, required=True)
    sink.set_defaults(func=cmd_mailsink)
    sub.add_parser("config", help="list every PORTICO_* variable").set_defaults(func=cmd_config)
    audit = sub.add_parser("audit", help="audit trail tools")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="verify the HMAC chain")
    verify.add_argument(
        "--anchor",
        metavar="FILE",
        help="also check every anchor in FILE (rows cut off the end, or a replaced end)",
    )
    verify.set_defaults(func=cmd_audit_verify)
    anchor = audit_sub.add_parser("anchor", help="print the chain head's sequence and MAC")
    anchor.add_argument("--file", metavar="FILE", help="also append the line to FILE")
    anchor.set_defaults(func=cmd_audit_anchor)
    from engine import cli_backup

    cli_backup.register(sub)  # portico backup / portico restore
    from engine import cli_instances

    cli_instances.register(sub)  # portico instances migrate
    from engine import cli_forms

    cli_forms.register(sub)  # portico forms encrypt-files
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except _Refused as exc:
        print(f"portico {args.command}: {exc}", file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
