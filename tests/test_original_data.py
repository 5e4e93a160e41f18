"""The original AutoAgent's real folders, read through the CLI as a user who switches would:
reading changes no byte, every tool, agent, session and run is found, sessions show their
real turn counts and Supervisor messages, events-only runs show their task and calls."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliFn
from fixtures.original import tree_digest

SESSION = "20251026_131559"  # completed, 5 turns, Supervisor tips, tool telemetry
EVENTS_ONLY_RUN = "2025-10-25_21-13-28"  # events.jsonl and tools_session/, no timeline


def _read_only_commands(work: Path) -> list[list[str]]:
    runs = sorted(p.name for p in (work / ".runs").iterdir())
    no_html = [r for r in runs if not (work / ".runs" / r / "timeline.html").exists()]
    return [
        ["tools", "list"], ["tools", "list", "--json"], ["tools", "show", "read_file"],
        ["tools", "show", "read_file", "--json"], ["tools", "history", "scrape_quotes"],
        ["agents", "list"], ["agents", "list", "--json"], ["agents", "show", "search_agent"],
        ["sessions", "list"], ["sessions", "list", "--json"],
        ["sessions", "list", "--status", "completed"],
        ["sessions", "show", SESSION], ["sessions", "show", SESSION, "--json"],
        ["sessions", "export", SESSION, "-o", str(work.parent / "export.json")],
        ["runs", "list"], ["runs", "list", "--json"], ["runs", "show", runs[-1]],
        ["runs", "show", EVENTS_ONLY_RUN], ["runs", "show", runs[0], "--html"],
        ["runs", "show", no_html[0], "--html"], ["runs", "show", SESSION],
        ["mcp", "list"], ["plugins"], ["config", "show"],
    ]


def test_every_read_only_command_leaves_every_byte_unchanged(
        cli: CliFn, original_copy: Path) -> None:
    before = tree_digest(original_copy)
    for args in _read_only_commands(original_copy):
        result = cli(*args)
        assert result.returncode == 0, str(result)
        assert "Traceback" not in result.stderr
        assert tree_digest(original_copy) == before, f"'{' '.join(args)}' changed the data"
    page = cli("runs", "show", EVENTS_ONLY_RUN, "--html").stdout.strip()
    assert original_copy not in Path(page).parents  # rendered into the cache folder
    assert "scrape_quotes" in Path(page).read_text(encoding="utf-8")


def test_counts_of_tools_agents_sessions_and_runs_match_the_folders(
        cli: CliFn, original_copy: Path) -> None:
    def listed(group: str) -> list[dict[str, object]]:
        result = cli(group, "list", "--json")
        assert result.returncode == 0, str(result)
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    tools = {p.stem for p in (original_copy / ".permanent_tools").glob("*.py")}
    agents = {p.stem for p in (original_copy / ".agents").glob("*.json")} - {"manifest"}
    sessions = {p.stem for p in (original_copy / ".sessions").glob("*.json")} - {"index"}
    runs = {p.name for p in (original_copy / ".runs").iterdir()}
    assert (len(tools), len(agents), len(sessions), len(runs)) == (46, 5, 37, 60)
    tool_rows = {str(t["name"]): t for t in listed("tools")}
    assert set(tool_rows) == tools
    # the original kept its telemetry in sessions: the newest record of each tool is shown
    stats = tool_rows["fetch_all_quotes"]["tool_stats"]
    assert isinstance(stats, dict)
    assert (stats["calls"], stats["ok"], stats["score"]) == (2, 2, 0.8)
    assert {a["name"] for a in listed("agents")} == agents
    assert {s["id"] for s in listed("sessions")} == sessions
    assert {r["folder"] for r in listed("runs")} == runs


def test_tools_show_the_one_dict_convention(cli: CliFn, original_copy: Path) -> None:
    rows = {line.split("\t")[0]: line.split("\t") for line in
            cli("tools", "list").stdout.splitlines()}
    assert rows["read_file"][2] == "read_file({path?, ...})"
    assert rows["download_and_save"][2] == "download_and_save({url?, output_path?, ...})"
    (spec,) = [t for t in json.loads(cli("tools", "list", "--json").stdout)
               if t["name"] == "read_file"]
    assert spec["parameters"]["additionalProperties"] is True
    assert spec["created_at"] == "2025-10-26T00:49:01.863438Z"  # the original's dates
    history = cli("tools", "history", "read_file")
    assert history.stdout.startswith("v1 *\t2025-10-26 00:49:01"), str(history)


def test_every_original_session_shows_its_turn_count_and_supervisor_messages(
        cli: CliFn, original_copy: Path) -> None:
    """``sessions list`` for all; ``sessions show`` as the CLI prints it, in this process
    for every session (the same lines) and through the CLI for two."""
    from autoagent_core.cli.sessions_cmd import session_lines
    from autoagent_plugins.fs_sessions.store import FileSessionStore

    store = FileSessionStore(original_copy / ".sessions")
    listed = {s["id"]: s for s in json.loads(cli("sessions", "list", "--json").stdout)}
    for path in sorted((original_copy / ".sessions").glob("2*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        total = data["metadata"]["total_turns"]
        assert listed[path.stem]["turns"] == total, path.stem
        if path.stem in (SESSION, "20251025_213354"):
            shown = cli("sessions", "show", path.stem)
            assert shown.returncode == 0, str(shown)
            text = shown.stdout
        else:
            text = "".join(line + "\n" for line, _ in session_lines(store.load(path.stem)))
        assert f"turns {total} " in text.splitlines()[0]
        flat = " ".join(text.split())
        for message in data["transcript"]:
            content = message["content"]
            if content.startswith("[Supervisor]"):
                reason = content.removeprefix("[Supervisor]").split("Acciones requeridas:")[0]
                assert " ".join(reason.split())[:60] in flat, (path.stem, reason[:60])
        if data["metadata"]["status"] == "completed":
            assert "answer: (none yet)" not in text, path.stem


def test_a_session_shows_its_proposed_answer_and_tool_telemetry(
        cli: CliFn, original_copy: Path) -> None:
    shown = cli("sessions", "show", "20251025_225045").stdout
    assert "answer: Se ha reproducido un sonido (beep) de 440" in shown
    told = cli("sessions", "show", SESSION).stdout
    assert "fetch_all_quotes: score=0.800, ok=2/2, avg_ms=5155" in told
    assert "supervisor: continue: El JSON devuelto está truncado" in told


def test_every_events_only_run_shows_its_task_and_calls(
        cli: CliFn, original_copy: Path) -> None:
    """``runs list`` for all; ``runs show`` through the CLI for two, in this process (the
    same text) for every other run without a timeline."""
    from autoagent_core.config import load_settings
    from autoagent_plugins.timeline.runs import markdown_of

    settings = load_settings()
    sessions = original_copy / ".sessions"
    listed = {r["folder"]: r for r in json.loads(cli("runs", "list", "--json").stdout)}
    checked = 0
    for folder in sorted((original_copy / ".runs").iterdir()):
        if (folder / "timeline.md").exists():
            continue
        events = [json.loads(line) for line in
                  (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()]
        task = next((e["summary"].removeprefix("task=") for e in events
                     if e["etype"] == "run_started" and e["summary"].startswith("task=")),
                    None)
        if task is None:  # a resumed run names its session
            sid = next(e["summary"].removeprefix("session_id=") for e in events
                       if e["etype"] == "session_resumed")
            task = json.loads((sessions / f"{sid}.json").read_text())["metadata"]["task"]
        calls = [e["summary"].split("(")[0] for e in events if e["etype"] == "tool_call"]
        row = listed[folder.name]
        assert row["task"] == task and row["turns"] == max(e["turn"] for e in events)
        if checked < 2:
            shown = cli("runs", "show", folder.name)
            assert shown.returncode == 0, str(shown)
            text = shown.stdout
        else:
            text = markdown_of(folder, settings)
        assert f"| Task | {' '.join(task.split())[:40]}" in text
        assert f"| Tool calls | {len(calls)} |" in text
        for name in set(calls):
            assert f"`{name}`" in text, (folder.name, name)
        checked += 1
    assert checked == 17


def test_an_events_only_run_shows_errors_decisions_answers_and_code(
        cli: CliFn, original_copy: Path) -> None:
    shown = cli("runs", "show", EVENTS_ONLY_RUN).stdout
    assert "`scrape_quotes` failed: args {}; error: name 'requests' is not defined" in shown
    assert "## Supervisor decisions" in shown and "Agrega 'import requests'" in shown
    assert "## Tool scrape_quotes (turn 1)" in shown and "def scrape_quotes(args" in shown
    answered = cli("runs", "show", "2025-10-25_21-34-46").stdout
    assert "## Proposed answer (turn 2)" in answered
    assert cli("runs", "list").returncode == 0
