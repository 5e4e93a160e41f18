"""``autoagent secrets scan --fix``: move every found value into the secret store and put
its name where it was.

* Each value is kept in the store under its suggested name (an existing name with another
  value gets ``_2``...; a value already kept keeps its name).
* A tool of the library holding a value as a string literal is saved as a new version
  through the tool store: the literal becomes ``os.environ["NAME"]``, ``import os`` is
  added when missing, and the PEP 723 block declares the secret, so the tool receives it
  at each call.
* Every other file (sessions, runs, tool history, run snapshots of tool code, agents) is
  edited as text in place: the value becomes ``$NAME`` (``os.environ["NAME"]`` for a
  literal in Python code). Nothing else of the file changes, so every key of a session or
  run file in the original AutoAgent's shape stays as it was; a JSON file is written only
  if it still parses, atomically and with its mode kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.secrets.task import assign_names

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.secrets.scan import ScanReport
    from autoagent_core.secrets.store import SecretStore


@dataclass
class FixReport:
    """What ``--fix`` did."""

    stored: list[str] = field(default_factory=list)
    tools: list[tuple[str, int]] = field(default_factory=list)  # (tool, new version)
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"stored": self.stored,
                "tools": [{"name": n, "version": v} for n, v in self.tools],
                "files": self.files, "problems": self.problems}

    def lines(self) -> list[str]:
        out = [f"kept {name} in the secret store" for name in self.stored]
        out += [f"tool {name}: version {version} reads os.environ and declares its secret(s)"
                for name, version in self.tools]
        out += [f"rewrote {path}" for path in self.files]
        out += [f"not fixed: {problem}" for problem in self.problems]
        out.append(f"{len(self.stored)} secret(s) kept, {len(self.tools)} tool(s) and "
                   f"{len(self.files)} file(s) rewritten")
        return out


def rewrite_code(code: str, names: dict[str, str]) -> str:
    """``code`` with each value (``value -> NAME``) read from the environment instead: a
    string literal holding just the value becomes ``os.environ["NAME"]`` (``import os``
    added when missing) and the secret is declared; any other occurrence becomes
    ``$NAME``."""
    from autoagent_core.tools.script_metadata import BLOCK_RE, with_metadata

    used: list[str] = []
    for value, name in names.items():
        if value not in code:
            continue
        literal = re.compile(r"""(?<![A-Za-z0-9_])[rRbBuUfF]?(?P<q>["'])""" +
                             re.escape(value) + r"(?P=q)")
        code = literal.sub(f'os.environ["{name}"]', code)
        code = code.replace(value, f"${name}")
        used.append(name)
    if not used:
        return code
    code = with_metadata(code, secrets=used)
    if 'os.environ["' in code and not re.search(r"^\s*(import\s+os\b|from\s+os\s+import)",
                                                 code, re.M):
        block = next((m for m in BLOCK_RE.finditer(code) if m.group("type") == "script"), None)
        cut = block.end() + 1 if block is not None else 0
        code = code[:cut] + "import os\n" + code[cut:]
    return code


def embedded(code: str, names: dict[str, str]) -> list[str]:
    """The names whose value sits in ``code`` inside a longer string (not a literal of its
    own): :func:`rewrite_code` leaves ``$NAME`` there, which a person must finish."""
    out = []
    for value, name in names.items():
        whole = re.sub(r"""(?<![A-Za-z0-9_])[rRbBuUfF]?(["'])""" + re.escape(value) + r"\1",
                       "", code)
        if value in whole:
            out.append(name)
    return out


def _write_in_place(path: Path, text: str) -> None:
    from autoagent_core.atomic import atomic_write_bytes

    mode = path.stat().st_mode & 0o777
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def _still_parses(path: Path, text: str) -> bool:
    try:
        if path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".jsonl":
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
    except ValueError:
        return False
    return True


def _fix_library(settings: Settings, names: dict[str, str], out: FixReport) -> None:
    from autoagent_core.errors import AutoagentError
    from autoagent_core.layers import open_tool_store

    store = open_tool_store(settings)
    for spec in store.list_tools():
        try:
            code = store.get(spec.name).code
        except AutoagentError as exc:
            out.problems.append(f"tool {spec.name}: {exc}")
            continue
        hits = {v: n for v, n in names.items() if v in code}
        if not hits:
            continue
        try:
            saved = store.save(spec.name, rewrite_code(code, hits), spec.description)
        except AutoagentError as exc:
            out.problems.append(f"tool {spec.name}: {exc}")
            continue
        out.tools.append((spec.name, saved.version))
        for name in embedded(code, hits):
            out.problems.append(f"tool {spec.name}: the key {name} sat inside a longer string "
                                f"and is now the text ${name} there: make that part read "
                                f"os.environ[\"{name}\"]")


def fix_folders(settings: Settings, report: ScanReport, store: SecretStore) -> FixReport:
    """Store every value of ``report``, then rewrite the library's tools and every file."""
    from autoagent_core.secrets.scan import scan_paths
    from autoagent_core.secrets.store import forget_cache

    out = FixReport()
    known = {n: v for n in store.names() if (v := store.get(n))}
    names = assign_names(report.values, known)
    for value, name in sorted(names.items(), key=lambda item: item[1]):
        if known.get(name) != value:
            store.set(name, value)
            out.stored.append(name)
    forget_cache()
    _fix_library(settings, names, out)
    # every file that still holds a value (the tools' history, sessions, runs, agents)
    again = scan_paths(report.roots, {n: v for v, n in names.items()})
    for path in sorted(again.files):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            out.problems.append(f"{path}: cannot read it: {exc}")
            continue
        hits = {v: names.get(v) or n for v, n in again.values.items() if v in text}
        if path.suffix == ".py":
            new = rewrite_code(text, hits)
        else:
            new = text
            for value in sorted(hits, key=len, reverse=True):
                new = new.replace(value, f"${hits[value]}")
        if new == text:
            continue
        if not _still_parses(path, new):
            out.problems.append(f"{path}: would no longer parse as JSON; left as it was")
            continue
        _write_in_place(path, new)
        out.files.append(str(path))
    return out
