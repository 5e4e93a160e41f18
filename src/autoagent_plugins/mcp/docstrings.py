"""Descriptions an MCP client sees, from a tool's docstring: the whole docstring is the
tool's description, and an ``Args:``/``Parameters:`` section (Google style) or a
``Parameters`` section underlined with dashes (NumPy style) fills each parameter's
``description`` in the input schema."""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

GOOGLE_HEADERS = ("args:", "arguments:", "parameters:", "params:", "keyword args:",
                  "keyword arguments:")
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def function_docstring(code: str, name: str) -> str:
    """The docstring of the top-level function ``name`` in ``code`` (cleaned), or ``""``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return ast.get_docstring(node) or ""
    return ""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _collect(lines: list[str], start: int, base: int,
             entry: re.Pattern[str]) -> dict[str, str]:
    """Entries at indent ``base`` from ``lines[start:]``; deeper lines continue one."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[start:]:
        if not line.strip():
            continue
        if _indent(line) < base:
            break
        if _indent(line) == base:
            match = entry.match(line.strip())
            if match is None:
                break
            current = found.setdefault(match.group(1), [])
            rest = match.group(2) if match.re is _GOOGLE_ENTRY else ""
            if rest:
                current.append(rest.strip())
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(words) for name, words in found.items() if words}


def parameter_descriptions(docstring: str) -> dict[str, str]:
    """Parameter name -> description, from a Google or NumPy parameters section."""
    lines = inspect.cleandoc(docstring).splitlines()
    out: dict[str, str] = {}
    for i, line in enumerate(lines):
        header = line.strip().lower()
        if header in GOOGLE_HEADERS:
            body = next((n for n in range(i + 1, len(lines)) if lines[n].strip()), None)
            if body is not None and _indent(lines[body]) > _indent(line):
                out.update(_collect(lines, body, _indent(lines[body]), _GOOGLE_ENTRY))
        elif header in ("parameters", "other parameters", "keyword arguments") \
                and i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]):
            body = next((n for n in range(i + 2, len(lines)) if lines[n].strip()), None)
            if body is not None:
                out.update(_collect(lines, body, _indent(lines[body]), _NUMPY_ENTRY))
    return out


def describe(name: str, code: str, description: str,
             parameters: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The tool's description (its whole docstring, else ``description``) and its input
    schema with each documented parameter's ``description`` filled in (one set in the
    schema already is kept)."""
    docstring = function_docstring(code, name)
    if not docstring:
        return description, parameters
    schema = dict(parameters)
    properties = dict(schema.get("properties") or {})
    for param, text in parameter_descriptions(docstring).items():
        if param in properties and isinstance(properties[param], dict) \
                and not properties[param].get("description"):
            properties[param] = {**properties[param], "description": text}
    if properties:
        schema["properties"] = properties
    return docstring, schema
