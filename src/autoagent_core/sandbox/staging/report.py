"""The lines a person reads about a call's committed files and refused writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_LINES = 20


def human_size(size: int) -> str:
    """``12 KB``-style sizes (1 KB = 1024 bytes)."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.0f} GB"


def file_lines(files: Iterable[dict[str, Any]], refused: Iterable[dict[str, Any]],
               limit: int = MAX_LINES) -> list[str]:
    """``wrote quotes.json (12 KB, new)``, ``deleted old.csv``, ``not written: .env: ...``."""
    lines = []
    for item in files:
        if item.get("change") == "deleted":
            lines.append(f"deleted {item.get('path')}")
        else:
            lines.append(f"wrote {item.get('path')} ({human_size(int(item.get('bytes') or 0))}, "
                         f"{item.get('change')})")
    lines += [f"not written: {item.get('path')}: {item.get('reason')}" for item in refused]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines
