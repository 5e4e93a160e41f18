"""The dashboard's ASGI application (Starlette): routes, the JSON twin of every page,
static files shipped in the wheel, error pages, and the token gate around it all."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from autoagent_plugins.dashboard import files_pages, runs_pages, sessions_pages, tools_pages
from autoagent_plugins.dashboard.context import DashboardContext, Page
from autoagent_plugins.dashboard.gate import TokenGate
from autoagent_plugins.dashboard.render import esc, highlight, layout, pygments_css, table

PageBuilder = Callable[[DashboardContext, Request], Page]
STATIC = {"dashboard.js": "text/javascript; charset=utf-8",
          "dashboard.css": "text/css; charset=utf-8"}


def _nav(ctx: DashboardContext) -> list[tuple[str, str]]:
    return [(f"/p/{p.name}", p.description or p.name) for p in ctx.plugin_pages]


def _json_response(ctx: DashboardContext, data: Any, status: int = 200) -> Response:
    text = json.dumps(data, ensure_ascii=False, indent=1, default=str)
    return Response(ctx.redact(text), status_code=status,
                    media_type="application/json")


def _page_routes(ctx: DashboardContext, path: str, build: PageBuilder) -> list[BaseRoute]:
    """``path`` as HTML and ``path.json`` as its JSON twin (the JSON route comes first, so
    ``/runs/x.json`` is not read as the run ``x.json``)."""

    def as_json(request: Request) -> Response:
        return _json_response(ctx, build(ctx, request).data)

    def as_html(request: Request) -> Response:
        page = build(ctx, request)
        json_path = request.url.path.rstrip("/") + ".json"
        html = layout(page.title, page.body, json_path, _nav(ctx), live=page.live)
        return HTMLResponse(ctx.redact(html))

    json_path = "/runs.json" if path == "/" else f"{path}.json"
    return [Route(json_path, as_json), Route(path, as_html)]


def _plugin_page(ctx: DashboardContext, request: Request) -> Page:
    slug = request.path_params["slug"]
    for provider in ctx.plugin_pages:
        if provider.name == slug:
            break
    else:
        raise HTTPException(404, f"no dashboard page '{slug}'")
    data = provider.factory(ctx, dict(request.query_params))
    title = provider.description or slug
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        columns = list(dict.fromkeys(key for row in data for key in row))
        body = table(columns, [[esc(row.get(c, "")) for c in columns] for row in data])
    else:
        body = highlight(json.dumps(data, ensure_ascii=False, indent=1, default=str), "json")
    return Page(title, body, data)


def _static(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "pygments.css":
        return Response(pygments_css(), media_type="text/css; charset=utf-8")
    if name not in STATIC:
        raise HTTPException(404, "no such file")
    text = resources.files("autoagent_plugins.dashboard").joinpath("static", name).read_text(
        encoding="utf-8")
    return Response(text, media_type=STATIC[name])


def build_app(ctx: DashboardContext) -> Any:
    """The Starlette app behind the token gate."""

    async def stream(request: Request) -> Any:
        return await runs_pages.run_stream(ctx, request)

    def raw(request: Request) -> Response:
        return files_pages.raw_file(ctx, request)

    routes: list[BaseRoute] = [
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/static/{name}", _static),
        Route("/runs/{name}/stream", stream),
        Route("/runs/{name}/raw", raw),
    ]
    for path, build in (
        ("/", runs_pages.runs_page), ("/runs", runs_pages.runs_page),
        ("/runs/{name}/files", files_pages.run_files_page),
        ("/runs/{name}", runs_pages.run_page),
        ("/sessions", sessions_pages.sessions_page),
        ("/sessions/{sid}", sessions_pages.session_page),
        ("/tools", tools_pages.tools_page), ("/tools/{name}", tools_pages.tool_page),
        ("/agents", sessions_pages.agents_page), ("/agents/{name}", sessions_pages.agent_page),
        ("/files", files_pages.files_page),
        ("/p/{slug}", _plugin_page),
    ):
        routes += _page_routes(ctx, path, build)

    async def error_page(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error"
        if request.url.path.endswith(".json"):
            return _json_response(ctx, {"error": detail}, status)
        html = layout(f"{status}", f'<p class="error">{esc(detail)}</p>', "/runs", _nav(ctx))
        return HTMLResponse(ctx.redact(html), status_code=status)

    app = Starlette(routes=routes, exception_handlers={HTTPException: error_page})
    return TokenGate(app, ctx.token)
