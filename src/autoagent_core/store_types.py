"""Records and Protocols of the storage layers: tools, agents and sessions.

Import them from :mod:`autoagent_core.types`, which re-exports every name defined here.
"""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from autoagent_core.common_records import SessionStatus, Usage, utc_now

# --------------------------------------------------------------------------- tools


@dataclass
class ToolSpec:
    """A tool's manifest entry (its current version)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}, "required": []}
    )
    version: int = 1
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    sha256: str = ""
    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    last_run: str | None = None
    # the original AutoAgent's telemetry: calls, ok, errors, avg_latency_ms, score...
    tool_stats: dict[str, Any] | None = None

    def signature(self) -> str:
        """A readable signature such as ``add(a: integer, b: integer)``."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        parts = []
        for pname, schema in props.items():
            kind = schema.get("type", "any") if isinstance(schema, dict) else "any"
            parts.append(f"{pname}: {kind}" + ("" if pname in required else "?"))
        if self.parameters.get("x-one-dict"):  # the original AutoAgent's def tool(args)
            keys = [p if p in required else f"{p}?" for p in props]
            return f"{self.name}({{{', '.join([*keys, '...'])}}})"
        return f"{self.name}({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class ToolVersion:
    """One saved version of a tool: its spec at that version and its code."""

    spec: ToolSpec
    code: str


@dataclass
class ToolResult:
    """The outcome of one sandboxed tool call.

    On success ``ok`` is true and ``result`` holds the JSON value the function returned.
    On failure ``error`` holds the classified error: ``{"class": "timeout", "message": ...,
    "traceback": "...tail...", "suggestions": [...]}``.
    """

    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    truncated: bool = False
    # open mode's staged writes, once committed to the working directory: one entry per
    # path, {"path": "out/summary.json" (relative, POSIX), "bytes": 120,
    # "change": "new" | "modified" | "deleted"}
    files: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # the staged changes that were not committed: {"path": ".env", "reason": "..."}
    refused: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolResult:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class ToolStore(Protocol):
    """Persistent, versioned tools (default: ``filesystem``, ``.permanent_tools/``).

    Names are validated before any filesystem call (``InvalidNameError``); a missing tool
    raises ``NotFoundError``; invalid code raises ``UsageError`` saying what is wrong.
    """

    def list_tools(self) -> list[ToolSpec]:
        """Every tool's current spec, read from the manifest (not from every file)."""
        ...

    def get(self, name: str, version: int | None = None) -> ToolVersion:
        """The current version, or the given one."""
        ...

    def save(self, name: str, code: str, description: str = "") -> ToolSpec:
        """Validate and save; a new name is version 1, changed code is version N+1,
        identical code returns the existing spec unchanged."""
        ...

    def history(self, name: str) -> list[ToolSpec]:
        """Every version, oldest first."""
        ...

    def rollback(self, name: str, version: int) -> ToolSpec:
        """Make an earlier version current again (saved as a new version)."""
        ...

    def delete(self, name: str) -> None:
        ...

    def record_run(self, name: str, ok: bool, error: str | None = None, caller: str = "",
                   duration_s: float | None = None) -> None:
        """Update the run statistics after a call and add it to the tool's run history
        (``caller``: who ran it, such as ``cli``, ``coder`` or ``mcp:<client name>``)."""
        ...

    def code_path(self, name: str) -> Path:
        """The file holding the current code (what the sandbox runs)."""
        ...


# --------------------------------------------------------------------------- agents


@dataclass
class AgentSpec:
    """A specialised agent, persisted by the agent registry."""

    name: str
    role: str
    instructions: str
    created_by: str = "coder"
    created_at: str = field(default_factory=utc_now)
    uses: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class AgentRegistry(Protocol):
    """Persistent specialised agents (default: ``filesystem``, ``.agents/``)."""

    def list_agents(self) -> list[AgentSpec]:
        ...

    def get(self, name: str) -> AgentSpec:
        ...

    def save(self, spec: AgentSpec) -> AgentSpec:
        """Create or replace an agent."""
        ...

    def delete(self, name: str) -> None:
        ...

    def record_use(self, name: str) -> None:
        ...


# --------------------------------------------------------------------------- sessions


@dataclass
class Turn:
    """One turn of a run: what each agent said, what was done, and the decision.

    ``messages`` holds every message exchanged with the model in this turn, per agent:
    ``[{"agent": "coder", "role": "assistant", "content": "..."}, ...]``.
    ``actions`` holds the parsed actions; ``results`` what each action produced;
    ``decision`` the Supervisor's parsed reply (``{"decision": "continue", ...}``).
    """

    index: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    started_at: str = field(default_factory=utc_now)
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["usage"] = self.usage.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["usage"] = Usage.from_dict(data.get("usage"))
        return cls(**kwargs)


SESSION_SCHEMA_VERSION = 1


@dataclass
class Session:
    """A run's whole state, saved after every turn."""

    id: str
    task: str
    status: SessionStatus = "active"
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    backend: str = ""
    model: str = ""
    turns: list[Turn] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)
    tools_created: list[dict[str, Any]] = field(default_factory=list)
    tools_used: list[dict[str, Any]] = field(default_factory=list)
    agents_created: list[str] = field(default_factory=list)
    answer: str | None = None
    run_dirs: list[str] = field(default_factory=list)
    schema_version: int = SESSION_SCHEMA_VERSION
    candidate: str | None = None
    """An answer the run computed but could not verify (the run then ends failed, with
    ``answer`` empty); None once a checked answer is given."""
    # the original AutoAgent's four keys (metadata, transcript, tools_used as names,
    # custom_data) as last read, kept so the original can still load and resume the file;
    # ``original_turns`` is how many of ``turns`` were rebuilt from its transcript
    original: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    original_turns: int = field(default=0, compare=False, repr=False)

    @property
    def turn_count(self) -> int:
        """Turns run so far: the original's ``total_turns`` plus the turns added since."""
        meta = self.original.get("metadata")
        total = meta.get("total_turns") if isinstance(meta, dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            return total + max(0, len(self.turns) - self.original_turns)
        return len(self.turns)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for turn in self.turns:
            total = total + turn.usage
        return total

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["turns"] = [t.to_dict() for t in self.turns]
        data["usage"] = self.usage.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["turns"] = [Turn.from_dict(t) for t in data.get("turns", [])]
        return cls(**kwargs)


@dataclass
class SessionSummary:
    """One row of the session index."""

    id: str
    task: str
    status: str
    turns: int
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class SessionStore(Protocol):
    """Sessions saved after every turn (default: ``filesystem``, ``.sessions/``)."""

    def new_id(self) -> str:
        """A short, sortable, unique id."""
        ...

    def create(self, session: Session) -> None:
        """Save a new session; ``ConflictError`` if the id exists."""
        ...

    def load(self, session_id: str) -> Session:
        ...

    def save(self, session: Session) -> None:
        """Save the whole session (atomic) and update its index row (under a lock)."""
        ...

    def list_sessions(self, status: str | None = None) -> list[SessionSummary]:
        """Index rows, most recently updated first."""
        ...

    def delete(self, session_id: str) -> None:
        ...

    def open_exclusive(self, session_id: str) -> AbstractContextManager[None]:
        """Held by a run for its whole life; a second run on the same id gets
        ``ConflictError`` naming the session."""
        ...

    def export(self, session_id: str) -> dict[str, Any]:
        """One self-contained JSON object."""
        ...

    def import_(self, data: dict[str, Any], overwrite: bool = False) -> Session:
        """Validate and store; refuses an existing id unless ``overwrite``."""
        ...

    def rebuild_index(self) -> list[str]:
        """Rebuild the index from the session files; returns the names set aside."""
        ...


