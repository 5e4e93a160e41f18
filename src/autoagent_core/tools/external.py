"""Tools that live outside the library (an MCP server's, for instance).

Plugins provide *tool sources* through the ``autoagent_tool_sources`` hook. The CLI's
``tools list``/``tools run`` and the run loop consult them through :class:`ExternalTools`,
which opens every source lazily, never lets one broken source stop the others, and closes
them once. External tool names contain a dot (``time.get_current_time``), which no library
tool name can, so the two never collide.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolSpec


@dataclass
class ExternalTool:
    """A tool of a source: ``spec.name`` is ``PREFIX.TOOL``; ``source`` says where it lives
    (``mcp:time``)."""

    spec: ToolSpec
    source: str


class ToolSource(Protocol):
    """What a ``autoagent_tool_sources`` provider's factory returns."""

    def owns(self, name: str) -> bool:
        """True when ``name`` is one of this source's tools (cheap: starts nothing)."""
        ...

    def list_tools(self) -> list[ExternalTool]:
        """Every tool; a part that cannot answer costs one warning, never an exception."""
        ...

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        """Run one tool; failures are a failed result with a classified error."""
        ...

    def close(self) -> None:
        ...


def _warn(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


class ExternalTools:
    """Every tool source the installed plugins provide, opened on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sources: list[ToolSource] | None = None

    @property
    def sources(self) -> list[ToolSource]:
        if self._sources is None:
            from autoagent_core.plugins import get_plugin_manager

            self._sources = []
            for plugin, provider in get_plugin_manager().providers("tool_source"):
                try:
                    self._sources.append(provider.factory(self.settings))
                except Exception as exc:  # one broken plugin must not stop the run
                    _warn(f"tool source '{provider.name}' of plugin '{plugin}' failed to "
                          f"open: {type(exc).__name__}: {exc}")
        return self._sources

    def list_tools(self) -> list[ExternalTool]:
        found: list[ExternalTool] = []
        for source in self.sources:
            found.extend(source.list_tools())
        return found

    def owner(self, name: str) -> ToolSource | None:
        if "." not in name and ":" not in name:  # SERVER:TOOL is the original's spelling
            return None
        return next((s for s in self.sources if s.owns(name)), None)

    def close(self) -> None:
        for source in self._sources or []:
            try:
                source.close()
            except Exception as exc:  # closing must not hide the run's outcome
                _warn(f"closing a tool source failed: {type(exc).__name__}: {exc}")
        self._sources = None
