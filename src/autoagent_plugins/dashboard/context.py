"""What every page of the dashboard reads: the folders, the settings and the stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.types import Provider


@dataclass
class Page:
    """What a page handler returns: the HTML body (already escaped) and the page's data,
    which its JSON twin serves."""

    title: str
    body: str
    data: Any
    live: bool = False


@dataclass
class DashboardContext:
    """The dashboard's view of the stores. Stores are opened through the layers the
    settings select (``tool_store``, ``agent_registry``, ``session_store``)."""

    settings: Any
    token: str
    plugin_pages: list[Provider] = field(default_factory=list)

    @property
    def log_dir(self) -> Path:
        return Path(self.settings.path("log_dir")).absolute()

    @property
    def tools_dir(self) -> Path:
        return Path(self.settings.path("tools_dir")).absolute()

    @property
    def sessions_dir(self) -> Path:
        return Path(self.settings.path("sessions_dir")).absolute()

    @property
    def agents_dir(self) -> Path:
        return Path(self.settings.path("agents_dir")).absolute()

    def tool_store(self) -> Any:
        from autoagent_core.layers import open_tool_store

        return open_tool_store(self.settings)

    def session_store(self) -> Any:
        from autoagent_core.layers import open_session_store

        return open_session_store(self.settings)

    def agent_registry(self) -> Any:
        from autoagent_core.layers import open_agent_registry

        return open_agent_registry(self.settings)

    def redact(self, text: str) -> str:
        """Known secret values (settings, environment, .env) replaced by a mask."""
        from autoagent_core.redact import redactor_for

        return redactor_for(self.settings).text(text)
