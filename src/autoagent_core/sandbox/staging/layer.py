"""The per-call overlay layer: where a tool's writes to the working directory land.

The layer lives in the call's private control folder (mode 0700, outside the working
directory), so nothing a tool writes, a planted ``.env`` or ``.mcp.json`` included, is ever
visible in the real folder before :mod:`autoagent_core.sandbox.staging.commit` has checked it.
bubblewrap 0.11 mounts it (``--overlay-src WORKDIR --overlay UPPER WORK WORKDIR``); overlayfs
in a user namespace stores whiteouts as ``0/0`` character devices and marks replaced folders
with the ``user.overlay.opaque`` attribute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StagingLayer:
    """The upper and work folders of one call's overlay over ``workdir``."""

    workdir: Path
    upper: Path
    work: Path

    def bwrap_args(self) -> list[str]:
        """The bubblewrap arguments that mount the overlay on the working directory."""
        target = str(self.workdir)
        return ["--overlay-src", target, "--overlay", str(self.upper), str(self.work), target]


def create_layer(control: Path, workdir: Path) -> StagingLayer:
    """Make the empty upper and work folders in ``control`` (the call's private folder)."""
    upper, work = control / "upper", control / "work"
    for folder in (upper, work):
        os.mkdir(folder, 0o700)
    return StagingLayer(workdir, upper, work)


OPAQUE_XATTRS = ("user.overlay.opaque", "trusted.overlay.opaque")


def is_whiteout(st: os.stat_result) -> bool:
    """A deletion recorded in the layer: a character device with device number 0/0."""
    import stat

    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str) -> bool:
    """A folder of the layer that replaces the real folder's content (it was removed and
    made again during the call)."""
    for name in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def remove_tree(folder: Path) -> None:
    """Remove ``folder`` (a call's control folder with its layer) even where the tool made
    a staged folder unreadable or unwritable; never raises."""
    import shutil

    try:
        os.chmod(folder, 0o700)
        for root, dirs, _ in os.walk(folder):  # top-down: each folder opened before listing
            for name in dirs:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


def remove_later(folder: Path) -> None:
    """:func:`remove_tree` in a thread, so the caller's next step (the next model request)
    overlaps it; the interpreter waits for the thread before it exits."""
    import threading

    threading.Thread(target=remove_tree, args=(folder,), name="autoagent-cleanup").start()
