"""The JSON action protocol: the shapes agents answer with, a tolerant parser, validation.

Agents answer with one JSON object in text, so every backend can follow the protocol;
backends that can constrain their output receive :data:`AGENT_SCHEMA` or
:data:`SUPERVISOR_SCHEMA`. Models wrap JSON in code fences, add prose around it, and put
raw newlines inside strings (tool code!), so :func:`extract_json_object` accepts all of
that. Anything it cannot use raises :class:`ProtocolFormatError` with a message written
for the model, which receives it as a format error and tries again.

The shapes (a public contract, documented in the README)::

    Coder and every specialised agent:
    {"thought": "...", "actions": [
        {"type": "create_tool", "name": "...", "description": "...", "code": "def ...(...): ..."},
        {"type": "run_tool", "name": "...", "args": {...}},
        {"type": "create_agent", "name": "...", "role": "...", "instructions": "..."},
        {"type": "ask_agent", "name": "...", "message": "..."},
        {"type": "final_answer", "answer": "..."}]}

    Supervisor:
    {"thought": "...", "decision": "continue" | "done" | "fail", "feedback": "...",
     "tips": ["..."], "answer": "...", "actions": [create_agent / ask_agent ...]}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.protocol import json_scan

PROTOCOL_VERSION = 1

AGENT_ACTION_TYPES: tuple[str, ...] = (
    "create_tool", "run_tool", "create_agent", "ask_agent", "final_answer",
)
SUPERVISOR_ACTION_TYPES: tuple[str, ...] = ("create_agent", "ask_agent")
DECISIONS: tuple[str, ...] = ("continue", "done", "fail")

# the text fields each action type needs, in the order they are reported when missing
_REQUIRED: dict[str, tuple[str, ...]] = {
    "create_tool": ("name", "code"),
    "run_tool": ("name",),
    "create_agent": ("name", "role", "instructions"),
    "ask_agent": ("name", "message"),
    "final_answer": ("answer",),
}
_OPTIONAL_TEXT: dict[str, tuple[str, ...]] = {"create_tool": ("description",)}


class ProtocolFormatError(ValueError):
    """A reply that cannot be used; the message tells the model what to fix."""


@dataclass
class AgentReply:
    """A Coder's (or specialised agent's) parsed reply."""

    thought: str
    actions: list[dict[str, Any]]

    def final_answer(self) -> str | None:
        """The answer of the last ``final_answer`` action, if any."""
        answers = [a["answer"] for a in self.actions if a["type"] == "final_answer"]
        return answers[-1] if answers else None


@dataclass
class SupervisorReply:
    """The Supervisor's parsed reply."""

    thought: str
    decision: str
    feedback: str = ""
    tips: list[str] = field(default_factory=list)
    answer: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"thought": self.thought, "decision": self.decision, "feedback": self.feedback,
                "tips": list(self.tips), "answer": self.answer,
                "actions": [dict(a) for a in self.actions]}


# --------------------------------------------------------------------------- schemas


def _action_schema(kind: str) -> dict[str, Any]:
    props: dict[str, Any] = {"type": {"type": "string", "enum": [kind]}}
    for name in (*_REQUIRED[kind], *_OPTIONAL_TEXT.get(kind, ())):
        props[name] = {"type": "string"}
    if kind == "run_tool":
        props["args"] = {"type": "object"}
    return {"type": "object", "properties": props, "required": ["type", *_REQUIRED[kind]]}


AGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "actions": {"type": "array", "minItems": 1,
                    "items": {"anyOf": [_action_schema(k) for k in AGENT_ACTION_TYPES]}},
    },
    "required": ["thought", "actions"],
}

SUPERVISOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "decision": {"type": "string", "enum": list(DECISIONS)},
        "feedback": {"type": "string"},
        "tips": {"type": "array", "items": {"type": "string"}},
        "answer": {"type": "string"},
        "actions": {"type": "array",
                    "items": {"anyOf": [_action_schema(k) for k in SUPERVISOR_ACTION_TYPES]}},
    },
    "required": ["thought", "decision"],
}


# --------------------------------------------------------------------------- parsing

_FENCE_RE = re.compile(r"```[ \t]*(?:json|JSON|javascript|js)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
_MAX_CANDIDATES = 50


def extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's reply, tolerating fences, prose and raw newlines.

    Tries, in order: the whole text, the contents of code fences, then every balanced
    ``{...}`` span; each also after repairing raw control characters inside strings and
    trailing commas. Linear in the length of the reply and bounded in depth
    (:mod:`autoagent_core.protocol.json_scan`); lone surrogates come back as U+FFFD. Raises
    :class:`ProtocolFormatError` saying what went wrong.
    """
    if not text or not text.strip():
        raise ProtocolFormatError("the reply is empty: answer with one JSON object")
    text = json_scan.clean_text(text)
    spans, too_deep = json_scan.object_spans(text)
    candidates: list[str] = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE_RE.finditer(text)]
    candidates += spans
    first_error: str | None = None
    seen: set[str] = set()
    for candidate in candidates[:_MAX_CANDIDATES]:
        if not candidate or candidate in seen:
            continue
        seen.add(candidate)
        for variant in (candidate, json_scan.repair(candidate)):
            try:
                value = json_scan.loads(variant)
            except json_scan.JsonScanError as exc:
                if first_error is None and candidate.lstrip().startswith("{"):
                    first_error = str(exc)
                continue
            if isinstance(value, dict):
                return value
    if "{" not in text:
        raise ProtocolFormatError("no JSON object found in the reply: answer with one JSON "
                                  "object, no prose")
    if too_deep:
        raise ProtocolFormatError(f"the JSON is nested deeper than {json_scan.MAX_DEPTH} "
                                  "levels: answer with one flat JSON object")
    if not spans and text.count("{") > text.count("}"):
        raise ProtocolFormatError("the JSON object is cut off before its end (the reply was "
                                  "probably too long): keep the code short and close every "
                                  "brace")
    raise ProtocolFormatError(f"the reply is not valid JSON: {first_error or 'no object'}")


# --------------------------------------------------------------------------- validation


def parse_agent_reply(text: str) -> AgentReply:
    """Parse and validate a Coder's or specialised agent's reply."""
    data = extract_json_object(text)
    if "actions" not in data and data.get("type") in AGENT_ACTION_TYPES:
        data = {"thought": "", "actions": [data]}  # a lone action: accept it
    if "actions" not in data and isinstance(data.get("action"), dict):
        data = {"thought": data.get("thought", ""), "actions": [data["action"]]}
    actions = _validate_actions(data.get("actions"), AGENT_ACTION_TYPES, required=True)
    return AgentReply(thought=_text(data.get("thought", "")), actions=actions)


def parse_supervisor_reply(text: str) -> SupervisorReply:
    """Parse and validate the Supervisor's reply."""
    data = extract_json_object(text)
    decision = data.get("decision")
    if not isinstance(decision, str) or decision.strip().lower() not in DECISIONS:
        raise ProtocolFormatError(
            f"'decision' must be one of {', '.join(DECISIONS)}, got {_shown(decision)}")
    tips = data.get("tips", [])
    if isinstance(tips, str):
        tips = [tips] if tips.strip() else []
    if not isinstance(tips, list):
        raise ProtocolFormatError("'tips' must be a list of strings")
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = json.dumps(answer, ensure_ascii=False)
    actions = _validate_actions(data.get("actions", []), SUPERVISOR_ACTION_TYPES,
                                required=False)
    return SupervisorReply(
        thought=_text(data.get("thought", "")),
        decision=decision.strip().lower(),
        feedback=_text(data.get("feedback", "")),
        tips=[_text(t) for t in tips if _text(t).strip()],
        answer=answer if answer and answer.strip() else None,
        actions=actions,
    )


def _validate_actions(raw: Any, allowed: tuple[str, ...], required: bool) -> list[dict[str, Any]]:
    if raw is None and not required:
        return []
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise ProtocolFormatError(
            "'actions' must be a list of action objects" if raw is not None else
            "the object has no 'actions' list: give at least one action")
    if required and not raw:
        raise ProtocolFormatError("'actions' is empty: give at least one action")
    return [_validate_action(i, item, allowed) for i, item in enumerate(raw, start=1)]


def _validate_action(index: int, item: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    where = f"action {index}"
    if not isinstance(item, dict):
        raise ProtocolFormatError(f"{where} must be an object, got {_shown(item)}")
    kind = item.get("type")
    if kind not in allowed:
        raise ProtocolFormatError(
            f"{where} has unknown type {_shown(kind)}: use one of {', '.join(allowed)}")
    where = f"{where} ({kind})"
    action: dict[str, Any] = {"type": kind}
    for key in _REQUIRED[kind]:
        value = item.get(key)
        if kind == "final_answer" and key == "answer" and value is not None \
                and not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str) or not value.strip():
            raise ProtocolFormatError(f"{where} needs a non-empty text field '{key}'")
        action[key] = value.strip() if key == "name" else value
    for key in _OPTIONAL_TEXT.get(kind, ()):
        action[key] = _text(item.get(key, ""))
    if kind == "run_tool":
        action["args"] = _args(where, item)
    return action


def _args(where: str, item: dict[str, Any]) -> dict[str, Any]:
    args = item.get("args", item.get("arguments", {}))
    if args is None:
        return {}
    if isinstance(args, str):
        try:
            args = json_scan.loads(args) if args.strip() else {}
        except json_scan.JsonScanError:
            raise ProtocolFormatError(f"{where}: 'args' must be a JSON object of keyword "
                                      "arguments") from None
    if not isinstance(args, dict):
        raise ProtocolFormatError(f"{where}: 'args' must be an object of keyword arguments, "
                                  f"got {_shown(args)}")
    return args


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
