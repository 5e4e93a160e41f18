"""Before a call: the tool version's declared dependencies present, in its locked versions.
After a call that failed on a missing module: the distribution installed, the declaration
added to the code as a new tool version, and the call run again, with no model turn.

Every step is reported through ``notify(kind, **fields)`` (the run's event bus, or a line on
stderr for ``tools run``): ``dependency_install``, ``dependency_installed``,
``dependency_refused``, ``dependency_failed``, ``dependency_missing`` and
``dependency_declared`` (the new version).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autoagent_core.deps import locks, policy
from autoagent_core.deps.environment import env_dir, installed, normalize

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolStore, ToolVersion

Notify = Callable[..., Any]
MAX_FIXES = 3  # missing modules resolved for one call, one per rerun


def _quiet(kind: str, /, **data: Any) -> None:
    return None


def _names(requirements: list[str]) -> list[str]:
    """The normalised distribution names of PEP 508 requirement strings."""
    import re

    names = []
    for req in requirements:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if match:
            names.append(normalize(match.group(1)))
    return names


def missing_pins(settings: Settings, pins: dict[str, str]) -> dict[str, str]:
    have = installed(env_dir(settings))
    return {name: v for name, v in pins.items() if have.get(normalize(name)) != v}


def install_requirements(settings: Settings, tool: str, version: int,
                         requirements: list[str], notify: Notify,
                         pins: dict[str, str] | None = None,
                         ) -> tuple[dict[str, str] | None, ToolResult | None]:
    """Install ``requirements`` (or exactly ``pins``) under ``auto_install``: the resolved
    versions, or the ``dependency`` failure."""
    from autoagent_core.atomic import locked
    from autoagent_core.deps import uv
    from autoagent_core.deps.environment import deps_root

    why = policy.refusal(settings, tool, requirements)
    if why is not None:
        notify("dependency_refused", name=tool, version=version, packages=requirements,
               reason=why)
        return None, policy.dependency_failure(tool, requirements, why, settings)
    notify("dependency_install", name=tool, version=version, packages=requirements,
           policy=policy.auto_install(settings))
    started = time.monotonic()
    try:
        deps_root(settings).mkdir(parents=True, exist_ok=True)
        with locked(deps_root(settings) / "install.lock",
                    timeout=settings.deps_install_timeout):
            uv.ensure_env(settings)
            resolved = pins if pins is not None else uv.resolve(requirements, settings)
            if missing_pins(settings, resolved):
                uv.install(resolved, settings)
    except (uv.InstallError, OSError) as exc:
        reason = str(exc) if isinstance(exc, uv.InstallError) else f"{exc.strerror or exc}"
        notify("dependency_failed", name=tool, version=version, packages=requirements,
               reason=reason)
        return None, policy.dependency_failure(tool, requirements, reason, settings)
    notify("dependency_installed", name=tool, version=version, packages=requirements,
           resolved=resolved, duration_s=round(time.monotonic() - started, 3))
    return resolved, None


def prepare_call(tool: ToolVersion, settings: Settings,
                 notify: Notify = _quiet) -> ToolResult | None:
    """Make the tool version's declared dependencies importable, as locked; None when the
    call may start, else the failed result (class ``dependency``) to report instead."""
    from autoagent_core.errors import UsageError
    from autoagent_core.tools.script_metadata import read_metadata

    spec = tool.spec
    try:
        declared = read_metadata(tool.code).dependencies
    except UsageError as exc:
        return policy.dependency_failure(spec.name, [], str(exc), settings)
    if not declared:
        return None
    lock = locks.read_lock(settings, spec.name, spec.version) or _same_code_lock(settings,
                                                                                tool)
    if lock is not None and lock.get("declared") == declared:
        pins = {str(k): str(v) for k, v in lock["resolved"].items()}
        if not missing_pins(settings, pins):
            return None  # the usual case: nothing to do, uv is not run
        _, failure = install_requirements(settings, spec.name, spec.version, declared,
                                          notify, pins=pins)
        return failure
    if policy.auto_install(settings) != "yes":
        have = installed(env_dir(settings))
        if all(name in have for name in _names(declared)):
            return None  # present already (another tool's): nothing to install or ask
    resolved, failure = install_requirements(settings, spec.name, spec.version, declared,
                                             notify)
    if resolved is not None:
        locks.write_lock(settings, spec.name, spec.version, declared, resolved, spec.sha256)
    return failure


def _same_code_lock(settings: Settings, tool: ToolVersion) -> dict[str, Any] | None:
    """The lock of an earlier version with the same code (a rollback makes a new version
    of old code: it keeps the old versions), copied for this version."""
    spec = tool.spec
    if not spec.sha256:
        return None
    for lock in locks.tool_locks(settings, spec.name).values():
        if lock.get("sha256") == spec.sha256:
            return locks.write_lock(settings, spec.name, spec.version,
                                    list(lock.get("declared") or []),
                                    {str(k): str(v) for k, v in lock["resolved"].items()},
                                    spec.sha256)
    return None


def missing_module(result: ToolResult) -> str | None:
    """The module a failed call could not import (a ``ModuleNotFoundError``), or None."""
    error = result.error or {}
    if result.ok or error.get("class") != "missing_module":
        return None
    if error.get("exception") not in (None, "ModuleNotFoundError"):
        return None
    module = error.get("module")
    return str(module) if module else None


def run_with_dependencies(store: ToolStore, tool: ToolVersion, settings: Settings,
                          run: Callable[[ToolVersion], ToolResult],
                          notify: Notify = _quiet) -> tuple[ToolVersion, ToolResult]:
    """``run(tool)`` with its dependencies prepared; a module it misses is installed,
    declared in a new version of the tool, and the call made again (at most
    :data:`MAX_FIXES` times). The version that ran last and its result."""
    from autoagent_core.deps.modules import distribution_for
    from autoagent_core.errors import UsageError
    from autoagent_core.tools.script_metadata import read_metadata, with_metadata

    for attempt in range(MAX_FIXES + 1):
        failure = prepare_call(tool, settings, notify)
        if failure is not None:
            return tool, failure
        result = run(tool)
        module = missing_module(result)
        if module is None or attempt == MAX_FIXES:
            return tool, result
        distribution = distribution_for(module)
        try:
            declared = read_metadata(tool.code).dependencies
        except UsageError:
            return tool, result
        if distribution is None or normalize(distribution) in _names(declared):
            return tool, result  # declared already: the import name is not the package's
        name, version = tool.spec.name, tool.spec.version
        notify("dependency_missing", name=name, version=version, module=module,
               distribution=distribution)
        wanted = [*declared, distribution]
        resolved, failure = install_requirements(settings, name, version, wanted, notify)
        if failure is not None or resolved is None:
            if failure is not None and failure.error is not None:
                failure.error["cause"] = {"class": "missing_module",
                                          "message": (result.error or {}).get("message")}
            return tool, failure or result
        try:
            spec = store.save(name, with_metadata(tool.code, dependencies=[distribution]),
                              tool.spec.description)
            tool = store.get(name, spec.version)
        except UsageError:
            return tool, result
        locks.write_lock(settings, name, spec.version, wanted, resolved, spec.sha256)
        notify("dependency_declared", name=name, version=spec.version, previous=version,
               module=module, distribution=distribution)
    return tool, result

