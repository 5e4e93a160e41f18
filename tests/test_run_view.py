"""On a terminal ``autoagent run`` shows a live view and ends with the answer, the tools
created and used, tokens and time (run in a real pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from fixtures.runs import script_path


def _run_in_terminal(args: list[str], cwd: Path, timeout: float = 60) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40")
    proc = subprocess.Popen([sys.executable, "-m", "autoagent_core", *args], cwd=cwd,
                            stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=10), b"".join(chunks).decode("utf-8", "replace")


def test_live_view_on_a_terminal(isolated: Path) -> None:
    code, out = _run_in_terminal(["run", "--script", script_path("fix_tool"), "Average"],
                                 isolated)
    assert code == 0, out
    for text in ("turn 1", "turn 2", "created tool average v1", "FAILED name",
                 "updated tool average v2", "supervisor: done", "answer", "5.0",
                 "tools created: average v1, average v2", "tokens:", "status: completed"):
        assert text in out, text
    assert "Traceback" not in out


def test_terminal_error_is_one_line(isolated: Path) -> None:
    code, out = _run_in_terminal(["run", "-m", "2", "--script", script_path("turn_limit"),
                                  "Count"], isolated)
    assert code == 1, out
    assert "autoagent: error: turn limit reached (2 turns)" in out
    assert "Traceback" not in out
