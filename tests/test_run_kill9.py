"""A run killed with ``kill -9`` in the middle of a turn leaves its session saved as of the
last completed turn; ``--resume`` continues it, and the killed run's events are on disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CliFn
from fixtures.runs import read_events, read_session, script_path


def test_kill_9_mid_turn_then_resume(cli: CliFn, isolated: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "run", "--session-id", "killed",
         "--script", script_path("slow_tool"), "Sum 1 and 2 slowly"],
        cwd=isolated, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ))
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line or "created tool slow_sum" in line:
            break
    time.sleep(0.5)  # the tool is sleeping in the sandbox, mid-turn
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    session = read_session(isolated, "killed")
    assert session["status"] == "active"  # nothing ran to mark it otherwise
    assert session["turns"] == []  # the killed turn never completed
    run_dirs = sorted((isolated / ".runs").iterdir())
    killed_events = read_events(run_dirs[0])
    assert [e["kind"] for e in killed_events][:2] == ["run_started", "turn_started"]
    assert "tool_created" in [e["kind"] for e in killed_events]

    resumed = cli("run", "--json", "--resume", "--script", script_path("resume_after_interrupt"))
    assert resumed.returncode == 0, resumed
    summary = json.loads(resumed.stdout)
    assert summary["session_id"] == "killed"
    assert summary["status"] == "completed" and summary["answer"] == "3"
    assert read_session(isolated, "killed")["status"] == "completed"
