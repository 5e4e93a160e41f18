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

Which one runs (setting ``tool_limiter``: ``auto``, ``cgroup``, ``watchdog``): ``auto`` takes
a cgroup where one can be had, else the watchdog. A cgroup is made as a child of the cgroup
autoagent itself runs in (so it never escapes a limit set on autoagent), with cgroup v2 when
that cgroup is writable and delegates the ``memory`` and ``pids`` controllers, else with
cgroup v1 when the ``memory``, ``pids`` and ``cpuacct`` hierarchies are mounted and
writable (as root on most machines with v1). The process joins the cgroup between fork and
exec, before it can start anything. ``cgroup`` refuses the call (exit 9) where none can be
made. The watchdog (no privilege needed) scans ``/proc`` every 10 ms (every 1 ms once the
tree holds a quarter of its process cap; :mod:`autoagent_core.sandbox.watchdog`): the
tree is every descendant of the launched process by parent PID, every process in the call's
PID namespace, and every process carrying the call's marker variable; on a hit it kills
them all. Between two polls a fork loop can outrun it, so where the tool runs under a
uid other than root the child also gets ``RLIMIT_NPROC`` (it counts every process of that
uid, so it is set to those already running plus the cap; root ignores it).

At the end of every call, whatever happened, everything left in the tree is killed and the
cgroup removed. Behaviour from RELIABILITY.md items 2 (nothing outlives the call) and 24
(the process tree as a whole is bounded). Cost: moving a process into a cgroup waits for an
RCU grace period in the kernel (about 10 ms); ``bench/tree_limits.py`` measures both.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Protocol

from autoagent_core.config import Settings
from autoagent_core.errors import SandboxError

POLL_INTERVAL_S = 0.025
KILL_PASSES = 50
CGROUP_PREFIX = "autoagent-call-"
LIMITERS = ("auto", "cgroup", "watchdog")
MIB = 1024 * 1024


class TreeLimiter(Protocol):
    """One call's limiter: created before the process starts, polled while it runs."""

    kind: str  # "cgroup v2", "cgroup v1" or "watchdog"
    hit: str | None  # "memory", "processes" or "cpu" once a limit was reached
    interval: float  # seconds between two polls (the launcher waits at most this long)
    uses_preexec: bool  # False: the process may start without a pre-exec hook (faster)

    def child_limits(self) -> dict[str, int]:
        """Extra rlimits for the child (``processes``: RLIMIT_NPROC), may be empty."""

    def preexec(self) -> None:
        """Runs in the new process between fork and exec (joins the cgroup)."""

    def attach(self, pid: int) -> None:
        """The launched process's PID, right after it started."""

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


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _field(text: str, key: str) -> int:
    """The number after ``key`` in a flat-keyed cgroup file (``oom_kill 3``)."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return 0


# --------------------------------------------------------------------------- cgroups
def _mounts() -> list[tuple[str, Path, str, set[str]]]:
    """(fstype, mount point, root inside the hierarchy, options) of every cgroup mount."""
    found = []
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((tail[0], Path(fields[4]), fields[3], set(tail[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    own: dict[str, str] = {}
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            own[name] = path
    return own


def _under(mount: Path, root: str, path: str) -> Path | None:
    """Where the cgroup ``path`` is in the mount whose hierarchy root is ``root``."""
    rel = os.path.relpath(path, root) if root != "/" else path.lstrip("/")
    if rel.startswith(".."):
        return None
    return mount / rel if rel not in ("", ".") else mount


def _v2_parent() -> tuple[Path | None, str]:
    own = _own_cgroups().get("")
    for fstype, mount, root, _ in _mounts():
        if fstype == "cgroup2" and own is not None:
            parent = _under(mount, root, own)
            if parent is None:
                continue
            delegated = set(_read(parent / "cgroup.subtree_control").split())
            if {"memory", "pids"} <= delegated and os.access(parent, os.W_OK):
                return parent, ""
            return None, (f"cgroup v2 at {parent} does not delegate the memory and pids "
                          "controllers to a writable child")
    return None, "no cgroup v2 hierarchy"


def _v1_parents() -> tuple[dict[str, Path] | None, str]:
    own = _own_cgroups()
    parents: dict[str, Path] = {}
    for fstype, mount, root, options in _mounts():
        for controller in ("memory", "pids", "cpuacct"):
            if fstype == "cgroup" and controller in options and controller in own:
                parent = _under(mount, root, own[controller])
                if parent is not None:
                    parents[controller] = parent
    missing = [c for c in ("memory", "pids", "cpuacct") if c not in parents]
    if missing:
        return None, f"no cgroup v1 {', '.join(missing)} hierarchy"
    unwritable = [str(p) for p in parents.values() if not os.access(p, os.W_OK)]
    if unwritable:
        return None, f"cgroup v1 {unwritable[0]} is missing or not writable"
    return parents, ""


def _remove_stale(parent: Path) -> None:
    """Remove empty call cgroups of autoagent processes that died (a ``kill -9``)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            name = entry.name
            if not name.startswith(CGROUP_PREFIX):
                continue
            pid = name[len(CGROUP_PREFIX):].split("-", 1)[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)


class CgroupLimiter:
    """The call in a cgroup of its own (v2, or v1 with three hierarchies)."""

    def __init__(self, caps: Caps, version: int, parents: dict[str, Path]) -> None:
        self.caps, self.version = caps, version
        self.kind = f"cgroup v{version}"
        self.hit: str | None = None
        self.peak = 0.0
        self._last = 0.0
        self.interval = POLL_INTERVAL_S
        self.uses_preexec = True
        name = f"{CGROUP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        self.dirs: dict[str, Path] = {}
        for controller, parent in parents.items():
            _remove_stale(parent)
            self.dirs[controller] = parent / name
        self._made: list[Path] = []
        try:
            for path in dict.fromkeys(self.dirs.values()):
                path.mkdir()
                self._made.append(path)
            self._configure()
        except OSError as exc:
            self._remove()
            raise SandboxError(f"cannot set up the call's cgroup: {exc}") from None
        # joined between fork and exec: paths prepared here, nothing allocated there
        self._procs = [str(p / "cgroup.procs") for p in self._made]

    def _configure(self) -> None:
        mem, pids = self.dirs["memory"], self.dirs["pids"]
        limit = str(self.caps.memory_bytes)
        (pids / "pids.max").write_text(str(self.caps.processes + self.caps.own))
        if self.version == 2:
            (mem / "memory.max").write_text(limit)
            for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                with contextlib.suppress(FileNotFoundError):
                    (mem / name).write_text(value)
        else:
            (mem / "memory.limit_in_bytes").write_text(limit)
            with contextlib.suppress(FileNotFoundError):  # swap accounting may be off
                (mem / "memory.memsw.limit_in_bytes").write_text(limit)

    def child_limits(self) -> dict[str, int]:
        return {}

    def preexec(self) -> None:
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    def attach(self, pid: int) -> None:
        pass

    def _cpu_seconds(self) -> float:
        if self.version == 2:
            return _field(_read(self.dirs["cpuacct"] / "cpu.stat"), "usage_usec") / 1e6
        text = _read(self.dirs["cpuacct"] / "cpuacct.usage").strip()
        return int(text) / 1e9 if text.isdigit() else 0.0

    def _check(self) -> str | None:
        mem, pids = self.dirs["memory"], self.dirs["pids"]
        if self.version == 2:
            oom = _field(_read(mem / "memory.events"), "oom_kill")
        else:
            oom = _field(_read(mem / "memory.oom_control"), "oom_kill")
        usage_file = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        usage = _read(mem / usage_file).strip()
        if oom:
            self.peak = float(usage) if usage.isdigit() else float(self.caps.memory_bytes)
            return "memory"
        if _field(_read(pids / "pids.events"), "max"):
            peak = _read(pids / "pids.peak").strip()
            self.peak = float(peak) if peak.isdigit() else 0.0
            return "processes"
        cpu = self._cpu_seconds()
        if cpu > self.caps.cpu_seconds:
            self.peak = cpu
            return "cpu"
        return None

    def poll(self) -> str | None:
        now = time.monotonic()
        if self.hit is None and now - self._last >= POLL_INTERVAL_S:
            self._last = now
            self.hit = self._check()
            if self.hit:
                self._kill_all()
        return self.hit

    def _members(self) -> list[int]:
        pids: set[int] = set()
        for path in self._made:
            pids.update(int(p) for p in _read(path / "cgroup.procs").split() if p.isdigit())
        return sorted(pids)

    def _kill_all(self) -> None:
        kill_file = self.dirs["pids"] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(KILL_PASSES):  # pids.max bounds how many can appear meanwhile
            members = self._members()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def _remove(self) -> None:
        for path in reversed(self._made):
            for _ in range(200):  # a killed process leaves the group once it is reaped
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)

    def close(self) -> str | None:
        if self.hit is None:
            self.hit = self._check()
        self._kill_all()
        self._remove()
        return self.hit

    def message(self) -> str:
        return self.caps.message(self.hit or "", self.peak)


def cgroup_limiter(caps: Caps) -> tuple[CgroupLimiter | None, str]:
    """A cgroup limiter, or None and the reason none can be made here."""
    parent, why_v2 = _v2_parent()
    parents, why_v1 = _v1_parents() if parent is None else (None, "")
    try:
        if parent is not None:
            return CgroupLimiter(caps, 2, {"memory": parent, "pids": parent,
                                           "cpuacct": parent}), ""
        if parents is not None:
            return CgroupLimiter(caps, 1, parents), ""
    except SandboxError as exc:  # writable on paper, refused in fact
        return None, str(exc)
    return None, f"{why_v2}; {why_v1}"


def tree_limiter(settings: Settings, own_processes: int, marker_entry: str) -> TreeLimiter:
    """The limiter of one call, as the ``tool_limiter`` setting asks (see the docstring).

    ``own_processes``: how many processes the sandbox itself runs in the tree (they do not
    count against ``tool_max_processes``); ``marker_entry``: ``NAME=value`` of the marker
    variable in the call's environment (the watchdog's last way to find a process)."""
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
