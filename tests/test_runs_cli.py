"""``autoagent runs list`` and ``autoagent runs show``, through the real command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autoagent_core.events import EventBus
from conftest import CliFn
from fixtures.timeline import RecordRun
from support.timeline_events import TASK, emit_realistic_run


def record_three(record_run: RecordRun) -> list[Path]:
    """A completed run, a resumed run of the same session, and a killed run."""
    first = record_run(emit_realistic_run)
    second = record_run(lambda bus: emit_realistic_run(bus, turns=3, task="Second task"))

    def killed(bus: EventBus) -> None:
        emit_realistic_run(bus, finish=False, task="Killed task", session_id="other-1")

    third = record_run(killed)
    # a killed run has no closing files: only what the JSONL recorder wrote
    for name in ("timeline.md", "timeline.html", "transcript.json"):
        (third / name).unlink()
    return [first, second, third]


def test_runs_list_json(cli: CliFn, record_run: RecordRun) -> None:
    first, second, third = record_three(record_run)
    result = cli("runs", "list", "--json")
    assert result.returncode == 0, str(result)
    rows = json.loads(result.stdout)
    assert [r["folder"] for r in rows] == [third.name, second.name, first.name]
    by_folder = {r["folder"]: r for r in rows}
    assert by_folder[first.name]["task"] == TASK
    assert by_folder[first.name]["status"] == "completed"
    assert by_folder[first.name]["turns"] == 2
    assert by_folder[second.name]["turns"] == 3
    assert by_folder[third.name]["status"] == "incomplete"
    assert by_folder[third.name]["turns"] == 2  # counted from the events
    assert by_folder[third.name]["session_id"] == "other-1"
    assert all(r["started"] for r in rows)


def test_runs_list_plain_text_in_a_pipe(cli: CliFn, record_run: RecordRun) -> None:
    first, _, _ = record_three(record_run)
    result = cli("runs", "list")
    assert result.returncode == 0, str(result)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["FOLDER", "STARTED", "STATUS", "TURNS", "TASK"]
    assert len(lines) == 4
    assert lines[3].startswith(first.name) and "completed" in lines[3]
    assert "Compute the average" in lines[3]


def test_runs_list_from_markdown_when_jsonl_is_off(cli: CliFn, record_run: RecordRun) -> None:
    run_dir = record_run(emit_realistic_run, recorders="markdown,html")
    result = cli("runs", "list", "--json")
    row = json.loads(result.stdout)[0]
    assert row["folder"] == run_dir.name
    assert (row["task"], row["status"], row["turns"]) == (TASK, "completed", 2)
    assert row["session_id"] == "20250101-120000-abcd"


def test_runs_list_with_no_runs(cli: CliFn) -> None:
    result = cli("runs", "list")
    assert result.returncode == 0 and result.stdout == ""
    assert "No runs" in result.stderr
    assert json.loads(cli("runs", "list", "--json").stdout) == []


def test_runs_show_prints_the_markdown(cli: CliFn, record_run: RecordRun) -> None:
    first, _, _ = record_three(record_run)
    result = cli("runs", "show", first.name)
    assert result.returncode == 0, str(result)
    assert result.stdout == (first / "timeline.md").read_text(encoding="utf-8")


def test_runs_show_by_session_id_picks_its_latest_run(
        cli: CliFn, record_run: RecordRun) -> None:
    _, second, _ = record_three(record_run)
    result = cli("runs", "show", "20250101-120000-abcd")
    assert result.returncode == 0, str(result)
    assert "Second task" in result.stdout
    assert result.stdout == (second / "timeline.md").read_text(encoding="utf-8")


def test_runs_show_a_killed_run_renders_from_the_events(
        cli: CliFn, record_run: RecordRun, isolated: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated.parent / "cache"))
    _, _, third = record_three(record_run)
    result = cli("runs", "show", "other-1")
    assert result.returncode == 0, str(result)
    assert "| Status | incomplete |" in result.stdout and "## Turn 2" in result.stdout
    html = cli("runs", "show", "--html", third.name)
    assert html.returncode == 0, str(html)
    page = Path(html.stdout.strip())
    # rendered into the cache folder: showing a run writes nothing into it
    assert not (third / "timeline.html").exists() and page.is_file()
    assert third.resolve() not in page.parents
    assert "Killed task" in page.read_text(encoding="utf-8")


def test_runs_show_html_prints_the_page_path(cli: CliFn, record_run: RecordRun) -> None:
    first = record_run(emit_realistic_run)
    result = cli("runs", "show", first.name, "--html")
    assert result.returncode == 0, str(result)
    assert result.stdout == f"{(first / 'timeline.html').resolve()}\n"


def test_runs_show_unknown_run_is_not_found(cli: CliFn, record_run: RecordRun) -> None:
    record_run(emit_realistic_run)
    result = cli("runs", "show", "2001-01-01_00-00-00")
    assert result.returncode == 6, str(result)
    assert result.stderr.startswith("autoagent: error: no run '2001-01-01_00-00-00'")
    assert "Traceback" not in result.stderr


def test_runs_show_refuses_paths(cli: CliFn, record_run: RecordRun, isolated: Path) -> None:
    record_run(emit_realistic_run)
    outside = isolated / "outside"
    outside.mkdir()
    (outside / "timeline.md").write_text("secret notes", encoding="utf-8")
    for ref in ("../outside", "/etc", "..", "a/b"):
        result = cli("runs", "show", ref)
        assert result.returncode == 2, str(result)
        assert "secret notes" not in result.stdout


def test_log_dir_option_and_setting(cli: CliFn, record_run: RecordRun,
                                    isolated: Path) -> None:
    run_dir = record_run(emit_realistic_run, log_dir="elsewhere/logs")
    assert run_dir.parent == (isolated / "elsewhere" / "logs").resolve()
    assert json.loads(cli("runs", "list", "--json").stdout) == []
    rows = json.loads(cli("runs", "list", "--json", "--log-dir", "elsewhere/logs").stdout)
    assert [r["folder"] for r in rows] == [run_dir.name]
    env = {"AUTOAGENT_LOG_DIR": "elsewhere/logs"}
    shown = cli("runs", "show", run_dir.name, env=env)
    assert shown.returncode == 0 and TASK in shown.stdout
    shutil.rmtree(run_dir)
    assert cli("runs", "show", run_dir.name, env=env).returncode == 6


def test_runs_list_reads_a_run_whose_last_line_is_huge(
        cli: CliFn, record_run: RecordRun) -> None:
    def emit(bus: EventBus) -> None:
        emit_realistic_run(bus, finish=False)
        bus.emit("run_finished", status="completed", answer="9" * 400_000, turns=2)

    record_run(emit)
    row = json.loads(cli("runs", "list", "--json").stdout)[0]
    assert (row["status"], row["turns"]) == ("completed", 2)
