"""What a tool call produced: the captured streams, and their reading as a
:class:`ToolResult` (a result, or a classified error)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.config import Settings
from autoagent_core.errors import SandboxError
from autoagent_core.types import ToolResult

FLOOD_FACTOR = 16  # output beyond this many times the cap stops the call


# --------------------------------------------------------------------------- collection
@dataclass
class Stream:
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
class Outcome:
    stdout: Stream
    stderr: Stream
    result: Stream
    status: Stream
    timed_out: bool = False
    flooded: str | None = None  # "stdout" or "stderr"
    oversized: bool = False  # the result or status channel went past its cap
    limit: str | None = None  # a limit of the process tree: memory, processes, cpu
    limit_message: str = ""
    duration_s: float = 0.0


RESULT_MAX_DEPTH = 100
"""Deepest nesting of a result document read from a tool (the project's JSON scanner:
200,000 nested brackets on the result pipe are a classified error, not a RecursionError)."""


def _scan(stream: Stream) -> tuple[Any, str]:
    """The channel's JSON document and ``""``, or None and why it is not usable."""
    from autoagent_core.protocol import json_scan

    if not stream.data or stream.truncated:
        return None, ""
    try:
        return json_scan.loads(bytes(stream.data), max_depth=RESULT_MAX_DEPTH), ""
    except json_scan.JsonScanError as exc:
        return None, str(exc)


def _json_or_none(stream: Stream) -> Any:
    return _scan(stream)[0]


def _raw_failure(outcome: Outcome, settings: Settings, timeout: float) -> dict[str, Any]:
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
        why = _scan(outcome.result)[1]
        if why.startswith("nested deeper"):
            return {"class": "output_too_large", "type": None,
                    "message": f"the tool's result is {why}"}
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


def to_result(outcome: Outcome, name: str, settings: Settings, strict: bool) -> ToolResult:
    from autoagent_core.tools.errors import classify

    status = _json_or_none(outcome.status) or {}
    if status.get("sandbox_error"):
        raise SandboxError(f"the sandbox could not be set up: {status['sandbox_error']}")
    stopped = outcome.timed_out or outcome.flooded or outcome.limit
    document = None if stopped else _json_or_none(outcome.result)
    if not isinstance(document, dict) or "ok" not in document:
        if not status and not stopped \
                and outcome.stderr.text().startswith(("bwrap:", "unshare:")):
            raise SandboxError(f"the sandbox could not start: {outcome.stderr.text().strip()}")
        document = {"ok": False, "error": _raw_failure(outcome, settings, settings.tool_timeout)}
    truncated = outcome.stdout.truncated or outcome.stderr.truncated
    result = ToolResult(ok=False, stdout=outcome.stdout.text(), stderr=outcome.stderr.text(),
                        duration_s=round(outcome.duration_s, 4), truncated=truncated)
    if document.get("ok") is True:
        result.result = value = document.get("result")
        # the original AutoAgent's convention: a dict with ok false or an error is a failure
        if not (isinstance(value, dict) and value.get("ok") is not True
                and (value.get("ok") is False or value.get("error"))):
            result.ok = True
            return result
        document = {"error": {"class": "exception", "type": None,
                              "message": str(value.get("error") or "the tool reported ok: false")}}
    raw = document.get("error")
    raw = raw if isinstance(raw, dict) else {"class": "exception", "message": str(raw)}
    error = classify(raw, name=name, settings=settings, strict=strict)
    if truncated:
        error["output_truncated"] = True
    result.error = error
    return result
