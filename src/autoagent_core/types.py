"""Records passed between the layers, and the Protocol each layer's plugin implements.

Everything here is plain data (dataclasses) that serialises to JSON with ``to_dict`` and
back with ``from_dict``; nothing here talks HTTP or knows a file format.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from autoagent_core.common_records import (
    SESSION_STATUSES,
    Role,
    Usage,
    utc_now,
)

# The storage layers' records live in store_types.py and are part of this module's API.
from autoagent_core.store_types import (
    SESSION_SCHEMA_VERSION,
    AgentRegistry,
    AgentSpec,
    Session,
    SessionStore,
    SessionSummary,
    ToolResult,
    ToolSpec,
    ToolStore,
    ToolVersion,
    Turn,
)

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
class CompletionOptions:
    """What a caller may ask of a backend for one request.

    ``json_schema`` asks for a reply constrained to that schema where the backend can
    enforce it (llama.cpp grammars, ``response_format``); ``on_text`` receives streamed
    text as it arrives (the backend streams when it is set and it can). ``agent`` names
    the agent asking (the scripted backend checks it; others may ignore it).
    ``protocol`` says how the reply is asked for (:mod:`autoagent_core.protocol.selection`):
    ``tools`` offers the actions of ``json_schema`` as native tools, ``json`` constrains
    the reply to ``json_schema`` (JSON mode), ``text`` sends neither (``json_schema`` is
    then ``None``); ``auto`` leaves the choice to the backend. ``seed``
    fixes the sampling of a backend that supports it (the local model), so a sampled
    reply (``temperature`` > 0) repeats from run to run.
    """

    max_tokens: int = 2048
    temperature: float = 0.2
    json_schema: dict[str, Any] | None = None
    on_text: Callable[[str], None] | None = None
    agent: str = "coder"
    protocol: str = "auto"
    seed: int | None = None


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


# --------------------------------------------------------------------------- timeline

EVENT_KINDS: tuple[str, ...] = (
    "run_started",  # task, session_id, backend, model, settings (no secrets), resumed
    "turn_started",  # turn
    "model_request",  # agent, turn, messages (list of {role, content}), protocol
    # model_reply: agent, turn, text, usage {prompt_tokens, completion_tokens}, latency_s,
    # model, protocol
    "model_reply",
    # format_error: agent, turn, error, text, reason, protocol, next_protocol, forced
    "format_error",
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
    # the guided strategy's own steps (loop/guided*.py); model_request/model_reply carry
    # ``step`` and ``sample`` there
    "tools_offered",  # turn, tools (names that fit the task), threshold
    "candidate_run",  # turn, name, args, ok, result, error: one sampled body in the sandbox
    "answer_checked",  # turn, name, value, support, others, second, kind, agreed
    "format_refused",  # agent, turn, step, error: the backend refused the step's schema
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
    "SESSION_SCHEMA_VERSION",
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
