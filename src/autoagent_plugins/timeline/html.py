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
from importlib import resources
from typing import Any

from autoagent_plugins.timeline.base import BufferedRecorder
from autoagent_plugins.timeline.html_events import (
    clip,
    e,
    headline,
    item,
    model_reply,
    model_request,
    pre,
    render_event,
    who,
)
from autoagent_plugins.timeline.model import (
    RunView,
    TurnView,
    build_view,
    format_duration,
    format_time,
    model_label,
    repeats_decision,
    text_of,
)

FILENAME = "timeline.html"
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


def render_html(events: list[dict[str, Any]]) -> str:
    """The whole ``timeline.html`` for a run's events."""
    view = build_view(events)
    css = stylesheet()
    body: list[str] = [_summary(view)]
    if len(view.turns) > 1:
        links = "".join(f'<a href="#turn-{n}">Turn {e(t.index)}</a>'
                        for n, t in enumerate(view.turns, 1))
        body.append(f"<nav>{links}</nav>")
    if any(render_event(event) for event in view.before):
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


def render_text_page(title: str, text: str) -> str:
    """A page holding ``text`` as preformatted, escaped text (a run of the original
    AutoAgent, told in Markdown), under the same policy as a timeline."""
    css = stylesheet()
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{e(csp_for(css))}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>autoagent: {e(title)}</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n<pre>{e(text)}</pre>\n</body>\n</html>\n"
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
            prompts[text_of(event["data"], "agent") or "agent"] = model_request(event["data"])
        elif event["kind"] == "model_reply":
            agent = text_of(event["data"], "agent") or "agent"
            items.append(model_reply(event["data"], prompts.pop(agent, "")))
        else:
            items.append(render_event(event))
    items.extend(item(who(agent) + '<span class="muted">was asked, no reply</span>', prompt)
                 for agent, prompt in prompts.items())
    return (f'<section class="turn" id="{e(anchor)}"><div class="turn-head">'
            f"<h2>{e(title)}</h2>{badge}{facts}</div>{''.join(items)}</section>")


class HtmlRecorder(BufferedRecorder):
    """Writes ``timeline.html`` at the end of the run."""

    filename = FILENAME

    def render(self, events: list[dict[str, Any]]) -> str:
        return render_html(events)
