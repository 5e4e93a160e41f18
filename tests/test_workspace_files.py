"""Open mode's file contract through the real CLI: the tool's current directory is the
working directory, its writes are committed after the call and reported (terminal,
``--json``, timeline, the Supervisor's view), and ``runs undo`` puts the folder back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoagent_core.sandbox.launcher import unavailable_reason
from conftest import CliFn
from support.batch_tasks import tool_script

pytestmark = pytest.mark.skipif(unavailable_reason("open") is not None,
                                reason="the open sandbox cannot be enforced here")

SUMMARIZE = '''import csv, json, os
def summarize(path: str):
    rows = list(csv.DictReader(open(path)))
    total = sum(int(r["qty"]) for r in rows)
    os.makedirs("out", exist_ok=True)
    with open("out/summary.json", "w") as fh:
        json.dump({"rows": len(rows), "total": total}, fh)
    open("notes.txt", "w").write("summed")
    return {"rows": len(rows), "total": total}
'''


def _events(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]


def _data(event: dict[str, object]) -> dict[str, object]:
    data = event.get("data", event)
    assert isinstance(data, dict)
    return data


def test_a_scripted_run_reads_and_writes_by_relative_paths_and_runs_undo_restores(
        cli: CliFn, isolated: Path) -> None:
    (isolated / "input.csv").write_text("name,qty\napple,3\npear,5\n")
    (isolated / "notes.txt").write_text("my own notes\n")  # overwritten by the tool
    script = tool_script(isolated / "s.json", "summarize", SUMMARIZE, {"path": "input.csv"},
                         answer="8, in out/summary.json")
    result = cli("run", "--script", str(script), "--json", "summarize input.csv")
    assert result.returncode == 0, result
    outcome = json.loads(result.stdout)
    assert json.loads((isolated / "out" / "summary.json").read_text()) == {"rows": 2,
                                                                          "total": 8}
    assert (isolated / "notes.txt").read_text() == "summed"
    listed = {f["path"]: f for f in outcome["files"]}
    assert listed["out/summary.json"]["change"] == "new"
    assert listed["out/summary.json"]["bytes"] == (isolated / "out/summary.json").stat().st_size
    assert listed["notes.txt"]["change"] == "modified"
    assert listed["notes.txt"]["tool"] == "summarize"
    run_dir = isolated / outcome["run_dir"]
    events = _events(run_dir)
    started = [_data(e) for e in events if e.get("kind") == "run_started"]
    assert started[0]["workdir"] == str(isolated.resolve())
    tool_runs = [_data(e) for e in events if e.get("kind") == "tool_run"]
    assert [f["path"] for f in tool_runs[-1]["files"]] == ["notes.txt", "out/summary.json"]
    assert tool_runs[-1]["refused"] == []
    # the Supervisor was told which files the tool produced
    transcript = json.loads((run_dir / "transcript.json").read_text())
    told = json.dumps(transcript["agents"]["supervisor"])
    assert "wrote out/summary.json (23 B, new)" in told
    assert "out/summary.json" in (run_dir / "timeline.md").read_text()

    undone = cli("runs", "undo", run_dir.name)
    assert undone.returncode == 0, undone
    assert not (isolated / "out").exists()
    assert (isolated / "notes.txt").read_text() == "my own notes\n"
    assert "restored notes.txt" in undone.stdout and "removed out/summary.json" in undone.stdout
    again = cli("runs", "undo", run_dir.name)
    assert again.returncode == 0 and "already undone" in again.stderr, again


def test_undo_leaves_a_file_changed_since_the_run_and_says_so(cli: CliFn, isolated: Path) -> None:
    (isolated / "input.csv").write_text("name,qty\napple,3\n")
    script = tool_script(isolated / "s.json", "summarize", SUMMARIZE, {"path": "input.csv"})
    outcome = json.loads(cli("run", "--script", str(script), "--json", "sum").stdout)
    (isolated / "out" / "summary.json").write_text("edited by me\n")
    undone = cli("runs", "undo", outcome["session_id"])
    assert undone.returncode == 1, undone
    assert (isolated / "out" / "summary.json").read_text() == "edited by me\n"
    assert not (isolated / "notes.txt").exists()  # unchanged since: removed
    lines = undone.stderr.strip().splitlines()
    assert lines == ["autoagent: not undone: out/summary.json: it was changed since the run; "
                     "left as it is"], undone


def test_tools_run_reports_each_file_and_each_refusal(cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (isolated / "old.csv").write_text("a\n")
    (tools / "scrape.py").write_text(
        "import json, os\n"
        "def scrape():\n"
        "    json.dump([{'q': 'x' * 12000}], open('quotes.json', 'w'))\n"
        "    os.remove('old.csv')\n"
        "    open('.mcp.json', 'w').write('{}')\n"
        "    return 'saved'\n")
    result = cli("tools", "run", "scrape")
    assert result.returncode == 0, result
    lines = result.stderr.strip().splitlines()
    assert set(lines[:2]) == {"autoagent: wrote quotes.json (12 KB, new)",
                              "autoagent: deleted old.csv"}, result
    assert lines[2] == ("autoagent: not written: .mcp.json: autoagent never lets a tool "
                        "create or change dot-files")
    assert lines[3].startswith("autoagent: undo with: autoagent runs undo ")
    assert not (isolated / ".mcp.json").exists() and not (isolated / "old.csv").exists()
    as_json = cli("tools", "run", "scrape", "--json")
    assert json.loads(as_json.stdout)["files"] == []  # the same content again: no change
    undone = cli("runs", "undo", lines[3].rsplit(" ", 1)[1])
    assert undone.returncode == 0, undone
    assert (isolated / "old.csv").read_text() == "a\n" and not (isolated / "quotes.json").exists()


def test_strict_mode_keeps_the_scratch_folder(cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (isolated / "input.csv").write_text("x\n")
    (tools / "where.py").write_text(
        "import os\ndef where():\n    open('made.txt', 'w').write('x')\n"
        "    return [os.getcwd(), os.path.exists('input.csv')]\n")
    result = cli("tools", "run", "where", "--sandbox", "strict", "--json")
    assert result.returncode == 0, result
    outcome = json.loads(result.stdout)
    assert outcome["result"][0] != str(isolated) and outcome["result"][1] is False
    assert outcome["files"] == [] and not (isolated / "made.txt").exists()


def test_replaced_and_deleted_folders_are_committed_and_undone(
        cli: CliFn, isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    for rel, text in (("out/a.txt", "a"), ("out/b.txt", "b"), ("old/x/y.txt", "y"),
                      ("old/z.txt", "z")):
        (isolated / rel).parent.mkdir(parents=True, exist_ok=True)
        (isolated / rel).write_text(text)
    (tools / "rebuild.py").write_text(
        "import os, shutil\n"
        "def rebuild():\n"
        "    shutil.rmtree('out')\n"
        "    os.mkdir('out')\n"
        "    open('out/a.txt', 'w').write('A2')\n"
        "    shutil.rmtree('old')\n"
        "    return sorted(n for n in os.listdir('.') if not n.startswith('.'))\n")
    result = cli("tools", "run", "rebuild", "--json")
    assert result.returncode == 0, result
    outcome = json.loads(result.stdout)
    assert outcome["result"] == ["out"]
    changes = {f["path"]: f["change"] for f in outcome["files"]}
    assert changes == {"out/a.txt": "modified", "out/b.txt": "deleted",
                       "old/x/y.txt": "deleted", "old/z.txt": "deleted"}, changes
    assert sorted(p.name for p in isolated.iterdir() if not p.name.startswith(".")) == ["out"]
    assert [p.name for p in (isolated / "out").iterdir()] == ["a.txt"]
    name = result.stderr.strip().splitlines()[-1].rsplit(" ", 1)[1]
    undone = cli("runs", "undo", name)
    assert undone.returncode == 0, undone
    for rel, text in (("out/a.txt", "a"), ("out/b.txt", "b"), ("old/x/y.txt", "y"),
                      ("old/z.txt", "z")):
        assert (isolated / rel).read_text() == text, rel


def test_undo_follows_no_journal_it_did_not_write(cli: CliFn, isolated: Path,
                                                  tmp_path: Path) -> None:
    """A cloned repository can hold a ``.runs`` folder: its journal may name another
    folder, a dot-file or a kept copy outside the run folder; undo touches none of them."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the project\n")
    undo_dir = isolated / ".runs" / "2099-01-01_00-00-00" / "undo"
    (undo_dir / "kept").mkdir(parents=True)
    (undo_dir / "kept" / "1").write_text("echo planted\n")
    entries = [
        {"workdir": str(elsewhere), "path": "cron.txt", "change": "deleted", "kept": "kept/1"},
        {"workdir": str(isolated), "path": ".bashrc", "change": "deleted", "kept": "kept/1"},
        {"workdir": str(isolated), "path": "sub/.envrc", "change": "deleted",
         "kept": "kept/1"},
        {"workdir": str(isolated), "path": "copied.txt", "change": "deleted",
         "kept": f"../../../../{secret.relative_to(tmp_path)}"},
        {"workdir": str(isolated), "path": "fine.txt", "change": "deleted", "kept": "kept/1"},
    ]
    (undo_dir / "undo.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    result = cli("runs", "undo", "2099-01-01_00-00-00")
    assert not (elsewhere / "cron.txt").exists()
    assert not (isolated / ".bashrc").exists()
    assert not (isolated / "sub").exists()
    assert not (isolated / "copied.txt").exists()
    assert (isolated / "fine.txt").read_text() == "echo planted\n", result  # its own folder
