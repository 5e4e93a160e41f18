"""A tool never outlives the autoagent process that started it: after ``kill -9`` of the
CLI in the middle of a call, the tool (and what it started) stops too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TICKER = '''def ticker(path: str) -> int:
    import subprocess, time
    # a grandchild in its own session, which also ticks
    subprocess.Popen(["/bin/sh", "-c", f"while true; do echo g >> {path}.g; sleep 0.1; done"],
                     start_new_session=True)
    while True:
        with open(path, "a") as fh:
            fh.write("x")
        time.sleep(0.1)
'''


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def test_kill_9_of_the_cli_stops_the_running_tool(isolated: Path) -> None:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "ticker.py").write_text(TICKER)
    # a granted folder: open mode stages the working directory until the call ends
    granted = isolated.parent / "ticks"
    granted.mkdir()
    ticks = granted / "ticks.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "tools", "run", "ticker",
         "--allow-write", str(granted), "--args", json.dumps({"path": str(ticks)})],
        cwd=isolated, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=dict(os.environ, AUTOAGENT_TOOL_TIMEOUT="120"))
    grandchild = Path(f"{ticks}.g")
    deadline = time.monotonic() + 30
    while (_size(ticks) < 3 or _size(grandchild) < 3) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _size(ticks) >= 3 and _size(grandchild) >= 3, "the tool did not start ticking"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    time.sleep(1.0)  # let the kernel deliver the parent-death signal down the tree
    before = (_size(ticks), _size(grandchild))
    time.sleep(1.5)
    after = (_size(ticks), _size(grandchild))
    assert after == before, f"the tool kept running after the CLI died: {before} -> {after}"
