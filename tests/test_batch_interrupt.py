"""A batch killed with ``kill -9`` or stopped with Ctrl-C (SIGINT to its process group):
the results hold whole lines only, the rerun runs every task not done and none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CliFn
from support.batch_tasks import own_tool_tasks, read_results


def _start(tasks: Path, results: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "batch", str(tasks), "-j", "2",
         "-o", str(results)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, env=dict(os.environ), start_new_session=True)


def _wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_kill_9_mid_batch_then_rerun_loses_none_and_repeats_none(cli: CliFn,
                                                                 isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "k", 8, sleep_s=0.6)
    results = isolated / "r.jsonl"
    proc = _start(tasks, results, isolated)
    _wait_for(lambda: _lines(results) >= 2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    first = read_results(results)  # every line whole and valid JSON
    done_first = {r["id"] for r in first if r["status"] == "completed"}
    assert 2 <= len(done_first) < 8
    rerun = cli("batch", str(tasks), "-o", str(results), "--json")
    assert rerun.returncode == 0, rerun
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == len(done_first) and summary["ran"] == 8 - len(done_first)
    rows = read_results(results)
    completed = [r["id"] for r in rows if r["status"] == "completed"]
    assert sorted(completed) == [f"t{n}" for n in range(8)]  # each exactly once
    names = {t["name"] for t in json.loads(cli("tools", "list", "--json").stdout)}
    assert names == {f"tool_{n}" for n in range(8)}


def test_ctrl_c_marks_tasks_in_flight_interrupted(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "c", 6, sleep_s=30)
    results = isolated / "r.jsonl"
    proc = _start(tasks, results, isolated)
    sessions = isolated / ".sessions"
    _wait_for(lambda: len(list(sessions.glob("2*.json"))) >= 2 if sessions.exists()
              else False)
    time.sleep(1.0)  # the tools are sleeping in their sandboxes
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    rows = read_results(results)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"interrupted"}
    listed = json.loads(cli("sessions", "list", "--json").stdout)
    assert listed and "active" not in {s["status"] for s in listed}
    assert {r["session_id"] for r in rows} == {s["id"] for s in listed}
