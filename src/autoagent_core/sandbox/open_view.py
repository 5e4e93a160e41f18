"""What a tool sees in open mode (WORKSPACE.md, "The five parts"): an allow-list of reads.

The mounts, in order (later ones cover earlier ones):

1. the system read-only (``/``), a fresh ``/proc`` and ``/dev``, a private ``/tmp``;
2. every home folder hidden (an empty tmpfs over ``$HOME``, ``/home`` and ``/root``):
   nothing of HOME is readable unless it is put back below; a grant that holds the working
   directory (``--allow-read .``, ``--allow-write ~``) is put back here, under the overlay;
3. the working directory through the staging overlay (:mod:`autoagent_core.sandbox.staging`):
   reads come from the real folder, writes land in the call's layer (a writable grant inside
   the working directory is not bound: the staging writes it);
4. read-only again: the Python runtime, autoagent's installation, the tool library and
   agents folders and ``--allow-read`` paths;
5. the working directory's hidden names, over every bind above: every entry whose name
   starts with ``.`` (``.env``, ``.git``, ``.venv``, other projects' ``.env`` in
   sub-folders), found by a walk bounded at :data:`WALK_MAX_FOLDERS` folders, breadth first
   (shallow names first);
6. then (in :mod:`confinement`) the other writable grants, the call's own files and the
   hidden and protected lists, and last the home folders' tmpfs made read-only
   (:func:`seal`).
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoagent_core.sandbox.confinement import Layout

HOME_ROOTS = ("/home", "/root")
WALK_MAX_FOLDERS = 2000
WALK_MAX_HIDDEN = 1000


def home_folders() -> list[Path]:
    """The home folders that exist (``$HOME``, ``/home``, ``/root``), never ``/``."""
    found: list[Path] = []
    for raw in (os.environ.get("HOME") or "", *HOME_ROOTS):
        if not raw:
            continue
        path = Path(os.path.realpath(raw))
        if path != Path("/") and path.is_dir() and path not in found:
            found.append(path)
    return found


def home_roots() -> list[Path]:
    """The outermost of :func:`home_folders`."""
    found = home_folders()
    return [p for p in found if not any(other in p.parents for other in found)]


def hidden_names(workdir: Path) -> list[Path]:
    """Dot-entries of ``workdir`` at any depth (not below a dot-folder), breadth first, up
    to :data:`WALK_MAX_FOLDERS` folders walked and :data:`WALK_MAX_HIDDEN` names."""
    found: list[Path] = []
    queue = deque([str(workdir)])
    walked = 0
    while queue and walked < WALK_MAX_FOLDERS and len(found) < WALK_MAX_HIDDEN:
        folder = queue.popleft()
        walked += 1
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        found.append(Path(entry.path))
                    elif entry.is_dir(follow_symlinks=False):
                        queue.append(entry.path)
        except OSError:
            continue
    return found[:WALK_MAX_HIDDEN]


def under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def holds(folder: Path, path: Path) -> bool:
    """Whether ``folder`` is ``path`` or one of its parents."""
    return folder == path or folder in path.parents


def mounts(layout: Layout) -> list[str]:
    """Steps 1 to 5 of the module docstring, as bubblewrap arguments.

    A grant or a rebound folder that holds the working directory (``--allow-read .``,
    ``--allow-write ~``) is bound before the overlay, so it covers neither the staging
    nor the masks of the dot-names; the masks come after every other bind, so they stay
    inside a granted folder too. A writable grant inside the working directory is not
    bound: it is written through the staging like the rest of the folder (see
    :func:`own_writable`)."""
    from autoagent_core.sandbox.confinement import _installation, _runtime_dirs

    assert layout.stage is not None
    cwd = layout.cwd
    args = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    homes = home_roots()
    for home in homes:
        args += ["--tmpfs", str(home)]
    settings = layout.settings
    # the packages folder (the tool environment) is read here too: read-only where it is
    # not also a writable grant
    again = [*_runtime_dirs(), *(Path(p) for p in _installation()),
             settings.path("tools_dir"), settings.path("agents_dir"), layout.packages,
             *(Path(p).expanduser() for p in settings.allow_read)]
    rebound = list(dict.fromkeys(Path(os.path.realpath(path)) for path in again))
    rebound = [real for real in rebound if real.exists() and under(real, [*homes, cwd])]
    outer = [real for real in rebound if holds(real, cwd)]
    for real in outer:
        args += ["--ro-bind", str(real), str(real)]
    for path in layout.writable():
        if path.exists() and holds(path, cwd):
            args += ["--bind", str(path), str(path)]
    args += layout.stage.bwrap_args()
    for home in home_folders():  # a home folder inside the working directory (run from /home)
        if cwd in home.parents:
            args += ["--tmpfs", str(home)]
    exposed = [cwd]
    for real in rebound:
        if real not in outer:
            args += ["--ro-bind", str(real), str(real)]
        exposed.append(real)
    layout.hidden = set()
    for path in hidden_names(cwd):
        if path in rebound or path in layout.writable():
            continue  # bound again above, read-only (or read-write: the packages folder)
        layout.hidden.add(path)
        if path.is_dir() and not path.is_symlink():
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        else:
            args += ["--ro-bind", str(layout.blocker), str(path)]
    layout.homes, layout.exposed = homes, exposed
    return args


def own_writable(path: Path, layout: Layout) -> bool:
    """Whether the writable grant ``path`` is bound by :func:`mounts` (it holds the working
    directory) or not at all (it lies inside: the staging writes it)."""
    return holds(path, layout.cwd) or layout.cwd in path.parents


def visible(path: Path, layout: Layout) -> bool:
    """Whether ``path`` can be seen in open mode (so hiding it needs a mount)."""
    return not under(path, layout.homes) or under(path, [*layout.exposed, *layout.writable()])


def seal(layout: Layout) -> list[str]:
    """Last: the hidden home folders read-only, so a write outside the working directory
    fails at once instead of vanishing with the call (binds inside them are their own
    mounts and keep their modes)."""
    args = []
    for home in layout.homes:
        if home != layout.cwd:  # run from HOME: the overlay itself is mounted there
            args += ["--remount-ro", str(home)]
    return args
