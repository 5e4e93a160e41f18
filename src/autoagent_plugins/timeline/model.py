"""The run as the Markdown and HTML timelines show it, folded from the event stream.

Both renderers read a :class:`RunView` rather than raw events, so they agree on what a
turn is, what the status was and how many tokens were used. The fold accepts event
dicts (``Event.to_dict()``, or lines of ``events.jsonl``) and tolerates unknown kinds,
missing fields and fields of the wrong type: it keeps what is there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.redact import Redactor

# keys whose string values are credentials whatever they look like (defence in depth:
# the Redactor catches known secret values and "Authorization: ..." in text)
_CREDENTIAL_KEYS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "api_key", "apikey",
    "cookie", "set-cookie", "password", "secret", "auth_token", "access_token",
})
MASK = "[REDACTED]"


def scrub(redactor: Redactor, value: Any) -> Any:
    """Redact a JSON value: known secrets, Authorization credentials, and the string
    values of credential keys such as ``Authorization`` in a headers dict."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in _CREDENTIAL_KEYS and isinstance(
                item, str
            ) and item:
                out[redactor.text(key)] = MASK
            else:
                out[redactor.text(key) if isinstance(key, str) else key] = scrub(redactor, item)
        return out
    if isinstance(value, list | tuple):
        return [scrub(redactor, item) for item in value]
    return value


# --------------------------------------------------------------------------- accessors


def text_of(data: dict[str, Any], key: str) -> str:
    """``data[key]`` as text ('' when missing; JSON for structured values)."""
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return to_json(value)


def num_of(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def dict_of(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def list_of(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    return value if isinstance(value, list) else []


def to_json(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str)


def tokens_of(usage: Any) -> tuple[int, int]:
    """(prompt, completion) tokens of a usage dict, 0 for what is missing."""
    if not isinstance(usage, dict):
        return (0, 0)
    out = []
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key)
        out.append(int(value) if isinstance(value, int | float) and
                   not isinstance(value, bool) else 0)
    return (out[0], out[1])


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_time(ts: float | None) -> str:
    """Local time of a timestamp, as a person reads it."""
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def normalise(event: Any) -> dict[str, Any] | None:
    """An event dict with ``kind`` (str), ``data`` (dict), ``ts`` and ``seq``, or None
    when it is not an event at all."""
    if not isinstance(event, dict):
        return None
    kind = event.get("kind")
    if not isinstance(kind, str):
        return None
    data = event.get("data")
    ts = event.get("ts")
    return {
        "kind": kind,
        "data": data if isinstance(data, dict) else {},
        "ts": float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else None,
        "seq": event.get("seq"),
    }


# --------------------------------------------------------------------------- the view


@dataclass
class TurnView:
    """One turn: its events in order, when it started and ended, its tokens."""

    index: int
    started: float | None = None
    ended: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    decision: str = ""

    @property
    def duration_s(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)


@dataclass
class RunView:
    """What a reader wants first (task, status, answer, turns, tokens, time), then turns."""

    task: str = ""
    session_id: str = ""
    backend: str = ""
    model: str = ""
    resumed: bool = False
    instruction: str = ""
    status: str = "incomplete"
    answer: str = ""
    started: float | None = None
    ended: float | None = None
    duration_s: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    turn_count: int = 0
    before: list[dict[str, Any]] = field(default_factory=list)  # events before turn 1
    turns: list[TurnView] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)  # after run_finished
    tools_created: list[str] = field(default_factory=list)
    tools_run: int = 0
    tool_failures: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def build_view(events: Iterable[Any]) -> RunView:
    """Fold events into a :class:`RunView`."""
    view = RunView()
    finished: dict[str, Any] | None = None
    interrupted = False
    current: TurnView | None = None
    last_ts: float | None = None
    reply_tokens = [0, 0]
    for raw in events:
        event = normalise(raw)
        if event is None:
            continue
        kind, data, ts = event["kind"], event["data"], event["ts"]
        if ts is not None:
            if view.started is None:
                view.started = ts
            last_ts = ts
        if kind == "run_started":
            view.task = text_of(data, "task") or view.task
            view.session_id = text_of(data, "session_id") or view.session_id
            view.backend = text_of(data, "backend") or view.backend
            view.model = text_of(data, "model") or view.model
            view.resumed = bool(data.get("resumed"))
            view.instruction = text_of(data, "instruction")
            if ts is not None:
                view.started = ts
        elif kind == "turn_started":
            if current is not None and current.ended is None:
                current.ended = ts
            number = num_of(data, "turn")
            current = TurnView(index=int(number) if number is not None
                               else len(view.turns) + 1, started=ts)
            view.turns.append(current)
            continue
        elif kind == "run_finished":
            finished = data
            if current is not None and current.ended is None:
                current.ended = ts
            current = None
            view.ended = ts
            continue
        if kind == "model_reply":
            prompt, completion = tokens_of(data.get("usage"))
            reply_tokens[0] += prompt
            reply_tokens[1] += completion
            if current is not None:
                current.prompt_tokens += prompt
                current.completion_tokens += completion
            if view.model == "" and text_of(data, "model"):
                view.model = text_of(data, "model")
        elif kind == "tool_created":
            name = text_of(data, "name")
            if name and name not in view.tools_created:
                view.tools_created.append(name)
        elif kind == "tool_run":
            view.tools_run += 1
            if data.get("ok") is not True:
                view.tool_failures += 1
        elif kind == "supervisor_decision":
            if current is not None:
                current.decision = text_of(data, "decision")
            if text_of(data, "answer") and text_of(data, "decision") == "done":
                view.answer = text_of(data, "answer")
        elif kind == "final_answer":
            view.answer = text_of(data, "answer") or view.answer
        elif kind == "error":
            view.errors.append(text_of(data, "message") or "error")
        elif kind == "interrupted":
            interrupted = True
        if finished is not None:
            view.after.append(event)
        elif current is not None:
            current.events.append(event)
        else:
            view.before.append(event)
    if current is not None and current.ended is None:
        current.ended = last_ts
    view.prompt_tokens, view.completion_tokens = reply_tokens
    view.turn_count = len(view.turns)
    if finished is not None:
        view.status = text_of(finished, "status") or "finished"
        view.answer = text_of(finished, "answer") or view.answer
        turns = num_of(finished, "turns")
        if turns is not None:
            view.turn_count = int(turns)
        usage = finished.get("usage")
        if isinstance(usage, dict):
            prompt, completion = tokens_of(usage)
            if prompt or completion:
                view.prompt_tokens, view.completion_tokens = prompt, completion
        view.duration_s = num_of(finished, "duration_s")
    elif interrupted:
        view.status = "interrupted"
    elif view.errors:
        view.status = "failed"
    if view.ended is None:
        view.ended = last_ts
    if view.duration_s is None and view.started is not None and view.ended is not None:
        view.duration_s = max(0.0, view.ended - view.started)
    return view


def repeats_decision(event: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """A ``final_answer`` that only repeats the answer of the decision just before it
    (the Supervisor's ``done``): shown once."""
    return (event["kind"] == "final_answer" and previous is not None
            and previous["kind"] == "supervisor_decision"
            and text_of(previous["data"], "answer") == text_of(event["data"], "answer"))


def model_label(view: RunView) -> str:
    """``backend / model``, or one of them when they are the same or one is missing."""
    parts = [p for p in (view.backend, view.model) if p]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    return " / ".join(parts) or "-"


def parse_reply(text: str) -> dict[str, Any] | None:
    """The JSON object of an agent's reply (code fences and prose around it tolerated),
    or None. Only used to show the reply's ``thought`` first; the raw text is kept."""
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start:end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
