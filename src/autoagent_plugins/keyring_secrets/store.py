"""Secrets in the OS keyring (service ``autoagent``). A keyring cannot list its entries, so
the names (never the values) are kept in ``secret-names.json`` in the user config folder;
that file's changes are the store's :meth:`stamp`."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from autoagent_core import atomic
from autoagent_core.errors import ConfigError
from autoagent_core.secrets.store import secrets_dir, validate_secret_name

SERVICE = "autoagent"


def _keyring() -> Any:
    try:
        import keyring
    except ImportError:
        raise ConfigError("the keyring secret store needs the 'keyring' package: "
                          "pip install 'autoagent[keyring]'") from None
    return keyring


def keyring_usable() -> bool:
    """Whether a real keyring backend is there (not keyring's fail or null backends)."""
    try:
        backend = _keyring().get_keyring()
    except (ConfigError, Exception):
        return False
    module = type(backend).__module__
    return not module.startswith(("keyring.backends.fail", "keyring.backends.null")) and \
        float(getattr(backend, "priority", 0) or 0) > 0


class KeyringSecretStore:
    """Values in the OS keyring, names in a small index file."""

    name = "keyring"

    def __init__(self, directory: Path | None = None) -> None:
        self.keyring = _keyring()
        self.directory = Path(directory or secrets_dir())
        self.index = self.directory / "secret-names.json"

    def location(self) -> str:
        return f"OS keyring ({type(self.keyring.get_keyring()).__name__})"

    def _names(self) -> list[str]:
        if not self.index.exists():
            return []
        data = atomic.read_json(self.index)
        names = data.get("names") if isinstance(data, dict) else None
        return sorted(n for n in names or [] if isinstance(n, str))

    def _write(self, names: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic.atomic_write_bytes(
            self.index, atomic.dumps({"schema_version": 1, "names": sorted(set(names))}),
            mode=0o600)

    def get(self, name: str) -> str | None:
        value = self.keyring.get_password(SERVICE, name)
        return value if isinstance(value, str) and value else None

    def set(self, name: str, value: str) -> None:
        validate_secret_name(name)
        self.keyring.set_password(SERVICE, name, value)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with atomic.locked(self.directory / "secret-names.json.lock"):
            self._write([*self._names(), name])

    def delete(self, name: str) -> bool:
        names = self._names()
        if name not in names:
            return False
        # already gone from the keyring: still forget the name
        with contextlib.suppress(Exception):
            self.keyring.delete_password(SERVICE, name)
        with atomic.locked(self.directory / "secret-names.json.lock"):
            self._write([n for n in self._names() if n != name])
        return True

    def names(self) -> list[str]:
        return self._names()

    def stamp(self) -> Any:
        try:
            st = os.stat(self.index)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
