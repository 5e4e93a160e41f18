"""Run one library tool in the sandbox and record the call: the single code path behind
``autoagent tools run``, the MCP server's ``tools/call`` and anything else that runs a
library tool on someone's behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolStore, ToolVersion


def run_library_tool(store: ToolStore, name: str, args: dict[str, Any], settings: Settings,
                     caller: str, undo_dir: Path | None = None) -> tuple[ToolVersion, ToolResult]:
    """The tool's current version and the outcome of running it with ``args``.

    Raises ``NotFoundError``/``InvalidNameError`` for an unknown or invalid name and
    ``SandboxError`` when the chosen sandbox mode cannot be enforced; what the tool itself
    does is a failed result, never an exception. ``undo_dir``: where open mode keeps what
    the call's commit replaced (a run's ``<run>/undo``; by default a new folder under
    ``<log_dir>/.tool-calls``)."""
    from autoagent_core.sandbox.launcher import run_tool

    tool = store.get(name)
    result = run_tool(tool.code, name, args, settings, undo_dir=undo_dir)
    error = result.error or {}
    store.record_run(name, result.ok,
                     None if result.ok else f"{error.get('class')}: {error.get('message')}",
                     caller=caller, duration_s=result.duration_s)
    return tool, result
