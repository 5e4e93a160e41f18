"""``autoagent tools deps NAME``: what a tool version declares, the versions locked for it,
and whether the tool environment holds them; ``--install`` installs them now. Also the
stderr lines ``tools run`` prints while it installs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolStore


def stderr_notify(kind: str, /, **data: Any) -> None:
    """One line on stderr per install step (``tools run``: stdout stays the result)."""
    from autoagent_core.deps.events import summary

    line = summary(kind, data)
    if line is not None:
        sys.stderr.write(f"autoagent: {line}\n")
        sys.stderr.flush()


def describe(store: ToolStore, settings: Settings, name: str,
             version: int | None = None) -> dict[str, Any]:
    """The dependency report of a tool version (what ``tools deps --json`` prints)."""
    from autoagent_core.deps import locks, policy
    from autoagent_core.deps.environment import env_dir
    from autoagent_core.deps.prepare import missing_pins
    from autoagent_core.tools.script_metadata import read_metadata

    tool = store.get(name, version)
    declared = read_metadata(tool.code).dependencies
    lock = locks.read_lock(settings, name, tool.spec.version)
    resolved = {str(k): str(v) for k, v in (lock or {}).get("resolved", {}).items()}
    return {"name": name, "version": tool.spec.version, "declared": declared,
            "locked": resolved if lock is not None else None,
            "locked_at": (lock or {}).get("locked_at"),
            "missing": missing_pins(settings, resolved) if lock is not None else {},
            "environment": str(env_dir(settings)),
            "auto_install": policy.auto_install(settings)}


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['name']} v{report['version']}",
             "declared: " + (", ".join(report["declared"]) or "nothing (standard library "
                             "only, or undeclared imports)")]
    if report["locked"] is None:
        lines.append("locked: not yet (installed at the first call)" if report["declared"]
                     else "locked: nothing to lock")
    else:
        pins = ", ".join(f"{k}=={v}" for k, v in report["locked"].items()) or "nothing"
        lines.append(f"locked: {pins} ({report['locked_at']})")
        missing = report["missing"]
        lines.append("installed: " + ("yes" if not missing else "no, missing " + ", ".join(
            f"{k}=={v}" for k, v in missing.items())))
    lines.append(f"environment: {report['environment']} (auto_install="
                 f"{report['auto_install']})")
    return "\n".join(lines) + "\n"


def install_now(store: ToolStore, settings: Settings, name: str,
                version: int | None = None) -> str | None:
    """Install the tool version's declared dependencies as locked (the user asked: no
    ``auto_install`` prompt); None, or the error message."""
    import dataclasses

    from autoagent_core.deps.prepare import prepare_call

    allowed = dataclasses.replace(settings, auto_install="yes")
    allowed.sources = dict(settings.sources)
    failure = prepare_call(store.get(name, version), allowed, stderr_notify)
    return None if failure is None else str((failure.error or {}).get("message"))
