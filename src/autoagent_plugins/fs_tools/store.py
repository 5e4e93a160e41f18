"""The ``filesystem`` tool store: ``.permanent_tools/`` as the original AutoAgent laid it out.

Layout (``tools_dir`` setting, ``TOOL_STORE_DIR``, ``--tools-dir``)::

    .permanent_tools/
      manifest.json                 every tool's current spec (see fs_tools_manifest)
      <name>.py                     the current code of each tool (what the sandbox runs)
      .versions/<name>/v<N>.py      the code of every version, kept for history/rollback
      .versions/<name>/history.json every version's spec, oldest first
      .versions/<name>/runs.jsonl   the run history: one line per call (when, who, result,
                                    duration), the newest RUN_LOG_MAX_LINES kept
      .manifest.lock                held around every read-modify-write of the manifest

* Saving changed code makes version N+1; identical code changes nothing.
* A ``<name>.py`` the manifest does not list (dropped in by hand, or left by the original
  AutoAgent) is registered on the next load, and a ``<name>.py`` edited by hand becomes a
  new version. Files are inspected with ``ast`` only, never executed in this process. The
  tool's function is the one named like the file, else the file's single public function.
* Listing reads the manifest and ``stat``-s the ``.py`` files; it reads a file only when
  its size or modification time differs from the manifest's record.
* Names are validated before any path is built; paths (and symlinks) that lead outside
  the folder are refused. Writes are atomic; a corrupt manifest is reported in one
  warning line, set aside and rebuilt from the ``.py`` files and histories.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core import atomic
from autoagent_core.errors import NotFoundError, StorageError, UsageError
from autoagent_core.names import contained_path, validate_tool_name
from autoagent_core.types import ToolSpec, ToolVersion, utc_now
from autoagent_plugins.fs_tools import manifest as fmt
from autoagent_plugins.fs_tools import run_log
from autoagent_plugins.fs_tools.scan import FolderScan, doc_line

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.tools.code import ToolCodeInfo

MAX_ERROR_CHARS = 500
LOCK_POLL_S = 0.002


def _warn(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


class FilesystemToolStore(FolderScan):
    """Versioned tools as ``.py`` files plus a manifest (see the module docstring)."""

    def __init__(self, directory: Path, max_chars: int = 200_000, fsync: bool = True,
                 sessions_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        # where the original AutoAgent kept tool telemetry: a tool's first recorded call
        # continues the newest record found there
        self.sessions_dir = sessions_dir
        self.max_chars = max_chars
        self.fsync = fsync
        self.manifest_path = self.directory / fmt.MANIFEST_NAME
        self._lock_depth = 0
        self._cleaned = False
        self._warned: set[str] = set()
        self._original_layout = False  # the manifest last read was the original's

    # ------------------------------------------------------------------ paths
    def _file(self, name: str) -> Path:
        validate_tool_name(name)
        return contained_path(self.directory, f"{name}.py")

    def _version_dir(self, name: str) -> Path:
        validate_tool_name(name)
        return contained_path(self.directory, f"{fmt.VERSIONS_DIR}/{name}")

    def code_path(self, name: str) -> Path:
        """The file holding the current code (what the sandbox runs)."""
        path = self._file(name)
        if not path.is_file():
            raise NotFoundError(f"no tool '{name}' in {self.directory}")
        return path

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _warn(message)

    # ------------------------------------------------------------------ locking
    def _ensure_dir(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.directory}: {exc.strerror or exc}") from None
        if not self._cleaned:
            self._cleaned = True
            atomic.clean_stale_temps(self.directory)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """The manifest lock; re-entrant within this object."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        from filelock import FileLock, Timeout

        self._ensure_dir()
        lock = FileLock(str(self.directory / fmt.LOCK_NAME), timeout=atomic.LOCK_TIMEOUT_S)
        try:
            # a short poll: with 8 writers, filelock's default 50 ms dominated each save
            lock.acquire(poll_interval=LOCK_POLL_S)
        except Timeout:
            raise StorageError(f"timed out after {atomic.LOCK_TIMEOUT_S:g}s waiting for the "
                               f"lock of {self.manifest_path}") from None
        except OSError as exc:  # a folder without permissions (chmod 000): one error line
            raise StorageError(f"cannot lock the tool library {self.directory}: "
                               f"{exc.strerror or exc}") from None
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            lock.release()

    # ------------------------------------------------------------------ manifest
    def _load_entries(self) -> dict[str, dict[str, Any]]:
        """Manifest entries by name; a corrupt manifest is set aside and rebuilt."""
        path = contained_path(self.directory, fmt.MANIFEST_NAME)
        try:
            data = atomic.read_json(path)
            entries = fmt.parse_manifest(data, path)
        except FileNotFoundError:
            self._original_layout = False
            return {}
        except atomic.CorruptFileError as exc:
            return self._recover(exc)
        self._original_layout = not (isinstance(data, dict) and "schema_version" in data)
        return entries

    def _recover(self, exc: atomic.CorruptFileError) -> dict[str, dict[str, Any]]:
        with self._lock():
            try:  # another process may have rebuilt it meanwhile
                return fmt.parse_manifest(atomic.read_json(self.manifest_path),
                                          self.manifest_path)
            except (FileNotFoundError, atomic.CorruptFileError):
                pass
            moved = atomic.set_aside(self.manifest_path)
            _warn(f"{exc}; set aside as {moved.name} and rebuilt from the .py files")
            entries: dict[str, dict[str, Any]] = {}
            self._scan(entries, apply=True)
            self._write_manifest(entries)
            return entries

    def _write_manifest(self, entries: dict[str, dict[str, Any]]) -> None:
        from autoagent_core.redact import redactor_for

        # descriptions and last_error may quote a secret: the manifest must not keep it
        document = redactor_for()(fmt.manifest_document(entries))
        atomic.atomic_write_json(self.manifest_path, document,
                                 fsync=self.fsync)

    def _synced(self) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Manifest entries with every file change registered, and the names with a file.

        In autoagent's own library a new or hand-edited ``.py`` is recorded here, once.
        Reading writes nothing for the original AutoAgent's tools: in a folder it wrote
        (its manifest has no ``schema_version``) every file, and elsewhere the tools its
        manifest lists, are described in memory until their next save or call."""
        entries = self._load_entries()
        visible, dirty = self._scan(entries, apply=False, adopt=False)
        if dirty and not self._original_layout:
            with self._lock():
                entries = self._load_entries()
                visible, dirty = self._scan(entries, apply=True, adopt=False)
                if dirty:
                    self._write_manifest(entries)
        if len(visible) > sum(1 for n in visible if entries.get(n, {}).get("sha256")):
            visible, _ = self._scan(entries, apply=True, persist=False)
        return entries, visible

    # ------------------------------------------------------------------ history files
    def _read_history(self, name: str) -> list[ToolSpec]:
        path = self._version_dir(name) / fmt.HISTORY_NAME
        try:
            return fmt.parse_history(atomic.read_json(path), path)
        except FileNotFoundError:
            return []
        except atomic.CorruptFileError as exc:
            moved = atomic.set_aside(path)
            _warn(f"{exc}; set aside as {moved.name}")
            return []

    def _record_version(self, name: str, code: str, spec: ToolSpec,
                        history: list[ToolSpec]) -> None:
        vdir = self._version_dir(name)
        try:
            vdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {vdir}: {exc.strerror or exc}") from None
        atomic.clean_stale_temps(vdir)
        # Atomic but not fsync-ed: the history is a record, the manifest and <name>.py
        # (fsync-ed) are what a run depends on; this halves the cost of a save.
        atomic.atomic_write_bytes(contained_path(vdir, f"v{spec.version}.py"), code.encode(),
                                  fsync=False)
        kept = [s for s in history if s.version != spec.version]
        atomic.atomic_write_json(vdir / fmt.HISTORY_NAME,
                                 fmt.history_document(name, [*kept, spec]), fsync=False)

    # ------------------------------------------------------------------ the protocol
    def list_tools(self) -> list[ToolSpec]:
        """Every tool's current spec, by name, read from the manifest."""
        entries, visible = self._synced()
        return [fmt.spec_of(entries[n]) for n in sorted(visible) if n in entries]

    def get(self, name: str, version: int | None = None) -> ToolVersion:
        """The current version, or the given one."""
        path = self._file(name)
        entries, visible = self._synced()
        if version is None or (name in visible and version == entries[name]["version"]):
            if name not in visible or name not in entries:
                raise NotFoundError(f"no tool '{name}' in {self.directory}")
            code = atomic.read_regular_text(path, self.max_chars)
            return ToolVersion(fmt.spec_of(entries[name]), code)
        for spec in self.history(name):
            if spec.version == version:
                vpath = contained_path(self._version_dir(name), f"v{version}.py")
                try:
                    return ToolVersion(spec, vpath.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    break
                except (OSError, UnicodeDecodeError) as exc:
                    raise StorageError(f"cannot read {vpath}: {exc}") from None
        raise NotFoundError(f"tool '{name}' has no version {version}")

    def history(self, name: str) -> list[ToolSpec]:
        """Every version, oldest first."""
        validate_tool_name(name)
        entries, visible = self._synced()
        specs = self._read_history(name)
        if not specs and name in visible:
            specs = [fmt.spec_of(entries[name])]
        if not specs:
            raise NotFoundError(f"no tool '{name}' in {self.directory}")
        return specs

    def save(self, name: str, code: str, description: str = "") -> ToolSpec:
        """Validate (name, size, syntax, a function called ``name``) and save."""
        from autoagent_core.tools.code import validate_tool_code

        validate_tool_name(name)
        info = validate_tool_code(name, code, self.max_chars)
        return self._save(name, code, description, info)

    def _save(self, name: str, code: str, description: str, info: ToolCodeInfo) -> ToolSpec:
        sha = fmt.sha256_text(code)
        path = self._file(name)
        with self._lock():
            entries = self._load_entries()
            visible, dirty = self._scan(entries, apply=True, only=name)
            cur = entries.get(name)
            if cur is not None and name in visible and cur.get("sha256") == sha:
                if dirty:
                    self._write_manifest(entries)
                return fmt.spec_of(cur)
            history = self._read_history(name)
            base = fmt.spec_of(cur) if cur is not None else None
            last = max(base.version if base else 0, history[-1].version if history else 0)
            now = utc_now()
            spec = ToolSpec(
                name=name,
                description=description or (base.description if base else "") or doc_line(info),
                parameters=info.parameters, version=last + 1,
                created_at=base.created_at if base else now, updated_at=now, sha256=sha,
                runs=base.runs if base else 0, failures=base.failures if base else 0,
                last_error=None, last_run=base.last_run if base else None,
            )
            self._record_version(name, code, spec, history)
            atomic.atomic_write_bytes(path, code.encode("utf-8"), fsync=self.fsync)
            stat = path.stat()
            entries[name] = fmt.entry_of(spec, (stat.st_mtime_ns, stat.st_size), cur, path)
            self._write_manifest(entries)
        return spec

    def rollback(self, name: str, version: int) -> ToolSpec:
        """Make an earlier version current again, saved as a new version (unless it is
        the current code already)."""
        from autoagent_core.tools.code import describe_tool, parse_code

        old = self.get(name, version)
        info = describe_tool(parse_code(old.code, f"{name}.py"), name)
        if info is None:
            raise UsageError(f"version {version} of tool '{name}' defines no usable function")
        return self._save(name, old.code, old.spec.description, info)

    def delete(self, name: str) -> None:
        """Remove the tool, its history and its manifest entry."""
        path = self._file(name)
        vdir = self._version_dir(name)
        with self._lock():
            entries = self._load_entries()
            if name not in entries and not path.exists() and not vdir.exists():
                raise NotFoundError(f"no tool '{name}' in {self.directory}")
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot delete {path}: {exc.strerror or exc}") from None
            shutil.rmtree(vdir, ignore_errors=True)
            if entries.pop(name, None) is not None:
                self._write_manifest(entries)

    def record_run(self, name: str, ok: bool, error: str | None = None, caller: str = "",
                   duration_s: float | None = None) -> None:
        """Count a call, remember the last error (None after a success) and append the call
        to the tool's run history (``caller`` says who ran it: ``cli``, ``mcp:<client>``)."""
        validate_tool_name(name)
        with self._lock():
            entries = self._load_entries()
            visible, _ = self._scan(entries, apply=True, only=name)
            entry = entries.get(name) if name in visible else None
            if entry is None:
                raise NotFoundError(f"no tool '{name}' in {self.directory}")
            now = utc_now()
            entry["runs"] = int(entry.get("runs", 0)) + 1
            if not ok:
                entry["failures"] = int(entry.get("failures", 0)) + 1
            entry["last_error"] = None if ok else (error or "failed")[:MAX_ERROR_CHARS]
            entry["last_run"] = now
            from autoagent_core.tools.telemetry import from_sessions, update

            stats = entry.get("tool_stats")
            if not isinstance(stats, dict) and self.sessions_dir is not None:
                stats = from_sessions(self.sessions_dir).get(name)
            entry["tool_stats"] = update(stats, ok, (duration_s or 0.0) * 1000, error)
            self._write_manifest(entries)
            run_log.append(self._version_dir(name) / run_log.RUN_LOG_NAME, {
                "at": now, "caller": caller or "unknown", "version": entry.get("version"),
                "ok": ok, "error": entry["last_error"],
                "duration_s": None if duration_s is None else round(duration_s, 4)},
                self._warn_once)

    def run_history(self, name: str) -> list[dict[str, Any]]:
        """The recorded calls of a tool, oldest first."""
        return run_log.read(self._version_dir(name) / run_log.RUN_LOG_NAME)

def open_store(settings: Settings) -> FilesystemToolStore:
    """The factory behind the ``filesystem`` provider."""
    return FilesystemToolStore(settings.path("tools_dir"), settings.tool_code_max_chars,
                               sessions_dir=settings.path("sessions_dir"))

