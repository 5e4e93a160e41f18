"""Run one library tool in the sandbox and record the call: the single code path behind
``autoagent tools run``, the MCP server's ``tools/call`` and anything else that runs a
library tool on someone's behalf."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolStore, ToolVersion


def run_library_tool(store: ToolStore, name: str, args: dict[str, Any], settings: Settings,
                     caller: str) -> tuple[ToolVersion, ToolResult]:
    """The tool's current version and the outcome of running it with ``args``.

    Raises ``NotFoundError``/``InvalidNameError`` for an unknown or invalid name and
    ``SandboxError`` when the chosen sandbox mode cannot be enforced; what the tool itself
    does is a failed result, never an exception.

    The tool gets the secrets it declares as environment variables (a declared secret the
    store lacks fails the call with advice), and the result comes back with every secret
    value masked."""
    from autoagent_core.sandbox.launcher import run_tool
    from autoagent_core.secrets.inject import (
        missing_secrets_result,
        redact_result,
        tool_environment,
    )

    tool = store.get(name)
    env, missing = tool_environment(tool.code)
    if missing:
        result = missing_secrets_result(missing)
    else:
        result = redact_result(run_tool(tool.code, name, args, settings, extra_env=env))
    error = result.error or {}
    store.record_run(name, result.ok,
                     None if result.ok else f"{error.get('class')}: {error.get('message')}",
                     caller=caller, duration_s=result.duration_s)
    return tool, result
