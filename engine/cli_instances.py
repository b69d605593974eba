"""`portico instances migrate --process ID --to N`: move running instances with a progress bar.

    portico instances migrate --process client_intake --to 4            preview, then move
    portico instances migrate --process client_intake --to 4 --dry-run  preview only

Prints the preview counts, a progress bar (on the terminal: one line redrawn; otherwise a
line every tenth), then a summary: moved, refused with each reason and how many it stopped,
failed with their reasons. Exit code 0 when nothing failed, 1 otherwise (refusals are not
failures: those instances stay on their version and finish there).
"""

from __future__ import annotations

import sys
from collections import Counter

BAR_WIDTH = 30


def register(sub) -> None:
    """Add the `instances` command group to the `portico` parser."""
    instances = sub.add_parser("instances", help="running process instances")
    commands = instances.add_subparsers(dest="instances_command", required=True)
    migrate = commands.add_parser("migrate", help="move running instances of a process to another version")
    migrate.add_argument("--process", required=True, help="process id, e.g. client_intake")
    migrate.add_argument("--to", required=True, type=int, help="target version number")
    migrate.add_argument(
        "--dry-run", action="store_true", help="only show what would move and what would not"
    )
    migrate.set_defaults(func=cmd_migrate)


class ProgressBar:
    """A text progress bar: redrawn in place on a terminal, a line per tenth elsewhere."""

    def __init__(self, total: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.shown_tenth = -1

    def line(self, counts: dict) -> str:
        done = counts["done"]
        filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{self.total} "
            f"moved {counts['moved']} refused {counts['refused']} failed {counts['failed']}"
        )

    def __call__(self, counts: dict) -> None:
        self.total = counts["total"]  # the run's own count (instances may have finished since the preview)
        if self.tty:
            self.stream.write("\r" + self.line(counts))
            if counts["done"] == self.total:
                self.stream.write("\n")
        else:
            tenth = 10 * counts["done"] // self.total if self.total else 10
            if tenth != self.shown_tenth:
                self.shown_tenth = tenth
                self.stream.write(self.line(counts) + "\n")
        self.stream.flush()


def _reasons(items: list[dict]) -> Counter:
    counts: Counter = Counter()
    for item in items:
        for reason in item.get("reasons") or ["(no reason given)"]:
            counts[reason] += 1
    return counts


def summary(run: dict, out=None) -> None:
    """The closing report of a run: counts, then refusals and failures grouped by reason."""
    out = out or sys.stdout
    print(
        f"moved {run['moved']}, refused {run['refused']}, failed {run['failed']} "
        f"(of {run['total']}; {run['process_id']} → version {run['to_version']})",
        file=out,
    )
    for outcome in ("refused", "failed"):
        rows = [o for o in run["outcomes"] if o["outcome"] == outcome]
        for reason, n in _reasons(rows).most_common():
            print(f"  {outcome} {n}: {reason}", file=out)
        if outcome == "failed" and rows:
            print("  failed instances: " + ", ".join(o["instance_id"] for o in rows[:20]), file=out)


def cmd_migrate(args) -> int:
    # Imported here: `portico --help` must not need the engine's database modules.
    from engine.authz import SYSTEM
    from engine.cli import _connect, _settings
    from engine.errors import PorticoError
    from engine.services.processes import migration

    _connect(_settings("mongodb_uri"))
    try:
        preview = migration.preview(SYSTEM, args.process, args.to)
    except PorticoError as exc:
        print(f"portico instances migrate: {exc.message}", file=sys.stderr)
        return 2
    print(
        f"{preview['total']} running instance(s) of {args.process} on other versions: "
        f"{preview['can_move']} can move to version {preview['to_version']}, {preview['refused']} cannot"
    )
    for reason, n in _reasons([i for i in preview["items"] if not i["can_move"]]).most_common():
        print(f"  cannot move {n}: {reason}")
    if args.dry_run or preview["total"] == 0:
        return 0
    run = migration.migrate(SYSTEM, args.process, args.to, progress=ProgressBar(preview["total"]))
    summary(run)
    return 1 if run["failed"] else 0
