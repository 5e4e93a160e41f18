"""Entry point discovery without :mod:`importlib.metadata`.

Importing ``importlib.metadata`` (and the ``email`` parser it uses for every METADATA
file) costs about 10 ms, more than the rest of autoagent's start-up. Plugins only need the
entry points of one group, so this module reads them directly: each ``*.dist-info`` (or
``*.egg-info``) folder on ``sys.path`` with an ``entry_points.txt``, in ``sys.path`` order,
the first distribution of a name winning, as ``importlib.metadata`` does. The name and
version come from the distribution's METADATA headers, read only for distributions that
have entry points in the group.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EntryPoint:
    """One ``name = module[:attr]`` line of a group, and the distribution it came from."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        module_name, _, attrs = self.value.partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for attr in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, attr)
        return obj


def _group_lines(text: str, group: str) -> Iterator[tuple[str, str]]:
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            continue
        if current == group and "=" in line:
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


def _identity(info_dir: Path) -> tuple[str, str]:
    """``(Name, Version)`` from the METADATA (or PKG-INFO) headers."""
    name = version = "?"
    for filename in ("METADATA", "PKG-INFO"):
        try:
            with open(info_dir / filename, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if not line.strip():
                        break  # end of the headers
                    key, _, value = line.partition(":")
                    if key == "Name":
                        name = value.strip()
                    elif key == "Version":
                        version = value.strip()
            break
        except OSError:
            continue
    return name, version


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` from every distribution on ``sys.path``."""
    found: list[EntryPoint] = []
    seen_dists: set[str] = set()
    for entry in sys.path:
        try:
            children = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for child in children:
            if not child.endswith((".dist-info", ".egg-info")):
                continue
            dist_key = _normalise(child.rsplit(".", 1)[0].split("-", 1)[0])
            if dist_key in seen_dists:
                continue
            info_dir = Path(entry or ".") / child
            try:
                text = (info_dir / "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                seen_dists.add(dist_key)
                continue
            seen_dists.add(dist_key)
            lines = list(_group_lines(text, group))
            if not lines:
                continue
            dist_name, version = _identity(info_dir)
            found.extend(EntryPoint(n, v, dist_name, version) for n, v in lines)
    return found
