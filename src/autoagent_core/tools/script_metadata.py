"""PEP 723 inline script metadata of a tool: what it imports from PyPI, and the secrets it
declares.

A tool declares both at the top of its code, in the form every PEP 723 runner reads
(``uv run tool.py``, ``pipx run tool.py``)::

    # /// script
    # dependencies = ["requests>=2", "beautifulsoup4"]
    # [tool.autoagent]
    # secrets = ["SERPAPI_KEY"]
    # ///

:func:`read_metadata` parses the block (never executing the code); :func:`with_metadata`
returns the code with the block rewritten to hold the given lists, keeping every other key
of the block and every other line of the code, so autoagent can add a declaration as a new
version of a tool.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.errors import UsageError

# the reference regular expression of PEP 723
BLOCK_RE = re.compile(
    r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
SECRET_NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,63}$")
# a PEP 508 requirement by name (extras, version specifiers, an environment marker), never a
# URL, a path or a requirements-file option: uv reads the declarations as a requirements
# file, outside the sandbox, so "-r FILE", "--index-url URL", "name @ file:///..." or a
# path would read the host's files or reach its loopback before any tool runs
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+"
DEPENDENCY_RE = re.compile(
    rf"^{_NAME}(?:\s*\[\s*{_NAME}(?:\s*,\s*{_NAME})*\s*\])?"
    rf"(?:\s*\(?\s*{_VERSION}(?:\s*,\s*{_VERSION})*\s*\)?)?"
    r"(?:\s*;[A-Za-z0-9_.\s'\"<>=!~()]*)?$")
# a name ending like an archive is read by uv as a file of the working directory
_ARCHIVE_RE = re.compile(r"(?i)^[^\s\[;(<>=!~]*\.(whl|zip|egg|tar|tgz|tbz|txz|tar\.\w+)\b")


@dataclass
class ScriptMetadata:
    """The ``script`` block of a tool (empty lists when the code has none)."""

    dependencies: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    requires_python: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the whole parsed block
    present: bool = False


def _block(code: str) -> re.Match[str] | None:
    matches = [m for m in BLOCK_RE.finditer(code) if m.group("type") == "script"]
    if len(matches) > 1:
        raise UsageError("the tool's code has more than one '# /// script' block (PEP 723 "
                         "allows one)")
    return matches[0] if matches else None


def _toml_of(match: re.Match[str]) -> str:
    return "".join(line[2:] if line.startswith("# ") else line[1:]
                   for line in match.group("content").splitlines(keepends=True))


def read_metadata(code: str) -> ScriptMetadata:
    """The tool's declarations; raises :class:`UsageError` naming what is wrong when the
    block is not valid TOML or holds values of the wrong type."""
    match = _block(code)
    if match is None:
        return ScriptMetadata()
    try:
        data = tomllib.loads(_toml_of(match))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"the tool's '# /// script' block is not valid TOML: {exc}") from None
    deps = data.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise UsageError("'dependencies' in the '# /// script' block must be a list of strings")
    for dep in deps:
        if (not DEPENDENCY_RE.match(dep.strip()) or _ARCHIVE_RE.match(dep.strip())
                or "\n" in dep or "\r" in dep):
            raise UsageError(f"dependency {dep!r} in the '# /// script' block is not a package "
                             "of the index by name (like \"requests>=2\"); URLs, paths and "
                             "options are not allowed")
    tool_table = data.get("tool", {})
    autoagent = tool_table.get("autoagent", {}) if isinstance(tool_table, dict) else {}
    secrets = autoagent.get("secrets", []) if isinstance(autoagent, dict) else []
    if not isinstance(secrets, list) or not all(
            isinstance(s, str) and SECRET_NAME_RE.match(s) for s in secrets):
        raise UsageError("'[tool.autoagent] secrets' must be a list of names like "
                         "\"SERPAPI_KEY\" (capital letters, digits, underscores)")
    requires = data.get("requires-python")
    return ScriptMetadata(dependencies=list(deps), secrets=list(secrets),
                          requires_python=requires if isinstance(requires, str) else None,
                          raw=data, present=True)


def render_block(data: dict[str, Any]) -> str:
    """``data`` as a PEP 723 ``script`` block (with a trailing newline)."""
    import tomli_w

    body = tomli_w.dumps(data)
    lines = ["# /// script"]
    lines += [f"# {line}" if line else "#" for line in body.rstrip("\n").splitlines()]
    lines.append("# ///")
    return "\n".join(lines) + "\n"


def with_metadata(code: str, dependencies: list[str] | None = None,
                  secrets: list[str] | None = None) -> str:
    """``code`` whose block declares ``dependencies`` and ``secrets`` in addition to what
    it declared (a list left as ``None`` is unchanged); the block is added at the top
    (after a shebang or encoding line) when the code has none."""
    match = _block(code)
    data: dict[str, Any] = dict(read_metadata(code).raw) if match else {}
    if dependencies is not None:
        merged = list(data.get("dependencies", []))
        merged += [d for d in dependencies if d not in merged]
        data["dependencies"] = merged
    if secrets is not None:
        tool_table = dict(data.get("tool", {}))
        autoagent = dict(tool_table.get("autoagent", {}))
        merged = list(autoagent.get("secrets", []))
        merged += [s for s in secrets if s not in merged]
        autoagent["secrets"] = merged
        tool_table["autoagent"] = autoagent
        data["tool"] = tool_table
    block = render_block(data)
    if match is not None:
        end = match.end()
        if code[end:end + 1] == "\n":
            end += 1
        return code[:match.start()] + block + code[end:]
    lines = code.splitlines(keepends=True)
    head = 0
    while head < len(lines) and head < 2 and (
            lines[head].startswith("#!") or re.match(r"^#.*coding[:=]", lines[head])):
        head += 1
    return "".join(lines[:head]) + block + "".join(lines[head:])
