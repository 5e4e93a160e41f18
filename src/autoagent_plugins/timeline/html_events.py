"""The pieces of ``timeline.html``: escaping helpers and one renderer per event kind.

Every piece of text goes through :func:`html.escape` here (see :mod:`.html`)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from autoagent_core.deps.events import KINDS as DEPENDENCY_KINDS
from autoagent_core.deps.events import summary as dependency_summary
from autoagent_core.loop.guided_events import KINDS as GUIDED_KINDS
from autoagent_core.loop.guided_events import summary as guided_summary
from autoagent_plugins.timeline.model import (
    dict_of,
    format_duration,
    list_of,
    num_of,
    parse_reply,
    text_of,
    to_json,
    tokens_of,
)

OPEN_CODE_LINES = 15  # shorter tool code is shown unfolded
TEXT_MAX = 100_000  # characters of one block shown; the rest is in events.jsonl

Summary = Callable[[str, dict[str, Any]], str | None]


def e(text: Any) -> str:
    """Escaped text for an element or an attribute."""
    return escape(text if isinstance(text, str) else str(text), quote=True)


def clip(text: str) -> str:
    if len(text) <= TEXT_MAX:
        return text
    rest = len(text) - TEXT_MAX
    return text[:TEXT_MAX] + f"\n... ({rest} more characters in events.jsonl)"


def pre(text: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f"<pre{klass}>{e(clip(text))}</pre>"


def headline(text: str, limit: int = 200) -> str:
    """The first line of a text, clipped: a long task must not fill the page's top."""
    first = text.strip().split("\n", 1)[0].strip()
    return first if len(first) <= limit else first[:limit - 1].rstrip() + "\u2026"


def call_args(args: Any, limit: int = 300) -> str:
    """Tool arguments as keyword arguments: ``numbers=[1, 2], strict=true``."""
    if isinstance(args, dict):
        text = ", ".join(f"{k}={to_json(v)}" for k, v in args.items())
    else:
        text = "" if args is None else to_json(args)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def agent_class(agent: str) -> str:
    if agent in ("coder", "supervisor"):
        return f"a-{agent}"
    return "a-other"


def item(head: str, body: str, facts: str = "") -> str:
    facts_html = f'<span class="facts">{facts}</span>' if facts else ""
    return (f'<div class="item"><div class="item-head">{head}{facts_html}</div>'
            f"{body}</div>")


def render_event(event: dict[str, Any]) -> str:
    render = RENDERERS.get(event["kind"])
    if render is not None:
        try:
            return render(event["data"])
        except Exception:  # fields of a shape no renderer expects: show them as they are
            pass
    return item(f"<h3>{e(event['kind'])}</h3>", pre(to_json(event["data"], indent=2)))


def who(agent: str) -> str:
    return f'<span class="who {agent_class(agent)}">{e(agent)}</span>'


def model_request(data: dict[str, Any]) -> str:
    messages = [m for m in list_of(data, "messages") if isinstance(m, dict)]
    if not messages:
        return ""
    last = messages[-1]
    agent = text_of(data, "agent") or "agent"
    summary = (f"Prompt to {e(agent)}: {len(messages)} message(s), the last one "
               f"({e(text_of(last, 'role') or '?')}) below")
    return (f'<details class="prompt"><summary>{summary}</summary>'
            f"{pre(text_of(last, 'content'))}</details>")


def model_reply(data: dict[str, Any], prompt_html: str = "") -> str:
    agent = text_of(data, "agent") or "agent"
    tokens_in, tokens_out = tokens_of(data.get("usage"))
    facts = (f"{tokens_in + tokens_out:,} tokens ({tokens_in:,} in, {tokens_out:,} out) &middot; "
             f"{format_duration(num_of(data, 'latency_s'))}")
    text = text_of(data, "text")
    parsed = parse_reply(text)
    body = ""
    if parsed is None:
        body = pre(text or "(empty reply)")
    else:
        thought = text_of(parsed, "thought")
        if thought:
            body += f'<div class="text">{e(clip(thought))}</div>'
        actions = []
        for action in list_of(parsed, "actions"):
            if isinstance(action, dict):
                name = text_of(action, "name")
                actions.append(f"<li>{e(text_of(action, 'type') or 'action')}"
                               + (f" <code>{e(name)}</code>" if name else "") + "</li>")
        if actions:
            body += f'<ul class="actions">{"".join(actions)}</ul>'
        body += f"<details><summary>Raw reply</summary>{pre(text)}</details>"
    body += prompt_html
    return item(f"{who(agent)}<span class=\"muted\">replied</span>", body, facts)


def _format_error(data: dict[str, Any]) -> str:
    agent = text_of(data, "agent") or "agent"
    body = f'<div class="box warn"><span class="label">Format error</span>' \
           f"{pre(text_of(data, 'error'))}</div>"
    if text_of(data, "text"):
        body += f"<details><summary>Reply that did not parse</summary>" \
                f"{pre(text_of(data, 'text'))}</details>"
    return item(f"{who(agent)}<span class=\"muted\">reply did not parse</span>", body)


def _tool_created(data: dict[str, Any]) -> str:
    name = text_of(data, "name") or "?"
    version = text_of(data, "version")
    verb = "created tool" if data.get("created", True) else "saved a new version of"
    head = (f'<span class="muted">{verb}</span> <code>{e(name)}</code>'
            + (f' <span class="muted small">v{e(version)}</span>' if version else ""))
    body = ""
    if text_of(data, "description"):
        body += f'<div class="text">{e(text_of(data, "description"))}</div>'
    code = text_of(data, "code")
    if code:
        lines = code.count("\n") + (0 if code.endswith("\n") else 1)
        is_open = " open" if lines <= OPEN_CODE_LINES else ""
        body += (f"<details{is_open}><summary>Code ({lines} lines)</summary>{pre(code)}"
                 "</details>")
    return item(head, body)


def _tool_run(data: dict[str, Any]) -> str:
    name = text_of(data, "name") or "?"
    ok = data.get("ok") is True
    head = (f'<span class="muted">ran</span> <code>{e(name)}({e(call_args(data.get("args")))})'
            "</code>"
            f' <span class="status {"s-ok" if ok else "s-bad"}">{"ok" if ok else "failed"}'
            "</span>")
    facts = format_duration(num_of(data, "duration_s"))
    if ok:
        body = (f'<div class="box ok"><span class="label">Result</span>'
                f"{pre(to_json(data.get('result'), indent=2))}</div>")
    else:
        error = dict_of(data, "error")
        klass = text_of(error, "class") or "error"
        message = text_of(error, "message") or text_of(data, "error")
        body = (f'<div class="box bad"><span class="label">{e(klass)} error</span>'
                f"{pre(message)}")
        suggestions = [s for s in list_of(error, "suggestions") if isinstance(s, str)]
        if suggestions:
            body += '<ul class="tips">' + "".join(f"<li>{e(s)}</li>" for s in suggestions) \
                    + "</ul>"
        body += "</div>"
        if text_of(error, "traceback"):
            body += f"<details><summary>Traceback</summary>" \
                    f"{pre(text_of(error, 'traceback'))}</details>"
    for stream in ("stdout", "stderr"):
        if text_of(data, stream):
            body += f"<details><summary>{stream}</summary>{pre(text_of(data, stream))}</details>"
    from autoagent_plugins.timeline.markdown import _file_lines

    written = _file_lines(data)
    if written:
        body += ('<div class="box"><span class="label">Working directory</span><ul>'
                 + "".join(f"<li>{e(text)}</li>" for text in written) + "</ul></div>")
    return item(head, body, facts)


def _action_failed(data: dict[str, Any]) -> str:
    kind = text_of(data, "type") or "action"
    name = text_of(data, "name")
    error = dict_of(data, "error")
    head = (f"{who(text_of(data, 'agent') or 'agent')}<span class=\"muted\">{e(kind)}</span>"
            + (f" <code>{e(name)}</code>" if name else "")
            + ' <span class="status s-bad">refused</span>')
    body = (f'<div class="box bad"><span class="label">'
            f'{e(text_of(error, "class") or "error")}</span>'
            f'{pre(text_of(error, "message"))}')
    suggestions = [s for s in list_of(error, "suggestions") if isinstance(s, str)]
    if suggestions:
        body += '<ul class="tips">' + "".join(f"<li>{e(s)}</li>" for s in suggestions) \
                + "</ul>"
    return item(head, body + "</div>")


def _agent_created(data: dict[str, Any]) -> str:
    creator = text_of(data, "created_by") or "agent"
    head = (f"{who(creator)}<span class=\"muted\">created agent</span> "
            f"<code>{e(text_of(data, 'name') or '?')}</code>")
    body = ""
    if text_of(data, "role"):
        body += f'<div class="text">{e(text_of(data, "role"))}</div>'
    if text_of(data, "instructions"):
        body += f"<details><summary>Instructions</summary>" \
                f"{pre(text_of(data, 'instructions'))}</details>"
    return item(head, body)


def _agent_consulted(data: dict[str, Any]) -> str:
    name = text_of(data, "name") or "?"
    depth = text_of(data, "depth")
    head = f"<span class=\"muted\">asked agent</span> {who(name)}"
    facts = f"depth {e(depth)}" if depth else ""
    body = (f'<div class="label">Question</div>{pre(text_of(data, "message"))}'
            f'<div class="label">Reply</div>{pre(text_of(data, "reply"))}')
    return item(head, body, facts)


def _decision(data: dict[str, Any]) -> str:
    decision = text_of(data, "decision") or "?"
    klass = {"done": "ok", "fail": "bad"}.get(decision, "warn")
    badge = {"ok": "s-ok", "bad": "s-bad"}.get(klass, "s-info")
    head = f'{who("supervisor")}<span class="status {badge}">{e(decision)}</span>'
    body = ""
    if text_of(data, "feedback"):
        body += f'<div class="text">{e(clip(text_of(data, "feedback")))}</div>'
    tips = [t if isinstance(t, str) else to_json(t) for t in list_of(data, "tips")]
    if tips:
        body += '<ul class="tips">' + "".join(f"<li>{e(t)}</li>" for t in tips) + "</ul>"
    if text_of(data, "answer"):
        body += (f'<div class="box {klass}"><span class="label">Answer</span>'
                 f"{pre(text_of(data, 'answer'))}</div>")
    return item(head, body)


def _final_answer(data: dict[str, Any]) -> str:
    agent = text_of(data, "agent") or "agent"
    return item(f'{who(agent)}<span class="muted">final answer</span>',
                 f'<div class="box ok">{pre(text_of(data, "answer"))}</div>')


def _error(data: dict[str, Any]) -> str:
    kind = text_of(data, "kind") or "error"
    return item(f'<span class="status s-bad">{e(kind)}</span>',
                 f'<div class="box bad">{pre(text_of(data, "message"))}</div>')


def _interrupted(data: dict[str, Any]) -> str:
    return item('<span class="status s-warn">interrupted</span>',
                 '<div class="text muted">The run was interrupted (Ctrl-C); the session was '
                 "saved and can be resumed.</div>")


def _skip(data: dict[str, Any]) -> str:
    return ""


def _one_line(kind: str, summary: Summary) -> Callable[[dict[str, Any]], str]:
    """An event ``summary`` tells in one line (a tool dependency step, a guided check)."""
    return lambda data: item(f'<span class="muted">{e(summary(kind, data) or kind)}</span>',
                             "")


RENDERERS = {
    "run_started": _skip,
    "turn_started": _skip,
    "run_finished": _skip,
    "session_saved": _skip,
    "model_request": model_request,
    "model_reply": model_reply,
    "format_error": _format_error,
    "tool_created": _tool_created,
    "tool_run": _tool_run,
    "action_failed": _action_failed,
    "agent_created": _agent_created,
    "agent_consulted": _agent_consulted,
    "supervisor_decision": _decision,
    "final_answer": _final_answer,
    "error": _error,
    "interrupted": _interrupted,
    **{kind: _one_line(kind, dependency_summary) for kind in DEPENDENCY_KINDS},
    **{kind: _one_line(kind, guided_summary) for kind in GUIDED_KINDS},
}


