"""Tools: the library with its figures, and one tool's page (code, versions, a diff between
any two versions, run history, dependencies and declared secret names)."""

from __future__ import annotations

import json
import statistics
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request

from autoagent_core.errors import AutoagentError
from autoagent_plugins.dashboard.context import DashboardContext, Page
from autoagent_plugins.dashboard.render import diff_html, esc, highlight, link, table

HISTORY_ROWS = 200


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def figures(spec: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs, failures, median latency and the original's score formula (without its
    'contributed' bonus): ok rate - 0.6 x error rate - min(latency ms / 3000, 0.4)."""
    runs, failures = int(spec.runs), int(spec.failures)
    durations = [h["duration_s"] for h in history
                 if isinstance(h.get("duration_s"), int | float)]
    latency_ms = round(statistics.median(durations) * 1000, 1) if durations else None
    score = None
    if runs:
        ok_rate, error_rate = (runs - failures) / runs, failures / runs
        score = round(max(0.0, ok_rate - 0.6 * error_rate
                          - min((latency_ms or 0) / 3000, 0.4)), 3)
    return {"runs": runs, "failures": failures, "latency_ms": latency_ms, "score": score}


def _manifest_extras(ctx: DashboardContext) -> dict[str, dict[str, Any]]:
    """Raw manifest entries (the original's MCP entries carry ``source: mcp``)."""
    try:
        data = json.loads((ctx.tools_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tools = data.get("tools") if isinstance(data, dict) else None
    return {k: v for k, v in tools.items() if isinstance(v, dict)} if isinstance(tools,
                                                                               dict) else {}


def tools_page(ctx: DashboardContext, request: Request) -> Page:
    store = ctx.tool_store()
    extras = _manifest_extras(ctx)
    rows, data = [], []
    listed = set()
    for spec in sorted(store.list_tools(), key=lambda s: s.name):
        listed.add(spec.name)
        history = store.run_history(spec.name) if hasattr(store, "run_history") else []
        fig = figures(spec, history)
        source = str(extras.get(spec.name, {}).get("source") or "library")
        data.append({"name": spec.name, "version": spec.version, "source": source,
                     "description": spec.description, **fig, "last_error": spec.last_error})
        rows.append((link(f"/tools/{spec.name}", spec.name), str(spec.version), esc(source),
                     str(fig["runs"]), str(fig["failures"]),
                     esc(fig["latency_ms"] if fig["latency_ms"] is not None else "-"),
                     esc(fig["score"] if fig["score"] is not None else "-"),
                     esc(spec.description[:160])))
    for name, entry in sorted(extras.items()):
        if name not in listed and entry.get("source") == "mcp":
            data.append({"name": name, "version": entry.get("version"), "source": "mcp",
                         "description": str(entry.get("description") or "")})
            rows.append((esc(name), esc(entry.get("version")), "mcp", "-", "-", "-", "-",
                         esc(str(entry.get("description") or "")[:160])))
    body = (f"<p>{len(rows)} tool(s) in <code>{esc(ctx.tools_dir)}</code></p>" + table(
        ("Tool", "Version", "Source", "Runs", "Failures", "Latency ms", "Score",
         "Description"), rows))
    return Page("Tools", body, data)


def _metadata(code: str) -> tuple[list[str], list[str], str]:
    from autoagent_core.tools.script_metadata import read_metadata

    try:
        meta = read_metadata(code)
    except AutoagentError as exc:
        return [], [], str(exc)
    return meta.dependencies, meta.secrets, ""


def tool_page(ctx: DashboardContext, request: Request) -> Page:
    name = request.path_params["name"]
    store = ctx.tool_store()
    try:
        current = store.get(name)
        versions = store.history(name)
    except AutoagentError as exc:
        raise HTTPException(404, str(exc)) from None
    params = request.query_params
    shown_version = _int(params.get("version")) or current.spec.version
    try:
        shown = store.get(name, shown_version)
    except AutoagentError as exc:
        raise HTTPException(404, str(exc)) from None
    runs = store.run_history(name) if hasattr(store, "run_history") else []
    deps, secrets, meta_error = _metadata(shown.code)
    numbers = [v.version for v in versions]
    a = _int(params.get("a")) or (numbers[-2] if len(numbers) > 1 else shown_version)
    b = _int(params.get("b")) or current.spec.version
    diff = ""
    if "a" in params or "b" in params or len(numbers) > 1:
        try:
            diff = diff_html(store.get(name, a).code, store.get(name, b).code, f"v{a}", f"v{b}")
        except AutoagentError as exc:
            diff = f'<p class="muted">{esc(exc)}</p>'
    version_rows = [(link(f"/tools/{name}", f"v{v.version}", version=v.version),
                     esc(v.updated_at), esc(v.sha256[:12]), esc(v.description[:120]))
                    for v in reversed(versions)]
    run_rows = [(esc(r.get("at")), esc(r.get("version")), "ok" if r.get("ok") else "failed",
                 esc(r.get("duration_s")), esc(r.get("caller")), esc(r.get("error") or ""))
                for r in reversed(runs[-HISTORY_ROWS:])]
    choice = "".join(f'<option value="{n}"{" selected" if n == a else ""}>v{n}</option>'
                     for n in numbers)
    choice_b = "".join(f'<option value="{n}"{" selected" if n == b else ""}>v{n}</option>'
                       for n in numbers)
    fig = figures(current.spec, runs)
    body = (
        f"<p>{esc(current.spec.description)}</p><p><code>{esc(current.spec.signature())}</code>"
        f" · v{current.spec.version} · {fig['runs']} run(s), {fig['failures']} failure(s)"
        f"{'' if fig['score'] is None else ' · score ' + esc(fig['score'])}</p>"
        f"<h2>Dependencies</h2><p id=\"deps\">{esc(', '.join(deps) or 'none declared')}</p>"
        f"<h2>Secrets it declares</h2><p id=\"secrets\">{esc(', '.join(secrets) or 'none')}</p>"
        + (f'<p class="muted">{esc(meta_error)}</p>' if meta_error else "")
        + f"<h2>Code of v{shown.spec.version}</h2>{highlight(shown.code, 'python')}"
        + "<h2>Versions</h2>" + table(("Version", "Saved", "sha256", "Description"),
                                      version_rows)
        + '<h2>Diff</h2><form method="get" class="filters">'
        f'<select name="a">{choice}</select> → <select name="b">{choice_b}</select> '
        f'<button>compare</button></form><div id="diff">{diff}</div>'
        + "<h2>Run history</h2>" + table(("At", "Version", "Result", "Seconds", "Caller",
                                          "Error"), run_rows))
    data = {"tool": current.spec.to_dict(), "shown_version": shown.spec.version,
            "code": shown.code, "dependencies": deps, "secrets": secrets,
            "versions": [v.to_dict() for v in versions], "runs": runs, **fig}
    return Page(f"Tool {name}", body, data)
