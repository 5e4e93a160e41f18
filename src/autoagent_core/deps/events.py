"""The events of :mod:`autoagent_core.deps.prepare` as one line each, for ``tools run``'s
stderr and the timelines (``timeline.md``, ``timeline.html``)."""

from __future__ import annotations

from typing import Any

KINDS = ("dependency_missing", "dependency_install", "dependency_installed",
         "dependency_declared", "dependency_refused", "dependency_failed")


def summary(kind: str, data: dict[str, Any]) -> str | None:
    """One line saying what happened, or None for a kind that is not a dependency step."""
    name = data.get("name")
    packages = ", ".join(str(p) for p in data.get("packages") or [])
    if kind == "dependency_install":
        return f"installing {packages} for tool '{name}' (auto_install={data.get('policy')})"
    if kind == "dependency_installed":
        resolved = data.get("resolved") or {}
        pins = ", ".join(f"{k}=={v}" for k, v in resolved.items()) if isinstance(
            resolved, dict) else str(resolved)
        return f"installed {pins} in {float(data.get('duration_s') or 0):.1f} s"
    if kind == "dependency_missing":
        return (f"tool '{name}' imports {data.get('module')}, which is not installed: "
                f"it comes from {data.get('distribution')}")
    if kind == "dependency_declared":
        return (f"saved tool '{name}' as version {data.get('version')}, declaring "
                f"{data.get('distribution')}; running it again")
    if kind == "dependency_refused":
        return f"not installing {packages} for tool '{name}': {data.get('reason')}"
    if kind == "dependency_failed":
        return f"could not install {packages} for tool '{name}': {data.get('reason')}"
    return None
