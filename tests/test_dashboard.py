"""``autoagent dashboard`` over HTTP: the token gate, the JSON twin of each page, the
original AutoAgent's folders, and which files it agrees to serve. The real command runs in
a subprocess on 127.0.0.1; requests are real HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from autoagent_plugins.fs_tools.store import FilesystemToolStore
from conftest import CliFn
from fixtures.dashboard import StartDashboard
from fixtures.original import ORIGINAL_DIR
from support.dashboard_data import RunWriter, write_media_run, write_session_index
from support.fake_dist import make_fake_plugin

ORIGINAL = ORIGINAL_DIR


def test_every_request_without_the_token_gets_401(start_dashboard: StartDashboard,
                                                  isolated: Path) -> None:
    write_media_run(isolated / ".runs", isolated)
    dash = start_dashboard()
    run = "2026-12-07_10-00-00"
    for path in ("/", "/runs", "/runs.json", f"/runs/{run}", f"/runs/{run}/stream",
                 f"/runs/{run}/raw?path=out/chart.png", "/static/dashboard.js", "/sessions",
                 "/tools.json", "/files", "/nowhere"):
        response = httpx.get(dash.base + path)
        assert response.status_code == 401, path
        assert "token" in response.text
        assert response.headers.get("set-cookie") is None
    wrong = httpx.get(f"{dash.base}/runs?token=not-the-token",
                      cookies={"autoagent_dashboard": "nope"})
    assert wrong.status_code == 401


def test_the_token_sets_a_strict_http_only_cookie_that_then_suffices(
        start_dashboard: StartDashboard) -> None:
    dash = start_dashboard()
    first = httpx.get(dash.url)
    assert first.status_code == 200
    cookie = first.headers["set-cookie"]
    assert f"autoagent_dashboard={dash.token}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    csp = first.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert first.headers["referrer-policy"] == "no-referrer"
    again = httpx.get(f"{dash.base}/tools", cookies={"autoagent_dashboard": dash.token})
    assert again.status_code == 200 and "<h1>Tools</h1>" in again.text
    # the server log names requests but never holds the token
    assert not any(dash.token in line for line in dash.log[1:])


def test_json_twins_of_runs_tools_and_sessions(start_dashboard: StartDashboard,
                                               isolated: Path) -> None:
    write_media_run(isolated / ".runs", isolated)
    store = FilesystemToolStore(isolated / ".permanent_tools")
    store.save("fetch_page", '# /// script\n# dependencies = ["requests>=2"]\n'
               '# [tool.autoagent]\n# secrets = ["SERPAPI_KEY"]\n# ///\n'
               "def fetch_page(url):\n    return url\n", "Fetch a page")
    store.save("fetch_page", "def fetch_page(url):\n    return url.upper()\n", "Fetch a page")
    store.record_run("fetch_page", ok=True, duration_s=0.2)
    store.record_run("fetch_page", ok=False, error="boom", duration_s=0.4)
    write_session_index(isolated / ".sessions", 120)
    planter = RunWriter(isolated / ".runs", "2026-12-07_09-00-00", isolated).start("plant")
    planter.emit("tool_run", name="planter", version=1, ok=True, result=1, files=[], refused=[
        {"path": ".mcp.json", "reason": "autoagent never lets a tool create or change dot-files"}])
    dash = start_dashboard()
    client = httpx.Client(base_url=dash.base, params={"token": dash.token})

    runs = client.get("/runs.json").json()
    assert [r["folder"] for r in runs] == ["2026-12-07_10-00-00", "2026-12-07_09-00-00"]
    assert runs[0]["status"] == "completed" and runs[0]["tokens"] == 15
    assert runs[0]["task"] == "make a chart and read it aloud"
    events = client.get("/runs/2026-12-07_10-00-00.json").json()["events"]
    assert [e["kind"] for e in events][:2] == ["run_started", "turn_started"]
    only_tools = client.get("/runs/2026-12-07_10-00-00.json", params={"kind": "tool_run"})
    assert {e["kind"] for e in only_tools.json()["events"]} == {"tool_run"}
    assert only_tools.json()["events"][0]["summary"].startswith(
        "make_media v1 ok: {\"ok\": true} | wrote out/chart.png (70 B, new), ")
    refused = client.get("/runs/2026-12-07_09-00-00.json", params={"agent": "tool"}).json()
    assert [e["summary"] for e in refused["events"]] == [
        "planter v1 ok: 1 | not written: .mcp.json: autoagent never lets a tool create or "
        "change dot-files"]

    tools = client.get("/tools.json").json()
    assert tools[0]["name"] == "fetch_page" and tools[0]["version"] == 2
    assert tools[0]["runs"] == 2 and tools[0]["failures"] == 1
    assert tools[0]["latency_ms"] == pytest.approx(300.0)
    tool = client.get("/tools/fetch_page.json", params={"version": 1}).json()
    assert tool["dependencies"] == ["requests>=2"] and tool["secrets"] == ["SERPAPI_KEY"]
    assert [v["version"] for v in tool["versions"]] == [1, 2]

    sessions = client.get("/sessions.json").json()
    assert sessions["total"] == 120 and len(sessions["sessions"]) == 50
    assert sessions["pages"] == 3
    failed = client.get("/sessions.json", params={"status": "failed"}).json()
    assert failed["total"] == 40
    assert {s["status"] for s in failed["sessions"]} == {"failed"}
    found = client.get("/sessions.json", params={"q": "number 117"}).json()
    assert [s["task"] for s in found["sessions"]] == ["task number 117"]

    missing = client.get("/runs/2099-01-01_00-00-00")
    assert missing.status_code == 404
    assert client.get("/tools/nope.json").status_code == 404


@pytest.mark.skipif(not ORIGINAL.is_dir(), reason=f"no original AutoAgent data at {ORIGINAL}")
def test_reads_the_original_autoagents_folders(start_dashboard: StartDashboard,
                                               isolated: Path) -> None:
    for name in (".runs", ".sessions", ".agents", ".permanent_tools"):
        shutil.copytree(ORIGINAL / name, isolated / name)
    dash = start_dashboard()
    client = httpx.Client(base_url=dash.base, params={"token": dash.token})
    runs = client.get("/runs.json").json()
    assert len(runs) == 60
    assert sum(1 for r in runs if r["task"]) > 30
    run = "2025-10-25_21-34-46"
    page = client.get(f"/runs/{run}", params={"view": "conversation"})
    assert page.status_code == 200 and "Montevideo" in page.text
    events = client.get(f"/runs/{run}.json").json()["events"]
    assert events[0]["kind"] == "session_resumed"
    assert any(e["kind"] == "supervisor_decision" and e["agent"] == "supervisor"
               for e in events)
    files = client.get(f"/runs/{run}/files.json").json()
    assert [f["path"] for f in files] == ["final/turn_002_answer.txt"]
    answer = client.get(f"/runs/{run}/raw", params={"path": "final/turn_002_answer.txt"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    sessions = client.get("/sessions.json").json()["sessions"]
    assert len(sessions) > 20
    completed = next(s for s in sessions if s["status"] == "completed")
    session = client.get(f"/sessions/{completed['id']}")
    assert session.status_code == 200 and "Turns" in session.text
    resumed = client.get("/sessions/20251025_213354.json").json()  # run, then resumed
    assert resumed["runs"][:2] == ["2025-10-25_21-33-54", "2025-10-25_21-34-46"]
    tool = client.get("/tools.json").json()[0]["name"]
    assert client.get(f"/tools/{tool}").status_code == 200
    assert len(client.get("/agents.json").json()) == 5
    assert len(client.get("/tools.json").json()) > 20


def test_serves_only_files_the_run_reports_inside_its_workdir(
        start_dashboard: StartDashboard, isolated: Path, tmp_path: Path) -> None:
    log_dir = isolated / ".runs"
    write_media_run(log_dir, isolated)
    (isolated / ".env").write_text("API_KEY=secret-value\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("private")
    os.symlink(outside, isolated / "out" / "link.txt")
    run = RunWriter(log_dir, "2026-12-07_12-00-00", isolated).start("tricks")
    run.tool_run("tricky", "ok", files=[
        {"path": "out/link.txt", "bytes": 7, "change": "new"},
        {"path": "../outside.txt", "bytes": 7, "change": "new"},
        {"path": ".env", "bytes": 20, "change": "new"},
        {"path": "/etc/passwd", "bytes": 1, "change": "new"}])
    dash = start_dashboard()
    client = httpx.Client(base_url=dash.base, params={"token": dash.token})
    media = "/runs/2026-12-07_10-00-00/raw"
    png = client.get(media, params={"path": "out/chart.png"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    html = client.get(media, params={"path": "out/page.html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-security-policy"].startswith("sandbox")
    data = client.get(media, params={"path": "out/data.json"})
    assert data.headers["content-type"].startswith("text/plain")
    # a file the run does not report is not served, even inside the working directory
    assert client.get(media, params={"path": ".env"}).status_code == 404
    assert client.get(media, params={"path": "out/../.env"}).status_code == 404
    tricks = "/runs/2026-12-07_12-00-00/raw"
    for path in ("out/link.txt", "../outside.txt", ".env", "/etc/passwd"):
        response = client.get(tricks, params={"path": path})
        assert response.status_code == 404, path
        assert "private" not in response.text and "secret-value" not in response.text


def test_without_the_extra_it_says_what_to_install(isolated: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "sitecustomize.py").write_text("import sys\nsys.modules['starlette'] = None\n")
    proc = subprocess.run(
        [sys.executable, "-m", "autoagent_core", "dashboard", "--no-browser", "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=isolated,
        env={**os.environ, "PYTHONPATH": f"{shadow}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'autoagent[dashboard]'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_start_does_not_import_the_server_stack(isolated: Path) -> None:
    code = ("import sys\nfrom autoagent_core.cli.app import build_app\napp = build_app()\n"
            "import typer.main\ncommand = typer.main.get_command(app)\n"
            "assert 'dashboard' in command.commands, sorted(command.commands)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('starlette', 'uvicorn', 'sse_starlette', 'pygments')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=isolated)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_plugin_adds_a_page(start_dashboard: StartDashboard, tmp_path: Path) -> None:
    site = tmp_path / "site"
    make_fake_plugin(site, "autoagent-batchpage", "batchpage", "batchpage_plugin", (
        "from autoagent_core.hookspecs import hookimpl\n"
        "from autoagent_core.types import Provider\n\n"
        "def progress(context, params):\n"
        "    return [{'task': '<b>one</b>', 'state': params.get('state', 'done')}]\n\n"
        "@hookimpl\n"
        "def autoagent_dashboard_pages():\n"
        "    return [Provider('batch', progress, 'Batch progress')]\n"))
    dash = start_dashboard(env={"PYTHONPATH": f"{site}{os.pathsep}"
                                              f"{os.environ.get('PYTHONPATH', '')}"})
    client = httpx.Client(base_url=dash.base, params={"token": dash.token})
    home = client.get("/runs")
    assert '<a href="/p/batch">Batch progress</a>' in home.text
    page = client.get("/p/batch")
    assert page.status_code == 200 and "&lt;b&gt;one&lt;/b&gt;" in page.text
    assert client.get("/p/batch.json", params={"state": "running"}).json() == [
        {"task": "<b>one</b>", "state": "running"}]
    assert client.get("/p/none").status_code == 404


def test_ctrl_c_stops_it_even_with_a_page_following_a_run(start_dashboard: StartDashboard,
                                                          isolated: Path) -> None:
    RunWriter(isolated / ".runs", "2026-12-07_09-00-00").start("follow me")
    dash = start_dashboard()
    with httpx.stream("GET", dash.at("/runs/latest/stream"), timeout=10) as stream:
        first = next(stream.iter_lines())
        assert first.startswith(("id:", "event:", "data:"))
        dash.proc.send_signal(signal.SIGINT)
        assert dash.proc.wait(10) == 130  # the README's code for Ctrl-C
    time.sleep(0.2)
    assert dash.log[-1] == "autoagent: interrupted"
    assert not any("Traceback" in line for line in dash.log)


def test_known_secrets_are_masked_on_pages_json_and_the_live_stream(
        start_dashboard: StartDashboard, isolated: Path) -> None:
    canary = "canary-9f8e7d6c5b4a"
    run = RunWriter(isolated / ".runs", "2026-12-07_09-00-00", isolated).start(
        f"use the key {canary}")
    (isolated / "out").mkdir()
    (isolated / "out" / "log.txt").write_text(f"token={canary}\n")
    run.tool_run("leaky", {"echo": canary},
                 files=[{"path": "out/log.txt", "bytes": 30, "change": "new"}])
    dash = start_dashboard(env={"SERVICE_API_TOKEN": canary})
    client = httpx.Client(base_url=dash.base, params={"token": dash.token})
    name = "/runs/2026-12-07_09-00-00"
    for path, params in (("/runs", {}), ("/runs.json", {}), (name, {}), (f"{name}.json", {}),
                         (name, {"view": "raw"}), (name, {"view": "conversation"}),
                         ("/files", {}), (f"{name}/raw", {"path": "out/log.txt"})):
        response = client.get(path, params=params)
        assert response.status_code == 200, path
        assert canary not in response.text, (path, params)
        assert "[REDACTED]" in response.text or path == "/runs", (path, params)
    with client.stream("GET", f"{name}/stream", timeout=10) as stream:
        lines = []
        for line in stream.iter_lines():
            lines.append(line)
            if "leaky" in line:
                break
    assert not any(canary in line for line in lines)
    assert not any(canary in line for line in dash.log)


def test_a_port_in_use_is_one_line_and_exit_2(cli: CliFn) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = cli("dashboard", "--no-browser", "--port", str(port), timeout=60)
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"autoagent: error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(pass --port 0 for a free one)"]
