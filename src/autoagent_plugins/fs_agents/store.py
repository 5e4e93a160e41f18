"""The ``filesystem`` agent registry: ``.agents/manifest.json`` + ``<name>.json`` per agent.

Compatible with the original AutoAgent both ways. Its agent files (``name``, ``role``,
``system_prompt``, ``capabilities``, ``created_at``, ``created_by``, ``temperature``,
``max_tokens``, ``model``) load as agents whose instructions are the system prompt. The
original builds an agent with ``AgentDefinition(**data)`` and skips a file with any other
key, so every agent file written here holds exactly those nine keys; autoagent's own
fields (``uses``, any unknown field a file had) live in the agent's manifest row.
Agents kept in the original's last layout, ``.agents/<session_id>/`` and
``.agents/global/`` (each with its own manifest), are read too: ``global`` ones always, a
session's ones in that session and its resumes (:meth:`FileAgentRegistry.offer_session`;
without it, every folder's). New agents go to the flat layout.

The agent file is the truth for what an agent is, the manifest a summary kept up to date
under a lock. Writes are atomic, content goes through the redactor, names are validated
before any path is built, and a corrupt file is reported and set aside.
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
GLOBAL_DIR = "global"
ORIGINAL_DEFAULTS: dict[str, Any] = {
    "name": "", "role": "", "system_prompt": "", "capabilities": [], "created_at": "",
    "created_by": "coder", "temperature": 0.7, "max_tokens": 1500, "model": None}
"""The keys of an agent file, exactly (the original's ``AgentDefinition``), with defaults."""
OURS = ("instructions", "uses", "schema_version")


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


def _manifest_row(spec: AgentSpec, document: dict[str, Any] | None = None,
                  path: Path | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"role": spec.role, "created_at": spec.created_at,
                           "created_by": spec.created_by, "uses": spec.uses}
    if document is not None:
        row["capabilities"] = document.get("capabilities", [])
    if path is not None:
        row["path"] = str(path.absolute())
    return row


def original_document(spec: AgentSpec, old: dict[str, Any]) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
    """``(agent file, extra fields)``: the file holds exactly the original's keys (kept
    from ``old`` where it had them); the fields it cannot hold go to the manifest row."""
    document = {key: old.get(key, default) for key, default in ORIGINAL_DEFAULTS.items()}
    document.update(name=spec.name, role=spec.role, system_prompt=spec.instructions,
                    created_at=spec.created_at, created_by=spec.created_by)
    extra = {k: v for k, v in old.items() if k not in ORIGINAL_DEFAULTS and k not in OURS}
    return document, extra


class FileAgentRegistry:
    """Specialised agents as JSON files in one directory (see the module docstring)."""

    def __init__(self, directory: Path, redactor: Redactor | None = None,
                 fsync: bool = True) -> None:
        self.directory = Path(directory)
        self.redactor = redactor
        self.fsync = fsync
        self.manifest_path = self.directory / MANIFEST_NAME
        self.lock_path = self.directory / LOCK_NAME
        self.session_id: str | None = None
        self._all_folders = True

    def offer_session(self, session_id: str) -> None:
        """Offer the agents of ``.agents/<session_id>/`` (the original's last layout) and
        ``.agents/global/`` beside the flat ones, and no other session's."""
        self.session_id, self._all_folders = session_id, False

    def _folders(self) -> list[Path]:
        """The folders agents are read from: the flat one first, then ``global``, then
        the session's (or, before :meth:`offer_session`, every session's)."""
        folders = [self.directory]
        try:
            with os.scandir(self.directory) as it:
                subdirs = sorted(e.name for e in it if e.is_dir(follow_symlinks=False)
                                 and not e.name.startswith("."))
        except OSError:
            return folders
        from autoagent_core.names import validate_session_id

        for name in [GLOBAL_DIR, *(n for n in subdirs if n != GLOBAL_DIR)]:
            if name not in subdirs or (not self._all_folders and name != GLOBAL_DIR
                                       and name != self.session_id):
                continue
            with contextlib.suppress(UsageError, StorageError):
                validate_session_id(name)
                folders.append(contained_path(self.directory, name))
        return folders

    def path_of(self, name: str) -> Path:
        """The file of an agent (in the first folder that has it; a new agent's goes in
        the flat folder); the name is validated before any filesystem call."""
        validate_agent_name(name)
        for folder in self._folders()[1:]:
            candidate = contained_path(folder, f"{name}.json")
            if candidate.is_file() and not (self.directory / f"{name}.json").exists():
                return candidate
        return contained_path(self.directory, f"{name}.json")

    def _uses(self, path: Path) -> dict[str, Any]:
        """The agent's manifest row (where ``uses`` and extra fields are kept)."""
        try:
            manifest = atomic.read_json(path.parent / MANIFEST_NAME)
        except (OSError, atomic.CorruptFileError):
            return {}
        rows = manifest.get("agents") if isinstance(manifest, dict) else None
        row = rows.get(path.stem) if isinstance(rows, dict) else None
        return row if isinstance(row, dict) else {}

    def _spec(self, path: Path) -> AgentSpec:
        document = self._read_document(path)
        spec = spec_from_document(document, path)
        uses = self._uses(path).get("uses")
        if "uses" not in document and isinstance(uses, int) and not isinstance(uses, bool):
            spec.uses = max(0, uses)
        return spec

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
        return self._spec(self.path_of(name))

    def list_agents(self) -> list[AgentSpec]:
        """Every agent file, by name (a name found in two folders: the first folder's);
        corrupt files are set aside with a warning."""
        found: dict[str, AgentSpec] = {}
        for folder in self._folders():
            try:
                with os.scandir(folder) as it:
                    names = sorted(e.name for e in it
                                   if e.name.endswith(".json") and e.is_file())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"cannot read {folder}: {exc.strerror or exc}") from None
            for filename in names:
                stem = filename[: -len(".json")]
                if filename == MANIFEST_NAME or stem in found:
                    continue
                try:
                    validate_agent_name(stem)
                    found[stem] = self._spec(contained_path(folder, filename))
                except UsageError:
                    continue  # not an agent name: not ours
                except NotFoundError:
                    continue  # deleted meanwhile
                except StorageError as exc:
                    _warn(str(exc))
        return [found[name] for name in sorted(found)]

    # ------------------------------------------------------------------ writing
    def _write_document(self, path: Path, data: dict[str, Any]) -> None:
        if self.redactor is not None:
            data = self.redactor(data)
        atomic.atomic_write_json(path, data, fsync=self.fsync)

    def _update_manifest(self, name: str, row: dict[str, Any] | None,
                         folder: Path | None = None) -> None:
        """Set or remove one manifest row (the caller holds the lock)."""
        manifest_path = (folder or self.directory) / MANIFEST_NAME
        try:
            manifest = atomic.read_json(manifest_path)
            if not isinstance(manifest, dict) or not isinstance(manifest.get("agents"), dict):
                raise atomic.CorruptFileError(self.manifest_path, "no 'agents' object")
        except FileNotFoundError:
            manifest = {"agents": {}}
        except atomic.CorruptFileError as exc:
            moved = atomic.set_aside(manifest_path)
            _warn(f"{exc}; set aside as {moved.name}, rebuilding it from the agent files")
            manifest = {"agents": {s.name: _manifest_row(s) for s in self.list_agents()}}
        if folder is None:
            manifest["schema_version"] = AGENT_SCHEMA_VERSION
        if row is None:
            manifest["agents"].pop(name, None)
        else:
            old = manifest["agents"].get(name)
            manifest["agents"][name] = {**(old if isinstance(old, dict) else {}), **row}
        if self.redactor is not None:
            manifest = self.redactor(manifest)
        atomic.atomic_write_json(manifest_path, manifest, fsync=self.fsync)

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
            old: dict[str, Any] = {}
            with contextlib.suppress(NotFoundError, StorageError):
                old = self._read_document(path)
            document, extra = original_document(spec, old)
            self._write_document(path, document)
            self._update_manifest(spec.name, {**extra, **_manifest_row(spec, document, path)},
                                  self._folder_of(path))
        return spec

    def _folder_of(self, path: Path) -> Path | None:
        """None for the flat folder (whose manifest carries ``schema_version``)."""
        return None if path.parent == self.directory else path.parent

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
            self._update_manifest(name, None, self._folder_of(path))

    def record_use(self, name: str) -> None:
        """Count one more consultation of the agent."""
        path = self.path_of(name)
        if not path.exists():
            raise NotFoundError(f"no agent '{name}' in {self.directory}")
        with atomic.locked(self.lock_path):
            spec = self._spec(path)
            spec.uses += 1
            old = self._read_document(path)
            if set(old) != set(ORIGINAL_DEFAULTS):  # an older file of ours: make it readable
                document, extra = original_document(spec, old)
                self._write_document(path, document)
            else:
                document, extra = old, {}
            self._update_manifest(name, {**extra, **_manifest_row(spec, document, path)},
                                  self._folder_of(path))


def open_registry(settings: Settings) -> FileAgentRegistry:
    from autoagent_core.redact import redactor_for

    redactor = redactor_for(settings)
    return FileAgentRegistry(settings.path("agents_dir"), redactor=redactor)

