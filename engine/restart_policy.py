"""When `portico up` restarts a child that died, and when it gives up instead.

A dead child is restarted with backoff (1 s doubling to 30 s): in development a
crashing worker should not take the database down with it, and a transient
failure (a port race, a killed process) heals itself. Two cases stop everything
instead, because restarting cannot help: a child exiting with the "bad
configuration" code, and a crash loop (MAX_CRASHES deaths within CRASH_WINDOW).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_CONFIG = 2  # what engine.cli returns for bad configuration
MAX_CRASHES = 5
CRASH_WINDOW = 120.0
MAX_BACKOFF = 30.0


class GiveUp(Exception):
    """Restarting cannot help; the message says why, to follow the child's name."""


@dataclass
class Restarts:
    """One child's recent deaths (monotonic seconds) and when its pending restart is due."""

    deaths: list[float] = field(default_factory=list)
    due_at: float | None = None

    @property
    def pending(self) -> bool:
        return self.due_at is not None

    def record_death(self, code: int, now: float) -> float:
        """Schedule the restart of a child that exited with `code`; returns the delay in seconds.

        Raises GiveUp for the configuration exit code and for a crash loop.
        """
        if code == EXIT_CONFIG:
            raise GiveUp("refused its configuration")
        self.deaths = [t for t in self.deaths if now - t < CRASH_WINDOW] + [now]
        if len(self.deaths) >= MAX_CRASHES:
            raise GiveUp(f"died {MAX_CRASHES} times within {CRASH_WINDOW:.0f}s")
        delay = min(MAX_BACKOFF, 2.0 ** (len(self.deaths) - 1))
        self.due_at = now + delay
        return delay

    def take_due(self, now: float) -> bool:
        """True, once, when the pending restart is due: the caller starts the child then."""
        if self.due_at is None or now < self.due_at:
            return False
        self.due_at = None
        return True

    def cancel(self) -> None:
        self.due_at = None
