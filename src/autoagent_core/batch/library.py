"""The library across machines: packed once for remote workers, merged back after a task.

* :func:`pack_library` makes a tar.gz of the tool library and the agent registry as they
  are at submission, named by the SHA-256 of its bytes, so a worker unpacks each archive
  once and every task starts from a fresh copy of it. The tool environment's locks travel
  with it (``locks/``), not the environment: a worker installs the same versions.
* :func:`learned` lists what a task added on the worker: every tool version whose code the
  submitted library did not hold (oldest first), the agents it created, and its session.
* :func:`absorb` merges that into the submitting machine's stores: the tool store's own
  rule applies, so the same name with the same code is the same version and the same name
  with other code becomes a new version, the earlier ones kept in the history; a version
  the worker locked dependencies for keeps that lock.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import AutoagentError, ConflictError

if TYPE_CHECKING:
    from autoagent_core.config import Settings

LEARNED_KEY = "learned"
"""The key of a result row holding what the task learned remotely (never written to RESULTS)."""


def pack_library(tools_dir: Path, agents_dir: Path,
                 locks_dir: Path | None = None) -> tuple[bytes, str]:
    """The archive of the folders (``tools/``, ``agents/``, ``locks/``: the versions
    resolved for each tool version) and its SHA-256."""
    buffer = io.BytesIO()
    parts = [("tools", tools_dir), ("agents", agents_dir)]
    if locks_dir is not None:
        parts.append(("locks", locks_dir))
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        for arcname, folder in parts:
            if not folder.is_dir():
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_symlink() or not path.is_file() or path.name.endswith(".lock"):
                    continue
                tar.add(path, f"{arcname}/{path.relative_to(folder)}", recursive=False)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def unpack_library(data: bytes, target: Path) -> None:
    """Unpack an archive of :func:`pack_library` (regular files only, inside ``target``)."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(target, filter="data")


def tool_shas(tools: Any) -> set[tuple[str, str]]:
    """Every ``(name, sha256)`` of every version in a tool store."""
    found: set[tuple[str, str]] = set()
    for spec in tools.list_tools():
        for version in tools.history(spec.name):
            found.add((spec.name, version.sha256))
    return found


def learned(settings: Settings, session_id: str | None,
            before: set[tuple[str, str]], agents_before: set[str]) -> dict[str, Any]:
    """What the task added to the worker's copy of the library, as plain data."""
    from autoagent_core import layers
    from autoagent_core.deps.locks import read_lock

    tools = layers.open_tool_store(settings)
    versions: list[dict[str, Any]] = []
    for spec in tools.list_tools():
        for version in tools.history(spec.name):
            if (spec.name, version.sha256) in before:
                continue
            code = tools.get(spec.name, version.version).code
            versions.append({"name": spec.name, "code": code,
                             "description": version.description,
                             "updated_at": version.updated_at,
                             "lock": read_lock(settings, spec.name, version.version)})
    versions.sort(key=lambda v: (v["updated_at"], v["name"]))
    agents = layers.open_agent_registry(settings)
    new_agents = [a.to_dict() for a in agents.list_agents() if a.name not in agents_before]
    session = None
    if session_id:
        session = layers.open_session_store(settings).export(session_id)
    return {"tool_versions": versions, "agents": new_agents, "session": session}


def absorb(settings: Settings, row: dict[str, Any]) -> list[str]:
    """Merge ``row[LEARNED_KEY]`` into this machine's stores; returns problems (one line
    each). The row's ``tools_created`` get the versions this library gave them."""
    from autoagent_core import layers
    from autoagent_core.deps.locks import read_lock, write_lock
    from autoagent_core.types import AgentSpec

    data = row.pop(LEARNED_KEY, None)
    if not data:
        return []
    problems: list[str] = []
    tools = layers.open_tool_store(settings)
    local_version: dict[str, int] = {}
    for item in data.get("tool_versions") or []:
        try:
            spec = tools.save(item["name"], item["code"], item.get("description") or "")
            local_version[spec.name] = spec.version
            lock = item.get("lock")  # the versions the worker resolved for this code
            if isinstance(lock, dict) and isinstance(lock.get("resolved"), dict) and \
                    read_lock(settings, spec.name, spec.version) is None:
                write_lock(settings, spec.name, spec.version, list(lock.get("declared") or []),
                           lock["resolved"], spec.sha256)
        except AutoagentError as exc:
            problems.append(f"tool {item.get('name')!r} not merged: {exc}")
    for created in row.get("tools_created") or []:
        if created.get("name") in local_version:
            created["version"] = local_version[created["name"]]
    registry = layers.open_agent_registry(settings)
    known = {a.name for a in registry.list_agents()}
    for agent in data.get("agents") or []:
        if agent.get("name") not in known:
            registry.save(AgentSpec.from_dict(agent))
    if data.get("session"):
        try:
            layers.open_session_store(settings).import_(data["session"])
        except ConflictError:
            layers.open_session_store(settings).import_(data["session"], overwrite=True)
        except AutoagentError as exc:
            problems.append(f"session {row.get('session_id')} not imported: {exc}")
    return problems
