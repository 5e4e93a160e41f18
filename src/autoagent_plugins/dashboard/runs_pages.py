"""Runs: the list (the home page) and one run's page, which follows the run live.

The run page renders the events already written, then ``static/dashboard.js`` opens the
run's server-sent event stream (``/runs/<folder>/stream``), which tails ``events.jsonl``
from the byte offset the page was rendered at. ``/runs/latest`` follows the newest run and
moves to the next one when a new run starts (as the original's dashboard did).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from autoagent_plugins.dashboard.context import DashboardContext, Page
from autoagent_plugins.dashboard.conversation import conversation_html
from autoagent_plugins.dashboard.render import esc, highlight, link, options, table, url
from autoagent_plugins.dashboard.run_events import (
    EVENTS,
    ShownEvent,
    read_from,
    read_run_events,
)
from autoagent_plugins.dashboard.run_list import latest_run, list_runs, run_folder

POLL_SECONDS = 0.05
LATEST_CHECK_SECONDS = 0.5
LATEST = "latest"
VIEWS = ("timeline", "conversation", "raw")
MAX_ROWS = 2000  # a longer run shows its newest rows (?all=1: every row)


def runs_page(ctx: DashboardContext, request: Request) -> Page:
    runs = list_runs(ctx.log_dir)
    rows = [(link(f"/runs/{r.folder}", r.folder), esc(r.started), esc(r.status),
             esc(r.task[:200]), str(r.turns), str(r.tokens),
             link(f"/sessions/{r.session_id}", r.session_id) if r.session_id else "")
            for r in runs]
    body = (f'<p>{len(runs)} run(s) in <code>{esc(ctx.log_dir)}</code> · '
            f'{link("/runs/latest", "follow the newest run live")}</p>')
    body += table(("Run", "Started", "Status", "Task", "Turns", "Tokens", "Session"), rows)
    return Page("Runs", body, [r.to_dict() for r in runs])


def resolve_run(ctx: DashboardContext, name: str) -> Path | None:
    """The run folder of ``name`` (``latest``: the newest, or None when there is none)."""
    if name == LATEST:
        return latest_run(ctx.log_dir)
    folder = run_folder(ctx.log_dir, name)
    if folder is None:
        raise HTTPException(404, f"no run '{name}' in {ctx.log_dir}")
    return folder


def event_row(event: ShownEvent) -> dict[str, Any]:
    """What the page (and the live stream) shows of one event."""
    return {"seq": event.seq, "time": event.time, "turn": event.turn, "agent": event.agent,
            "kind": event.kind, "summary": event.summary}


def _row_html(event: ShownEvent) -> str:
    return (f'<tr data-agent="{esc(event.agent)}" data-kind="{esc(event.kind)}">'
            f"<td>{event.seq}</td><td>{esc(event.time)}</td>"
            f"<td>{'' if event.turn is None else event.turn}</td>"
            f'<td class="agent">{esc(event.agent)}</td><td class="kind">{esc(event.kind)}</td>'
            f'<td class="summary">{esc(event.summary)}</td></tr>')


def _filters(name: str, events: list[ShownEvent], agent: str, kind: str, view: str) -> str:
    agents = sorted({e.agent for e in events} | ({agent} if agent else set()))
    kinds = sorted({e.kind for e in events} | ({kind} if kind else set()))
    views = " · ".join(esc(v) if v == view else link(f"/runs/{name}", v, view=v)
                       for v in VIEWS)
    return (f'<p class="views">{views}</p>'
            f'<form method="get" class="filters"><input type="hidden" name="view" value="timeline">'
            f'{options("agent", agents, agent, "every agent")} '
            f'{options("kind", kinds, kind, "every kind")} <button>filter</button></form>')


def run_page(ctx: DashboardContext, request: Request) -> Page:
    name = request.path_params["name"]
    folder = resolve_run(ctx, name)
    view = request.query_params.get("view", "timeline")
    if view not in VIEWS:
        raise HTTPException(400, f"view must be one of {', '.join(VIEWS)}")
    agent = request.query_params.get("agent", "")
    kind = request.query_params.get("kind", "")
    events, offset = read_run_events(folder) if folder is not None else ([], 0)
    shown = [e for e in events if (not agent or e.agent == agent) and (not kind or e.kind == kind)]
    title = f"Run {folder.name}" if folder is not None else "Run: waiting for a run"
    head = _filters(name, events, agent, kind, view)
    if folder is not None:
        head += (f'<p>{link(f"/runs/{folder.name}/files", "files written")} · '
                 f'{link(f"/runs/{folder.name}.json", "events as JSON")}</p>')
    data = {"run": folder.name if folder else None, "offset": offset,
            "events": [e.to_dict() for e in shown]}
    if view == "conversation":
        return Page(title, head + conversation_html(shown), data)
    if view == "raw":
        raw = "\n".join(json.dumps(e.data, ensure_ascii=False, indent=1, default=str)
                        for e in shown[:2000])
        return Page(title, head + highlight(raw, "json"), data)
    stream = url(f"/runs/{name}/stream")
    earlier = ""
    if len(shown) > MAX_ROWS and request.query_params.get("all") != "1":
        earlier = (f'<p class="muted">{len(shown) - MAX_ROWS} earlier event(s) not shown: '
                   f'{link(f"/runs/{name}", "show all", all=1, agent=agent, kind=kind)}</p>')
        shown = shown[-MAX_ROWS:]
    rows = "\n".join(_row_html(e) for e in shown)
    body = (head + earlier + f'<p class="live" id="live-status">following the run live</p>'
            f'<table id="events" data-stream="{stream}" data-offset="{offset}" '
            f'data-line="{len(events)}" data-run="{esc(folder.name if folder else "")}" '
            f'data-agent="{esc(agent)}" data-kind="{esc(kind)}">'
            "<thead><tr><th>#</th><th>Time</th><th>Turn</th><th>Agent</th><th>Kind</th>"
            f"<th>Summary</th></tr></thead><tbody>\n{rows}\n</tbody></table>")
    return Page(title, body, data, live=True)


def _resume_point(request: Request) -> tuple[int, int, str]:
    """Offset, line count and run of a (re)connecting stream: ``Last-Event-ID`` when the
    browser reconnects, else the page's ``offset``/``line``/``run`` query."""
    last = request.headers.get("last-event-id", "")
    parts = last.split(":")
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
        return int(parts[0]), int(parts[1]), parts[2]
    params = request.query_params
    offset, line = params.get("offset", "0"), params.get("line", "0")
    return (int(offset) if offset.isdigit() else 0, int(line) if line.isdigit() else 0,
            params.get("run", ""))


async def run_stream(ctx: DashboardContext, request: Request) -> Any:
    """Server-sent events: each new line of ``events.jsonl`` as one ``message``; for
    ``latest``, a ``run`` event when a newer run starts."""
    from sse_starlette.sse import EventSourceResponse

    name = request.path_params["name"]
    folder = resolve_run(ctx, name)
    offset, line, run = _resume_point(request)
    if folder is not None and run and run != folder.name and name != LATEST:
        offset, line = 0, 0

    async def events() -> Any:
        nonlocal folder, offset, line
        # ``latest``: go on with the run the page shows, else announce the newest first
        current = folder if (name != LATEST or (folder is not None and folder.name == run)) \
            else None
        size = -1
        next_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            if name == LATEST and loop.time() >= next_check:
                next_check = loop.time() + LATEST_CHECK_SECONDS
                newest = latest_run(ctx.log_dir)
                if newest is not None and (current is None or newest.name != current.name):
                    current, offset, line, size = newest, 0, 0, -1
                    yield {"event": "run", "data": newest.name}
            if current is not None:
                path = current / EVENTS
                try:
                    now = path.stat().st_size
                except OSError:
                    now = -1
                if now != size and now > offset:
                    new, offset = read_from(path, offset, line)
                    for event in new:
                        line += 1
                        payload = ctx.redact(json.dumps(event_row(event), ensure_ascii=False))
                        yield {"id": f"{event.offset}:{line}:{current.name}", "data": payload}
                    size = now
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(events(), ping=15)
