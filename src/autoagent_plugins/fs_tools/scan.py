"""The folder scan of the ``filesystem`` tool store: the ``.py`` files compared with the
manifest, and new or hand-edited files registered as versions (inspected with ``ast`` only,
never executed). Mixed into ``FilesystemToolStore``; imports the core and ``manifest``."""

from __future__ import annotations

import os
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any

from autoagent_core import atomic
from autoagent_core.errors import InvalidNameError, StorageError, UsageError
from autoagent_core.names import contained_path, validate_tool_name
from autoagent_core.types import ToolSpec, utc_now
from autoagent_plugins.fs_tools import manifest as fmt

if TYPE_CHECKING:
    from autoagent_core.tools.code import ToolCodeInfo


def doc_line(info: ToolCodeInfo | None) -> str:
    """The first line of a tool's docstring, its default description."""
    from autoagent_core.tools.code import first_line

    return first_line(info.docstring) if info else ""


class FolderScan:
    """The scan half of the store; the store provides the attributes and methods below."""

    directory: Path
    max_chars: int

    def _warn_once(self, key: str, message: str) -> None:
        raise NotImplementedError

    def _read_history(self, name: str) -> list[ToolSpec]:
        raise NotImplementedError

    def _record_version(self, name: str, code: str, spec: ToolSpec,
                        history: list[ToolSpec]) -> None:
        raise NotImplementedError

    def _scan(self, entries: dict[str, dict[str, Any]], apply: bool,
              only: str | None = None, persist: bool = True,
              adopt: bool = True) -> tuple[set[str], bool]:
        """Compare the ``.py`` files (or just ``only``'s) with ``entries``: the names with a
        file, and whether any file is new or changed. With ``apply`` register them in
        ``entries``; with ``persist`` too (under the lock) record their versions on disk.
        Without ``adopt``, a tool the original AutoAgent's manifest lists (no ``sha256``
        yet) is only described in memory and does not count as changed."""
        visible: set[str] = set()
        dirty = False
        # (file name, may be a symlink): only a symlink needs resolving to prove it stays
        # inside the store, which keeps listing 1,000 tools at one stat each
        if only is not None:
            filenames = [(f"{only}.py", True)]
        else:
            try:
                with os.scandir(self.directory) as it:
                    filenames = [(e.name, e.is_symlink()) for e in it
                                 if e.name.endswith(".py")]
            except FileNotFoundError:
                return visible, False
            except OSError as exc:
                raise StorageError(
                    f"cannot read {self.directory}: {exc.strerror or exc}") from None
        for filename, maybe_link in filenames:
            name = filename[:-3]
            try:
                validate_tool_name(name)
                path = (contained_path(self.directory, filename) if maybe_link
                        else self.directory / filename)
                stat = path.stat()
            except InvalidNameError as exc:
                self._warn_once(filename, f"ignoring {filename} in the tool folder: {exc}")
                continue
            except OSError:
                continue  # vanished, or a dangling symlink
            if not S_ISREG(stat.st_mode):
                self._warn_once(filename, f"ignoring {filename} in the tool folder: it is not "
                                          "a regular file")
                continue
            if stat.st_nlink > 1:
                self._warn_once(filename, f"ignoring {filename} in the tool folder: it is a "
                                          "hard link to a file that may be outside the store")
                continue
            key = (stat.st_mtime_ns, stat.st_size)
            cur = entries.get(name)
            if cur is not None and (cur.get("file_mtime_ns"), cur.get("file_size")) == key:
                visible.add(name)
                continue
            legacy = not adopt and cur is not None and not cur.get("sha256")
            dirty = dirty or not legacy
            if not apply:
                visible.add(name)
                continue
            if self._register_file(name, path, entries, persist and not legacy):
                visible.add(name)
        return visible, dirty

    def _register_file(self, name: str, path: Path, entries: dict[str, dict[str, Any]],
                       persist: bool = True) -> bool:
        """Bring a new or hand-edited ``<name>.py`` into ``entries``; with ``persist``
        (under the lock) record the version in ``.versions/``."""
        from autoagent_core.tools.code import describe_tool, parse_code

        try:
            code = atomic.read_regular_text(path, self.max_chars)
            stat = path.stat()
        except (OSError, StorageError) as exc:
            self._warn_once(path.name, f"not registering {path.name}: {exc}")
            return False
        sha = fmt.sha256_text(code)
        cur = entries.get(name)
        file_stat = (stat.st_mtime_ns, stat.st_size)
        if cur is not None and cur.get("sha256") == sha:
            entries[name] = {**cur, "file_mtime_ns": file_stat[0], "file_size": file_stat[1]}
            if persist:
                entries[name]["path"] = str(path.absolute())
            return True
        info: ToolCodeInfo | None = None
        try:
            info = describe_tool(parse_code(code, path.name), name)
        except UsageError as exc:
            if cur is None:
                self._warn_once(path.name, f"not registering {path}: {exc}")
                return False
        if info is None and cur is None:
            self._warn_once(path.name, f"not registering {path}: it defines no function named "
                                       f"'{name}' and no single public function")
            return False
        history = self._read_history(name) if persist else []
        if history and history[-1].sha256 == sha:  # saved, but the manifest was not written
            spec = history[-1]
            if cur is not None:
                spec.runs, spec.failures = int(cur.get("runs", 0)), int(cur.get("failures", 0))
        else:
            legacy = cur is not None and not cur.get("sha256")  # the original's entry: adopt
            last = max(int(cur["version"]) if cur else 0, history[-1].version if history else 0)
            now = utc_now()
            base = fmt.spec_of(cur) if cur is not None else None
            spec = ToolSpec(
                name=name,
                description=(base.description if base else "") or doc_line(info),
                parameters=info.parameters if info else (base.parameters if base else {}),
                version=int(cur["version"]) if legacy and cur else last + 1,
                created_at=(base.created_at if base else now),
                updated_at=(base.updated_at if legacy and base else now), sha256=sha,
                runs=base.runs if base else 0, failures=base.failures if base else 0,
                last_error=None, last_run=base.last_run if base else None,
            )
            if persist:
                self._record_version(name, code, spec, history)
        entries[name] = fmt.entry_of(spec, file_stat, cur, path if persist else None)
        return True
