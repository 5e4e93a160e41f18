"""The ``filesystem`` agent registry: ``.agents/manifest.json`` + ``<name>.json`` per agent.

Compatible with the original AutoAgent: its agent files (``name``, ``role``,
``system_prompt``, ``capabilities``, ``created_at``, ``created_by``, ...) load as agents
whose instructions are the system prompt, and the files written here keep a
``system_prompt`` copy of the instructions so the original can read them too. Fields this
registry does not know (``capabilities``, ``temperature``, ...) survive updates.

Each agent file is the truth; the manifest is a summary kept up to date under a lock for
tools that read it. Writes are atomic, content goes through the redactor, names are
validated before any path is built, and a corrupt file is reported and set aside.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core import atomic
from autoagent_core.errors import NotFoundError, StorageError, UsageError
from autoagent_core.names import contained_path, validate_agent_name
from autoagent_core.types import AgentSpec, utc_now

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.redact import Redactor

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".manifest.lock"
AGENT_SCHEMA_VERSION = 1


def _warn(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


def _text(data: dict[str, Any], key: str, default: str | None, path: Path) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise atomic.CorruptFileError(path, f"'{key}' must be text")
    return value


def spec_from_document(data: Any, path: Path) -> AgentSpec:
    """An :class:`AgentSpec` from an agent file (ours or the original's)."""
    if not isinstance(data, dict):
        raise atomic.CorruptFileError(path, "expected a JSON object")
    instructions = data.get("instructions", data.get("system_prompt"))
    if not isinstance(instructions, str):
        raise atomic.CorruptFileError(path, "'instructions' must be text")
    uses = data.get("uses", 0)
    if not isinstance(uses, int) or isinstance(uses, bool) or uses < 0:
        raise atomic.CorruptFileError(path, "'uses' must be a whole number")
    return AgentSpec(
        name=path.stem,
        role=_text(data, "role", "", path),
        instructions=instructions,
        created_by=_text(data, "created_by", "coder", path),
        created_at=_text(data, "created_at", "", path),
        uses=uses,
    )


def _manifest_row(spec: AgentSpec) -> dict[str, Any]:
    return {"role": spec.role, "created_at": spec.created_at, "created_by": spec.created_by,
            "uses": spec.uses}


class FileAgentRegistry:
    """Specialised agents as JSON files in one directory (see the module docstring)."""

    def __init__(self, directory: Path, redactor: Redactor | None = None,
                 fsync: bool = True) -> None:
        self.directory = Path(directory)
        self.redactor = redactor
        self.fsync = fsync
        self.manifest_path = self.directory / MANIFEST_NAME
        self.lock_path = self.directory / LOCK_NAME

    def path_of(self, name: str) -> Path:
        """The file of an agent; the name is validated before any filesystem call."""
        validate_agent_name(name)
        return contained_path(self.directory, f"{name}.json")

    # ------------------------------------------------------------------ reading
    def _read_document(self, path: Path) -> dict[str, Any]:
        """The raw agent file; a corrupt one is set aside and reported."""
        try:
            data = atomic.read_json(path)
            spec_from_document(data, path)
        except FileNotFoundError:
            raise NotFoundError(f"no agent '{path.stem}' in {self.directory}") from None
        except atomic.CorruptFileError as exc:
            moved = atomic.set_aside(path)
            raise StorageError(f"{exc}; it was set aside as {moved.name}") from None
        assert isinstance(data, dict)
        return data

    def get(self, name: str) -> AgentSpec:
        path = self.path_of(name)
        return spec_from_document(self._read_document(path), path)

    def list_agents(self) -> list[AgentSpec]:
        """Every agent file, by name; corrupt files are set aside with a warning."""
        try:
            with os.scandir(self.directory) as it:
                names = sorted(e.name for e in it if e.name.endswith(".json") and e.is_file())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot read {self.directory}: {exc.strerror or exc}") from None
        out = []
        for filename in names:
            if filename == MANIFEST_NAME:
                continue
            try:
                path = self.path_of(filename[: -len(".json")])
                out.append(spec_from_document(self._read_document(path), path))
            except UsageError:
                continue  # not an agent name: not ours
            except NotFoundError:
                continue  # deleted meanwhile
            except StorageError as exc:
                _warn(str(exc))
        return out

    # ------------------------------------------------------------------ writing
    def _write_document(self, path: Path, data: dict[str, Any]) -> None:
        if self.redactor is not None:
            data = self.redactor(data)
        atomic.atomic_write_json(path, data, fsync=self.fsync)

    def _update_manifest(self, name: str, row: dict[str, Any] | None) -> None:
        """Set or remove one manifest row (the caller holds the lock)."""
        try:
            manifest = atomic.read_json(self.manifest_path)
            if not isinstance(manifest, dict) or not isinstance(manifest.get("agents"), dict):
                raise atomic.CorruptFileError(self.manifest_path, "no 'agents' object")
        except FileNotFoundError:
            manifest = {"agents": {}}
        except atomic.CorruptFileError as exc:
            moved = atomic.set_aside(self.manifest_path)
            _warn(f"{exc}; set aside as {moved.name}, rebuilding it from the agent files")
            manifest = {"agents": {s.name: _manifest_row(s) for s in self.list_agents()}}
        manifest["schema_version"] = AGENT_SCHEMA_VERSION
        if row is None:
            manifest["agents"].pop(name, None)
        else:
            old = manifest["agents"].get(name)
            manifest["agents"][name] = {**(old if isinstance(old, dict) else {}), **row}
        if self.redactor is not None:
            manifest = self.redactor(manifest)
        atomic.atomic_write_json(self.manifest_path, manifest, fsync=self.fsync)

    def save(self, spec: AgentSpec) -> AgentSpec:
        """Create or replace an agent (fields unknown to this registry are kept)."""
        path = self.path_of(spec.name)
        for field in ("role", "instructions", "created_by", "created_at"):
            if not isinstance(getattr(spec, field), str):
                raise UsageError(f"agent '{spec.name}': {field} must be text")
        if not spec.created_at:
            spec.created_at = utc_now()
        self.directory.mkdir(parents=True, exist_ok=True)
        with atomic.locked(self.lock_path):
            extra: dict[str, Any] = {}
            with contextlib.suppress(NotFoundError, StorageError):
                extra = self._read_document(path)
            document = {**extra, **spec.to_dict(), "system_prompt": spec.instructions,
                        "schema_version": AGENT_SCHEMA_VERSION}
            self._write_document(path, document)
            self._update_manifest(spec.name, _manifest_row(spec))
        return spec

    def delete(self, name: str) -> None:
        path = self.path_of(name)
        if not path.exists():
            raise NotFoundError(f"no agent '{name}' in {self.directory}")
        with atomic.locked(self.lock_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                raise NotFoundError(f"no agent '{name}' in {self.directory}") from None
            except OSError as exc:
                raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from None
            self._update_manifest(name, None)

    def record_use(self, name: str) -> None:
        """Count one more consultation of the agent."""
        path = self.path_of(name)
        if not path.exists():
            raise NotFoundError(f"no agent '{name}' in {self.directory}")
        with atomic.locked(self.lock_path):
            document = self._read_document(path)
            document["uses"] = int(document.get("uses", 0)) + 1
            self._write_document(path, document)
            self._update_manifest(name, _manifest_row(spec_from_document(document, path)))


def open_registry(settings: Settings) -> FileAgentRegistry:
    from autoagent_core.redact import redactor_for

    redactor = redactor_for(settings)
    return FileAgentRegistry(settings.path("agents_dir"), redactor=redactor)

