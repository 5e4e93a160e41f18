"""Run one library tool in the sandbox and record the call: the single code path behind
``autoagent tools run``, the MCP server's ``tools/call`` and anything else that runs a
library tool on someone's behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from autoagent_core.config import Settings
    from autoagent_core.deps.prepare import Notify
    from autoagent_core.types import ToolResult, ToolStore, ToolVersion


def run_library_tool(store: ToolStore, name: str, args: dict[str, Any], settings: Settings,
                     caller: str, notify: Notify | None = None,
                     undo_dir: Path | None = None) -> tuple[ToolVersion, ToolResult]:
    """The tool version that ran (a new one when a missing module was declared) and the
    outcome of running it with ``args``.

    The tool's declared dependencies are installed first, as locked; a module it misses is
    installed and declared and the call made again (:mod:`autoagent_core.deps.prepare`,
    each step reported through ``notify(kind, **fields)``). ``undo_dir``: where open mode
    keeps what the call's commit replaced (a run's ``<run>/undo``; by default a new folder
    under ``<log_dir>/.tool-calls``).

    Raises ``NotFoundError``/``InvalidNameError`` for an unknown or invalid name and
    ``SandboxError`` when the chosen sandbox mode cannot be enforced; what the tool itself
    does is a failed result, never an exception.

    The tool gets the secrets it declares as environment variables (a declared secret the
    store lacks fails the call with advice), and the result comes back with every secret
    value masked."""
    from autoagent_core.deps.prepare import run_with_dependencies
    from autoagent_core.sandbox.launcher import run_tool
    from autoagent_core.secrets.inject import (
        missing_secrets_result,
        redact_result,
        tool_environment,
    )

    def run(version: ToolVersion) -> ToolResult:
        env, missing = tool_environment(version.code)
        if missing:
            return missing_secrets_result(missing)
        return redact_result(run_tool(version.code, name, args, settings, extra_env=env,
                                      undo_dir=undo_dir))

    tool, result = run_with_dependencies(store, store.get(name), settings, run,
                                         notify or _quiet)
    error = result.error or {}
    store.record_run(name, result.ok,
                     None if result.ok else f"{error.get('class')}: {error.get('message')}",
                     caller=caller, duration_s=result.duration_s)
    return tool, result


def _quiet(kind: str, /, **data: Any) -> None:
    return None
