"""``timeline.html``: one self-contained page a person reads in a browser.

The page is inert whatever the model or a tool wrote (RELIABILITY item 17):

* every piece of text goes through :func:`html.escape`; nothing is rendered as Markdown,
  so ``<script>``, ``onerror=``, ``javascript:`` links and ``<img src=...>`` show as text;
* a Content-Security-Policy meta tag, first in ``<head>``, allows nothing
  (``default-src 'none'``) but the page's one inline stylesheet, by its SHA-256 hash, so
  even markup that slipped through could run no script and load nothing;
* there is no script, no embedded JSON, no image and no external link; turns are folded
  with ``<details>``, which needs no script.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from html import escape
from importlib import resources
from typing import Any

from autoagent_plugins.timeline.base import BufferedRecorder
from autoagent_plugins.timeline.model import (
    RunView,
    TurnView,
    build_view,
    dict_of,
    format_duration,
    format_time,
    list_of,
    model_label,
    num_of,
    parse_reply,
    repeats_decision,
    text_of,
    to_json,
    tokens_of,
)

FILENAME = "timeline.html"
OPEN_CODE_LINES = 15  # shorter tool code is shown unfolded
TEXT_MAX = 100_000  # characters of one block shown; the rest is in events.jsonl
_FALLBACK_CSS = "body { font-family: sans-serif; } pre { white-space: pre-wrap; }\n"
_STATUS_CLASS = {
    "completed": "s-ok", "done": "s-ok", "success": "s-ok",
    "failed": "s-bad", "fail": "s-bad", "error": "s-bad",
    "interrupted": "s-warn", "incomplete": "s-warn", "max_turns": "s-warn",
}


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    """The page's CSS (package data), read once."""
    try:
        css = resources.files("autoagent_plugins.timeline") / "assets" / "timeline.css"
        return css.read_text(encoding="utf-8")
    except OSError:
        return _FALLBACK_CSS


def csp_for(css: str) -> str:
    """The Content-Security-Policy of a page whose only resource is this inline CSS."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
            "base-uri 'none'; form-action 'none'")


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


def render_html(events: list[dict[str, Any]]) -> str:
    """The whole ``timeline.html`` for a run's events."""
    view = build_view(events)
    css = stylesheet()
    body: list[str] = [_summary(view)]
    if len(view.turns) > 1:
        links = "".join(f'<a href="#turn-{n}">Turn {e(t.index)}</a>'
                        for n, t in enumerate(view.turns, 1))
        body.append(f"<nav>{links}</nav>")
    if any(_event(event) for event in view.before):
        body.append(_section("Before the first turn", "", view.before, "run-start"))
    for n, turn in enumerate(view.turns, 1):
        body.append(_turn(turn, n))
    if view.after:
        body.append(_section("After the run", "", view.after, "run-end"))
    body.append("<footer>autoagent run timeline &middot; events.jsonl and transcript.json "
                "in the same folder hold every detail</footer>")
    title = " ".join(view.task.split())[:80] or "run"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp_for(css))}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>autoagent: {e(title)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _summary(view: RunView) -> str:
    status_class = _STATUS_CLASS.get(view.status, "s-info")
    model = model_label(view)
    tools = f"{view.tools_run}"
    if view.tool_failures:
        tools += f", {view.tool_failures} failed"
    stats = [
        ("Turns", str(view.turn_count)),
        ("Tokens", f"{view.total_tokens:,}"),
        ("Prompt / completion", f"{view.prompt_tokens:,} / {view.completion_tokens:,}"),
        ("Time", format_duration(view.duration_s)),
        ("Started", format_time(view.started)),
        ("Model", model),
        ("Session", view.session_id + (" (resumed)" if view.resumed else "") or "-"),
        ("Tools created", ", ".join(view.tools_created) or "none"),
        ("Tool calls", tools),
    ]
    cells = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in stats)
    parts = [
        '<header class="summary">',
        f'<div class="muted small">autoagent run &middot; '
        f'<span class="status {status_class}">{e(view.status)}</span></div>',
        f'<h1 class="task">{e(headline(view.task) or "(no task recorded)")}</h1>',
    ]
    if headline(view.task) != view.task.strip():
        parts.append(f"<details><summary>Full task</summary>{pre(view.task)}</details>")
    if view.instruction:
        parts.append(f'<div class="text"><span class="label">Follow-up instruction</span>\n'
                     f"{e(clip(view.instruction))}</div>")
    if view.answer:
        parts.append(f'<div class="answer"><span class="label">Answer</span>\n'
                     f"{e(clip(view.answer))}</div>")
    for message in view.errors:
        parts.append(f'<div class="box bad"><span class="label">Error</span>'
                     f"{pre(message)}</div>")
    parts.append(f'<dl class="stats">{cells}</dl>')
    parts.append("</header>")
    return "\n".join(parts)


def _turn(turn: TurnView, n: int) -> str:
    tokens = turn.prompt_tokens + turn.completion_tokens
    facts = f"{format_duration(turn.duration_s)} &middot; {tokens:,} tokens"
    decision = ""
    if turn.decision:
        klass = {"done": "s-ok", "fail": "s-bad", "continue": "s-info"}.get(
            turn.decision, "s-warn")
        decision = f' <span class="status {klass}">{e(turn.decision)}</span>'
    return _section(f"Turn {turn.index}", decision, turn.events, f"turn-{n}",
                    facts=f'<span class="facts muted small">{facts}</span>')


def _section(title: str, badge: str, events: list[dict[str, Any]], anchor: str,
             facts: str = "") -> str:
    items: list[str] = []
    prompts: dict[str, str] = {}  # agent -> its prompt, shown with its reply
    previous: dict[str, Any] | None = None
    for event in events:
        skip, previous = repeats_decision(event, previous), event
        if skip:
            continue
        if event["kind"] == "model_request":
            prompts[text_of(event["data"], "agent") or "agent"] = _model_request(event["data"])
        elif event["kind"] == "model_reply":
            agent = text_of(event["data"], "agent") or "agent"
            items.append(_model_reply(event["data"], prompts.pop(agent, "")))
        else:
            items.append(_event(event))
    items.extend(_item(_who(agent) + '<span class="muted">was asked, no reply</span>', prompt)
                 for agent, prompt in prompts.items())
    return (f'<section class="turn" id="{e(anchor)}"><div class="turn-head">'
            f"<h2>{e(title)}</h2>{badge}{facts}</div>{''.join(items)}</section>")


def _item(head: str, body: str, facts: str = "") -> str:
    facts_html = f'<span class="facts">{facts}</span>' if facts else ""
    return (f'<div class="item"><div class="item-head">{head}{facts_html}</div>'
            f"{body}</div>")


def _event(event: dict[str, Any]) -> str:
    render = _RENDERERS.get(event["kind"])
    if render is not None:
        try:
            return render(event["data"])
        except Exception:  # fields of a shape no renderer expects: show them as they are
            pass
    return _item(f"<h3>{e(event['kind'])}</h3>", pre(to_json(event["data"], indent=2)))


def _who(agent: str) -> str:
    return f'<span class="who {agent_class(agent)}">{e(agent)}</span>'


def _model_request(data: dict[str, Any]) -> str:
    messages = [m for m in list_of(data, "messages") if isinstance(m, dict)]
    if not messages:
        return ""
    last = messages[-1]
    agent = text_of(data, "agent") or "agent"
    summary = (f"Prompt to {e(agent)}: {len(messages)} message(s), the last one "
               f"({e(text_of(last, 'role') or '?')}) below")
    return (f'<details class="prompt"><summary>{summary}</summary>'
            f"{pre(text_of(last, 'content'))}</details>")


def _model_reply(data: dict[str, Any], prompt_html: str = "") -> str:
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
    return _item(f"{_who(agent)}<span class=\"muted\">replied</span>", body, facts)


def _format_error(data: dict[str, Any]) -> str:
    agent = text_of(data, "agent") or "agent"
    body = f'<div class="box warn"><span class="label">Format error</span>' \
           f"{pre(text_of(data, 'error'))}</div>"
    if text_of(data, "text"):
        body += f"<details><summary>Reply that did not parse</summary>" \
                f"{pre(text_of(data, 'text'))}</details>"
    return _item(f"{_who(agent)}<span class=\"muted\">reply did not parse</span>", body)


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
    return _item(head, body)


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
    return _item(head, body, facts)


def _action_failed(data: dict[str, Any]) -> str:
    kind = text_of(data, "type") or "action"
    name = text_of(data, "name")
    error = dict_of(data, "error")
    head = (f"{_who(text_of(data, 'agent') or 'agent')}<span class=\"muted\">{e(kind)}</span>"
            + (f" <code>{e(name)}</code>" if name else "")
            + ' <span class="status s-bad">refused</span>')
    body = (f'<div class="box bad"><span class="label">'
            f'{e(text_of(error, "class") or "error")}</span>'
            f'{pre(text_of(error, "message"))}')
    suggestions = [s for s in list_of(error, "suggestions") if isinstance(s, str)]
    if suggestions:
        body += '<ul class="tips">' + "".join(f"<li>{e(s)}</li>" for s in suggestions) \
                + "</ul>"
    return _item(head, body + "</div>")


def _agent_created(data: dict[str, Any]) -> str:
    creator = text_of(data, "created_by") or "agent"
    head = (f"{_who(creator)}<span class=\"muted\">created agent</span> "
            f"<code>{e(text_of(data, 'name') or '?')}</code>")
    body = ""
    if text_of(data, "role"):
        body += f'<div class="text">{e(text_of(data, "role"))}</div>'
    if text_of(data, "instructions"):
        body += f"<details><summary>Instructions</summary>" \
                f"{pre(text_of(data, 'instructions'))}</details>"
    return _item(head, body)


def _agent_consulted(data: dict[str, Any]) -> str:
    name = text_of(data, "name") or "?"
    depth = text_of(data, "depth")
    head = f"<span class=\"muted\">asked agent</span> {_who(name)}"
    facts = f"depth {e(depth)}" if depth else ""
    body = (f'<div class="label">Question</div>{pre(text_of(data, "message"))}'
            f'<div class="label">Reply</div>{pre(text_of(data, "reply"))}')
    return _item(head, body, facts)


def _decision(data: dict[str, Any]) -> str:
    decision = text_of(data, "decision") or "?"
    klass = {"done": "ok", "fail": "bad"}.get(decision, "warn")
    badge = {"ok": "s-ok", "bad": "s-bad"}.get(klass, "s-info")
    head = f'{_who("supervisor")}<span class="status {badge}">{e(decision)}</span>'
    body = ""
    if text_of(data, "feedback"):
        body += f'<div class="text">{e(clip(text_of(data, "feedback")))}</div>'
    tips = [t if isinstance(t, str) else to_json(t) for t in list_of(data, "tips")]
    if tips:
        body += '<ul class="tips">' + "".join(f"<li>{e(t)}</li>" for t in tips) + "</ul>"
    if text_of(data, "answer"):
        body += (f'<div class="box {klass}"><span class="label">Answer</span>'
                 f"{pre(text_of(data, 'answer'))}</div>")
    return _item(head, body)


def _final_answer(data: dict[str, Any]) -> str:
    agent = text_of(data, "agent") or "agent"
    return _item(f'{_who(agent)}<span class="muted">final answer</span>',
                 f'<div class="box ok">{pre(text_of(data, "answer"))}</div>')


def _error(data: dict[str, Any]) -> str:
    kind = text_of(data, "kind") or "error"
    return _item(f'<span class="status s-bad">{e(kind)}</span>',
                 f'<div class="box bad">{pre(text_of(data, "message"))}</div>')


def _interrupted(data: dict[str, Any]) -> str:
    return _item('<span class="status s-warn">interrupted</span>',
                 '<div class="text muted">The run was interrupted (Ctrl-C); the session was '
                 "saved and can be resumed.</div>")


def _skip(data: dict[str, Any]) -> str:
    return ""


_RENDERERS = {
    "run_started": _skip,
    "turn_started": _skip,
    "run_finished": _skip,
    "session_saved": _skip,
    "model_request": _model_request,
    "model_reply": _model_reply,
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
}


class HtmlRecorder(BufferedRecorder):
    """Writes ``timeline.html`` at the end of the run."""

    filename = FILENAME

    def render(self, events: list[dict[str, Any]]) -> str:
        return render_html(events)
