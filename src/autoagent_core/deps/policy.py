"""``auto_install``: may autoagent install a tool's packages now? And the ``dependency``
error a tool call ends with when it may not, or when the install fails.

``yes`` (the default in open and none mode) installs; ``no`` (the default in strict mode)
refuses; ``ask`` asks on the terminal and refuses when there is none (a pipe, a batch, an
MCP client), because a prompt nobody can answer would hang the call.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from autoagent_core.config import sandbox_mode

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult


def auto_install(settings: Settings) -> str:
    """The policy in force: the setting, else ``no`` in strict mode and ``yes`` otherwise."""
    if settings.auto_install:
        return settings.auto_install
    return "no" if sandbox_mode(settings) == "strict" else "yes"


def _source(settings: Settings) -> str:
    source = settings.sources.get("auto_install", "default")
    if source == "default":
        return f"the default in {sandbox_mode(settings)} mode"
    return f"from {source}"


def refusal(settings: Settings, tool: str, packages: list[str]) -> str | None:
    """None when ``packages`` may be installed for ``tool``; else why not (one line)."""
    policy = auto_install(settings)
    if policy == "yes":
        return None
    if policy == "ask":
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            return "auto_install is 'ask' and there is no terminal to ask on"
        sys.stderr.write(f"autoagent: tool '{tool}' needs {', '.join(packages)} from the "
                         "package index. Install into the tool environment? [y/N] ")
        sys.stderr.flush()
        try:
            answer = sys.stdin.readline().strip().lower()
        except (OSError, KeyboardInterrupt):
            answer = ""
        return None if answer in ("y", "yes") else "the install was declined at the prompt"
    return f"auto_install is 'no' ({_source(settings)})"


def dependency_failure(tool: str, packages: list[str], reason: str,
                       settings: Settings, cause: dict[str, Any] | None = None) -> ToolResult:
    """The failed result of a call whose packages were refused or could not be installed:
    class ``dependency``, naming the packages and the setting that decides."""
    from autoagent_core.types import ToolResult

    listed = ", ".join(packages)
    refused = "auto_install" in reason or "declined" in reason
    if not packages:
        message = f"tool '{tool}': {reason}"
    elif refused:
        message = f"{listed} not installed for tool '{tool}': {reason}"
    else:
        message = f"cannot install {listed} for tool '{tool}': {reason}"
    tips = []
    if refused:
        tips.append("allow installs with `autoagent config set auto_install yes` (or "
                    "AUTOAGENT_AUTO_INSTALL=yes for one run), or install them beforehand with "
                    f"`autoagent tools deps {tool} --install`")
    else:
        tips.append("check the package name and version in the tool's '# /// script' "
                    "dependencies; packages without a wheel for this machine need "
                    "deps_build_from_source = true")
    tips.append("or solve the task with the standard library only")
    error: dict[str, Any] = {"class": "dependency", "message": message, "traceback": "",
                             "suggestions": tips, "packages": list(packages),
                             "setting": f"auto_install={auto_install(settings)}"}
    if cause is not None:
        error["cause"] = {k: cause.get(k) for k in ("class", "message") if k in cause}
    return ToolResult(ok=False, error=error)
