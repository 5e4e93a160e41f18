"""Plugin: the tools of the configured MCP servers as a tool source (``SERVER.TOOL``).

The implementation (and the ``mcp`` SDK) is imported only when the source is opened.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_source(settings: Any) -> Any:
    from autoagent_plugins.mcp.client import McpToolSource

    return McpToolSource(settings)


@hookimpl
def autoagent_tool_sources() -> list[Provider]:
    if importlib.util.find_spec("mcp") is None:  # the optional 'mcp' extra
        return []
    return [Provider("mcp", open_source, "Tools of the configured MCP servers")]


@hookimpl
def autoagent_register_commands(app: Any) -> None:
    from autoagent_plugins.mcp.cli import app as mcp_app

    app.add_typer(mcp_app, name="mcp")
