"""Records passed between the layers, and the Protocol each layer's plugin implements.

Everything here is plain data (dataclasses) that serialises to JSON with ``to_dict`` and
back with ``from_dict``; nothing here talks HTTP or knows a file format.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]
SessionStatus = Literal["active", "completed", "failed", "interrupted"]
SESSION_STATUSES: tuple[str, ...] = ("active", "completed", "failed", "interrupted")


def utc_now() -> str:
    """Current time as ISO 8601 UTC with a ``Z`` suffix, second precision plus micros."""
    import datetime as _dt

    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- backends


@dataclass
class Message:
    """One chat message."""

    role: Role
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(role=data["role"], content=data["content"])


@dataclass
class Usage:
    """Token usage of one or more requests."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(int(data.get("prompt_tokens", 0)), int(data.get("completion_tokens", 0)))


@dataclass
class CompletionOptions:
    """What a caller may ask of a backend for one request.

    ``json_schema`` asks for a reply constrained to that schema where the backend can
    enforce it (llama.cpp grammars, ``response_format``); ``on_text`` receives streamed
    text as it arrives (the backend streams when it is set and it can). ``agent`` names
    the agent asking (the scripted backend checks it; others may ignore it).
    """

    max_tokens: int = 2048
    temperature: float = 0.2
    json_schema: dict[str, Any] | None = None
    on_text: Callable[[str], None] | None = None
    agent: str = "coder"


@dataclass
class Completion:
    """A backend's answer to one request."""

    text: str
    usage: Usage
    model: str
    finish_reason: str = "stop"
    latency_s: float = 0.0


@runtime_checkable
class LLMBackend(Protocol):
    """A model backend. ``complete`` raises only :class:`~autoagent_core.errors.BackendError`
    subclasses (or ``ConfigError`` for missing credentials)."""

    name: str
    model: str

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        ...

    def close(self) -> None:
        ...


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

    def signature(self) -> str:
        """A readable signature such as ``add(a: integer, b: integer)``."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", []))
        parts = []
        for pname, schema in props.items():
            kind = schema.get("type", "any") if isinstance(schema, dict) else "any"
            parts.append(f"{pname}: {kind}" + ("" if pname in required else "?"))
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

    def record_run(self, name: str, ok: bool, error: str | None = None) -> None:
        """Update the run statistics after a call."""
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


# --------------------------------------------------------------------------- timeline

EVENT_KINDS: tuple[str, ...] = (
    "run_started",  # task, session_id, backend, model, settings (no secrets), resumed
    "turn_started",  # turn
    "model_request",  # agent, turn, messages (list of {role, content})
    "model_reply",  # agent, turn, text, usage {prompt_tokens, completion_tokens}, latency_s, model
    "format_error",  # agent, turn, error, text
    "tool_created",  # name, version, description, code, created (bool: new tool)
    "tool_run",  # name, version, args, ok, result | error {class, message, ...}, duration_s
    "action_failed",  # agent, turn, type, name, error {class, message, suggestions}
    "agent_created",  # name, role, instructions, created_by
    "agent_consulted",  # name, message, reply, depth
    "supervisor_decision",  # turn, decision, feedback, tips, answer
    "final_answer",  # agent, answer
    "session_saved",  # session_id, turn
    "error",  # message, kind
    "interrupted",  # turn
    "run_finished",  # status, answer, turns, usage, duration_s
)


@dataclass
class Event:
    """One thing that happened in a run. ``data`` is JSON-serialisable."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "kind": self.kind, "data": self.data}


class TimelineRecorder(Protocol):
    """Receives every event of a run. A recorder that raises is reported once and
    disabled for the rest of the run."""

    def handle(self, event: Event) -> None:
        ...

    def close(self) -> None:
        """Called once at the end of the run, also when it failed or was interrupted."""
        ...


# --------------------------------------------------------------------------- plugins


@dataclass(frozen=True)
class Provider:
    """What a collector hook returns: a named implementation of one layer.

    ``factory`` builds the implementation from the settings. Its signature depends on the
    layer: ``factory(settings)`` for backends and stores, ``factory(settings, run_dir)``
    for timeline recorders.
    """

    name: str
    factory: Callable[..., Any]
    description: str = ""


__all__ = [
    "EVENT_KINDS",
    "SESSION_STATUSES",
    "AgentRegistry",
    "AgentSpec",
    "Completion",
    "CompletionOptions",
    "Event",
    "LLMBackend",
    "Message",
    "Provider",
    "Session",
    "SessionStore",
    "SessionSummary",
    "TimelineRecorder",
    "ToolResult",
    "ToolSpec",
    "ToolStore",
    "ToolVersion",
    "Turn",
    "Usage",
    "utc_now",
]
