"""The program a sandboxed tool call runs: ``python -I -B child.pyc REQUEST`` (its bytecode,
compiled once per CLI process by the launcher).

It imports nothing from autoagent (the standard library only), so a broken install or a
tool that patches modules cannot reach the CLI. The parent (:mod:`autoagent_core.sandbox.launcher`)
writes the request file and reads two pipes:

* the *result* pipe (its fd number is in the request): the worker writes one JSON document,
  ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``, then closes it;
* the *status* pipe: the supervising process writes how the worker ended,
  ``{"exit_code": 0, "signal": null, "cpu_seconds": 0.01}``.

The process forks once: the parent half waits for the worker (and, as PID 1 of a PID
namespace, reaps orphans), then reports its status; when it exits the kernel kills every
process left in the namespace. The worker half applies the resource limits and, in strict
mode, a Landlock ruleset that confines writes to the scratch directory and denies TCP,
then runs the tool. Nothing is ever unpickled: the request is marshal data written by the
launcher, results are JSON.
"""

from __future__ import annotations

import _signal as signal  # type: ignore[import-not-found]  # C: ``signal`` imports enum
import marshal
import os
import resource
import sys

# Only what starting Python already loads, and C modules: no ``json`` (it imports ``re``
# and ``enum``), no ``typing``; ``traceback`` and ``inspect`` are imported only on failure.
# A call of a working tool should cost little more than starting Python.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from autoagent_core.sandbox.landlock import confine_writes, scope_abstract_sockets

RESULT_FD = 3  # replaced by the request's numbers
STATUS_FD = 4
TRACEBACK_LINES = 14
MAX_MESSAGE_CHARS = 4000  # per error message and per traceback line
EXIT_CPU = 128 + signal.SIGXCPU


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _json_encoder() -> Callable[[object], str]:
    """``json.JSONEncoder(allow_nan=False, ensure_ascii=False).encode``, built from the
    C encoder that :mod:`json` itself uses (a fresh one per call: its circular-reference
    markers are not cleaned up after a failure), or from :mod:`json` where that differs."""
    try:
        import _json

        make, quote = _json.make_encoder, _json.encode_basestring
        make({}, _not_json, quote, None, ": ", ", ", False, False, False)
    except (ImportError, AttributeError, TypeError):
        import json

        return json.JSONEncoder(allow_nan=False, ensure_ascii=False).encode

    def encode(value: object) -> str:
        chunks = make({}, _not_json, quote, None, ": ", ", ", False, False, False)(value, 0)
        return "".join(chunks)

    return encode


# bound before the tool runs, so a tool that patches json or os cannot break the reply
_encode = _json_encoder()
_write, _close, _exit = os.write, os.close, os._exit


# --------------------------------------------------------------------------- output
def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = _write(fd, view)
        view = view[written:]


def _send(fd: int, document: dict[str, Any]) -> None:
    try:
        _write_all(fd, _encode(document).encode("utf-8"))
        _close(fd)
    except OSError:
        pass


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters cut)"


def _error(kind: str | None, exc_type: str, message: str, **extra: Any) -> dict[str, Any]:
    # an error document stays small whatever the tool put in its exception
    return {"ok": False, "error": {"class": kind, "type": exc_type,
                                   "message": _clip(message, MAX_MESSAGE_CHARS), **extra}}


# --------------------------------------------------------------------------- limits
def apply_limits(limits: dict[str, int]) -> None:
    """Memory (address space), CPU seconds and file size; no core files; processes of
    the uid when the parent asks (see :mod:`autoagent_core.sandbox.tree_limits`)."""
    cpu = int(limits["cpu_seconds"])
    pairs = [
        (resource.RLIMIT_AS, int(limits["memory_bytes"]), int(limits["memory_bytes"])),
        (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU first, SIGKILL a second later
        (resource.RLIMIT_FSIZE, int(limits["file_bytes"]), int(limits["file_bytes"])),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if limits.get("processes"):
        pairs.append((resource.RLIMIT_NPROC, int(limits["processes"]),
                      int(limits["processes"])))
    for which, soft, hard in pairs:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    # beyond RLIMIT_FSIZE, write() fails with EFBIG instead of killing the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _on_cpu_limit(signum: int, frame: Any) -> None:
    _send(RESULT_FD, _error("cpu", "CPULimit", "the CPU time limit was reached"))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_CPU)


# --------------------------------------------------------------------------- worker
def _tool_traceback(exc: BaseException, filename: str) -> str:
    """The traceback without this file's frames, last lines only."""
    import traceback

    own = _tool_traceback.__code__.co_filename  # this program (run from its bytecode)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != own]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
             *traceback.format_exception_only(type(exc), exc)]
    text = "".join(lines).rstrip("\n").splitlines()
    if len(text) > TRACEBACK_LINES:
        text = ["  ...", *text[-TRACEBACK_LINES:]]
    return "\n".join(_clip(line, MAX_MESSAGE_CHARS) for line in text)


def _exception_error(exc: BaseException, filename: str) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "mro": [c.__name__ for c in type(exc).__mro__],
        "traceback": _tool_traceback(exc, filename),
    }
    if isinstance(exc, ImportError) and exc.name:
        extra["module"] = exc.name
    if isinstance(exc, OSError) and exc.errno is not None:
        extra["errno"] = exc.errno
    if isinstance(exc, SyntaxError):
        extra["lineno"] = exc.lineno
    if isinstance(exc, SystemExit):
        return _error("exception", "SystemExit",
                      f"the tool called sys.exit({exc.code!r}) instead of returning", **extra)
    message = str(exc)
    if isinstance(exc, KeyError) and exc.args:
        message = repr(exc.args[0])
    return _error(None, type(exc).__name__, message, **extra)


def _is_legacy(func: Any, args: dict[str, Any]) -> bool:
    """The original AutoAgent's shape, ``def tool(args: dict)``: pass the dict itself."""
    code = getattr(func, "__code__", None)
    if code is None or set(args) == {"args"}:
        return False
    has_var = code.co_flags & 0x0C  # CO_VARARGS | CO_VARKEYWORDS
    return (code.co_argcount == 1 and not code.co_kwonlyargcount and not has_var
            and not code.co_posonlyargcount and code.co_varnames[0] == "args")


def _signature_error(func: Any, name: str, exc: TypeError,
                     args: dict[str, Any]) -> dict[str, Any]:
    import inspect

    try:
        signature = f"{name}{inspect.signature(func)}"
    except (TypeError, ValueError):
        signature = f"{name}(...)"
    return _error("signature_mismatch", "TypeError", str(exc), signature=signature,
                  given=sorted(args))


class _Source:
    """The tool module's ``__loader__``: tracebacks and ``inspect.getsource`` read the
    tool's lines through it (``linecache`` would cost every call ``tokenize`` and ``re``)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def get_source(self, name: str) -> str:
        return self.code


def _call(request: dict[str, Any]) -> dict[str, Any]:
    import types

    name, code, filename = request["name"], request["code"], request["filename"]
    args: dict[str, Any] = request["args"]
    module = types.ModuleType(f"autoagent_tool_{name}")
    sys.modules[module.__name__] = module  # so that inspect finds the tool's source
    namespace: dict[str, Any] = module.__dict__
    namespace.update(__file__=filename, __builtins__=__builtins__, __loader__=_Source(code))
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return _error("syntax", type(exc).__name__, str(exc),
                      traceback=f"{type(exc).__name__}: {exc}",
                      lineno=getattr(exc, "lineno", None))
    try:
        exec(compiled, namespace)
        func = namespace.get(name)
        if not callable(func):  # as the store: else the file's single public function
            own = [v for k, v in namespace.items() if not k.startswith("_")
                   and isinstance(v, types.FunctionType)
                   and v.__module__ == namespace["__name__"]]
            func = own[0] if len(own) == 1 else None
        if func is None:
            return _error("name", "NameError",
                          f"the tool code defines no function named '{name}'")
        call_args: tuple[Any, ...] = (args,) if _is_legacy(func, args) else ()
        call_kwargs = {} if call_args else args
        try:
            value = func(*call_args, **call_kwargs)
        except TypeError as exc:
            tb = exc.__traceback__
            if tb is not None and tb.tb_next is None:  # raised by the call itself
                return _signature_error(func, name, exc, args)
            raise
        if isinstance(value, types.CoroutineType):
            import asyncio

            value = asyncio.run(value)
    except BaseException as exc:  # the tool's failure, whatever it is, is a result
        return _exception_error(exc, filename)
    try:
        payload = _encode(value)
    except (TypeError, ValueError, RecursionError) as exc:
        return _error("not_json_serializable", type(exc).__name__,
                      f"the tool returned {type(value).__name__}, which is not JSON: {exc}",
                      returned_type=type(value).__name__)
    limit = int(request["result_max_bytes"])
    size = len(payload.encode("utf-8"))
    if size > limit:
        return _error("output_too_large", "ResultTooLarge",
                      f"the tool's result is {size} bytes of JSON, more than the limit of "
                      f"{limit} bytes", size=size, limit=limit)
    return {"ok": True, "result": value}


def worker(request: dict[str, Any]) -> None:
    """Runs in the forked worker: limits, then the tool; exits without returning."""
    os.set_inheritable(RESULT_FD, False)  # the tool's own subprocesses do not get it
    try:
        apply_limits(request["limits"])
        signal.signal(signal.SIGXCPU, _on_cpu_limit)
        document = _call(request)
    except MemoryError:
        document = _error("memory", "MemoryError", "the memory limit was reached")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    _send(RESULT_FD, document)
    _exit(0)


def add_tool_environment(site_folder: str) -> None:
    """Put the tool environment's site folder on ``sys.path`` before autoagent's own
    site-packages (a tool gets the versions locked for it), and read its ``.pth`` files."""
    import site

    position = next((i for i, entry in enumerate(sys.path)
                     if entry.endswith(("site-packages", "dist-packages"))), len(sys.path))
    sys.path.insert(position, site_folder)
    site.addsitedir(site_folder)


# --------------------------------------------------------------------------- supervisor
def supervise(pid: int) -> dict[str, Any]:
    """Wait for the worker, reaping orphans when this process is a namespace's init."""
    while True:
        try:
            done, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return {"exit_code": None, "signal": None, "cpu_seconds": 0.0}
        except InterruptedError:
            continue
        if done == pid:
            return {
                "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "max_rss_kb": usage.ru_maxrss,
            }


def main() -> None:
    global RESULT_FD, STATUS_FD
    with open(sys.argv[1], "rb") as fh:  # written by the launcher: marshal, never pickle
        request = marshal.load(fh)
    RESULT_FD, STATUS_FD = int(request["result_fd"]), int(request["status_fd"])
    os.environ.pop("PWD", None)  # set by bwrap's chdir; the tool's environment stays minimal
    packages = request.get("packages")
    if packages:  # the library's tool environment (read-only): autoagent installed it
        add_tool_environment(packages)
    if request.get("landlock"):  # :mod:`autoagent_core.sandbox.landlock`, compiled
        exec(request["landlock"], globals())
    if request.get("abstract_scope"):
        scope_abstract_sockets()
    if request.get("strict"):
        try:
            confine_writes(request.get("writable") or [request["scratch"]])
        except OSError as exc:
            _send(STATUS_FD, {"sandbox_error": f"cannot confine writes: {exc}"})
            os._exit(70)
    gate = request.get("gate_fd")
    if gate is not None:  # the launcher opens it once every process here is in the cgroup
        try:
            opened = os.read(gate, 1) == b"1"
        except OSError:
            opened = False
        os.close(gate)
        if not opened:
            os._exit(71)
    network = request.get("network")  # open mode: autoagent_core.sandbox.network.inside
    bridge, port = None, 0
    net: dict[str, Any] = {}
    if network:
        exec(network["code"], net)
        try:
            bridge, port = net["open_bridge"]()
        except OSError as exc:
            _send(STATUS_FD, {"sandbox_error": f"no network bridge in the sandbox: {exc}"})
            os._exit(70)
        os.environ.update(net["proxy_environment"](port))
    pid = os.fork()
    if pid == 0:
        os.close(STATUS_FD)
        if bridge is not None:
            bridge.close()
            net["install_socket_patch"](port)
        worker(request)
    os.close(RESULT_FD)
    if bridge is not None:
        import _thread

        _thread.start_new_thread(net["run_bridge"], (bridge, network["socket"]))
    _send(STATUS_FD, supervise(pid))
    os._exit(0)


if __name__ == "__main__":
    main()
