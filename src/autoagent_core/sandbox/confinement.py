"""The bubblewrap command line of one tool call, per sandbox mode (README, "Tools and the
sandbox"; ARCHITECTURE.md, "Tool execution").

Both modes: every namespace unshared (``--unshare-all``: the network too; open mode reaches
the world through autoagent's filtering proxy, :mod:`autoagent_core.sandbox.network`),
``--die-with-parent``, ``--new-session``, a fresh ``/proc`` (a new PID
namespace: the CLI's ``/proc/<pid>`` entries do not exist), a fresh ``/dev``, a private
``/tmp``. Later mounts cover earlier ones, so the order is: what is readable, what is
writable, what is protected (read-only again), what is hidden (an empty read-only tmpfs over a
folder, an unreadable mode-000 file over a file).

* strict: the root is an empty tmpfs; the system folders and the Python runtime are bound
  read-only, the scratch folder and ``--allow-write`` paths read-write, ``--allow-read``
  paths read-only. No network.
* open: the allow-list of :mod:`autoagent_core.sandbox.open_view` (the system, the working
  directory without its dot-names through the staging overlay, the runtime and the tool
  library read-only, nothing else of HOME), then the scratch folder and ``--allow-write``
  paths read-write; the tool's current directory is the working directory, and what it
  writes there is committed after the call (:mod:`autoagent_core.sandbox.staging`). The
  stores of sessions and runs are hidden.

Both modes bind the library's tool environment (``<tools_dir>.deps``) read-only, also where
it lies inside the working directory: tools import from it and never write it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autoagent_core.config import Settings, config_path
from autoagent_core.sandbox.staging.layer import StagingLayer

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
              "nsswitch.conf", "hosts", "host.conf", "ssl", "ca-certificates", "mime.types",
              "alternatives", "pki", "protocols", "services", "os-release")
HOME_SECRETS = (".ssh", ".netrc", ".aws", ".config/gcloud", ".docker", ".kube", ".gnupg",
                ".local/share/keyrings", ".git-credentials", ".pypirc")
RUNTIME_DIRS = ("/run", "/var/run")
UNPRIVILEGED_ID = 65534  # the tool's uid/gid inside the namespace when the CLI is root


def packages_dir(settings: Settings) -> Path:
    """The library's tool environment and its locks (:mod:`autoagent_core.deps`), read-only
    to tools."""
    from autoagent_core.deps.environment import deps_root

    return deps_root(settings).resolve()


def protected_paths(settings: Settings, cwd: Path) -> list[Path]:
    """Read-only to tools in both modes: autoagent's stores, ``.git``, its installation."""
    paths = [settings.path(key).resolve() for key in
             ("tools_dir", "agents_dir", "sessions_dir", "log_dir")]
    paths.append(packages_dir(settings))
    paths.append(cwd / ".git")
    paths += [Path(p).resolve() for p in _installation()]
    return _unique(paths)


def _installation() -> list[str]:
    import autoagent_core

    package = Path(autoagent_core.__file__).resolve().parent
    return [sys.prefix, sys.exec_prefix, str(package.parent)]


def hidden_paths(cwd: Path) -> list[Path]:
    """Unreadable to tools in both modes: credentials, autoagent's config, runtime sockets."""
    home = Path(os.environ.get("HOME") or Path.home())
    paths = [directory / ".env" for directory in (cwd, *cwd.parents)]
    config = config_path()
    paths.append(config if os.environ.get("AUTOAGENT_CONFIG") else config.parent)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    paths.append(Path(xdg) / "autoagent" if xdg else home / ".config" / "autoagent")
    paths += [home / name for name in HOME_SECRETS]
    paths += [Path(p) for p in RUNTIME_DIRS]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        paths.append(Path(runtime))
    return _unique(paths)


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: dict[str, Path] = {}
    for path in paths:
        seen.setdefault(os.path.abspath(path), Path(os.path.abspath(path)))
    return list(seen.values())


def _real(path: Path) -> Path | None:
    """``path`` with symlinks resolved when it exists (a symlink to a hidden file is hidden
    at its target); None when nothing is there."""
    if not os.path.lexists(path):
        return None
    return Path(os.path.realpath(path))


@dataclass
class Layout:
    """Inputs of one call's command line."""

    mode: str  # "strict" or "open"
    bwrap: str
    settings: Settings
    cwd: Path
    scratch: Path
    control: Path
    blocker: Path  # an empty mode-000 file, bound over hidden files
    child_program: Path
    seccomp_fd: int | None = None
    absent: list[Path] = field(default_factory=list)  # guarded paths that did not exist
    stage: StagingLayer | None = None  # open mode: the overlay over the working directory
    homes: list[Path] = field(default_factory=list)  # open mode: the hidden home folders
    exposed: list[Path] = field(default_factory=list)  # open mode: what is bound back
    hidden: set[Path] = field(default_factory=set)  # what is covered already (one mount each)
    _writable: list[Path] | None = field(default=None, repr=False)
    _readable: list[Path] | None = field(default=None, repr=False)

    @property
    def packages(self) -> Path:
        return packages_dir(self.settings)

    def writable(self) -> list[Path]:
        """The folders the call may write (computed once per call; do not change it)."""
        if self._writable is None:
            grants = [Path(p).expanduser().resolve() for p in self.settings.allow_write]
            base = [self.scratch, *grants]
            # open mode: the working directory is staged, not bound; the tool environment
            # is read-only (autoagent_core.deps installs it)
            self._writable = _unique(base)
        return self._writable

    def readable(self) -> list[Path]:
        """What strict mode binds read-only besides the system (computed once per call)."""
        if self._readable is None:
            grants = [Path(p).expanduser().resolve() for p in self.settings.allow_read]
            self._readable = _unique([*_runtime_dirs(), *grants, self.packages])
        return self._readable


def _runtime_dirs() -> list[Path]:
    roots = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
             os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    return [Path(r) for r in sorted(roots) if r not in ("/usr", "/")]


@functools.cache
def _strict_base() -> tuple[str, ...]:
    """The system part of strict mode's tree (the same for every call of a process)."""
    args = ["--tmpfs", "/"]
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):
            args += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            args += ["--ro-bind", directory, directory]
    for name in SYSTEM_ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return tuple(args)


def command(layout: Layout) -> list[str]:
    """The ``bwrap`` arguments (up to and including ``--``) for ``layout``."""
    from autoagent_core.sandbox import open_view

    strict = layout.mode == "strict"
    args = [layout.bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:  # no capabilities inside: chmod/utime on read-only binds fail
        args += ["--uid", str(UNPRIVILEGED_ID), "--gid", str(UNPRIVILEGED_ID)]
    if strict:
        args += list(_strict_base())
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for path in layout.readable():
            if path.exists():
                args += ["--ro-bind", str(path), str(path)]
    else:
        args += open_view.mounts(layout)
    for path in layout.writable():
        if path.exists() and (strict or not open_view.own_writable(path, layout)):
            args += ["--bind", str(path), str(path)]
    args += ["--ro-bind", str(layout.control), str(layout.control),
             "--ro-bind", str(layout.child_program), str(layout.child_program)]
    layout.absent = []
    layout.hidden = set(layout.hidden)
    for path in protected_paths(layout.settings, layout.cwd):
        real = _real(path)
        if real is None:
            _note_absent(path, layout)
        elif not strict and real in _unreadable_stores(layout.settings):
            if open_view.visible(real, layout) and real not in layout.hidden:
                args += ["--tmpfs", str(real), "--remount-ro", str(real)]
                layout.hidden.add(real)
        elif not strict and open_view.under(real, [layout.cwd]):
            continue  # hidden (a dot-name) or bound read-only by open_view; never committed
        elif _visible(real, layout):
            args += ["--ro-bind", str(real), str(real)]
    for path in hidden_paths(layout.cwd):
        real = _real(path)
        if real is None:
            _note_absent(path, layout)
        elif real not in layout.hidden and _visible(real, layout):
            layout.hidden.add(real)
            if real.is_dir():
                args += ["--tmpfs", str(real), "--remount-ro", str(real)]
            else:
                args += ["--ro-bind", str(layout.blocker), str(real)]
    if not strict:
        args += open_view.seal(layout)
    if layout.seccomp_fd is not None:
        args += ["--seccomp", str(layout.seccomp_fd)]
    args += ["--chdir", str(layout.scratch if strict else layout.cwd), "--"]
    return args


def _unreadable_stores(settings: Settings) -> list[Path]:
    """Open mode hides the sessions and runs (a tool reads the library and agents only)."""
    return [settings.path(key).resolve() for key in ("sessions_dir", "log_dir")]


def _note_absent(path: Path, layout: Layout) -> None:
    """Remember a guarded path the tool could create (it lies in a writable folder)."""
    if any(root in path.parents for root in layout.writable()):
        layout.absent.append(path)


def _visible(path: Path, layout: Layout) -> bool:
    """In strict mode only what was bound is there, in open mode what the allow-list
    shows: cover only paths that can be seen."""
    if layout.mode != "strict":
        from autoagent_core.sandbox.open_view import visible

        return visible(path, layout)
    bound = [*layout.readable(), *layout.writable()]
    return any(path == root or root in path.parents for root in bound)


def prepare(mode: str, settings: Settings, cwd: Path, scratch: Path, control: Path,
            child_program: Path) -> Layout:
    """The layout of one call: the stores exist (so they can be bound read-only), the
    blocker file and, in strict mode, the seccomp program are in ``control``."""
    from autoagent_core.sandbox.mechanism import require_bwrap

    bwrap = require_bwrap(mode).path
    for key in ("tools_dir", "agents_dir", "sessions_dir", "log_dir"):
        # a store folder that does not exist could be planted by the tool
        with contextlib.suppress(OSError):
            settings.path(key).mkdir(parents=True, exist_ok=True)
    blocker = control / "hidden"
    blocker.touch(mode=0o000)
    blocker.chmod(0o000)
    layout = Layout(mode, bwrap, settings, cwd.resolve(), scratch, control, blocker,
                    child_program)
    if mode == "open":
        from autoagent_core.errors import SandboxError
        from autoagent_core.sandbox.staging.layer import create_layer

        if layout.cwd == Path("/"):
            raise SandboxError("open mode does not run tools with / as the working directory; "
                               "run autoagent from a project folder")
        layout.stage = create_layer(control, layout.cwd)
    if mode == "strict":
        from autoagent_core.sandbox.seccomp import deny_unix_sockets

        program = control / "seccomp.bpf"
        program.write_bytes(deny_unix_sockets())
        layout.seccomp_fd = os.open(program, os.O_RDONLY)
    return layout


def remove_planted(layout: Layout) -> list[Path]:
    """Remove what the call created at a guarded path that did not exist before it (a new
    ``.env`` or ``.git`` in the working directory); the paths removed."""
    import shutil

    removed = []
    for path in layout.absent:
        if os.path.lexists(path):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        sys.stderr.write("autoagent: warning: a tool created "
                         f"{', '.join(map(str, removed))}; removed\n")
    return removed
