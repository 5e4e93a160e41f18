"""``autoagent dashboard`` in real headless Chromium (Playwright driving Debian's chromium):
a run followed live, a tool's version diff, produced images and audio, hostile text that
stays text, and the token gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoagent_core.types import AgentSpec, Session, Turn
from autoagent_plugins.fs_agents.store import FileAgentRegistry
from autoagent_plugins.fs_sessions.store import FileSessionStore
from autoagent_plugins.fs_tools.store import FilesystemToolStore
from conftest import CliFn
from fixtures.dashboard import BrowserPage, StartDashboard
from support.counting_server import CountingServer
from support.dashboard_data import RunWriter, write_media_run
from test_timeline_html import hostile

pytestmark = pytest.mark.chromium
SCRIPTS = Path(__file__).parent / "scripts"
WAIT_MS = 20_000


def test_a_run_started_while_the_page_is_open_shows_live(
        start_dashboard: StartDashboard, browser_page: BrowserPage, cli: CliFn) -> None:
    dash = start_dashboard()
    page = browser_page.page
    page.goto(dash.at("/runs/latest"))
    assert page.inner_text("h1") == "Run: waiting for a run"
    assert page.locator("#events tbody tr").count() == 0
    result = cli("run", "add the numbers 1, 2 and 3", "--script",
                 str(SCRIPTS / "happy_path.json"))
    assert result.returncode == 0, result
    page.wait_for_selector('#events tr[data-kind="run_finished"]', timeout=WAIT_MS)
    kinds = page.eval_on_selector_all("#events tbody tr", "rows => rows.map(r => r.dataset.kind)")
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "tool_run" in kinds and "supervisor_decision" in kinds
    tool_row = page.locator('#events tr[data-kind="tool_run"] td.summary').first
    assert tool_row.inner_text() == "sum_list v1 ok: 6"
    assert page.inner_text("h1").startswith("Run 20")
    assert browser_page.errors == []


def test_events_appended_to_an_open_run_page_appear_filtered(
        start_dashboard: StartDashboard, browser_page: BrowserPage, isolated: Path) -> None:
    run = RunWriter(isolated / ".runs", "2026-12-07_09-00-00").start("follow me")
    dash = start_dashboard()
    page = browser_page.page
    page.goto(dash.at("/runs/2026-12-07_09-00-00", kind="tool_run"))
    page.wait_for_function("document.getElementById('live-status') !== null")
    assert page.locator("#events tbody tr").count() == 0
    run.emit("model_reply", agent="coder", turn=1, text="not a tool run")
    run.tool_run("count_words", {"words": 3})
    page.wait_for_selector('#events tr[data-kind="tool_run"]', timeout=WAIT_MS)
    assert page.locator("#events tbody tr").count() == 1
    assert "count_words v1 ok" in page.inner_text("#events tbody")


def test_a_tools_version_diff_shows_the_changed_line(
        start_dashboard: StartDashboard, browser_page: BrowserPage, isolated: Path) -> None:
    store = FilesystemToolStore(isolated / ".permanent_tools")
    store.save("combine", "def combine(a, b):\n    total = a + b\n    return total\n", "v1")
    store.save("combine", "def combine(a, b):\n    total = a * b\n    return total\n", "v2")
    dash = start_dashboard()
    page = browser_page.page
    page.goto(dash.at("/tools/combine", a=1, b=2))
    added = page.locator("#diff .add").all_inner_texts()
    removed = page.locator("#diff .del").all_inner_texts()
    assert [line for line in added if not line.startswith("+++")] == ["+    total = a * b"]
    assert [line for line in removed if not line.startswith("---")] == ["-    total = a + b"]
    assert "def" in page.inner_text(".code")  # the code, highlighted
    assert browser_page.errors == []


def test_images_and_audio_written_by_a_tool_appear_on_the_files_page(
        start_dashboard: StartDashboard, browser_page: BrowserPage, isolated: Path) -> None:
    write_media_run(isolated / ".runs", isolated)
    dash = start_dashboard()
    page = browser_page.page
    page.goto(dash.at("/files"))
    image = page.locator('img[src*="chart.png"]')
    page.wait_for_function(
        "document.querySelector('img[src*=\"chart.png\"]').naturalWidth > 0", timeout=WAIT_MS)
    assert image.count() == 1
    page.wait_for_function(
        "document.querySelector('audio[src*=\"speech.wav\"]').readyState >= 1",
        timeout=WAIT_MS)
    duration = page.eval_on_selector('audio[src*="speech.wav"]', "a => a.duration")
    assert duration == pytest.approx(0.5, abs=0.05)
    frame = page.locator('iframe[src*="page.html"]')
    assert frame.get_attribute("sandbox") == ""
    assert "quotes" in page.inner_text('section[data-kind="json"] .code')
    assert browser_page.errors == []


def test_a_hostile_tool_result_runs_nothing(
        start_dashboard: StartDashboard, browser_page: BrowserPage, isolated: Path,
        local_server: CountingServer) -> None:
    evil = hostile(local_server.url)
    (isolated / "out").mkdir()
    (isolated / "out" / "evil.html").write_text(evil + f"<script>fetch('{local_server.url}"
                                                "/from-file')</script>")
    (isolated / "out" / "evil.txt").write_text(evil)
    run = RunWriter(isolated / ".runs", "2026-12-07_08-00-00", isolated).start(evil)
    run.emit("model_reply", agent="coder", turn=1,
             text=json.dumps({"thought": evil, "actions": [
                 {"type": "run_tool", "name": "x", "args": {"html": evil}}]}))
    run.tool_run("scrape", evil, files=[{"path": "out/evil.html", "bytes": 1, "change": "new"},
                                        {"path": "out/evil.txt", "bytes": 1, "change": "new"}])
    run.emit("supervisor_decision", turn=1, decision="continue", feedback=evil, tips=[evil])
    tools = FilesystemToolStore(isolated / ".permanent_tools")
    tools.save("scrape", f"def scrape():\n    return {evil!r}\n", evil)
    tools.save("scrape", f"def scrape():\n    return {evil[:60]!r}\n", evil)
    tools.record_run("scrape", ok=False, error=evil)
    FileAgentRegistry(isolated / ".agents").save(AgentSpec("critic", evil, evil))
    sessions = FileSessionStore(isolated / ".sessions")
    session = Session(id="s-evil", task=evil, answer=evil,
                      turns=[Turn(1, messages=[{"agent": "coder", "role": "assistant",
                                                "content": evil}], decision={"feedback": evil})])
    sessions.create(session)
    dash = start_dashboard()
    page = browser_page.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    name = "/runs/2026-12-07_08-00-00"
    visited = ["/runs", name, f"{name}?view=conversation", f"{name}?view=raw", "/sessions",
               "/sessions/s-evil", "/tools", "/tools/scrape", "/agents", "/agents/critic"]
    for path in visited:
        page.goto(dash.at(path))
        page.wait_for_load_state("networkidle")
        assert "PWNED" not in page.title()
        assert "<script>document.title='PWNED'" in page.inner_text("main"), path  # as text
    page.goto(dash.at(name))
    run.tool_run("scrape", evil)  # and once more, through the live stream
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length >= 5",
                           timeout=WAIT_MS)
    assert "<script>" in page.locator("#events tbody tr").last.inner_text()
    page.wait_for_timeout(300)
    assert local_server.snapshot() == []
    assert dialogs == [] and browser_page.errors == [] and browser_page.console == []
    assert all(url.startswith(dash.base) for url in browser_page.requests), \
        browser_page.requests
    # the Files page frames the hostile HTML file: the frame runs no script and reaches
    # nothing (its blocked attempts are what the console reports)
    page.goto(dash.at("/files"))
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert "PWNED" not in page.title()
    assert local_server.snapshot() == []
    assert dialogs == [] and browser_page.errors == []
    assert all("violates the following Content Security Policy" in line
               or "Blocked script execution" in line or "is sandboxed" in line
               for line in browser_page.console), browser_page.console
    served = dash.requested()
    assert all(p.startswith(("/runs", "/sessions", "/files", "/static/", "/favicon.ico",
                             "/tools", "/agents"))
               for p in served), \
        served
    raw = [p for p in served if "/raw" in p]
    assert raw == [f"{name}/raw"] * len(raw) and len(raw) >= 1


def test_without_the_token_the_browser_gets_401(
        start_dashboard: StartDashboard, browser_page: BrowserPage) -> None:
    dash = start_dashboard()
    page = browser_page.page
    response = page.goto(f"{dash.base}/runs")
    assert response is not None and response.status == 401
    assert "needs its token" in page.inner_text("body")
    response = page.goto(dash.at("/sessions", status="failed"))
    assert response is not None and response.status == 200
    # the cookie is set and the token leaves the address bar (and the history)
    assert page.url == f"{dash.base}/sessions?status=failed"
    assert page.inner_text("h1") == "Sessions"
    response = page.goto(f"{dash.base}/tools")  # the cookie the first visit set
    assert response is not None and response.status == 200
    assert page.inner_text("h1") == "Tools"
