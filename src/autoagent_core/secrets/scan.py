"""``autoagent secrets scan``: where key-shaped values sit in the tool library, the agents,
the sessions and the runs.

Two passes. The first reads every text file of those folders and finds key-shaped values
(:mod:`.detect`); in a JSON file each string is read with its field's name before it, so
``{"api_key": "72ea..."}`` is a key beside a key word while ``{"sha256": "..."}`` is not.
The second finds every other place each found value (and each value of the secret store)
sits, also where nothing around it looks like a key. A place is a file and a field (a JSON
path, ``line N`` of a JSONL file, or ``line N`` of a text file); the value itself is never
shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.secrets.detect import find_secrets, name_for, service_in
from autoagent_core.secrets.task import MIN_KNOWN

if TYPE_CHECKING:
    from autoagent_core.config import Settings

TEXT_SUFFIXES = {".py", ".json", ".jsonl", ".md", ".html", ".txt", ".toml", ".log", ".csv"}
MAX_FILE_BYTES = 50_000_000
FOLDERS = ("tools_dir", "agents_dir", "sessions_dir", "log_dir")


@dataclass
class Place:
    """One occurrence: the file, the field inside it, the secret's (suggested) name."""

    path: Path
    field: str
    name: str


@dataclass
class ScanReport:
    """What a scan found: each value's suggested name and every place it sits."""

    roots: list[Path]
    values: dict[str, str] = field(default_factory=dict)  # value -> suggested name
    places: list[Place] = field(default_factory=list)
    files: dict[Path, set[str]] = field(default_factory=dict)  # file -> the values in it

    def _relative(self, path: Path) -> str:
        for root in self.roots:
            try:
                return str(root.name / path.relative_to(root))
            except ValueError:
                continue
        return str(path)

    def to_json(self) -> dict[str, Any]:
        return {"found": len(self.values), "files": len(self.files),
                "places": [{"file": self._relative(p.path), "field": p.field,
                            "secret": p.name} for p in self.places]}

    def lines(self) -> list[str]:
        if not self.places:
            return ["no key-shaped values found"]
        out = [f"{self._relative(p.path)}: {p.field}: {p.name or 'a key'}"
               for p in self.places]
        out.append(f"{len(self.values)} key(s) in {len(self.places)} place(s) of "
                   f"{len(self.files)} file(s); 'autoagent secrets scan --fix' moves them "
                   "into the secret store")
        return out


def _files(roots: list[Path]) -> list[Path]:
    out: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        real = root.resolve()
        for path in sorted(root.rglob("*")):
            # a symlink (to a file, or a folder on the way) never leads a fix out of a store
            if (path.suffix in TEXT_SUFFIXES and not path.is_symlink() and path.is_file()
                    and path.resolve().is_relative_to(real)
                    and path.stat().st_size <= MAX_FILE_BYTES):
                out.append(path)
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _strings(value: Any, where: str, key: str = "") -> list[tuple[str, str, str]]:
    """(JSON path, the field's name, the string) of every string in a JSON value."""
    if isinstance(value, str):
        return [(where or "$", key, value)]
    out: list[tuple[str, str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _strings(v, f"{where}.{k}" if where else str(k), str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _strings(v, f"{where}[{i}]", key)
    return out


def _units(path: Path, text: str) -> list[tuple[str, str, str]]:
    """(field, context key, text) units of a file: JSON strings, JSONL lines' strings, or
    the lines of a text file."""
    if path.suffix == ".json":
        try:
            return _strings(json.loads(text), "")
        except ValueError:
            pass
    if path.suffix == ".jsonl":
        units: list[tuple[str, str, str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                units += [(f"line {number}: {p}", k, s)
                          for p, k, s in _strings(json.loads(line), "")]
            except ValueError:
                units.append((f"line {number}", "", line))
        return units
    return [(f"line {n}", "", line) for n, line in enumerate(text.splitlines(), start=1)]


def scan_paths(roots: list[Path], known: dict[str, str] | None = None) -> ScanReport:
    """Scan every text file under ``roots``; ``known`` (``NAME -> value``) are values
    already kept, found wherever they sit."""
    report = ScanReport(roots)
    texts = {path: text for path in _files(roots) if (text := _read(path)) is not None}
    units = {path: _units(path, text) for path, text in texts.items()}
    for path, items in units.items():
        for _field, key, text in items:
            prefix = f"{key}: " if key else ""
            for finding in find_secrets(prefix + text):
                name = finding.name
                if not name and path.suffix == ".py":  # a tool's code names its service
                    service = service_in(texts[path])
                    name = name_for(service) if service else ""
                if not report.values.get(finding.value):
                    report.values[finding.value] = name
    for name, value in (known or {}).items():
        if len(value) >= MIN_KNOWN:
            report.values.setdefault(value, name)
    by_name = {n: v for n, v in (known or {}).items()}
    named = {v: n for n, v in by_name.items()}
    for path, items in units.items():
        values = {v for v in report.values if v in texts[path]}
        if not values:
            continue
        report.files[path] = values
        for place, _key, text in items:
            for value in sorted(values):
                if value in text:
                    report.places.append(
                        Place(path, place, named.get(value) or report.values[value]))
    return report


def scan_folders(settings: Settings) -> ScanReport:
    """Scan the tool library, agents, sessions and runs the settings name."""
    from autoagent_core.secrets.store import known_secrets

    roots = [settings.path(key).resolve() for key in FOLDERS]
    return scan_paths(roots, known_secrets())
