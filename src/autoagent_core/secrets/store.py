"""The secret store layer and the process's view of every known secret.

A store is a plugin (hook ``autoagent_secret_stores``) selected by the ``secret_store``
setting: ``file`` (the default plugin ``file_secrets``: ``secrets.json`` beside the user
config file, mode 0600, a folder tools cannot read) or ``keyring`` (the OS keyring, with the
``keyring`` extra). ``auto`` picks ``keyring`` when that plugin is installed and a usable
keyring backend exists, else ``file``. ``file`` is the default: every command reads the
secrets to redact its output, and importing ``keyring`` costs about half a second.

:func:`known_secrets` is what redaction, injection and the ``create_tool`` check read: every
``NAME -> value`` of the store, re-read only when the store says it changed (its
:meth:`SecretStore.stamp`), so calling it for each printed line costs a ``stat``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from autoagent_core.errors import UsageError
from autoagent_core.tools.script_metadata import SECRET_NAME_RE

if TYPE_CHECKING:
    from autoagent_core.config import Settings


class SecretStore(Protocol):
    """Where secrets are kept. ``name`` is the provider's name (``file``, ``keyring``)."""

    name: str

    def location(self) -> str:
        """Where the values are, for ``secrets list`` (a path, or "OS keyring (backend)")."""

    def get(self, name: str) -> str | None:
        """The value of ``name``, or None."""

    def set(self, name: str, value: str) -> None:
        """Keep ``value`` as ``name`` (replacing an earlier value)."""

    def delete(self, name: str) -> bool:
        """Forget ``name``; False when there was no such secret."""

    def names(self) -> list[str]:
        """Every secret's name, sorted."""

    def stamp(self) -> Any:
        """A value that changes whenever the set of secrets or a value changes."""


def validate_secret_name(name: str) -> str:
    """``name`` when it is a valid secret (environment variable) name, else UsageError."""
    if not SECRET_NAME_RE.match(name or ""):
        raise UsageError(f"invalid secret name {name!r}: use capital letters, digits and "
                         "underscores, starting with a letter (like SERPAPI_KEY)")
    return name


def secrets_dir() -> Path:
    """The folder the file store (and the keyring store's name index) lives in: the user
    config folder, ``$XDG_CONFIG_HOME/autoagent`` (``~/.config/autoagent``), which the
    sandbox hides from every tool. It stays there when ``AUTOAGENT_CONFIG`` names a config
    file elsewhere (the sandbox hides only that file, not its folder)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "autoagent"


def _choose(settings: Settings) -> str:
    choice = settings.secret_store
    if choice != "auto":
        return choice
    from autoagent_core.plugins import get_plugin_manager

    if "keyring" in get_plugin_manager().names("secret_store"):
        try:
            from autoagent_plugins.keyring_secrets.store import keyring_usable

            if keyring_usable():
                return "keyring"
        except ImportError:
            pass
    return "file"


def open_secret_store(settings: Settings | None = None) -> SecretStore:
    """The store the settings select (``secret_store``)."""
    from autoagent_core.plugins import get_plugin_manager

    if settings is None:
        settings = _settings()
    store: SecretStore = get_plugin_manager().select(
        "secret_store", _choose(settings)).factory(settings)
    return store


def _settings() -> Settings:
    from autoagent_core.config import load_settings

    return load_settings()


_opened: tuple[Any, SecretStore | None] = (None, None)
_values: tuple[Any, dict[str, str]] = (None, {})


def current_store() -> SecretStore | None:
    """The process's store (opened once per config folder and ``AUTOAGENT_SECRET_STORE``),
    None when it cannot be opened (redaction then goes on with the other sources)."""
    global _opened
    from autoagent_core.plugins import plugins_loaded

    if not plugins_loaded():
        return None  # the plugins are being loaded (and a warning printed): try later
    key = (str(secrets_dir()), os.environ.get("AUTOAGENT_SECRET_STORE", ""), os.getcwd())
    if _opened[0] != key:
        # set first: opening may print (a plugin's warning), and printing redacts
        _opened = (key, None)
        try:
            store: SecretStore | None = open_secret_store()
        except Exception:  # redaction must never fail for want of a store
            store = None
        _opened = (key, store)
    return _opened[1]


def known_secrets() -> dict[str, str]:
    """Every secret of the store, ``NAME -> value`` (empty when there is no store)."""
    global _values
    store = current_store()
    if store is None:
        return {}
    try:
        stamp = (id(store), store.stamp())
        if _values[0] == stamp:
            return _values[1]
        values = {n: v for n in store.names() if (v := store.get(n))}
    except Exception:  # an unreadable store: keep what was read before
        return _values[1]
    _values = (stamp, values)
    return values


def forget_cache() -> None:
    """Drop the cached store and values (after a command changed the settings)."""
    global _opened, _values
    _opened, _values = (None, None), (None, {})
