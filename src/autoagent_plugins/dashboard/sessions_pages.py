"""Sessions (with status filter, search and pages, read from the session index, never from
every file) and one session's turns, answer and runs; Agents and their definitions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from autoagent_core.errors import AutoagentError
from autoagent_core.rundir import run_dir_sort_key
from autoagent_plugins.dashboard.context import DashboardContext, Page
from autoagent_plugins.dashboard.render import esc, link, options, pager, table

PAGE_SIZE = 50
STATUSES = ("active", "completed", "failed", "interrupted")
TEXT_CHARS = 4000


def sessions_page(ctx: DashboardContext, request: Request) -> Page:
    params = request.query_params
    status = params.get("status", "")
    query = params.get("q", "").strip()
    page_text = params.get("page", "1")
    page = int(page_text) if page_text.isdigit() and int(page_text) > 0 else 1
    try:
        rows = ctx.session_store().list_sessions(status or None)
    except AutoagentError as exc:
        raise HTTPException(500, str(exc)) from None
    if query:
        needle = query.casefold()
        rows = [r for r in rows if needle in r.task.casefold() or needle in r.id.casefold()]
    pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages)
    shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    status_choice = options("status", STATUSES, status, "any status")
    form = (f'<form method="get" class="filters">{status_choice} '
            f'<input type="search" name="q" value="{esc(query)}" placeholder="search tasks"> '
            "<button>filter</button></form>")
    body = form + f"<p>{len(rows)} session(s)</p>" + table(
        ("Session", "Status", "Turns", "Updated", "Task"),
        [(link(f"/sessions/{r.id}", r.id), esc(r.status), str(r.turns), esc(r.updated_at),
          esc(r.task[:200])) for r in shown]) + pager("/sessions", page, pages, status=status,
                                                      q=query)
    data = {"total": len(rows), "page": page, "pages": pages,
            "sessions": [r.to_dict() for r in shown]}
    return Page("Sessions", body, data)


def _cut(text: Any) -> str:
    value = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
    return value if len(value) <= TEXT_CHARS else value[:TEXT_CHARS] + "…"


def _turn_html(turn: Any) -> str:
    parts = [f'<section class="turn"><h3>Turn {turn.index}</h3>']
    for message in turn.messages:
        if isinstance(message, dict) and message.get("role") != "system":
            who = f"{message.get('agent', '')} ({message.get('role', '')})"
            parts.append(f'<div class="msg"><div class="who">{esc(who)}</div>'
                         f'<div class="text">{esc(_cut(message.get("content", "")))}</div></div>')
    for result in turn.results:
        parts.append(f'<div class="msg tool"><div class="who">result</div>'
                     f'<div class="text">{esc(_cut(result))}</div></div>')
    if turn.decision:
        parts.append(f'<div class="msg supervisor"><div class="who">Supervisor</div>'
                     f'<div class="text">{esc(_cut(turn.decision))}</div></div>')
    return "".join(parts) + "</section>"


def _runs_of(ctx: DashboardContext, sid: str, run_dirs: list[str]) -> list[str]:
    """The session's run folders: those it lists, those whose events name it, and for the
    original AutoAgent's ids (``YYYYMMDD_HHMMSS``) the folder of the same second."""
    from autoagent_plugins.dashboard.run_list import list_runs

    names = [Path(str(d).replace("\\", "/")).name for d in run_dirs]
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})", sid)
    if match:
        y, mo, d, h, mi, se = match.groups()
        names.append(f"{y}-{mo}-{d}_{h}-{mi}-{se}")
    names += [r.folder for r in list_runs(ctx.log_dir) if r.session_id == sid]
    return sorted((n for n in set(names) if (ctx.log_dir / n).is_dir()), key=run_dir_sort_key)


def session_page(ctx: DashboardContext, request: Request) -> Page:
    sid = request.path_params["sid"]
    try:
        session = ctx.session_store().load(sid)
    except AutoagentError as exc:
        raise HTTPException(404, str(exc)) from None
    runs = _runs_of(ctx, sid, session.run_dirs)
    run_links = ", ".join(link(f"/runs/{r}", r) for r in runs) or "none kept"
    body = (f"<p><strong>Task:</strong> {esc(session.task)}</p>"
            f"<p>status {esc(session.status)} · {len(session.turns)} turn(s) · model "
            f"{esc(session.model)} · runs: {run_links}</p>"
            f'<h2>Answer</h2><div class="answer">{esc(session.answer or "(none yet)")}</div>'
            "<h2>Turns</h2>" + "\n".join(_turn_html(t) for t in session.turns))
    data = session.to_dict()
    data["runs"] = runs
    return Page(f"Session {sid}", body, data)


def agents_page(ctx: DashboardContext, request: Request) -> Page:
    try:
        agents = ctx.agent_registry().list_agents()
    except AutoagentError as exc:
        raise HTTPException(500, str(exc)) from None
    rows = [(link(f"/agents/{a.name}", a.name), esc(a.role[:160]), esc(a.created_by),
             esc(a.created_at), str(a.uses)) for a in agents]
    body = table(("Agent", "Role", "Created by", "Created", "Uses"), rows)
    return Page("Agents", body, [a.to_dict() for a in agents])


def agent_page(ctx: DashboardContext, request: Request) -> Page:
    name = request.path_params["name"]
    try:
        agent = ctx.agent_registry().get(name)
    except AutoagentError as exc:
        raise HTTPException(404, str(exc)) from None
    body = (f"<p><strong>Role:</strong> {esc(agent.role)}</p><p>created by "
            f"{esc(agent.created_by)} at {esc(agent.created_at)} · used {agent.uses} time(s)</p>"
            f'<h2>Instructions</h2><pre class="text">{esc(agent.instructions)}</pre>')
    return Page(f"Agent {name}", body, agent.to_dict())
