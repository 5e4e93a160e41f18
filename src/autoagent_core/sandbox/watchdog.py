"""The tree limiter where no cgroup can be had: a ``/proc`` scan of the call's processes.

See :mod:`autoagent_core.sandbox.tree_limits` for when it is used. The tree is found
anew at every poll: a process is the call's when its parent is (parent PID at first
sight), when it lives in the call's PID namespace (``/proc/PID/ns/pid``), or when its
environment holds the call's marker variable. A process seen once as not the call's is not
read again while it lives, so a poll reads ``/proc/PID/stat`` of the call's processes and
of the processes started since the last poll only.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass

from autoagent_core.sandbox.tree_limits import Caps, kill_until_gone

WATCHDOG_POLL_S = 0.01  # a fork loop starts about ten processes per millisecond
FAST_POLL_S = 0.001  # once the tree holds a quarter of its process cap

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")
NPROC_MARGIN = 8  # processes of the same uid that may start elsewhere during the call


@dataclass(frozen=True)
class _Stat:
    ppid: int
    zombie: bool
    cpu_ticks: int  # utime + stime + cutime + cstime: its own and its reaped children's
    rss_pages: int
    start: int  # start time since boot, tells a reused PID from the first one


def _stat(pid: int) -> _Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()  # the command name may hold spaces
    try:
        return _Stat(ppid=int(fields[1]), zombie=fields[0] in (b"Z", b"X"),
                     cpu_ticks=sum(int(f) for f in fields[11:15]),
                     rss_pages=int(fields[21]), start=int(fields[19]))
    except (IndexError, ValueError):
        return None


def _pid_namespace(pid: int | str, link: str = "pid") -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{link}")
    except OSError:
        return None


class Watchdog:
    """Polls the call's tree, sums its RSS and CPU, counts it, kills it on a hit."""

    kind = "watchdog"

    def __init__(self, caps: Caps, marker_entry: str) -> None:
        self.caps = caps
        self.hit: str | None = None
        self.peak = 0.0
        self.cpu_seen = 0.0
        self.max_processes = 0
        self._needle = marker_entry.encode()
        self._own_ns = _pid_namespace("self")
        self._call_ns: str | None = None
        self._root: int | None = None
        self._members: dict[int, int] = {}  # pid -> start time
        self._strangers: set[int] = set()
        self._last = 0.0
        self.interval = WATCHDOG_POLL_S
        self.gated = False

    # ------------------------------------------------------------------ protocol
    def child_limits(self) -> dict[str, int]:
        """RLIMIT_NPROC as a second layer against a fork loop between two polls; it counts
        every process of the real uid, and root is exempt from it."""
        uid = os.getuid()
        if uid == 0:
            return {}
        running = 0
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError):
                    running += os.stat(f"/proc/{name}").st_uid == uid
        return {"processes": running + self.caps.processes + self.caps.own + NPROC_MARGIN}

    def attach(self, pid: int) -> None:
        self._root = pid
        stat = _stat(pid)
        if stat is not None:
            self._members[pid] = stat.start

    def poll(self) -> str | None:
        now = time.monotonic()
        if self.hit is None and now - self._last >= self.interval:
            self._last = now
            self.hit = self._check(self._scan())
            if self.hit:
                self._kill_all()
        return self.hit

    def close(self) -> str | None:
        if self.hit is None:
            self.hit = self._check(self._scan())
        self._kill_all()
        return self.hit

    def message(self) -> str:
        return self.caps.message(self.hit or "", self.peak)

    # ------------------------------------------------------------------ the tree
    def _is_call_process(self, pid: int) -> bool:
        if self._call_ns is not None and _pid_namespace(pid) == self._call_ns:
            return True
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                return self._needle in fh.read().split(b"\0")
        except OSError:
            return False

    def _scan(self) -> dict[int, _Stat]:
        """The call's processes now, with their figures."""
        if self._call_ns is None and self._root is not None:
            ns = _pid_namespace(self._root, "pid_for_children")
            if ns is not None and ns != self._own_ns:
                self._call_ns = ns
        try:
            listing = [int(n) for n in os.listdir("/proc") if n.isdigit()]
        except OSError:
            return {}
        self._strangers.intersection_update(listing)
        found: dict[int, _Stat] = {}
        new: dict[int, _Stat] = {}
        for pid in listing:
            if pid in self._strangers:
                continue
            stat = _stat(pid)
            if stat is None:
                continue
            if self._members.get(pid) == stat.start:
                found[pid] = stat
            else:
                new[pid] = stat
        grew = True
        while grew:  # children of the call's processes, also of ones started since
            grew = False
            for pid, stat in list(new.items()):
                if stat.ppid in found:
                    found[pid] = new.pop(pid)
                    grew = True
        for pid, stat in new.items():
            if self._is_call_process(pid):
                found[pid] = stat
            else:
                self._strangers.add(pid)
        self._members = {pid: stat.start for pid, stat in found.items()}
        return found

    def _check(self, tree: dict[int, _Stat]) -> str | None:
        count = len(tree)
        self.max_processes = max(self.max_processes, count)
        fast = count * 4 > self.caps.processes
        self.interval = FAST_POLL_S if fast else WATCHDOG_POLL_S
        rss = sum(s.rss_pages for s in tree.values() if not s.zombie) * _PAGE
        cpu = sum(s.cpu_ticks for s in tree.values()) / _TICKS
        self.cpu_seen = max(self.cpu_seen, cpu)
        if count > self.caps.processes + self.caps.own:
            self.peak = float(count)
            return "processes"
        if rss > self.caps.memory_bytes:
            self.peak = float(rss)
            return "memory"
        if self.cpu_seen > self.caps.cpu_seconds:
            self.peak = self.cpu_seen
            return "cpu"
        return None

    def _kill_all(self) -> None:
        kill_until_gone(lambda: [pid for pid, stat in self._scan().items()
                                 if not stat.zombie], 0.002)
