"""Plugin: the ``keyring`` secret store. Offered always; opening it without the ``keyring``
package installed is a configuration error that says how to install it."""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def open_store(settings: Any) -> Any:
    from autoagent_plugins.keyring_secrets.store import KeyringSecretStore

    return KeyringSecretStore()


@hookimpl
def autoagent_secret_stores() -> list[Provider]:
    return [Provider("keyring", open_store,
                     "the OS keyring (pip extra 'keyring'); names listed in the config folder")]
