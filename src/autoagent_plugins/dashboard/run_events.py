"""A run's ``events.jsonl`` as the dashboard shows it, in either event shape.

autoagent writes ``{seq, ts, kind, data}`` (``ts`` in epoch seconds); the original AutoAgent
wrote ``{ts, turn, role, etype, summary, data}`` (``ts`` in ISO 8601). Both become one
:class:`ShownEvent`, so every page and the live stream read one shape. Reading stops at the
last complete line: a line the run is still writing is read on the next pass, from the byte
offset returned here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS = "events.jsonl"
SUMMARY_CHARS = 300

_SYSTEM_KINDS = frozenset({"run_started", "run_finished", "turn_started", "session_saved",
                           "error", "interrupted", "session_resumed", "session_start",
                           "session_end", "tool_scored", "mcp_connected", "mcp_error"})


@dataclass
class ShownEvent:
    """One event, whatever shape it was written in."""

    seq: int
    time: str
    kind: str
    agent: str
    turn: int | None
    summary: str
    data: dict[str, Any] = field(default_factory=dict)
    offset: int = 0  # the byte offset just after this event's line

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON data (shallow: ``data`` is shared, not copied)."""
        return {"seq": self.seq, "time": self.time, "kind": self.kind, "agent": self.agent,
                "turn": self.turn, "summary": self.summary, "data": self.data,
                "offset": self.offset}


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[:limit - 1] + "…"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    return value if isinstance(value, str) else _json(value)


def _size(n: Any) -> str:
    if not isinstance(n, int):
        return "?"
    return f"{n} B" if n < 1024 else f"{n / 1024:.0f} KB"


def files_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a ``tool_run`` event reports (open mode's committed writes)."""
    files = data.get("files")
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]


def _tool_run_summary(data: dict[str, Any]) -> str:
    head = f"{_text(data, 'name')} v{_text(data, 'version')}"
    if data.get("ok"):
        text = f"{head} ok: {_text(data, 'result')}"
    else:
        error = data.get("error")
        message = _text(error, "message") if isinstance(error, dict) else _text(data, "error")
        text = f"{head} failed: {message}"
    wrote = [f"{f['path']} ({_size(f.get('bytes'))}, {f.get('change', 'new')})"
             for f in files_of(data)]
    if wrote:
        text += " | wrote " + ", ".join(wrote)
    refused = data.get("refused")
    if isinstance(refused, list) and refused:
        text += " | not written: " + ", ".join(
            f"{_text(r, 'path')}: {_text(r, 'reason')}" for r in refused if isinstance(r, dict))
    return text


def _summary(kind: str, data: dict[str, Any]) -> str:
    """One line saying what an autoagent event is about."""
    if kind == "run_started":
        return _text(data, "task")
    if kind == "turn_started":
        return f"turn {_text(data, 'turn')}"
    if kind == "model_request":
        messages = data.get("messages")
        count = len(messages) if isinstance(messages, list) else 0
        return f"asks the model ({count} messages)"
    if kind == "model_reply":
        return _text(data, "text")
    if kind == "tool_created":
        return f"{_text(data, 'name')} v{_text(data, 'version')}: {_text(data, 'description')}"
    if kind in ("tool_run", "candidate_run"):
        return _tool_run_summary(data)
    if kind == "supervisor_decision":
        tips = data.get("tips")
        tip_text = ""
        if isinstance(tips, list) and tips:
            tip_text = f" (tips: {'; '.join(map(str, tips))})"
        return f"{_text(data, 'decision')}: {_text(data, 'feedback')}{tip_text}"
    if kind == "final_answer":
        return _text(data, "answer")
    if kind == "run_finished":
        return f"{_text(data, 'status')} after {_text(data, 'turns')} turn(s)"
    if kind in ("error", "format_error", "action_failed"):
        return _text(data, "message") or _text(data, "error")
    if kind == "agent_created":
        return f"{_text(data, 'name')}: {_text(data, 'role')}"
    if kind == "agent_consulted":
        return f"{_text(data, 'name')}: {_text(data, 'message')}"
    if kind == "session_saved":
        return f"session {_text(data, 'session_id')} saved"
    shown = {k: v for k, v in data.items() if k not in ("settings", "messages")}
    return _json(shown) if shown else ""


def _agent_of(kind: str, data: dict[str, Any]) -> str:
    agent = data.get("agent")
    if isinstance(agent, str) and agent:
        return agent
    if kind == "supervisor_decision":
        return "supervisor"
    if kind in ("tool_run", "candidate_run"):
        return "tool"
    if kind in ("tool_created", "agent_created", "agent_consulted"):
        return "coder"
    return "system"


def _original_agent(etype: str, role: str) -> str:
    for prefix, agent in (("coder_", "coder"), ("supervisor_", "supervisor"),
                          ("tool_call", "tool"), ("tool_result", "tool"),
                          ("tool_", "coder"), ("agent_", "agent"),
                          ("iteration_", "supervisor")):
        if etype.startswith(prefix):
            return agent
    if etype in _SYSTEM_KINDS:
        return "system"
    return role or "system"


def _clock(ts: Any) -> str:
    if isinstance(ts, int | float) and not isinstance(ts, bool):
        return time.strftime("%H:%M:%S", time.localtime(ts))
    if isinstance(ts, str) and "T" in ts:
        return ts.split("T", 1)[1][:8]
    return ""


def shown_event(raw: dict[str, Any], line_number: int, offset: int) -> ShownEvent:
    """An event of either shape, as the pages show it."""
    data = raw.get("data")
    data = data if isinstance(data, dict) else {}
    if "etype" in raw and "kind" not in raw:
        etype = str(raw.get("etype") or "")
        turn = raw.get("turn")
        summary = str(raw.get("summary") or "")
        if not summary or etype == "supervisor_decision":
            summary = " ".join(filter(None, [summary, _text(data, "reason")])) or _json(data)
        return ShownEvent(line_number, _clock(raw.get("ts")), etype,
                          _original_agent(etype, str(raw.get("role") or "")),
                          turn if isinstance(turn, int) else None, _short(summary), data,
                          offset)
    kind = str(raw.get("kind") or "")
    seq = raw.get("seq")
    turn = data.get("turn")
    return ShownEvent(seq if isinstance(seq, int) else line_number, _clock(raw.get("ts")), kind,
                      _agent_of(kind, data), turn if isinstance(turn, int) else None,
                      _short(_summary(kind, data)), data, offset)


def parse_lines(chunk: bytes, start_offset: int, first_line: int
                ) -> tuple[list[ShownEvent], int]:
    """The complete lines of ``chunk`` (read at ``start_offset``) as events, and the offset
    where the next read starts (the start of an unfinished last line)."""
    events: list[ShownEvent] = []
    offset = start_offset
    number = first_line
    end = chunk.rfind(b"\n")
    if end < 0:
        return events, offset
    for raw_line in chunk[:end + 1].split(b"\n")[:-1]:
        offset += len(raw_line) + 1
        if not raw_line.strip():
            continue
        number += 1
        try:
            value = json.loads(raw_line)
        except ValueError:
            continue
        if isinstance(value, dict):
            events.append(shown_event(value, number, offset))
    return events, offset


def read_run_events(folder: Path) -> tuple[list[ShownEvent], int]:
    """Every complete event of a run and the byte offset to follow the file from."""
    try:
        chunk = (folder / EVENTS).read_bytes()
    except FileNotFoundError:
        return [], 0
    return parse_lines(chunk, 0, 0)


def read_from(path: Path, offset: int, first_line: int) -> tuple[list[ShownEvent], int]:
    """The events written to ``path`` after ``offset``."""
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read()
    except FileNotFoundError:
        return [], offset
    return parse_lines(chunk, offset, first_line)
