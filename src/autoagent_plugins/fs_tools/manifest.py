"""The tool store's on-disk formats: ``manifest.json``, ``history.json``, code files.

``manifest.json`` (what ``tools list`` reads, one file for the whole library)::

    {"schema_version": 1,
     "tools": {"add": {"name": "add", "description": "...", "parameters": {...},
                       "version": 2, "created_at": "...Z", "updated_at": "...Z",
                       "sha256": "...", "runs": 3, "failures": 1, "last_error": null,
                       "last_run": "...Z", "file_mtime_ns": 1700000000000000000,
                       "file_size": 61}}}

The original AutoAgent's manifest is a plain object ``name -> entry`` with fewer fields
(or a list of entries); it is read tolerantly and rewritten in this format on the next
change. ``file_mtime_ns``/``file_size`` let a load notice a ``<name>.py`` edited by hand
with one ``stat`` per tool instead of reading every file.

``.versions/<name>/history.json`` holds every version's spec, oldest first, and
``.versions/<name>/v<N>.py`` the code of version N.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from autoagent_core import atomic
from autoagent_core.errors import InvalidNameError
from autoagent_core.names import validate_tool_name
from autoagent_core.types import ToolSpec

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".manifest.lock"
VERSIONS_DIR = ".versions"
HISTORY_NAME = "history.json"
STAT_KEYS = ("file_mtime_ns", "file_size")


def sha256_text(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _valid_name(name: object) -> str | None:
    try:
        return validate_tool_name(name)
    except InvalidNameError:
        return None


def _parameters(raw: Any) -> dict[str, Any] | None:
    """A tool's parameter schema as the rest of autoagent reads it (``properties``: name
    to schema object, ``required``: names), whatever a hand-edited manifest holds."""
    if not isinstance(raw, dict):
        return None
    props = raw.get("properties")
    props = props if isinstance(props, dict) else {}
    clean = {str(k)[:64]: (v if isinstance(v, dict) else {}) for k, v in props.items()}
    for schema in clean.values():
        if "type" in schema and not isinstance(schema["type"], str):
            schema.pop("type")
    required = raw.get("required")
    required = [r for r in required if isinstance(r, str) and r in clean] \
        if isinstance(required, list) else []
    return {**raw, "type": "object", "properties": clean, "required": required}


def _entry(name: str, raw: Any) -> dict[str, Any]:
    """One manifest entry, whatever the original wrote; unknown fields are kept."""
    entry: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    entry["name"] = name
    if not isinstance(entry.get("description"), str):
        entry["description"] = str(entry.get("description") or "")
    parameters = _parameters(entry.get("parameters"))
    if parameters is None:
        entry.pop("parameters", None)
    else:
        entry["parameters"] = parameters
    for key in ("version", "runs", "failures"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            entry[key] = 1 if key == "version" else 0
    entry["version"] = max(1, entry["version"])
    nested = entry.get("stats")
    stats: dict[str, Any] = nested if isinstance(nested, dict) else entry
    if not entry["runs"] and isinstance(stats.get("calls"), int):  # the original's statistics
        entry["runs"] = max(0, stats["calls"])
        if isinstance(stats.get("errors"), int):
            entry["failures"] = max(0, stats["errors"])
        if isinstance(stats.get("last_error"), str) and not entry.get("last_error"):
            entry["last_error"] = stats["last_error"]
    return entry


def parse_manifest(data: Any, path: Path) -> dict[str, dict[str, Any]]:
    """Entries by name from ``data`` (ours, the original's dict, or a list of entries).
    Entries whose names are not valid tool names are dropped (they cannot be files)."""
    if isinstance(data, dict) and isinstance(data.get("tools"), dict):
        raw_items = list(data["tools"].items())
    elif isinstance(data, dict) and "schema_version" not in data \
            and all(isinstance(v, dict) for v in data.values()):
        raw_items = list(data.items())
    elif isinstance(data, list) and all(isinstance(i, dict) and "name" in i for i in data):
        raw_items = [(item["name"], item) for item in data]
    else:
        raise atomic.CorruptFileError(path, "expected an object with 'tools'")
    entries: dict[str, dict[str, Any]] = {}
    for key, raw in raw_items:
        name = _valid_name(key)
        if name is not None:
            entries[name] = _entry(name, raw)
    return entries


def manifest_document(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION,
            "tools": {name: entries[name] for name in sorted(entries)}}


def spec_of(entry: dict[str, Any]) -> ToolSpec:
    return ToolSpec.from_dict(entry)


def entry_of(spec: ToolSpec, stat: tuple[int, int] | None,
             previous: dict[str, Any] | None = None, path: Path | None = None) -> dict[str, Any]:
    """The manifest entry of ``spec``: every field of ``previous`` (the original
    AutoAgent's ``path``, ``source``, ``input_schema``...) kept, ours added or updated, and
    ``path`` made true (this machine's absolute path) when the file was just written."""
    entry = dict(previous) if previous else {}
    entry.update(spec.to_dict())
    if stat is not None:
        entry["file_mtime_ns"], entry["file_size"] = stat
    if path is not None:
        entry["path"] = str(path.absolute())
    return entry


def parse_history(data: Any, path: Path) -> list[ToolSpec]:
    items = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise atomic.CorruptFileError(path, "expected an object with 'versions'")
    specs = [ToolSpec.from_dict(item) for item in items if isinstance(item, dict)
             and isinstance(item.get("version"), int)]
    return sorted(specs, key=lambda s: s.version)


def history_document(name: str, specs: list[ToolSpec]) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "name": name,
            "versions": [s.to_dict() for s in sorted(specs, key=lambda s: s.version)]}
