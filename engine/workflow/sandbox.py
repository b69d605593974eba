"""Running BPMN scripts and expressions in a child process bounded in time and memory.

Why a child process: RestrictedPython decides what a script may touch, not how much
it may compute. `10**10**10`, `'a' * 10**10`, `'%0*d' % (10**9, 1)`, `'x'.ljust(10**10)`
or a list doubled forty times are each one C-level operation that no trace function can
interrupt, and guarding every such builtin and method by estimating its result would be
a list that is never complete. A child process under RLIMIT_AS fails any allocation past
its budget with MemoryError, RLIMIT_CPU kills it past its CPU time, and the parent waits
for its answer with a deadline (longer: on a busy machine CPU seconds take longer on the
clock) and kills it when that passes: every path is bounded, and the thread that asked
(a web request, a Dramatiq worker thread) is free again within the deadline.

Children are started once and reused (one per thread running a script at that moment):
a round trip costs about 0.07 ms (bench/script_bounds.py), a start a few hundred ms. A child that ran
out of time or memory is killed and replaced on the next use. They are fresh interpreters
(`python -I -c ...`), not forks, so no lock or connection of a threaded parent is
copied into them; each exits when its socket closes (the parent exited or dropped it).

Requests (parent -> child) are pickles of plain data. Answers (child -> parent) are read
with an unpickler that only builds plain data and datetime values: whatever a script
managed to do inside the child, it cannot hand the parent an object that runs code when
it is loaded.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine.workflow.errors import ScriptFailed, ScriptInterrupted, ScriptRefused

log = logging.getLogger(__name__)

# Budgets per script or expression. Not settings: the scripts BPMN authors write (date
# arithmetic, a few loops over answers) take milliseconds and a few kilobytes, and nothing
# a practice does needs more; these only stop runaway code.
CPU_LIMIT_SECONDS = 2  # computing time inside the child (RLIMIT_CPU)
# What the caller waits at most, whatever the machine's load: a busy machine gives the child
# only part of a core, so its CPU budget may take longer than that on the clock.
WALL_LIMIT_SECONDS = 10
MEMORY_LIMIT_MB = 256  # address space a child may add to what it needs when idle
RESULT_LIMIT_BYTES = 4 * 1024 * 1024  # what one script may hand back (it lands in task data)
_START_SECONDS = 60  # a child imports SpiffWorkflow once; generous for a loaded machine
_MAX_IDLE = 4  # idle children kept per process; more are closed when they come back

_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD_CODE = "import sys; sys.path.insert(0, sys.argv[1]); from engine.workflow.sandbox import serve; serve(int(sys.argv[2]))"


def _limit_message(seconds: int) -> str:
    return f"the script ran longer than {seconds} seconds and was stopped"


def _memory_message() -> str:
    return f"the script needed more than {MEMORY_LIMIT_MB} MB of memory and was stopped"


_DIED = "the script's process stopped before the script finished"


class _Gone(Exception):  # noqa: N818 - internal signal, never leaves this module
    """The child's socket was closed before the request could be sent."""


# ---------------------------------------------------------------- parent side


class _SafeUnpickler(pickle.Unpickler):
    """Builds plain data only: containers and scalars need no class; datetime values are allowed."""

    _ALLOWED = {
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


def _loads(data: bytes) -> Any:
    return _SafeUnpickler(io.BytesIO(data)).load()


class _Child:
    """One child interpreter and the parent's end of its socket."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-I", "-c", _CHILD_CODE, _ROOT, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        finally:
            theirs.close()
        self.conn = Connection(mine.detach())
        try:
            ready = self.conn.poll(_START_SECONDS) and self.conn.recv_bytes() == b"ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise ScriptInterrupted("the script sandbox did not start; try again")

    def ask(self, request: bytes) -> bytes:
        """Send one request; its answer, or ScriptFailed when the child ran out of time or died."""
        try:
            self.conn.send_bytes(request)
        except OSError:
            # An idle child killed from outside (its pipe is broken): nothing of the script ran.
            self.kill()
            raise _Gone from None
        if not self.conn.poll(WALL_LIMIT_SECONDS):
            self.kill()
            log.warning("a script ran past the %s s deadline; its process was killed", WALL_LIMIT_SECONDS)
            message = _limit_message(WALL_LIMIT_SECONDS)
            raise ScriptFailed(message, details={"script": [message]})
        try:
            return self.conn.recv_bytes()
        except (EOFError, OSError):
            code = self.kill()
            # SIGXCPU: its CPU budget ran out (RLIMIT_CPU), the usual end of a runaway script.
            if code == -signal.SIGXCPU:
                message = _limit_message(CPU_LIMIT_SECONDS)
                raise ScriptFailed(message, details={"script": [message]}) from None
            # Killed from outside (a supervisor, the machine): not the script's fault, and nothing
            # was saved; the step is tried again (chaos: a killed child errored its instance for good).
            raise ScriptInterrupted(_DIED + "; try again") from None

    def kill(self) -> int | None:
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(OSError):
            self.proc.kill()
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        """Let an idle child go: it exits when its socket closes."""
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(1)


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Child] = []
        self.pid = os.getpid()

    def take(self) -> _Child:
        with self.lock:
            if self.pid != os.getpid():  # forked: those children are our parent's
                for child in self.idle:
                    with contextlib.suppress(OSError):
                        child.conn.close()  # our copy of the socket only
                self.idle, self.pid = [], os.getpid()
            if self.idle:
                return self.idle.pop()
        return _Child()

    def give_back(self, child: _Child) -> None:
        with self.lock:
            if self.pid == os.getpid() and len(self.idle) < _MAX_IDLE:
                self.idle.append(child)
                return
        child.close()

    def close_all(self) -> None:
        with self.lock:
            children, self.idle = self.idle, []
        for child in children:
            child.close()


_POOL = _Pool()


def run(kind: str, source: str, context: dict, external: dict | None) -> Any:
    """Run `source` ("eval" or "exec") in a child. Returns the expression's value, or for "exec"
    the task data as the script left it. Raises ScriptRefused, ScriptFailed."""
    try:
        request = pickle.dumps((kind, source, context, external or {}), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ScriptFailed(
            f"the task data cannot be handed to a script: {exc}",
            details={"script": ["task data is not plain data"]},
        ) from exc
    child = _POOL.take()
    try:
        try:
            answer = _loads(child.ask(request))
        except _Gone:
            child = _Child()  # the pooled one had died while idle: a fresh one, once
            answer = _loads(child.ask(request))
    except _Gone:
        raise ScriptInterrupted(_DIED + "; try again") from None
    except (ScriptFailed, ScriptInterrupted):
        raise  # the child is gone already
    except BaseException:
        child.kill()  # interrupted mid-answer: the conversation is out of step
        raise
    status, payload, details = answer
    if status == "memory":
        child.kill()  # its heap may stay large and fragmented: start afresh
    else:
        _POOL.give_back(child)
    if status == "ok":
        return payload
    if status == "refused":
        raise ScriptRefused(payload, details=details)
    raise ScriptFailed(payload, details=details)


def close_children() -> None:
    """Close the idle children (tests; a process on its way out needs nothing: sockets close)."""
    _POOL.close_all()


# ---------------------------------------------------------------- child side


def _address_space() -> int:
    with open("/proc/self/statm") as statm:  # noqa: PTH123 - Linux only, as the limits are
        return int(statm.read().split()[0]) * resource.getpagesize()


def _answer(kind: str, source: str, context: dict, external: dict) -> bytes:
    from engine.workflow import scripting  # imported here: scripting imports this module

    try:
        if kind == "eval":
            value = scripting.evaluate_here(source, context, external)
        else:
            scripting.execute_here(source, context, external)
            value = context
        answer = pickle.dumps(("ok", value, None), protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return pickle.dumps(("memory", _memory_message(), {"script": [_memory_message()]}))
    except ScriptRefused as exc:
        return pickle.dumps(("refused", exc.message, exc.details))
    except ScriptFailed as exc:
        return pickle.dumps(("failed", exc.message, exc.details))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        message = f"the script's result is not plain data: {exc}"
        return pickle.dumps(("failed", message, {"script": [message]}))
    if len(answer) > RESULT_LIMIT_BYTES:
        message = f"the script's result is larger than {RESULT_LIMIT_BYTES // (1024 * 1024)} MB"
        return pickle.dumps(("failed", message, {"script": [message]}))
    return answer


def serve(fd: int) -> None:
    """The child's loop: answer requests on socket `fd` until it closes."""
    from engine.workflow import scripting  # noqa: F401 - imported before the memory limit is measured

    conn = Connection(fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a child killed for its CPU time leaves no core file
    hard_as = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft_as = _address_space() + MEMORY_LIMIT_MB * 1024 * 1024
    resource.setrlimit(
        resource.RLIMIT_AS, (soft_as if hard_as == resource.RLIM_INFINITY else min(soft_as, hard_as), hard_as)
    )
    hard_cpu = resource.getrlimit(resource.RLIMIT_CPU)[1]
    conn.send_bytes(b"ready")
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        kind, source, context, external = pickle.loads(request)  # noqa: S301 - from our parent
        # The CPU limit counts from the child's start: give each request its budget from now
        # (whole seconds: the budget is 2 s to 3 s).
        usage = resource.getrusage(resource.RUSAGE_SELF)
        soft_cpu = math.ceil(usage.ru_utime + usage.ru_stime) + CPU_LIMIT_SECONDS
        if hard_cpu != resource.RLIM_INFINITY:
            soft_cpu = min(soft_cpu, hard_cpu)
        resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu, hard_cpu))
        conn.send_bytes(_answer(kind, source, context, external))
