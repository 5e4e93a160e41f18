"""Helpers shared by the command groups: settings, stores, terminal output."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from autoagent_core.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from autoagent_core.config import Settings


def settings(**overrides: Any) -> Settings:
    """Settings with the given command-line values (``None`` means not given)."""
    from autoagent_core.config import load_settings

    return load_settings({k: v for k, v in overrides.items() if v is not None})


def sandbox_overrides(sandbox: str | None, allow_read: list[str] | None,
                      allow_write: list[str] | None,
                      allow_net: list[str] | None = None) -> dict[str, Any]:
    """The settings given by ``--sandbox``, ``--allow-read``, ``--allow-write`` and
    ``--allow-net``."""
    overrides: dict[str, Any] = {"allow_read": allow_read or None,
                                 "allow_write": allow_write or None,
                                 "allow_net": checked_allow_net(allow_net)}
    if sandbox is not None:
        if sandbox not in ("strict", "open", "none"):
            raise UsageError(f"--sandbox must be strict, open or none, not {sandbox!r}")
        overrides["sandbox"] = sandbox
        if sandbox != "none":
            overrides["dangerous_tools"] = sandbox == "open"
    return overrides


def checked_allow_net(entries: list[str] | None) -> str | None:
    """``--allow-net`` values, each checked (a usage error names a bad one), as the
    comma-separated setting; None when none was given."""
    if not entries:
        return None
    from autoagent_core.errors import ConfigError
    from autoagent_core.sandbox.network.addresses import parse_grant

    for entry in entries:
        try:
            parse_grant(entry)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    return ",".join(entries)


def is_terminal() -> bool:
    return sys.stdout.isatty()


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def print_json(data: Any) -> None:
    """JSON on stdout, one document, for pipelines: exact text, control characters as JSON
    escapes (never raw on a terminal)."""
    from autoagent_core.terminal_text import json_text

    sys.stdout.write(json_text(data) + "\n")


def confirm_or_abort(question: str, yes: bool) -> None:
    """Ask on a terminal; in a script, demand ``--yes``."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{question} Refusing without confirmation: pass --yes in scripts")
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)


def one_line(text: Any, limit: int = 80) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    from autoagent_core.terminal_text import safe_text

    line = safe_text(" ".join(str(text).split()), one_line=True)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_json_arg(raw: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}") from None
