"""The cgroup tree limiter: one cgroup per call (v2, or v1 with three hierarchies).

When it is chosen, and how it compares with the watchdog, is in
:mod:`autoagent_core.sandbox.tree_limits`. May import that module's contract only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from autoagent_core.errors import SandboxError
from autoagent_core.sandbox.tree_limits import KILL_PASSES, POLL_INTERVAL_S, Caps, kill_until_gone

CGROUP_PREFIX = "autoagent-call-"


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


def _descendants(root: int) -> set[int]:
    """``root`` and every live process descending from it, by parent PID in ``/proc``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                raw = fh.read()
            ppid = int(raw[raw.rfind(b")") + 2:].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found: set[int] = set()
    stack = [root] if os.path.exists(f"/proc/{root}") else []
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


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
        self.gated = True
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

    def _join(self, pid: int) -> None:
        """Move one process into the call's cgroup(s); one already gone is skipped."""
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, str(pid).encode())
            except ProcessLookupError:
                return
            finally:
                os.close(fd)

    def attach(self, pid: int) -> None:
        """Move the launched process and every descendant it has into the cgroup.

        A fork and a move into a cgroup exclude each other in the kernel, so once a process
        has been moved each child it starts is born inside; a child started before the
        move shows up in the next scan of ``/proc``. The loop ends at the first scan that
        finds no process of the tree left outside. Only the sandbox's own processes run
        meanwhile: the child holds the tool back until the gate opens."""
        moved: set[int] = set()
        try:
            for _ in range(KILL_PASSES):
                tree = _descendants(pid)
                todo = sorted(tree - moved)  # parents have lower PIDs, as a rule
                if not todo:  # (or the process is gone: the call fails as it would)
                    return
                for member in todo:
                    self._join(member)
                    moved.add(member)
        except OSError as exc:
            raise SandboxError(f"cannot move the call into its cgroup: {exc}") from None
        raise SandboxError("cannot move the call into its cgroup: its processes kept changing")

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
        kill_until_gone(self._members, 0.005)  # pids.max bounds the newcomers

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
