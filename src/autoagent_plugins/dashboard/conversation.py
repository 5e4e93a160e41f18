"""A run as a conversation: what the Coder said and did, what tools returned, and the
Supervisor's decisions with their feedback and tips (either event shape)."""

from __future__ import annotations

import json
from typing import Any

from autoagent_plugins.dashboard.render import esc
from autoagent_plugins.dashboard.run_events import ShownEvent, files_of

TEXT_CHARS = 4000


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…"


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _bubble(who: str, cls: str, event: ShownEvent, text: str,
            items: list[str] | None = None) -> str:
    turn = f" · turn {event.turn}" if event.turn is not None else ""
    lis = "".join(f"<li>{esc(_cut(i))}</li>" for i in items or [])
    return (f'<div class="msg {cls}"><div class="who">{esc(who)}{esc(turn)} · '
            f'{esc(event.kind)}</div><div class="text">{esc(_cut(text))}</div>'
            f'{f"<ul>{lis}</ul>" if lis else ""}</div>')


def _coder_reply(event: ShownEvent) -> str:
    text = _str(event.data.get("text"))
    try:
        reply = json.loads(text)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        return _bubble(event.agent.capitalize(), "coder", event, text)
    items = []
    for action in reply.get("actions") or []:
        if isinstance(action, dict):
            kind = _str(action.get("type"))
            target = _str(action.get("name"))
            detail = _str(action.get("args") or action.get("answer") or action.get("message")
                          or action.get("description"))
            items.append(f"{kind} {target} {detail}".strip())
    return _bubble(event.agent.capitalize(), "coder", event, _str(reply.get("thought")), items)


def _decision(event: ShownEvent) -> str:
    data = event.data
    decision = _str(data.get("decision") or data.get("route"))
    feedback = _str(data.get("feedback") or data.get("reason"))
    if data.get("answer"):
        feedback = "\n".join(filter(None, [feedback, f"answer: {_str(data.get('answer'))}"]))
    tips = [_str(t) for t in data.get("tips") or [] if t] if isinstance(data.get("tips"),
                                                                       list) else []
    return _bubble(f"Supervisor: {decision}", "supervisor", event, feedback, tips)


def _tool(event: ShownEvent) -> str:
    data = event.data
    if event.kind in ("tool_run", "candidate_run"):
        ok = bool(data.get("ok"))
        error = data.get("error")
        text = _str(data.get("result")) if ok else _str(
            error.get("message") if isinstance(error, dict) else error)
        files = [f"wrote {f['path']} ({f.get('change', 'new')})" for f in files_of(data)]
        refused = data.get("refused") if isinstance(data.get("refused"), list) else []
        files += [f"not written: {_str(r.get('path'))}: {_str(r.get('reason'))}"
                  for r in refused or [] if isinstance(r, dict)]
        name = f"{_str(data.get('name'))} v{_str(data.get('version'))}"
        return _bubble(f"Tool {name}: {'ok' if ok else 'failed'}",
                       "tool" if ok else "tool failed", event, text, files)
    result = data.get("result", data.get("error", event.summary))
    return _bubble(f"Tool: {event.kind}", "tool" if event.kind.endswith("ok") else "tool failed",
                   event, _str(result))


def _one(event: ShownEvent) -> str:
    kind, data = event.kind, event.data
    if kind == "model_reply" and event.agent != "supervisor":
        return _coder_reply(event)
    if kind == "supervisor_decision":
        return _decision(event)
    if kind in ("tool_run", "candidate_run", "tool_result_ok", "tool_result_error"):
        return _tool(event)
    if kind == "tool_created":
        return _bubble("Coder", "coder", event, event.summary)
    if kind in ("coder_message", "coder_final_proposal"):
        return _bubble("Coder", "coder", event, _str(data.get("content")) or event.summary)
    if kind in ("tool_call", "tool_create", "tool_update"):
        return _bubble("Coder", "coder", event, event.summary)
    if kind in ("final_answer", "agent_consulted", "agent_call", "agent_response_ok",
                "agent_response_error", "user_message", "run_started", "run_finished",
                "error", "format_error", "action_failed"):
        extra = [f"reply: {_str(data.get('reply'))}"] if data.get("reply") else []
        return _bubble(event.agent.capitalize(), "system", event, event.summary, extra)
    return ""


def conversation_html(events: list[ShownEvent]) -> str:
    parts = [html for html in (_one(e) for e in events) if html]
    if not parts:
        return '<p class="muted">No messages yet.</p>'
    return '<div class="conversation">' + "\n".join(parts) + "</div>"
