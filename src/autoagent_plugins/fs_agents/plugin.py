"""Plugin: the ``filesystem`` agent registry (``.agents/``, the original's layout).

The implementation lives in :mod:`autoagent_plugins.fs_agents.store`, imported only when the
registry is opened, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_registry(settings: Any) -> Any:
    from autoagent_plugins.fs_agents.store import open_registry

    return open_registry(settings)


@hookimpl
def autoagent_agent_registries() -> list[Provider]:
    return [Provider("filesystem", open_registry,
                     "One JSON file per agent in agents_dir (default .agents/)")]
