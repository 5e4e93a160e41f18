"""The HTML timeline is inert and self-contained (RELIABILITY item 17): checked by parsing
the page, and in headless Chromium against a local server that counts requests."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.events import EventBus
from fixtures.timeline import RecordRun
from support.counting_server import CountingServer
from support.timeline_events import TASK, emit_realistic_run

ARTIFACTS = Path(__file__).parent / "artifacts"
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "div", "span", "h1", "h2",
    "h3", "dl", "dt", "dd", "nav", "a", "section", "ul", "li", "details", "summary", "pre",
    "code", "footer",
}
Chromium = Callable[..., Any]


def hostile(url: str) -> str:
    """Markup that would run script, or reach ``url``, if the page rendered it."""
    return (
        f"<script>document.title='PWNED';new Image().src='{url}/script'</script>"
        f"<img src=x onerror=\"document.title='PWNED';fetch('{url}/onerror')\">"
        f'<img src="{url}/x.png">'
        f"<a href=\"javascript:fetch('{url}/js-link')\">click me</a>"
        f"</script><script>fetch('{url}/after-close')</script>"
        f'<link rel="stylesheet" href="{url}/x.css">'
        f"<style>body {{ background: url({url}/bg.png) }}</style>"
        f'<iframe src="{url}/frame"></iframe>'
        f'<meta http-equiv="refresh" content="0;url={url}/refresh">'
        f"<svg onload=\"fetch('{url}/svg')\"></svg>"
        f'<base href="{url}/"><form action="{url}/form"><button>go</button></form>'
        f"[md link](javascript:alert(1)) ![md image]({url}/md.png)"
    )


class PageParser(HTMLParser):
    """Collects tags, attributes, text and the inline style of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        else:
            self.text.append(data)


def parse(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    parser.close()
    return parser


def record_hostile(record_run: RecordRun, url: str) -> Path:
    payload = hostile(url)

    def emit(bus: EventBus) -> None:
        emit_realistic_run(bus, payload=payload)
        bus.emit("error", message="boom " + payload, kind="internal")
        bus.emit("agent" + payload, detail=payload)  # an unknown kind, hostile too

    return record_run(emit) / "timeline.html"


def test_hostile_content_is_text_and_the_page_has_a_strict_csp(record_run: RecordRun) -> None:
    url = "http://127.0.0.1:9"
    page = record_hostile(record_run, url).read_text(encoding="utf-8")
    parsed = parse(page)
    tags = [tag for tag, _ in parsed.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert "script" not in tags and "img" not in tags
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "style", "action", "srcset"), (tag, name)
            if name == "href":
                assert value is not None and value.startswith("#"), value
    # every payload shows as text, verbatim
    text = "".join(parsed.text)
    assert hostile(url) in text
    assert text.count(hostile(url)) >= 10
    # the CSP: first thing after the charset, default-src 'none', style by hash only
    metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
    assert metas[0] == {"charset": "utf-8"}
    assert metas[1]["http-equiv"] == "Content-Security-Policy"
    policy = metas[1]["content"] or ""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives and "unsafe-inline" not in policy
    assert {m.get("http-equiv") for m in metas} == {None, "Content-Security-Policy"}
    assert len(parsed.styles) == 1
    digest = base64.b64encode(hashlib.sha256(parsed.styles[0].encode()).digest()).decode()
    assert directives["style-src"] == f"'sha256-{digest}'"
    assert re.search(r"<head>\s*<meta charset=\"utf-8\">\s*<meta http-equiv=", page)


def test_the_page_summarises_the_run(record_run: RecordRun) -> None:
    page = (record_run(emit_realistic_run) / "timeline.html").read_text(encoding="utf-8")
    text = " ".join(" ".join(parse(page).text).split())
    assert TASK in text
    assert "completed" in text and "The average is 10." in text
    for label in ("Turns 2", "Tokens 2,700", "Time 7.5 s", "Tools created average"):
        assert label in text, label
    assert "Turn 1" in text and "Turn 2" in text
    assert page.count("<details>") >= 4  # tool code, prompts, raw replies fold away
    assert "name error" in text and "name 'number' is not defined" in text


# --------------------------------------------------------------------------- Chromium


def dump_dom(chromium: Chromium, page: Path) -> str:
    result = chromium("--virtual-time-budget=3000", "--dump-dom", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    return str(result.stdout)


def settle(server: CountingServer) -> list[str]:
    time.sleep(0.3)  # a request a page started would have arrived by now
    return server.snapshot()


@pytest.mark.chromium
def test_chromium_detects_a_page_that_is_not_inert(
        chromium: Chromium, local_server: CountingServer, tmp_path: Path) -> None:
    """The harness works: an unprotected page runs its script and loads the image."""
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><title>control</title>"
                    "<script>document.title='PWNED'</script>"
                    f'<img src="{local_server.url}/control.png">', encoding="utf-8")
    dom = dump_dom(chromium, page)
    assert "<title>PWNED</title>" in dom
    assert "/control.png" in settle(local_server)


@pytest.mark.chromium
def test_chromium_renders_the_hostile_page_inert(
        chromium: Chromium, local_server: CountingServer, record_run: RecordRun) -> None:
    page = record_hostile(record_run, local_server.url)
    dom = dump_dom(chromium, page)
    assert "PWNED</title>" not in dom
    assert "Compute the average of the numbers" in dom
    assert "&lt;script&gt;document.title='PWNED'" in dom
    assert settle(local_server) == []


@pytest.mark.chromium
@pytest.mark.parametrize("layer", ["escaping", "csp"])
def test_each_defence_holds_alone(chromium: Chromium, local_server: CountingServer,
                                  record_run: RecordRun, layer: str) -> None:
    """Without the CSP, escaping keeps the page inert; with escaping defeated (raw
    payload spliced in), the CSP alone blocks script and requests. (A CSP cannot stop a
    ``<meta http-equiv="refresh">`` navigation: only escaping does, so that one payload
    is left out of the CSP-only case.)"""
    page = record_hostile(record_run, local_server.url)
    html = page.read_text(encoding="utf-8")
    if layer == "escaping":
        html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    else:
        raw = re.sub(r'<meta http-equiv="refresh"[^>]*>', "", hostile(local_server.url))
        html = html.replace("<footer>", raw + "<footer>")
    page.write_text(html, encoding="utf-8")
    dom = dump_dom(chromium, page)
    assert "PWNED</title>" not in dom
    assert settle(local_server) == []


@pytest.mark.chromium
def test_screenshot_of_the_hostile_page(chromium: Chromium, record_run: RecordRun) -> None:
    """Leaves tests/artifacts/timeline-hostile.png: the payloads show as plain text."""
    page = record_hostile(record_run, "http://127.0.0.1:9")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "timeline-hostile.png"
    shot.unlink(missing_ok=True)
    result = chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
