"""``secrets.json`` beside the user config file: ``{"schema_version": 1, "secrets":
{NAME: {"value": ..., "updated_at": ISO}}}``, written atomically with mode 0600 under a lock
file, in a folder (the user config folder) that the sandbox hides from every tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from autoagent_core import atomic
from autoagent_core.errors import StorageError
from autoagent_core.secrets.store import secrets_dir, validate_secret_name
from autoagent_core.types import utc_now

SCHEMA_VERSION = 1


class FileSecretStore:
    """Secrets in one JSON file readable by the user alone."""

    name = "file"

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory or secrets_dir())
        self.path = self.directory / "secrets.json"

    def location(self) -> str:
        return str(self.path)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        data = atomic.read_json(self.path)
        secrets = data.get("secrets") if isinstance(data, dict) else None
        if not isinstance(secrets, dict):
            raise StorageError(f"{self.path} is not a secrets file (no 'secrets' object)")
        return secrets

    def _write(self, secrets: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {"schema_version": SCHEMA_VERSION, "secrets": secrets}
        atomic.atomic_write_bytes(self.path, atomic.dumps(document), mode=0o600)

    def get(self, name: str) -> str | None:
        entry = self._read().get(name)
        value = entry.get("value") if isinstance(entry, dict) else entry
        return value if isinstance(value, str) and value else None

    def set(self, name: str, value: str) -> None:
        validate_secret_name(name)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with atomic.locked(self.directory / "secrets.json.lock"):
            secrets = self._read()
            secrets[name] = {"value": value, "updated_at": utc_now()}
            self._write(secrets)

    def delete(self, name: str) -> bool:
        if not self.path.exists():
            return False
        with atomic.locked(self.directory / "secrets.json.lock"):
            secrets = self._read()
            if name not in secrets:
                return False
            del secrets[name]
            self._write(secrets)
        return True

    def names(self) -> list[str]:
        return sorted(self._read())

    def stamp(self) -> Any:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)
