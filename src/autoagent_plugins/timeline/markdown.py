"""``timeline.md``: the run told turn by turn, for a terminal or any Markdown viewer.

Text that came from a model or a tool is put in fenced code blocks (the fence is longer
than any run of backticks inside) or backslash-escaped, so it shows as written and a
Markdown viewer never turns it into HTML or links.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from autoagent_core.deps.events import KINDS as DEPENDENCY_KINDS
from autoagent_core.deps.events import summary as dependency_summary
from autoagent_core.loop.guided_events import KINDS as GUIDED_KINDS
from autoagent_core.loop.guided_events import summary as guided_summary
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

FILENAME = "timeline.md"
_BACKTICKS_RE = re.compile(r"`+")
_MD_SPECIAL_RE = re.compile(r"([\\`*\[\]<>|&!])")
CELL_MAX = 200

Summary = Callable[[str, dict[str, Any]], str | None]


def fence(text: str, lang: str = "text") -> str:
    """A fenced code block holding ``text`` exactly, whatever backticks it contains."""
    longest = max((len(m) for m in _BACKTICKS_RE.findall(text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{ticks}{lang}\n{body}{ticks}\n"


def inline(text: str) -> str:
    """One line of text with Markdown and HTML syntax escaped."""
    return _MD_SPECIAL_RE.sub(r"\\\1", " ".join(text.split()))


def code_span(text: str) -> str:
    """Inline code holding ``text`` as written (no escapes apply inside code spans)."""
    one_line = " ".join(text.split())
    longest = max((len(m) for m in _BACKTICKS_RE.findall(one_line)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{ticks}{pad}{one_line}{pad}{ticks}"


def cell(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > CELL_MAX:
        one_line = one_line[:CELL_MAX - 3] + "..."
    return inline(one_line) or "-"


def render_markdown(events: list[dict[str, Any]]) -> str:
    """The whole ``timeline.md`` for a run's events."""
    view = build_view(events)
    out: list[str] = ["# autoagent run", ""]
    out += _summary(view)
    for event in view.before:
        out += _event(event)
    for turn in view.turns:
        out += _turn(turn)
    for event in view.after:
        out += _event(event)
    return "\n".join(out).rstrip() + "\n"


def _summary(view: RunView) -> list[str]:
    tools = ", ".join(view.tools_created) or "none"
    runs = f"{view.tools_run} run(s), {view.tool_failures} failed"
    model = model_label(view)
    rows = [
        ("Task", view.task),
        ("Status", view.status),
        ("Answer", view.answer),
        ("Session", view.session_id + (" (resumed)" if view.resumed else "")),
        ("Backend", model),
        ("Started", format_time(view.started)),
        ("Duration", format_duration(view.duration_s)),
        ("Turns", str(view.turn_count)),
        ("Tokens", f"{view.total_tokens} (prompt {view.prompt_tokens}, "
                   f"completion {view.completion_tokens})"),
        ("Tools created", tools),
        ("Tool runs", runs),
    ]
    lines = ["| | |", "|---|---|"]
    lines += [f"| {name} | {cell(value)} |" for name, value in rows]
    lines.append("")
    lines += ["## Task", "", fence(view.task or "(no task recorded)")]
    if view.instruction:
        lines += ["## Follow-up instruction", "", fence(view.instruction)]
    if view.answer:
        lines += ["## Answer", "", fence(view.answer)]
    for message in view.errors:
        lines += ["**Error:**", "", fence(message)]
    return lines


def _turn(turn: TurnView) -> list[str]:
    tokens = turn.prompt_tokens + turn.completion_tokens
    head = f"## Turn {turn.index}"
    facts = [format_duration(turn.duration_s), f"{tokens} tokens"]
    if turn.decision:
        facts.append(f"decision: {turn.decision}")
    lines = [f"{head} ({inline(', '.join(facts))})", ""]
    previous: dict[str, Any] | None = None
    for event in turn.events:
        if not repeats_decision(event, previous):
            lines += _event(event)
        previous = event
    return lines


def _event(event: dict[str, Any]) -> list[str]:
    kind: str = event["kind"]
    data: dict[str, Any] = event["data"]
    render = _RENDERERS.get(kind)
    if render is not None:
        try:
            return render(data)
        except Exception:  # fields of a shape no renderer expects: show them as they are
            pass
    return [f"### {inline(kind)}", "", fence(to_json(data, indent=2), "json")]


def _model_reply(data: dict[str, Any]) -> list[str]:
    agent = text_of(data, "agent") or "agent"
    prompt, completion = tokens_of(data.get("usage"))
    latency = num_of(data, "latency_s")
    lines = [f"### {inline(agent)} replied ({prompt + completion} tokens, "
             f"{format_duration(latency)})", ""]
    text = text_of(data, "text")
    parsed = parse_reply(text)
    if parsed is None:
        return [*lines, fence(text or "(empty reply)")]
    thought = text_of(parsed, "thought")
    if thought:
        lines += [fence(thought)]
    for action in list_of(parsed, "actions"):
        if isinstance(action, dict):
            what = text_of(action, "type") or "action"
            name = text_of(action, "name")
            lines.append(f"- {inline(what)}" + (f" {code_span(name)}" if name else ""))
    lines.append("")
    return lines


def _format_error(data: dict[str, Any]) -> list[str]:
    agent = text_of(data, "agent") or "agent"
    lines = [f"### Format error ({inline(agent)})", "", fence(text_of(data, "error"))]
    if text_of(data, "text"):
        lines += ["Reply that did not parse:", "", fence(text_of(data, "text"))]
    return lines


def _tool_created(data: dict[str, Any]) -> list[str]:
    name = text_of(data, "name") or "?"
    version = text_of(data, "version")
    what = "Created" if data.get("created", True) else "Updated"
    lines = [f"### {what} tool {code_span(name)}" + (f" v{inline(version)}" if version else ""),
             ""]
    if text_of(data, "description"):
        lines += [inline(text_of(data, "description")), ""]
    if text_of(data, "code"):
        lines += [fence(text_of(data, "code"), "python")]
    return lines


def _tool_run(data: dict[str, Any]) -> list[str]:
    name = text_of(data, "name") or "?"
    ok = data.get("ok") is True
    duration = format_duration(num_of(data, "duration_s"))
    lines = [f"### Ran {code_span(name)}: {'ok' if ok else 'FAILED'} ({duration})", ""]
    if "args" in data:
        args = to_json(data.get("args"))
        if len(args) > 100:
            args = to_json(data.get("args"), indent=2)
        lines += ["Arguments:", "", fence(args, "json")]
    if ok:
        result = to_json(data.get("result"))
        if len(result) > 100:
            result = to_json(data.get("result"), indent=2)
        lines += ["Result:", "", fence(result, "json")]
    else:
        error = dict_of(data, "error")
        klass = text_of(error, "class") or "error"
        lines += [f"**Error ({inline(klass)}):**", "",
                  fence(text_of(error, "message") or text_of(data, "error"))]
        if text_of(error, "traceback"):
            lines += [fence(text_of(error, "traceback"))]
        suggestions = [s for s in list_of(error, "suggestions") if isinstance(s, str)]
        lines += [f"- {inline(s)}" for s in suggestions]
        if suggestions:
            lines.append("")
    for stream in ("stdout", "stderr"):
        if text_of(data, stream):
            lines += [f"{stream}:", "", fence(text_of(data, stream))]
    written = _file_lines(data)
    if written:
        lines += ["Working directory:", "", *[f"- {inline(text)}" for text in written], ""]
    return lines


def _file_lines(data: dict[str, Any]) -> list[str]:
    """Open mode's committed files and refused writes of a tool run, one line each."""
    from autoagent_core.sandbox.staging.report import file_lines

    files = [f for f in list_of(data, "files") if isinstance(f, dict)]
    refused = [r for r in list_of(data, "refused") if isinstance(r, dict)]
    return file_lines(files, refused) if files or refused else []


def _action_failed(data: dict[str, Any]) -> list[str]:
    kind = text_of(data, "type") or "action"
    name = text_of(data, "name")
    error = dict_of(data, "error")
    lines = [f"### Refused: {inline(kind)}" + (f" {code_span(name)}" if name else "")
             + f" ({inline(text_of(data, 'agent') or 'agent')})", "",
             f"**Error ({inline(text_of(error, 'class') or 'error')}):**", "",
             fence(text_of(error, "message"))]
    suggestions = [s for s in list_of(error, "suggestions") if isinstance(s, str)]
    lines += [f"- {inline(s)}" for s in suggestions]
    if suggestions:
        lines.append("")
    return lines


def _agent_created(data: dict[str, Any]) -> list[str]:
    lines = [f"### Created agent {code_span(text_of(data, 'name') or '?')}"
             f" (by {inline(text_of(data, 'created_by') or '?')})", ""]
    if text_of(data, "role"):
        lines += [f"Role: {inline(text_of(data, 'role'))}", ""]
    if text_of(data, "instructions"):
        lines += [fence(text_of(data, "instructions"))]
    return lines


def _agent_consulted(data: dict[str, Any]) -> list[str]:
    depth = text_of(data, "depth")
    lines = [f"### Asked agent {code_span(text_of(data, 'name') or '?')}"
             + (f" (depth {inline(depth)})" if depth else ""), ""]
    lines += ["Question:", "", fence(text_of(data, "message")),
              "Reply:", "", fence(text_of(data, "reply"))]
    return lines


def _decision(data: dict[str, Any]) -> list[str]:
    decision = text_of(data, "decision") or "?"
    lines = [f"### Supervisor: {inline(decision)}", ""]
    if text_of(data, "feedback"):
        lines += [fence(text_of(data, "feedback"))]
    tips = [t if isinstance(t, str) else to_json(t) for t in list_of(data, "tips")]
    if tips:
        lines += ["Tips:", ""] + [f"- {inline(t)}" for t in tips] + [""]
    if text_of(data, "answer"):
        lines += ["Answer:", "", fence(text_of(data, "answer"))]
    return lines


def _final_answer(data: dict[str, Any]) -> list[str]:
    agent = text_of(data, "agent") or "agent"
    return [f"### Final answer ({inline(agent)})", "", fence(text_of(data, "answer"))]


def _error(data: dict[str, Any]) -> list[str]:
    kind = text_of(data, "kind")
    return ["### Error" + (f" ({inline(kind)})" if kind else ""), "",
            fence(text_of(data, "message"))]


def _interrupted(data: dict[str, Any]) -> list[str]:
    return ["### Interrupted", "", "The run was interrupted (Ctrl-C); the session was saved.",
            ""]


def _run_started(data: dict[str, Any]) -> list[str]:
    return []


def _skip(data: dict[str, Any]) -> list[str]:
    return []


def _one_line(kind: str, summary: Summary) -> Callable[[dict[str, Any]], list[str]]:
    """An event ``summary`` tells in one line (a tool dependency step,
    :mod:`autoagent_core.deps.events`; a guided check, :mod:`autoagent_core.loop.guided_events`)
    as one heading."""
    return lambda data: [f"### {inline(summary(kind, data) or kind)}", ""]


_RENDERERS = {
    "run_started": _run_started,
    "model_request": _skip,
    "session_saved": _skip,
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
    **{kind: _one_line(kind, dependency_summary) for kind in DEPENDENCY_KINDS},
    **{kind: _one_line(kind, guided_summary) for kind in GUIDED_KINDS},
}


class MarkdownRecorder(BufferedRecorder):
    """Writes ``timeline.md`` at the end of the run."""

    filename = FILENAME

    def wants(self, kind: str) -> bool:
        return kind != "model_request"  # the transcript keeps the prompts

    def render(self, events: list[dict[str, Any]]) -> str:
        return render_markdown(events)
