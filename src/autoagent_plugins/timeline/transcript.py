"""``transcript.json``: every message exchanged with the model, per agent.

Built from ``model_request`` (the messages sent) and ``model_reply`` (the text received,
tokens, latency, model) events, and ``format_error`` events, which mark a reply that
did not parse. Replays and bug reports start here: it holds exactly what each agent saw
and said, secrets redacted.
"""

from __future__ import annotations

import json
from typing import Any

from autoagent_plugins.timeline.base import BufferedRecorder
from autoagent_plugins.timeline.model import normalise, num_of, text_of

FILENAME = "transcript.json"
SCHEMA_VERSION = 1
_KINDS = frozenset({"run_started", "model_request", "model_reply", "format_error",
                    "run_finished"})


def build_transcript(events: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"schema_version", "session_id", "task", "status", "agents": {name: [exchange]}}``
    where an exchange is ``{"turn", "messages", "reply", "usage", "latency_s", "model",
    "format_error"?}``; a request without a reply (the run stopped) has ``reply: null``."""
    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "session_id": "", "task": "",
                           "status": "incomplete", "agents": {}}
    agents: dict[str, list[dict[str, Any]]] = out["agents"]
    pending: dict[str, dict[str, Any]] = {}  # agent -> its exchange awaiting a reply
    for raw in events:
        event = normalise(raw)
        if event is None:
            continue
        kind, data = event["kind"], event["data"]
        agent = text_of(data, "agent") or "agent"
        turn = num_of(data, "turn")
        if kind == "run_started":
            out["session_id"] = text_of(data, "session_id")
            out["task"] = text_of(data, "task")
        elif kind == "run_finished":
            out["status"] = text_of(data, "status") or "finished"
        elif kind == "model_request":
            messages = data.get("messages")
            exchange = {"turn": int(turn) if turn is not None else None,
                        "ts": event["ts"],
                        "messages": messages if isinstance(messages, list) else [],
                        "reply": None}
            agents.setdefault(agent, []).append(exchange)
            pending[agent] = exchange
        elif kind == "model_reply":
            found = pending.pop(agent, None)
            if found is None:  # a reply whose request was not seen
                found = {"turn": int(turn) if turn is not None else None,
                         "ts": event["ts"], "messages": [], "reply": None}
                agents.setdefault(agent, []).append(found)
            exchange = found
            exchange["reply"] = text_of(data, "text")
            exchange["usage"] = data.get("usage") if isinstance(data.get("usage"),
                                                                dict) else {}
            exchange["latency_s"] = num_of(data, "latency_s")
            exchange["model"] = text_of(data, "model")
        elif kind == "format_error":
            exchanges = agents.get(agent) or []
            if exchanges:
                exchanges[-1]["format_error"] = text_of(data, "error")
    return out


class TranscriptRecorder(BufferedRecorder):
    """Writes ``transcript.json`` at the end of the run."""

    filename = FILENAME

    def wants(self, kind: str) -> bool:
        return kind in _KINDS

    def render(self, events: list[dict[str, Any]]) -> str:
        return json.dumps(build_transcript(events), indent=2, ensure_ascii=False,
                          default=str) + "\n"
