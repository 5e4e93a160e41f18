"""Files: what each tool call wrote, shown as what it is.

Images are shown, audio and video get a player, HTML is shown in a frame with the
``sandbox`` attribute (no scripts) and is itself served with a ``sandbox`` CSP, JSON and text
are highlighted, anything else is a download. The raw file is served from
``/runs/<folder>/raw?path=...`` only when the run reports it (see
:mod:`produced_files`).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from autoagent_plugins.dashboard.context import DashboardContext, Page
from autoagent_plugins.dashboard.produced_files import (
    FileRefused,
    ProducedFile,
    read_produced,
    run_files,
)
from autoagent_plugins.dashboard.render import esc, highlight, link, url
from autoagent_plugins.dashboard.run_list import run_folder, run_folders

# a produced file never runs script and reaches nothing, not even the dashboard itself
RAW_CSP = "sandbox; default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"
PREVIEW_BYTES = 100_000
MAX_RUNS = 50
MAX_PREVIEWS = 40
MIME = {"html": "text/html; charset=utf-8", "json": "text/plain; charset=utf-8",
        "text": "text/plain; charset=utf-8"}


def _preview(ctx: DashboardContext, item: ProducedFile) -> str:
    raw = url(f"/runs/{item.run}/raw", path=item.path)
    label = esc(item.path)
    if item.kind == "image":
        return f'<img class="produced" src="{raw}" alt="{label}">'
    if item.kind == "audio":
        return f'<audio controls preload="metadata" src="{raw}"></audio>'
    if item.kind == "video":
        return f'<video controls preload="metadata" src="{raw}"></video>'
    if item.kind == "html":
        return f'<iframe class="produced" sandbox="" src="{raw}" title="{label}"></iframe>'
    if item.kind in ("json", "text"):
        folder = run_folder(ctx.log_dir, item.run)
        try:
            data = read_produced(folder, item.path, PREVIEW_BYTES, listed=True,
                                 head=True) if folder else b""
        except FileRefused as exc:
            return f'<p class="muted">not shown: {esc(exc)}</p>'
        text = data[:PREVIEW_BYTES].decode("utf-8", "replace")
        return highlight(ctx.redact(text), item.kind)
    return f'<a href="{url(f"/runs/{item.run}/raw", path=item.path, download=1)}">download</a>'


def _section(ctx: DashboardContext, items: list[ProducedFile], with_run: bool) -> str:
    if not items:
        return '<p class="muted">No files reported.</p>'
    parts = []
    for n, item in enumerate(items):
        where = f"{link(f'/runs/{item.run}', item.run)} · " if with_run else ""
        size = "" if item.bytes is None else f" · {item.bytes} bytes"
        preview = _preview(ctx, item) if n < MAX_PREVIEWS else ""
        parts.append(
            f'<section class="file" data-kind="{esc(item.kind)}"><h3>{esc(item.path)}</h3>'
            f'<p class="muted">{where}{esc(item.tool)} · {esc(item.change)}{esc(size)} · '
            f'{link(f"/runs/{item.run}/raw", "open", path=item.path)}</p>{preview}</section>')
    return "\n".join(parts)


def files_page(ctx: DashboardContext, request: Request) -> Page:
    items: list[ProducedFile] = []
    for folder in run_folders(ctx.log_dir)[:MAX_RUNS]:
        items.extend(run_files(folder))
    body = (f"<p>Files written by tool calls in the newest {MAX_RUNS} runs, newest first, "
            "and the original AutoAgent's final answers.</p>")
    return Page("Files", body + _section(ctx, items, True), [i.to_dict() for i in items])


def run_files_page(ctx: DashboardContext, request: Request) -> Page:
    name = request.path_params["name"]
    folder = run_folder(ctx.log_dir, name)
    if folder is None:
        raise HTTPException(404, f"no run '{name}'")
    items = run_files(folder)
    body = f"<p>{link(f'/runs/{name}', 'back to the run')}</p>" + _section(ctx, items, False)
    return Page(f"Files of run {name}", body, [i.to_dict() for i in items])


def raw_file(ctx: DashboardContext, request: Request) -> Response:
    """The bytes of a reported file, with a content type that cannot run script."""
    from autoagent_plugins.dashboard.produced_files import kind_of

    name = request.path_params["name"]
    folder = run_folder(ctx.log_dir, name)
    if folder is None:
        raise HTTPException(404, f"no run '{name}'")
    relative = request.query_params.get("path", "")
    try:
        data = read_produced(folder, relative)
    except FileRefused as exc:
        raise HTTPException(404, f"not served: {exc}") from None
    kind = kind_of(relative)
    import mimetypes

    if kind in ("image", "audio", "video"):
        media = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    else:
        media = MIME.get(kind, "application/octet-stream")
    headers = {"Content-Security-Policy": RAW_CSP}
    filename = relative.rsplit("/", 1)[-1].encode("ascii", "replace").decode().replace('"', "_")
    if kind == "other" or request.query_params.get("download"):
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if kind in ("json", "text"):
        data = ctx.redact(data.decode("utf-8", "replace")).encode("utf-8")
    return Response(data, media_type=media, headers=headers)
