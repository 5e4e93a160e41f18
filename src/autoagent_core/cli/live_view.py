"""What ``autoagent run`` shows while it works.

* :class:`LiveView` (a terminal): a rich live area with the turn, the agent speaking, a
  spinner and the streamed text, with each action and result printed above it; at the
  end the answer, the tools created and used, tokens and time.
* :class:`PlainView` (a pipe): one plain line per step on stderr; stdout keeps only the
  answer.
* :class:`QuietView` (``--json``): nothing but the JSON object.

Views receive the run's events (already redacted by the event bus) and streamed text.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from autoagent_core.loop.prompts import as_json, clip
from autoagent_core.terminal_text import safe_text

if TYPE_CHECKING:
    from rich.console import RenderableType

    from autoagent_core.loop.engine import RunOutcome
    from autoagent_core.redact import Redactor
    from autoagent_core.types import Event

STREAM_TAIL_CHARS = 600


def describe_event(event: Event) -> str | None:
    """One line for an event, or None for events not worth a line; terminal-safe (a model's
    or a tool's control characters shown escaped)."""
    line = _describe(event)
    return None if line is None else safe_text(line, one_line=True)


def _describe(event: Event) -> str | None:
    d = event.data
    kind = event.kind
    if kind == "run_started":
        how = "resuming" if d.get("resumed") else "starting"
        return f"{how} session {d.get('session_id')} ({d.get('backend')}, {d.get('model')})"
    if kind == "turn_started":
        return f"turn {d.get('turn')}"
    if kind == "format_error":
        return f"{d.get('agent')}: reply not usable ({clip(str(d.get('error')), 160)}); retrying"
    if kind == "tool_created":
        verb = "created" if d.get("created") else "updated"
        return f"{verb} tool {d.get('name')} v{d.get('version')}"
    if kind == "tool_run":
        ver = f" v{d['version']}" if d.get("version") is not None else ""  # MCP tools: none
        head = f"ran {d.get('name')}{ver} {clip(as_json(d.get('args')), 80)}"
        if d.get("ok"):
            line = f"{head} -> ok: {clip(as_json(d.get('result')), 160)}"
        else:
            error = d.get("error") or {}
            line = (f"{head} -> FAILED {error.get('class')}: "
                    f"{clip(str(error.get('message')), 160)}")
        if d.get("files") or d.get("refused"):  # open mode's commit, one line each
            from autoagent_core.sandbox.staging.report import file_lines

            line += "".join(f"\n  {text}" for text in file_lines(d.get("files") or [],
                                                                   d.get("refused") or []))
        return line
    if kind == "agent_created":
        return f"{d.get('created_by')} created agent {d.get('name')}: {d.get('role')}"
    if kind == "agent_consulted":
        return f"agent {d.get('name')} replied: {clip(str(d.get('reply')), 160)}"
    if kind == "final_answer" and d.get("agent") != "supervisor":
        return f"{d.get('agent')} proposes: {clip(str(d.get('answer')), 160)}"
    if kind == "supervisor_decision":
        text = f"supervisor: {d.get('decision')}"
        if d.get("feedback"):
            text += f" - {clip(str(d.get('feedback')), 200)}"
        return text
    if kind == "interrupted":
        return "interrupted: saving the session"
    if kind == "error":
        return f"error: {clip(str(d.get('message')), 200)}"
    return None


def summary_lines(outcome: RunOutcome) -> list[str]:
    """The end of a run in a few lines (without the answer)."""
    session = outcome.session
    created = ", ".join(f"{t['name']} v{t['version']}" for t in session.tools_created) or "none"
    used = ", ".join(t["name"] + (f" v{t['version']}" if t.get("version") is not None else "")
                     for t in session.tools_used) or "none"
    usage = session.usage
    lines = [
        f"status: {session.status} after {len(session.turns)} turns "
        f"({outcome.turns_this_run} in this run), {outcome.duration_s:.1f} s",
        f"tools created: {created}",
        f"tools used: {used}",
        f"tokens: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion",
        f"session: {session.id}" + (f"   timeline: {outcome.run_dir}" if outcome.run_dir else ""),
    ]
    return [safe_text(line, one_line=True) for line in lines]


class QuietView:
    """``--json``: the run prints nothing until its JSON object."""

    shows_answer = False
    streams = False  # whether the view shows streamed text (backends then stream)

    def __enter__(self) -> QuietView:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def on_event(self, event: Event) -> None:
        return None

    def on_text(self, agent: str, chunk: str) -> None:
        return None

    def finish(self, outcome: RunOutcome) -> None:
        return None


class PlainView(QuietView):
    """A pipe: one plain line per step on stderr."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.turn = 0

    def on_event(self, event: Event) -> None:
        if event.kind == "turn_started":
            self.turn = int(event.data.get("turn", 0))
        line = describe_event(event)
        if line is not None and event.kind != "turn_started":
            prefix = f"[turn {self.turn}] " if self.turn else ""
            for part in line.splitlines():
                print(f"autoagent: {prefix}{part}", file=sys.stderr, flush=True)

    def finish(self, outcome: RunOutcome) -> None:
        for line in summary_lines(outcome):
            print(f"autoagent: {line}", file=sys.stderr)


class LiveView(QuietView):
    """A terminal: a rich live area with a spinner and the streamed text."""

    shows_answer = True
    streams = True

    def __init__(self, redactor: Redactor, max_turns: int) -> None:
        from rich.console import Console

        self.redactor = redactor
        self.max_turns = max_turns
        self.console = Console(highlight=False)
        self.turn = 0
        self.agent = ""
        self.stream = ""
        self.started = time.monotonic()
        self.live: Any = None

    def __enter__(self) -> LiveView:
        from rich.live import Live

        self.live = Live(get_renderable=self._render, console=self.console,
                         refresh_per_second=8, transient=True)
        self.live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.live is not None:
            self.live.__exit__(exc_type, exc, tb)
            self.live = None

    def _render(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        elapsed = time.monotonic() - self.started
        who = f"{self.agent} is thinking" if self.agent else "running actions"
        head = Spinner("dots", text=Text(f" turn {self.turn}/{self.max_turns} · {who} · "
                                         f"{elapsed:.0f} s", style="bold"))
        tail = safe_text(self.stream[-STREAM_TAIL_CHARS:])
        return Group(head, Text(tail, style="dim")) if tail else head

    def on_event(self, event: Event) -> None:
        from rich.text import Text

        if event.kind == "turn_started":
            self.turn = int(event.data.get("turn", 0))
            self.console.rule(f"turn {self.turn}", style="cyan")
            return
        if event.kind == "model_request":
            self.agent = str(event.data.get("agent", ""))
            self.stream = ""
            return
        if event.kind == "model_reply":
            self.agent, self.stream = "", ""
            return
        line = describe_event(event)
        if line is None:
            return
        style = "red" if ("FAILED" in line or event.kind in ("error", "format_error")) else \
            "green" if event.kind == "supervisor_decision" and "done" in line else ""
        self.console.print(Text(line, style=style))

    def on_text(self, agent: str, chunk: str) -> None:
        self.agent = agent
        self.stream = (self.stream + chunk)[-4 * STREAM_TAIL_CHARS:]

    def finish(self, outcome: RunOutcome) -> None:
        from rich.panel import Panel
        from rich.text import Text

        if self.live is not None:
            self.live.__exit__(None, None, None)
            self.live = None
        session = outcome.session
        if session.status == "completed":
            answer = safe_text(self.redactor.text(session.answer or ""))
            self.console.print(Panel(Text(answer), title="answer", border_style="green"))
        for line in summary_lines(outcome):
            self.console.print(Text(line, style="dim"))


def make_view(json_mode: bool, terminal: bool, redactor: Redactor,
              max_turns: int) -> QuietView:
    """The view for this output: JSON, a terminal, or a pipe."""
    if json_mode:
        return QuietView()
    if terminal:
        return LiveView(redactor, max_turns)
    return PlainView(redactor)
