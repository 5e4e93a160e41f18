"""Ending a tool call's processes: its process group and namespace, the processes that
carry its marker, and (in ``none`` mode) the parent-death signal that ends it with
autoagent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

MARKER_VAR = "AUTOAGENT_SANDBOX_CALL"
"""The environment variable that marks every process of one call."""


def kill_tree(proc: subprocess.Popen[bytes], marker: str, sweep: bool) -> None:
    """Kill the call's process group (with namespaces: ``unshare`` and so the whole
    namespace) and, without namespaces, every process carrying the call's marker."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if sweep:
        for _ in range(3):
            if not sweep_marked(marker):
                break


def sweep_marked(marker: str) -> int:
    """SIGKILL every process whose environment holds ``MARKER_VAR=marker``; the count."""
    needle = f"{MARKER_VAR}={marker}".encode()
    killed = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as fh:
                environ = fh.read()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed


PR_SET_PDEATHSIG = 1


def die_with_parent_hook() -> Any:
    """A pre-exec hook that makes the launched process get SIGKILL when autoagent dies
    (even by ``kill -9``) in ``none`` mode (bwrap has ``--die-with-parent`` for the others),
    so no tool outlives the run that started it. ``None`` where prctl is unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]

    def hook() -> None:  # runs in the child between fork and exec: no allocation-heavy work
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)

    return hook
