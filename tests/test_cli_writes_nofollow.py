"""What the CLI itself writes and reads in folders others can write: a symlinked or dangling
``TASKS.results.jsonl`` is refused (exit 8) with its target unchanged; a session export
onto a link is refused; a task's ``script`` must stay in the TASKS file's folder; and
``python -m autoagent_core`` does not import modules from the working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CliFn
from support.batch_tasks import own_tool_tasks, read_results


@pytest.mark.parametrize("dangling", [False, True])
def test_batch_refuses_a_linked_results_file(cli: CliFn, isolated: Path,
                                             dangling: bool) -> None:
    tasks = own_tool_tasks(isolated / "b", 1)
    target = isolated / "bashrc"
    if not dangling:
        target.write_text("# the user's shell start-up\n")
    results = tasks.with_name("tasks.results.jsonl")
    results.symlink_to(target)
    result = cli("batch", str(tasks))
    assert result.returncode == 8, result
    [line] = result.stderr.strip().splitlines()
    assert "symbolic link" in line and "tasks.results.jsonl" in line
    if dangling:
        assert not target.exists()
    else:
        assert target.read_text() == "# the user's shell start-up\n"
    assert results.is_symlink()


def test_batch_refuses_a_fifo_results_file_at_once(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "b", 1)
    os.mkfifo(tasks.with_name("tasks.results.jsonl"))
    result = cli("batch", str(tasks), timeout=30)
    assert result.returncode == 8 and "not a regular file" in result.stderr, result


def test_batch_still_appends_to_its_own_results_file(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "b", 1)
    results = tasks.with_name("tasks.results.jsonl")
    results.write_text('{"id": "old", "status": "completed"}\n')
    result = cli("batch", str(tasks))
    assert result.returncode == 0, result
    assert [r["id"] for r in read_results(results)] == ["old", "t0"]


@pytest.mark.parametrize("script", ["../../../../etc/shadow", "/etc/passwd", "up/../../x.json",
                                    "link.json"])
def test_a_task_script_must_stay_in_the_tasks_folder(cli: CliFn, isolated: Path,
                                                     script: str) -> None:
    folder = isolated / "b"
    folder.mkdir()
    (isolated / "x.json").write_text("[]")
    (folder / "link.json").symlink_to(isolated / "x.json")
    tasks = folder / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "task": "t", "script": script}) + "\n")
    result = cli("batch", str(tasks))
    assert result.returncode == 2, result
    assert "'script' must be a file in the tasks file's folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_session_export_refuses_a_planted_link(cli: CliFn, isolated: Path) -> None:
    from fixtures.runs import script_path

    ran = cli("run", "Sum 1, 2 and 3", "--json", "--script", script_path("happy_path"))
    session_id = json.loads(ran.stdout)["session_id"]
    target = isolated / "victim"
    target.write_text("keep me\n")
    (isolated / "out.json").symlink_to(target)
    result = cli("sessions", "export", session_id, "-o", "out.json")
    assert result.returncode == 8 and "symbolic link" in result.stderr, result
    assert target.read_text() == "keep me\n"


def test_python_m_does_not_import_the_working_directorys_modules(isolated: Path) -> None:
    canary = isolated / "canary"
    for name in ("typer", "json", "rich"):
        (isolated / f"{name}.py").write_text(f"open({str(canary)!r}, 'a').write('{name}')\n")
    proc = subprocess.run([sys.executable, "-m", "autoagent_core", "tools", "list"],
                          cwd=isolated, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert not canary.exists()
