"""Limits on the whole process tree of one tool call: processes, total memory, total CPU.

The rlimits set in the child (:func:`autoagent_core.sandbox.child.apply_limits`) bound each
process on its own; a tool that starts five children gets five times the memory and CPU.
A :class:`TreeLimiter`, one per call, bounds the sum over every process the call starts:

============================  ===================================  =====================
limit (setting)               cgroup (preferred)                   watchdog (fallback)
============================  ===================================  =====================
processes                     ``pids.max``: a fork beyond the cap  process count of the
(``tool_max_processes``)      fails, and the call is stopped       tree, polled
memory (``tool_memory_mb``)   ``memory.max`` / v1                  RSS summed over the
                              ``memory.limit_in_bytes`` + memsw:   tree (shared pages
                              the kernel's OOM killer, then the    count in each process,
                              call is stopped                      so it is stricter)
CPU (``tool_cpu_seconds``)    ``cpu.stat`` / v1 ``cpuacct.usage``  utime+stime of the tree,
                              of the whole group, polled           with the reaped
                                                                   children's (cutime)
wall clock (``tool_timeout``) the launcher's deadline              the same
============================  ===================================  =====================

Which one runs (setting ``tool_limiter``: ``auto``, ``cgroup``, ``watchdog``): ``auto``
takes a cgroup where one can be had, else the watchdog. A cgroup is made as a child of the
cgroup autoagent itself runs in (so it never escapes a limit set on autoagent), with cgroup
v2 when that cgroup is writable and delegates the ``memory`` and ``pids`` controllers, else
with cgroup v1 when the ``memory``, ``pids`` and ``cpuacct`` hierarchies are mounted and
writable (as root on most machines with v1). The launcher moves the call's processes into
the cgroup while the sandbox starts (bubblewrap's own processes and the child runner), and
the child runs no tool code until it is told that they all are in (a gate pipe), so
everything the tool starts is born in the cgroup. ``cgroup`` refuses the call (exit 9) where
none can be made (:mod:`autoagent_core.sandbox.cgroup`). The watchdog (no privilege needed)
scans ``/proc`` every 10 ms (every 1 ms once the tree holds a quarter of its process cap;
:mod:`autoagent_core.sandbox.watchdog`): the tree is every descendant of the launched
process by parent PID, every process in the call's PID namespace, and every process carrying
the call's marker variable; on a hit it kills them all. Between two polls a fork loop can
outrun it, so where the tool runs under a uid other than root the child also gets
``RLIMIT_NPROC`` (it counts every process of that uid, so it is set to those already running
plus the cap; root ignores it).

At the end of every call, whatever happened, everything left in the tree is killed and the
cgroup removed. Behaviour from RELIABILITY.md items 2 (nothing outlives the call) and 24
(the process tree as a whole is bounded). Cost: moving a process into a cgroup waits for an
RCU grace period in the kernel (about 10 ms), which is why the move runs beside the
sandbox's start-up rather than before it; ``bench/tree_limits.py`` measures both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from typing import Protocol

from autoagent_core.config import Settings
from autoagent_core.errors import SandboxError

POLL_INTERVAL_S = 0.025
KILL_PASSES = 50
LIMITERS = ("auto", "cgroup", "watchdog")
MIB = 1024 * 1024


class TreeLimiter(Protocol):
    """One call's limiter: created before the process starts, polled while it runs."""

    kind: str  # "cgroup v2", "cgroup v1" or "watchdog"
    hit: str | None  # "memory", "processes" or "cpu" once a limit was reached
    interval: float  # seconds between two polls (the launcher waits at most this long)
    gated: bool  # True: the child waits on a gate pipe until ``attach`` has returned

    def child_limits(self) -> dict[str, int]:
        """Extra rlimits for the child (``processes``: RLIMIT_NPROC), may be empty."""

    def attach(self, pid: int) -> None:
        """The launched process's PID, right after it started; a gated limiter returns
        once the whole tree is under it (then the launcher opens the gate)."""

    def poll(self) -> str | None:
        """Check the tree (at most every POLL_INTERVAL_S); on a hit kill it, return the
        limit's name."""

    def close(self) -> str | None:
        """A last check, then kill whatever is left and release the cgroup; the hit."""

    def message(self) -> str:
        """What was reached, in one sentence (for the error's message)."""


class Caps:
    def __init__(self, settings: Settings, own_processes: int) -> None:
        self.processes = int(settings.tool_max_processes)
        self.own = own_processes  # the sandbox's own processes (unshare, supervisor)
        self.memory_bytes = int(settings.tool_memory_mb) * MIB
        self.cpu_seconds = float(settings.tool_cpu_seconds)

    def message(self, hit: str, seen: float) -> str:
        if hit == "memory":
            return (f"the call's processes together reached the memory limit of "
                    f"{self.memory_bytes // MIB} MiB (peak seen {seen / MIB:.0f} MiB); "
                    "the whole call was stopped")
        if hit == "processes":
            running = max(int(seen) - self.own, self.processes)
            return (f"the call tried to run more than {self.processes} processes at once "
                    f"({running} seen); the whole call was stopped")
        return (f"the call's processes together used {seen:.2f} CPU seconds, over the limit "
                f"of {self.cpu_seconds:g} s; the whole call was stopped")


FIRST_KILL_PAUSE_S = 0.0005  # most calls' last processes are gone within a millisecond


def kill_until_gone(alive: Callable[[], list[int]], pause_s: float) -> None:
    """SIGKILL every process ``alive`` lists, again after a pause, until it lists none (at
    most KILL_PASSES rounds: the process cap bounds how many can appear meanwhile). The
    pause starts at :data:`FIRST_KILL_PAUSE_S` and doubles up to ``pause_s``: the usual case,
    a namespace whose processes are still exiting, costs a fraction of a millisecond, not a
    whole ``pause_s``."""
    pause = min(pause_s, FIRST_KILL_PAUSE_S)
    for _ in range(KILL_PASSES):
        pids = alive()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)
        pause = min(pause * 2, pause_s)


def tree_limiter(settings: Settings, own_processes: int, marker_entry: str) -> TreeLimiter:
    """The limiter of one call, as the ``tool_limiter`` setting asks (see the docstring).

    ``own_processes``: how many processes the sandbox itself runs in the tree (they do not
    count against ``tool_max_processes``); ``marker_entry``: ``NAME=value`` of the marker
    variable in the call's environment (the watchdog's last way to find a process)."""
    from autoagent_core.sandbox.cgroup import cgroup_limiter
    from autoagent_core.sandbox.watchdog import Watchdog

    caps = Caps(settings, own_processes)
    choice = settings.tool_limiter
    if choice != "watchdog":
        limiter, reason = cgroup_limiter(caps)
        if limiter is not None:
            return limiter
        if choice == "cgroup":
            raise SandboxError(f"tool_limiter is 'cgroup' but no cgroup can be made for the "
                               f"call ({reason}); set tool_limiter to 'auto' or 'watchdog'")
    return Watchdog(caps, marker_entry)
