"""Run tool code in a separate, limited process; never in the CLI's own process.

Each call starts ``python -I -B sandbox_child.py REQUEST`` (see :mod:`sandbox_child`):

* inside ``unshare --user --map-root-user --pid --fork --kill-child`` when the machine
  allows it (unprivileged user and PID namespaces): killing ``unshare`` kills the PID
  namespace's init and with it every process of the call, also a grandchild that called
  ``setsid``. Without ``unshare`` (open mode only) the process group is killed and the
  processes carrying the call's marker variable are swept, best effort;
* with limits on address space, CPU seconds and file size (``setrlimit`` in the child),
  on the whole process tree (process count, memory and CPU summed over every process of
  the call: a cgroup or a watchdog, see :mod:`autoagent_core.sandbox.tree_limits`),
  a wall-clock timeout, and stdout/stderr captured up to ``tool_output_max_bytes``;
* with a minimal environment (``PATH``, ``HOME`` and ``TMPDIR`` = the working directory,
  ``LANG``), so no API key, token or password of the user reaches the tool;
* in its own working directory, a fresh temp directory per call unless ``workdir`` is
  given;
* results come back as JSON on a pipe of their own, at most ``tool_result_max_bytes``.

Open mode (``DANGEROUS_TOOLS=1``, the default, as in the original AutoAgent) allows
network, imports, files and subprocesses within these limits. Strict mode
(``dangerous_tools = false`` or ``--sandbox strict``) adds ``unshare --net`` (no network)
and a Landlock ruleset that allows writes only beneath the working directory; where the
machine cannot enforce both, :func:`run_tool` raises :class:`SandboxError` (exit 9) instead
of running the tool unconfined.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.config import Settings
from autoagent_core.errors import SandboxError
from autoagent_core.sandbox.tree_limits import TreeLimiter, tree_limiter
from autoagent_core.types import ToolResult

CHILD_PROGRAM = Path(__file__).with_name("child.py")
UNSHARE_ARGS = ("--user", "--map-root-user", "--pid", "--fork", "--kill-child")
MARKER_VAR = "AUTOAGENT_SANDBOX_CALL"
EXIT_GRACE_S = 0.5  # after the child exits, how long leftover writers may hold the pipes
FLOOD_FACTOR = 16  # output beyond this many times the cap stops the call
READ_CHUNK = 65536
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


# --------------------------------------------------------------------------- capabilities
@functools.lru_cache(maxsize=4)
def _unshare_works(net: bool) -> str | None:
    """None when ``unshare`` can create the namespaces here, else the reason it cannot."""
    exe = shutil.which("unshare")
    if exe is None:
        return "the unshare command (util-linux) is not installed"
    argv = [exe, *UNSHARE_ARGS, *(["--net"] if net else []), "true"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare could not run: {exc}"
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        return f"unshare failed: {detail[0]}"
    return None


@functools.lru_cache(maxsize=1)
def _landlock_reason() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Landlock needs Linux"
    from autoagent_core.sandbox.child import landlock_abi

    try:
        abi = landlock_abi()
    except OSError as exc:
        return f"Landlock probe failed: {exc}"
    return None if abi >= 1 else "the kernel does not offer Landlock"


def strict_unavailable_reason() -> str | None:
    """Why strict mode cannot be enforced on this machine, or None when it can."""
    return _unshare_works(True) or _landlock_reason()


def strict_available() -> bool:
    """True when strict mode (no network, writes confined) can be enforced here."""
    return strict_unavailable_reason() is None


# --------------------------------------------------------------------------- environment
def child_environment(workdir: Path, marker: str) -> dict[str, str]:
    """The whole environment of a tool: nothing from the user's but PATH and LANG."""
    return {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        MARKER_VAR: marker,
    }


# --------------------------------------------------------------------------- collection
@dataclass
class _Stream:
    cap: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class _Outcome:
    stdout: _Stream
    stderr: _Stream
    result: _Stream
    status: _Stream
    timed_out: bool = False
    flooded: str | None = None  # "stdout" or "stderr"
    oversized: bool = False  # the result or status channel went past its cap
    limit: str | None = None  # a limit of the process tree: memory, processes, cpu
    limit_message: str = ""
    duration_s: float = 0.0


def _collect(proc: subprocess.Popen[bytes], fds: dict[str, int], timeout: float,
             settings: Settings, limiter: TreeLimiter) -> _Outcome:
    """Read the four pipes until they close, the time is up, the output floods or the
    process tree reaches a limit."""
    out_cap = settings.tool_output_max_bytes
    outcome = _Outcome(_Stream(out_cap), _Stream(out_cap),
                       _Stream(settings.tool_result_max_bytes + 1024), _Stream(64 * 1024))
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


# --------------------------------------------------------------------------- killing
def _kill_tree(proc: subprocess.Popen[bytes], marker: str, sweep: bool) -> None:
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


# --------------------------------------------------------------------------- running
def _json_or_none(stream: _Stream) -> Any:
    if not stream.data or stream.truncated:
        return None
    try:
        return json.loads(stream.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _raw_failure(outcome: _Outcome, settings: Settings, timeout: float) -> dict[str, Any]:
    """What went wrong when the worker returned no usable result."""
    if outcome.limit:
        return {"class": outcome.limit, "type": None, "message": outcome.limit_message}
    if outcome.timed_out:
        return {"class": "timeout", "type": None,
                "message": f"the call was stopped after {timeout:g} s (wall-clock limit)"}
    if outcome.flooded:
        cap = settings.tool_output_max_bytes
        return {"class": "output_too_large", "type": None,
                "message": f"the tool wrote more than {FLOOD_FACTOR * cap} bytes to "
                           f"{outcome.flooded} and was stopped; output is cut at {cap} bytes "
                           "per stream"}
    if outcome.result.truncated:
        return {"class": "output_too_large", "type": None,
                "message": f"the tool's result is larger than "
                           f"{settings.tool_result_max_bytes} bytes"}
    if outcome.result.data:
        return {"class": "exception", "type": None,
                "message": "the tool's result channel held something that is not the "
                           "expected JSON (did the tool write to file descriptor 3?)"}
    status = _json_or_none(outcome.status) or {}
    sig = status.get("signal")
    cpu = float(status.get("cpu_seconds") or 0.0)
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= settings.tool_cpu_seconds):
        return {"class": "cpu", "type": None,
                "message": f"the CPU time limit of {settings.tool_cpu_seconds} s was reached"}
    if sig == signal.SIGKILL:
        return {"class": "memory", "type": None,
                "message": "the tool process was killed (SIGKILL), most likely out of memory"}
    if sig:
        return {"class": "exception", "type": None,
                "message": f"the tool process died of signal {signal.Signals(sig).name}"}
    code = status.get("exit_code")
    return {"class": "exception", "type": None,
            "message": f"the tool process ended (exit code {code}) without returning a result"}


PR_SET_PDEATHSIG = 1


def _die_with_parent_hook() -> Any:
    """A pre-exec hook that makes the launched process get SIGKILL when autoagent dies
    (even by ``kill -9``): ``unshare --kill-child`` then takes the whole tool tree with it,
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


_DIE_WITH_PARENT = _die_with_parent_hook()


def _start(argv: list[str], env: dict[str, str], cwd: Path, keep: tuple[int, ...],
           limiter: TreeLimiter) -> subprocess.Popen[bytes]:
    die_with_parent = _DIE_WITH_PARENT

    def preexec() -> None:  # between fork and exec: into the call's cgroup, if any
        limiter.preexec()
        if die_with_parent is not None:
            die_with_parent()

    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=cwd, start_new_session=True, close_fds=True, pass_fds=keep,
        preexec_fn=preexec,
    )


def run_tool(code: str, name: str, args: dict[str, Any], settings: Settings,
             workdir: Path | None = None) -> ToolResult:
    """Run the function ``name`` defined by ``code`` with ``args`` as keyword arguments.

    Never raises for what the tool does (that is a failed :class:`ToolResult` with a
    classified error); raises :class:`SandboxError` when strict mode cannot be enforced.
    """
    strict = not settings.dangerous_tools
    if strict:
        reason = strict_unavailable_reason()
        if reason:
            raise SandboxError(
                f"strict sandbox mode cannot be enforced on this machine ({reason}); "
                "refusing to run the tool unconfined. Use --sandbox open "
                "(DANGEROUS_TOOLS=1) to run it without network and file confinement"
            )
    use_namespaces = _unshare_works(strict) is None
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
    limiter: TreeLimiter | None = None
    try:
        # the sandbox's own processes in the tree: unshare and the supervisor, or the
        # supervisor alone
        limiter = tree_limiter(settings, own_processes=2 if use_namespaces else 1,
                               marker_entry=f"{MARKER_VAR}={marker}")
        request = {
            "name": name, "code": code, "filename": f"{name}.py", "args": args,
            "strict": strict, "scratch": str(scratch),
            "result_max_bytes": settings.tool_result_max_bytes,
            "limits": {"memory_bytes": settings.tool_memory_mb * 1024 * 1024,
                       "cpu_seconds": settings.tool_cpu_seconds,
                       "file_bytes": settings.tool_file_max_mb * 1024 * 1024,
                       **limiter.child_limits()},
        }
        result_r, result_w = os.pipe()
        status_r, status_w = os.pipe()
        request["result_fd"], request["status_fd"] = result_w, status_w
        request_path = control / "request.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        argv = [sys.executable, "-I", "-B", str(CHILD_PROGRAM), str(request_path)]
        if use_namespaces:
            argv = [shutil.which("unshare") or "unshare", *UNSHARE_ARGS,
                    *(["--net"] if strict else []), *argv]
        try:
            proc = _start(argv, child_environment(scratch, marker), scratch,
                          (result_w, status_w), limiter)
        except (OSError, subprocess.SubprocessError) as exc:
            for fd in (result_r, result_w, status_r, status_w):
                os.close(fd)
            raise SandboxError(f"cannot start the sandbox process: {exc}") from None
        limiter.attach(proc.pid)
        os.close(result_w)
        os.close(status_w)
        assert proc.stdout is not None and proc.stderr is not None
        fds = {"stdout": proc.stdout.fileno(), "stderr": proc.stderr.fileno(),
               "result": result_r, "status": status_r}
        try:
            outcome = _collect(proc, fds, settings.tool_timeout, settings, limiter)
        finally:
            _kill_tree(proc, marker, sweep=not use_namespaces)
            closing, limiter = limiter, None
            hit = closing.close()  # kills whatever is left of the tree, frees the cgroup
            proc.stdout.close()
            proc.stderr.close()
            os.close(result_r)
            os.close(status_r)
        if hit:
            outcome.limit, outcome.limit_message = hit, closing.message()
    finally:
        if limiter is not None:  # the call never started
            limiter.close()
        shutil.rmtree(control, ignore_errors=True)
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return _to_result(outcome, name, settings, strict)


def _to_result(outcome: _Outcome, name: str, settings: Settings, strict: bool) -> ToolResult:
    from autoagent_core.tools.errors import classify

    status = _json_or_none(outcome.status) or {}
    if status.get("sandbox_error"):
        raise SandboxError(f"the sandbox could not be set up: {status['sandbox_error']}")
    stopped = outcome.timed_out or outcome.flooded or outcome.limit
    document = None if stopped else _json_or_none(outcome.result)
    if not isinstance(document, dict) or "ok" not in document:
        if not status and not stopped \
                and outcome.stderr.text().startswith("unshare:"):
            raise SandboxError(f"the sandbox could not start: {outcome.stderr.text().strip()}")
        document = {"ok": False, "error": _raw_failure(outcome, settings, settings.tool_timeout)}
    truncated = outcome.stdout.truncated or outcome.stderr.truncated
    result = ToolResult(ok=False, stdout=outcome.stdout.text(), stderr=outcome.stderr.text(),
                        duration_s=round(outcome.duration_s, 4), truncated=truncated)
    if document.get("ok") is True:
        result.ok = True
        result.result = document.get("result")
        return result
    raw = document.get("error")
    raw = raw if isinstance(raw, dict) else {"class": "exception", "message": str(raw)}
    error = classify(raw, name=name, settings=settings, strict=strict)
    if truncated:
        error["output_truncated"] = True
    result.error = error
    return result
