"""HTML of the dashboard's pages: every value goes through :func:`esc` (or is a number).

Pages are plain server-rendered HTML; the one script (``static/dashboard.js``) is loaded
from the server itself, and the Content-Security-Policy forbids inline script, so text
that reached a page from a model, a tool or a file can only ever be text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

NAV = (("/runs", "Runs"), ("/sessions", "Sessions"), ("/tools", "Tools"),
       ("/agents", "Agents"), ("/files", "Files"))


def esc(value: Any) -> str:
    """Text of any value, escaped for HTML text and quoted attributes."""
    return escape("" if value is None else str(value), quote=True)


def url(path: str, /, **params: Any) -> str:
    """A local URL with its path segments quoted and the given query (escaped for HTML)."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return esc(quote(path, safe="/") + (f"?{query}" if query else ""))


def link(path: str, text: Any, /, **params: Any) -> str:
    return f'<a href="{url(path, **params)}">{esc(text)}</a>'


def layout(title: str, body: str, json_path: str, extra_nav: Sequence[tuple[str, str]] = (),
           live: bool = False) -> str:
    """A whole page: navigation, the body, and a link to the page's JSON twin."""
    items = [link(path, label) for path, label in (*NAV, *extra_nav)]
    script = '<script src="/static/dashboard.js" defer></script>' if live else ""
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)} · autoagent</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/dashboard.css">'
        '<link rel="stylesheet" href="/static/pygments.css">'
        f"{script}</head><body><header><strong>autoagent</strong> "
        f"<nav>{' '.join(items)}</nav>"
        f'<a class="json" href="{url(json_path)}">JSON</a></header>'
        f"<main><h1>{esc(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], attrs: str = "") -> str:
    """A table whose cells are already HTML (escape them when building the rows)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                     for row in rows)
    return f"<table {attrs}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def highlight(code: str, language: str) -> str:
    """Code highlighted by Pygments (it escapes the text), inside ``<pre>``."""
    from pygments import highlight as pyg_highlight  # type: ignore[import-untyped]
    from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
    from pygments.lexers import JsonLexer, PythonLexer, TextLexer  # type: ignore[import-untyped]

    lexer = {"python": PythonLexer, "json": JsonLexer}.get(language, TextLexer)()
    return str(pyg_highlight(code, lexer, HtmlFormatter(cssclass="code", wrapcode=True)))


def pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return str(HtmlFormatter(cssclass="code", style="friendly").get_style_defs(".code"))


def diff_html(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff, one escaped line per row, added and removed lines marked."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label,
                                 lineterm="")
    out = []
    for line in lines:
        cls = ""
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        elif line.startswith("@@"):
            cls = "hunk"
        out.append(f'<span class="{cls}">{esc(line)}</span>' if cls else esc(line))
    if not out:
        return '<p class="muted">The two versions have the same code.</p>'
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


def options(name: str, values: Iterable[str], selected: str, label: str) -> str:
    """A ``<select>`` of a filter form (the first option, empty, means all)."""
    opts = [f'<option value="">{esc(label)}</option>']
    for value in values:
        mark = " selected" if value == selected else ""
        opts.append(f'<option value="{esc(value)}"{mark}>{esc(value)}</option>')
    return f'<select name="{esc(name)}">{"".join(opts)}</select>'


def pager(path: str, page: int, pages: int, **params: Any) -> str:
    if pages <= 1:
        return ""
    parts = []
    if page > 1:
        parts.append(link(path, "« previous", page=page - 1, **params))
    parts.append(f"page {page} of {pages}")
    if page < pages:
        parts.append(link(path, "next »", page=page + 1, **params))
    return f'<p class="pager">{" · ".join(parts)}</p>'
