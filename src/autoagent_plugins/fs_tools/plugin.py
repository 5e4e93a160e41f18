"""Plugin: the ``filesystem`` tool store (``.permanent_tools/``, the original's layout, with
version history).

The implementation lives in :mod:`autoagent_plugins.fs_tools.store`, imported only when the
store is opened, so starting the CLI costs nothing.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_store(settings: Any) -> Any:
    from autoagent_plugins.fs_tools.store import open_store

    return open_store(settings)


@hookimpl
def autoagent_tool_stores() -> list[Provider]:
    return [Provider("filesystem", open_store,
                     "Tools as .py files plus manifest.json in .permanent_tools/ "
                     "(the original AutoAgent's layout), with version history")]
