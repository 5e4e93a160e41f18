"""Run folders the original AutoAgent wrote: read, summarised and rendered, never changed.

Its ``events.jsonl`` holds ``{ts, turn, role, etype, summary, data}`` lines (the task in
``run_started``'s summary ``task=...``, ``session_start`` or ``user_message``; tool calls,
results, Supervisor decisions, agent calls); ``final/turn_NNN_answer.txt`` holds every
proposed answer and ``tools_session/turn_NNN_<tool>.py`` the code of every tool created
or updated. Many runs have ``events.jsonl`` alone (it wrote the rest only at a normal exit).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS = "events.jsonl"
_TURN_FILE_RE = re.compile(r"^turn_(\d{3,})_(.+)$")
MAX_FILE_CHARS = 200_000


def is_original_events(path: Path) -> bool:
    """True when the first event of ``path`` is in the original's shape (``etype``)."""
    try:
        with path.open("rb") as fh:
            first = fh.readline(64 * 1024)
    except OSError:
        return False
    return b'"etype"' in first and b'"kind"' not in first


def read_original_events(path: Path) -> list[dict[str, Any]]:
    events = []
    with path.open("rb") as fh:
        for raw in fh:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("etype"), str):
                events.append(event)
    return events


def _data(event: dict[str, Any]) -> dict[str, Any]:
    data = event.get("data")
    return data if isinstance(data, dict) else {}


def _turn(event: dict[str, Any]) -> int:
    turn = event.get("turn")
    return turn if isinstance(turn, int) and not isinstance(turn, bool) else 0


@dataclass
class OriginalRun:
    """What an original run folder tells."""

    task: str = ""
    session_id: str = ""
    started: str = ""
    status: str = "incomplete"
    turns: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)
    tool_code: list[tuple[int, str, str]] = field(default_factory=list)
    events: int = 0


def _turn_files(folder: Path, suffix: str) -> list[tuple[int, str, str]]:
    """``(turn, rest of the name, text)`` of ``turn_NNN_*`` files, in turn order."""
    out = []
    try:
        paths = sorted(folder.iterdir())
    except OSError:
        return []
    for path in paths:
        match = _TURN_FILE_RE.match(path.name)
        if match is None or not path.name.endswith(suffix) or not path.is_file() \
                or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")[:MAX_FILE_CHARS]
        except OSError:
            continue
        out.append((int(match.group(1)), match.group(2).removesuffix(suffix), text))
    return out


def _apply(run: OriginalRun, event: dict[str, Any]) -> None:
    kind, data = event["etype"], _data(event)
    summary = str(event.get("summary") or "")
    run.turns = max(run.turns, _turn(event))
    if kind == "run_started" and summary.startswith("task=") and not run.task:
        run.task = summary[len("task="):]
    elif kind in ("session_start", "user_message") and not run.task:
        run.task = str(data.get("task") or data.get("content") or summary)
    if kind in ("session_start", "session_resumed") and not run.session_id:
        run.session_id = str(data.get("session_id") or summary.partition("session_id=")[2])
    if kind == "tool_call":
        name = summary.partition("(")[0] or "?"
        run.calls.append({"turn": _turn(event), "name": name, "args": data.get("args"),
                          "ok": None})
    elif kind in ("tool_result_ok", "tool_result_error"):
        ok = kind == "tool_result_ok"
        result = data.get("result")
        if ok and isinstance(result, dict) and (result.get("ok") is False
                                               or result.get("error")):
            ok = False  # the original's own rule: a dict with ok false or an error failed
        error = data.get("error") or (result.get("error") if isinstance(result, dict)
                                      else None)
        target = next((c for c in reversed(run.calls) if c["ok"] is None), None)
        if target is None:
            target = {"turn": _turn(event), "name": str(data.get("name") or "?"),
                      "args": None}
            run.calls.append(target)
        target.update(ok=ok, result=result, error=None if ok else str(error or "failed"))
        if not ok:
            run.errors.append(f"turn {_turn(event)}: {target['name']}: {target['error']}")
    elif kind in ("coder_parse_error", "agent_response_error", "mcp_error"):
        run.errors.append(f"turn {_turn(event)}: {kind}: "
                          f"{data.get('error') or summary}")
    elif kind == "supervisor_decision":
        tips = data.get("tips")
        run.decisions.append({"turn": _turn(event), "route": str(data.get("route") or
                                                                 summary),
                              "reason": str(data.get("reason") or ""),
                              "tips": [str(t) for t in tips] if isinstance(tips, list)
                              else []})
    elif kind in ("run_finished", "session_end"):
        status = data.get("status")
        run.status = str(status) if isinstance(status, str) and status else "finished"


def original_run(folder: Path) -> OriginalRun:
    """Read an original run folder (events, final answers, tool code)."""
    run = OriginalRun()
    events = read_original_events(folder / EVENTS)
    run.events = len(events)
    for event in events:
        _apply(run, event)
    if events:
        run.started = str(events[0].get("ts") or "")
    run.answers = [(turn, text) for turn, _, text in _turn_files(folder / "final", ".txt")]
    run.tool_code = _turn_files(folder / "tools_session", ".py")
    return run


def task_of_session(sessions_dir: Path, session_id: str) -> str:
    """The task of a session file, read only (a resumed original run names only its
    session); empty when there is no such readable file."""
    from autoagent_core.errors import AutoagentError
    from autoagent_core.names import validate_session_id

    try:
        validate_session_id(session_id)
        data = json.loads((sessions_dir / f"{session_id}.json").read_bytes())
    except (OSError, ValueError, AutoagentError):
        return ""
    meta = data.get("metadata") if isinstance(data, dict) else None
    task = data.get("task") if isinstance(data, dict) else None
    if not isinstance(task, str) and isinstance(meta, dict):
        task = meta.get("task")
    return task if isinstance(task, str) else ""


def _fence(text: str, lang: str = "text") -> str:
    from autoagent_plugins.timeline.markdown import fence

    return fence(text, lang)


def render_original_markdown(folder: Path, sessions_dir: Path | None = None) -> str:
    """A Markdown account of an original run: task, turns, calls, errors, decisions,
    proposed answers and tool code."""
    from autoagent_plugins.timeline.markdown import cell, inline

    run = original_run(folder)
    if not run.task and run.session_id and sessions_dir is not None:
        run.task = task_of_session(sessions_dir, run.session_id)
    out = [f"# run {inline(folder.name)} (original AutoAgent)", "",
           "| | |", "|---|---|",
           f"| Task | {cell(run.task)} |", f"| Status | {cell(run.status)} |",
           f"| Session | {cell(run.session_id)} |", f"| Started | {cell(run.started)} |",
           f"| Turns | {run.turns} |", f"| Tool calls | {len(run.calls)} |",
           f"| Errors | {len(run.errors)} |", ""]
    if run.calls:
        out += ["## Tool calls", ""]
        for call in run.calls:
            status = {True: "ok", False: "failed", None: "no result"}[call.get("ok")]
            args = json.dumps(call.get("args"), ensure_ascii=False, default=str)
            out.append(f"- turn {call['turn']}: `{inline(call['name'])}` {status}: "
                       f"args {inline(args[:300])}"
                       + (f"; error: {inline(str(call['error'])[:300])}"
                          if call.get("error") else ""))
        out.append("")
    if run.errors:
        out += ["## Errors", ""] + [f"- {inline(e[:400])}" for e in run.errors] + [""]
    if run.decisions:
        out += ["## Supervisor decisions", ""]
        for d in run.decisions:
            out.append(f"- turn {d['turn']}: {inline(d['route'])}: {inline(d['reason'])}")
            out += [f"  - {inline(t)}" for t in d["tips"]]
        out.append("")
    for turn, text in run.answers:
        out += [f"## Proposed answer (turn {turn})", "", _fence(text)]
    for turn, name, code in run.tool_code:
        out += [f"## Tool {inline(name)} (turn {turn})", "", _fence(code, "python")]
    return "\n".join(out).rstrip() + "\n"
