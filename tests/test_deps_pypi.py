"""Tool dependencies from the real package index (PyPI): run by ``nox -s deps_pypi``
(``TEST_REAL_PYPI=1``), skipped otherwise so the default suite never needs the network.

* the original's ``scrape_quotes`` (``import requests``, ``from bs4 import BeautifulSoup``,
  no declaration) against a quotes site on 127.0.0.1: both packages are resolved, installed
  and declared by autoagent, without a model;
* the original's 46 tools: each loads (its imports, also those inside functions) after
  autoagent installed what it misses, except the packages that cannot be installed here.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from autoagent_core.config import Settings
from autoagent_core.sandbox.launcher import strict_available
from conftest import CliFn
from fixtures.original import ORIGINAL_DIR

ORIGINAL = ORIGINAL_DIR / ".permanent_tools"
FIXTURES = Path(os.environ.get("ORIGINAL_AUTOAGENT_TOOLS", str(ORIGINAL)))
pytestmark = [
    pytest.mark.skipif(not FIXTURES.is_dir(), reason="the original's tools are not here "
                       "(set ORIGINAL_AUTOAGENT_TOOLS to their folder)"),
    pytest.mark.skipif(os.environ.get("TEST_REAL_PYPI") != "1",
                       reason="needs the real package index: nox -s deps_pypi"),
    pytest.mark.skipif(not strict_available(), reason="bubblewrap cannot build a sandbox here"),
]
# What cannot be installed on Linux from wheels (autoagent builds no source distribution
# unless deps_build_from_source is set, since a build runs the package's code unsandboxed):
UNINSTALLABLE = {
    "simpleaudio": "no Linux wheel on PyPI; its source build needs a C compiler and the ALSA "
                   "headers (libasound2-dev)",
}

QUOTES = [("The world as we have created it is a process of our thinking.", "Albert Einstein",
           ["change", "thinking"]),
          ("It is our choices that show what we truly are.", "J.K. Rowling", ["choices"]),
          ("There are only two ways to live your life.", "Albert Einstein", ["miracles"])]


def _page(quotes: list[tuple[str, str, list[str]]], next_href: str | None) -> bytes:
    items = "".join(
        f'<div class="quote"><span class="text">{text}</span><span>by '
        f'<small class="author">{author}</small></span><div class="tags">'
        + "".join(f'<a class="tag" href="/tag/{t}/">{t}</a>' for t in tags) + "</div></div>"
        for text, author, tags in quotes)
    nav = f'<ul class="pager"><li class="next"><a href="{next_href}">Next</a></li></ul>' \
        if next_href else ""
    return f"<html><body>{items}{nav}</body></html>".encode()


@pytest.fixture
def quotes_site() -> Iterator[str]:
    pages = {"/": _page(QUOTES[:2], "/page/2/"), "/page/2/": _page(QUOTES[2:], None)}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_scrape_quotes_gets_requests_and_beautifulsoup4_from_pypi(
        cli: CliFn, isolated: Path, quotes_site: str) -> None:
    code = (FIXTURES / "scrape_quotes.py").read_text(encoding="utf-8")
    assert "https://quotes.toscrape.com" in code
    library = isolated / ".permanent_tools"
    library.mkdir()
    (library / "scrape_quotes.py").write_text(
        code.replace("https://quotes.toscrape.com", quotes_site), encoding="utf-8")
    # the stand-in site is on this machine's loopback, which open mode reaches only by grant
    result = cli("tools", "run", "scrape_quotes", "--args", '{"args": {}}',
                 "--allow-net", quotes_site.removeprefix("http://"), timeout=600)
    assert result.returncode == 0, result
    outcome = json.loads(result.stdout)
    assert outcome["ok"] is True and outcome["count"] == 3, outcome
    # a module autoagent's own environment already has is importable without an install
    # (tools run on autoagent's interpreter): only the others are installed and declared
    missing = [dist for module, dist in (("requests", "requests"), ("bs4", "beautifulsoup4"))
               if importlib.util.find_spec(module) is None]
    for dist in missing:
        assert f"it comes from {dist}" in result.stderr, result
    history = json.loads(cli("tools", "history", "scrape_quotes", "--json").stdout)
    assert [h["version"] for h in history] == list(range(1, 2 + len(missing)))
    deps = json.loads(cli("tools", "deps", "scrape_quotes", "--json").stdout)
    assert deps["declared"] == missing
    assert set(missing) <= set(deps["locked"])
    again = cli("tools", "run", "scrape_quotes", "--args", '{"args": {}}',
                "--allow-net", quotes_site.removeprefix("http://"))
    assert again.returncode == 0 and "installing" not in again.stderr, again


def _imports(code: str) -> list[str]:
    """Every third-party top-level module the code imports, anywhere in it."""
    found: list[str] = []
    for node in ast.walk(ast.parse(code)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and \
            not node.level else []
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in found:
                found.append(top)
    return found


def test_the_originals_46_tools_load_after_installation(tmp_path: Path) -> None:
    from autoagent_core.layers import open_tool_store
    from autoagent_core.sandbox.library_call import run_library_tool

    library = tmp_path / ".permanent_tools"
    originals = sorted(p for p in FIXTURES.glob("*.py"))
    assert len(originals) == 46
    library.mkdir()
    settings = Settings(tools_dir=str(library), tool_timeout=60, tool_cpu_seconds=60)
    store = open_tool_store(settings)
    outcomes: dict[str, dict[str, object]] = {}
    for path in originals:
        code = path.read_text(encoding="utf-8")
        modules = _imports(code)
        probe = f"load_{path.stem}"
        store.save(probe, code + "\n\ndef " + probe + "():\n    import importlib\n"
                   f"    for name in {modules!r}:\n        importlib.import_module(name)\n"
                   "    return 'loaded'\n")
        _, result = run_library_tool(store, probe, {}, settings, caller="test")
        outcomes[path.stem] = {"ok": result.ok, "modules": modules,
                               "error": (result.error or {}).get("message")}
    failed = {name: o for name, o in outcomes.items() if not o["ok"]}
    expected = {name for name, o in outcomes.items()
                if set(o["modules"]) & set(UNINSTALLABLE)}  # type: ignore[arg-type]
    assert set(failed) == expected, json.dumps(failed, indent=1)
    for name in expected:
        assert "simpleaudio" in str(failed[name]["error"]), failed[name]
    print(f"{len(outcomes) - len(failed)} of {len(outcomes)} load; not installable: "
          f"{sorted(expected)}")
    shutil.rmtree(library.with_name(library.name + ".deps"), ignore_errors=True)
