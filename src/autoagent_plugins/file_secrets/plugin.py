"""Plugin: the ``file`` secret store (the default). The implementation is in
:mod:`autoagent_plugins.file_secrets.store`, imported only when the store is opened."""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_store(settings: Any) -> Any:
    from autoagent_plugins.file_secrets.store import FileSecretStore

    return FileSecretStore()


@hookimpl
def autoagent_secret_stores() -> list[Provider]:
    return [Provider("file", open_store,
                     "secrets.json in the user config folder (mode 0600, hidden from tools)")]
