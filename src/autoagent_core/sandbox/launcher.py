"""Run tool code in a separate, confined process; never in the CLI's own process.

Each call starts ``python -I -B child.pyc REQUEST`` (the bytecode of :mod:`child`):

* in ``strict`` and ``open`` mode inside bubblewrap (:mod:`mechanism` finds it,
  :mod:`confinement` builds its command line): new user, PID, mount, IPC and UTS namespaces
  and network (open mode reaches public addresses through autoagent's filtering proxy,
  :mod:`autoagent_core.sandbox.network`), hidden credentials and config, read-only stores
  and installation, a private ``/tmp``; the PID namespace ends with the call, so a
  grandchild that called ``setsid`` dies too. Where bubblewrap cannot build that, the call raises
  :class:`SandboxError` (exit 9): no mode runs weaker than asked;
* in ``none`` mode (only ``--sandbox none`` or the user config) as the user, after a warning
  line; the process group is killed and the processes carrying the call's marker variable
  are swept, best effort;
* with limits on address space, CPU seconds and file size (``setrlimit`` in the child;
  strict adds Landlock: writes only to the scratch folder and ``--allow-write`` paths, and a
  seccomp filter refusing ``socket(AF_UNIX)``), a wall-clock timeout, and stdout/stderr
  captured up to ``tool_output_max_bytes``;
* with limits on the whole process tree (process count, memory and CPU summed over every
  process of the call: a cgroup or a watchdog, see :mod:`autoagent_core.sandbox.tree_limits`);
* with a minimal environment (``PATH``, ``HOME`` and ``TMPDIR`` = the scratch folder,
  ``LANG``), so no API key, token or password of the user reaches it; ``pip`` on its PATH
  refuses (tools declare packages, :mod:`autoagent_core.deps` installs them), and the
  child puts the library's tool environment (read-only) on its own ``sys.path``;
* results come back as JSON on a pipe of their own, at most ``tool_result_max_bytes``.
"""

from __future__ import annotations

import functools
import marshal
import os
import secrets
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.config import Settings, sandbox_mode
from autoagent_core.errors import SandboxError
from autoagent_core.sandbox.outcome import FLOOD_FACTOR, Outcome, Stream, to_result
from autoagent_core.sandbox.process_tree import (
    MARKER_VAR,
    die_with_parent_hook,
    kill_tree,
    sweep_marked,
)
from autoagent_core.sandbox.staging.apply import commit_call, remove_later, remove_tree
from autoagent_core.sandbox.tree_limits import TreeLimiter, tree_limiter
from autoagent_core.types import ToolResult

if TYPE_CHECKING:
    from autoagent_core.sandbox.network.proxy import CallProxy

CHILD_PROGRAM = Path(__file__).with_name("child.py")


@functools.cache
def child_bytecode() -> bytes:
    """:data:`CHILD_PROGRAM` as a ``.pyc`` file, compiled once per process: Python never
    caches the bytecode of the script it runs, and compiling it cost every call."""
    import importlib.util

    code = compile(CHILD_PROGRAM.read_bytes(), str(CHILD_PROGRAM), "exec", dont_inherit=True)
    return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)


@functools.cache
def landlock_code() -> Any:
    """:mod:`autoagent_core.sandbox.landlock` compiled, for the request of a sandboxed call
    (the child imports nothing of autoagent: it runs this code in its own namespace)."""
    path = CHILD_PROGRAM.with_name("landlock.py")
    return compile(path.read_bytes(), str(path), "exec", dont_inherit=True)


EXIT_GRACE_S = 0.5  # after the child exits, how long leftover writers may hold the pipes
READ_CHUNK = 65536
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
NONE_WARNING = ("autoagent: warning: sandbox mode 'none': tools run as you, with your files, "
                "network and credentials (set by --sandbox none or the user config)")
__all__ = ["FLOOD_FACTOR", "run_tool", "strict_available", "sweep_marked"]


# --------------------------------------------------------------------------- capabilities
@functools.lru_cache(maxsize=1)
def _landlock_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Landlock needs Linux"
    from autoagent_core.sandbox.landlock import landlock_abi

    try:
        abi = landlock_abi()
    except OSError as exc:
        return f"Landlock probe failed: {exc}"
    return None if abi >= 1 else "the kernel does not offer Landlock"


def unavailable_reason(mode: str) -> str | None:
    """Why ``mode`` (strict or open) cannot be enforced on this machine, or None."""
    from autoagent_core.sandbox.mechanism import mechanism_status, overlay_missing

    mechanism, detail = mechanism_status()
    if mechanism is None:
        return detail
    return _landlock_reason() if mode == "strict" else overlay_missing(mechanism, detail)


def strict_unavailable_reason() -> str | None:
    """Why strict mode cannot be enforced on this machine, or None when it can."""
    return unavailable_reason("strict")


def strict_available() -> bool:
    """True when strict mode (no network, writes confined) can be enforced here."""
    return strict_unavailable_reason() is None


# --------------------------------------------------------------------------- environment
def child_environment(workdir: Path, marker: str, shims: Path | None) -> dict[str, str]:
    """The whole environment of a tool: nothing from the user's but PATH and LANG, with
    ``shims`` (a ``pip`` that refuses) first on PATH. No PYTHONPATH: the tool environment
    reaches the tool's own interpreter only, through the request."""
    path = os.environ.get("PATH") or DEFAULT_PATH
    env = {
        "PATH": f"{shims}{os.pathsep}{path}" if shims is not None else path,
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        MARKER_VAR: marker,
    }
    return env


# --------------------------------------------------------------------------- collection
def _collect(proc: subprocess.Popen[bytes], fds: dict[str, int], timeout: float,
             settings: Settings, limiter: TreeLimiter) -> Outcome:
    """Read the four pipes until they close, the time is up, the output floods or the
    process tree reaches a limit."""
    out_cap = settings.tool_output_max_bytes
    outcome = Outcome(Stream(out_cap), Stream(out_cap),
                       Stream(settings.tool_result_max_bytes + 1024), Stream(64 * 1024))
    streams = {"stdout": outcome.stdout, "stderr": outcome.stderr,
               "result": outcome.result, "status": outcome.status}
    start = time.monotonic()
    deadline = start + timeout
    exited_at: float | None = None
    selector = selectors.DefaultSelector()
    for label, fd in fds.items():
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ, label)
    try:
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                outcome.timed_out = True
                break
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > EXIT_GRACE_S:
                break
            if limiter.poll():
                break
            wait = min(deadline - now, limiter.interval if exited_at is None else EXIT_GRACE_S)
            for key, _ in selector.select(timeout=max(wait, 0.001)):
                label = key.data
                try:
                    chunk = os.read(key.fd, READ_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    selector.unregister(key.fd)
                    continue
                stream = streams[label]
                stream.add(chunk)
                if label in ("stdout", "stderr") and stream.total > FLOOD_FACTOR * out_cap:
                    outcome.flooded = label
                if label in ("result", "status") and stream.truncated:
                    # past its cap: stop the call now (the writer would block on a full
                    # pipe until the wall-clock limit)
                    outcome.oversized = True
            if outcome.flooded or outcome.oversized:
                break
    finally:
        selector.close()
    outcome.duration_s = time.monotonic() - start
    return outcome


_DIE_WITH_PARENT = die_with_parent_hook()


def _start(argv: list[str], env: dict[str, str], cwd: Path, keep: tuple[int, ...],
           die_with_parent: bool) -> subprocess.Popen[bytes]:
    """Start the call; bwrap's own ``--die-with-parent`` makes the parent-death hook
    unnecessary in the sandboxed modes, and without a pre-exec hook the standard library
    can use vfork, which is faster."""
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=cwd, start_new_session=True, close_fds=True, pass_fds=keep,
        preexec_fn=_DIE_WITH_PARENT if die_with_parent else None,
    )


_warned_none = False


def _warn_none() -> None:
    global _warned_none
    if not _warned_none:
        _warned_none = True
        sys.stderr.write(NONE_WARNING + "\n")
        sys.stderr.flush()


def _check_mode(mode: str) -> None:
    if mode == "none":
        _warn_none()
        return
    reason = unavailable_reason(mode)
    if reason:
        raise SandboxError(f"the {mode} sandbox cannot be enforced on this machine: {reason}; "
                           "refusing to run the tool")


def run_tool(code: str, name: str, args: dict[str, Any], settings: Settings,
             workdir: Path | None = None, extra_env: dict[str, str] | None = None,
             undo_dir: Path | None = None) -> ToolResult:
    """Run the function ``name`` defined by ``code`` with ``args`` as keyword arguments.

    ``extra_env`` is added to the tool's environment for this call only (the secrets the
    tool declares); nothing else of the user's environment reaches it. ``undo_dir``: where
    open mode's commit keeps what it replaced (:mod:`.staging`).

    Never raises for what the tool does (that is a failed :class:`ToolResult` with a
    classified error); raises :class:`SandboxError` when the mode cannot be enforced.
    """
    from autoagent_core.deps.environment import tool_site, write_shims
    from autoagent_core.sandbox import confinement

    mode = sandbox_mode(settings)
    _check_mode(mode)
    if workdir is not None:
        try:
            workdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SandboxError(f"cannot create the working directory {workdir}: "
                               f"{exc.strerror or exc}") from None
    control = Path(tempfile.mkdtemp(prefix="autoagent-call-"))
    scratch = workdir.resolve() if workdir is not None else Path(
        tempfile.mkdtemp(prefix="autoagent-tool-"))
    marker = secrets.token_hex(8)
    layout: confinement.Layout | None = None
    limiter: TreeLimiter | None = None
    proxy: CallProxy | None = None
    try:
        # the sandbox's own processes in the tree: bwrap's monitor, its init in the PID
        # namespace and the supervisor; or the supervisor alone
        limiter = tree_limiter(settings, own_processes=1 if mode == "none" else 3,
                               marker_entry=f"{MARKER_VAR}={marker}")
        prefix: list[str] = []
        keep: tuple[int, ...] = ()
        if mode != "none":
            layout = confinement.prepare(mode, settings, Path.cwd(), scratch, control,
                                         CHILD_PROGRAM)
            prefix = confinement.command(layout)
            keep = () if layout.seccomp_fd is None else (layout.seccomp_fd,)
        network = None
        if mode == "open":
            from autoagent_core.sandbox.network import start_call_network

            proxy, network = start_call_network(settings, control)
        site = tool_site(settings)
        request = {
            "name": name, "code": code, "filename": f"{name}.py", "args": args,
            "strict": mode == "strict", "scratch": str(scratch),
            "abstract_scope": mode == "open",
            "landlock": landlock_code() if mode != "none" else None,
            "writable": [str(p) for p in layout.writable() if p.exists()] if layout else [],
            "packages": str(site) if site is not None else None,
            "network": network,
            "result_max_bytes": settings.tool_result_max_bytes,
            "limits": {"memory_bytes": settings.tool_memory_mb * 1024 * 1024,
                       "cpu_seconds": settings.tool_cpu_seconds,
                       "file_bytes": settings.tool_file_max_mb * 1024 * 1024,
                       **limiter.child_limits()},
        }
        result_r, result_w = os.pipe()
        status_r, status_w = os.pipe()
        request["result_fd"], request["status_fd"] = result_w, status_w
        # a gated limiter: the child holds the tool back until the tree is under the limiter
        gate_r, gate_w = os.pipe() if limiter.gated else (-1, -1)
        if gate_r >= 0:
            request["gate_fd"] = gate_r
            keep = (*keep, gate_r)
        request_path = control / "request"
        request_path.write_bytes(marshal.dumps(request))
        program = control / "child.pyc"
        program.write_bytes(child_bytecode())
        argv = [*prefix, sys.executable, "-I", "-B", str(program), str(request_path)]
        try:
            env = child_environment(scratch, marker, write_shims(control / "bin"))
            env.update(extra_env or {})
            proc = _start(argv, env, scratch,
                          (result_w, status_w, *keep), die_with_parent=mode == "none")
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (result_r, result_w, status_r, status_w, gate_w):
                if fd >= 0:
                    os.close(fd)
            raise SandboxError(f"cannot start the sandbox process: {exc}") from None
        finally:
            for fd in keep:
                os.close(fd)
        os.close(result_w)
        os.close(status_w)
        assert proc.stdout is not None and proc.stderr is not None
        fds = {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno(),
               "result": result_r, "status": status_r}
        try:
            try:
                limiter.attach(proc.pid)
                if gate_w >= 0:
                    os.write(gate_w, b"1")
            finally:
                if gate_w >= 0:  # closed without a byte: the child exits, the tool unrun
                    os.close(gate_w)
            outcome = _collect(proc, fds, settings.tool_timeout, settings, limiter)
        finally:
            kill_tree(proc, marker, sweep=mode == "none")
            closing, limiter = limiter, None
            hit = closing.close()  # kills whatever is left of the tree, frees the cgroup
            proc.stdout.close()
            proc.stderr.close()
            os.close(result_r)
            os.close(status_r)
        if hit:
            outcome.limit, outcome.limit_message = hit, closing.message()
        result = to_result(outcome, name, settings, mode == "strict")
        if layout is not None and layout.stage is not None:  # open mode: commit the writes
            result.files, result.refused = commit_call(layout, settings, undo_dir)
    finally:
        if limiter is not None:  # the call never started
            limiter.close()
        if proxy is not None:
            proxy.close()
        remove_later(control)  # with the overlay's layer, beside the caller's next step
        if workdir is None:
            remove_tree(scratch)
        if layout is not None:
            confinement.remove_planted(layout)
    if proxy is not None:
        from autoagent_core.sandbox.network import explain_refusals

        explain_refusals(result, proxy)
    return result
