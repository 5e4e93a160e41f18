"""Real ``autoagent run`` with the scripted backend: the run leaves its timeline, ``runs``
finds it, no secret reaches it, and its page is screenshotted for people to look at."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import CliFn
from fixtures.runs import RunTask

ARTIFACTS = Path(__file__).parent / "artifacts"
FILES = ["events.jsonl", "timeline.html", "timeline.md", "transcript.json"]
CANARY_ENV = "cfCANARYrun5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0"
CANARY_CONFIG = "sk-CANARYrunconfig1f2e3d4c5b6a79880a1b2c3d"


def test_a_scripted_run_leaves_the_four_files(run_task: RunTask, cli: CliFn) -> None:
    run = run_task("fix_tool", "Average of 2, 4 and 9")
    assert run.returncode == 0, run
    run_dir = Path(run.summary["run_dir"])
    assert sorted(p.name for p in run_dir.iterdir()) == FILES
    assert run_dir.parent.name == ".runs"
    markdown = (run_dir / "timeline.md").read_text(encoding="utf-8")
    assert "| Status | completed |" in markdown and "| Turns | 2 |" in markdown
    assert "### Ran `average`: FAILED" in markdown and "### Ran `average`: ok" in markdown
    assert "return sum(numbers) / len(numbers)" in markdown
    page = (run_dir / "timeline.html").read_text(encoding="utf-8")
    assert "Average of 2, 4 and 9" in page and "default-src &#x27;none&#x27;" in page
    transcript = json.loads((run_dir / "transcript.json").read_text(encoding="utf-8"))
    assert transcript["session_id"] == run.summary["session_id"]
    for agent in ("coder", "supervisor"):
        exchanges = transcript["agents"][agent]
        assert len(exchanges) == 2
        assert all(x["messages"][0]["role"] == "system" and x["reply"] for x in exchanges)
    # and the runs commands find it, by folder and by session id
    rows = json.loads(cli("runs", "list", "--json").stdout)
    assert [(r["folder"], r["status"], r["turns"], r["session_id"]) for r in rows] == [
        (run_dir.name, "completed", 2, run.summary["session_id"])]
    shown = cli("runs", "show", run.summary["session_id"])
    assert shown.returncode == 0 and shown.stdout == markdown


def leaky_script(path: Path) -> str:
    """A scripted run whose reply, tool output, tool exception and answer all carry the
    canaries."""
    both = f"{CANARY_ENV} {CANARY_CONFIG}"
    code = (f"def leak():\n    print('token {both}')\n"
            f"    raise ValueError('bad token {both}')\n")
    coder = {"thought": f"I was told the key is {both}",
             "actions": [{"type": "create_tool", "name": "leak", "description": both,
                          "code": code},
                         {"type": "run_tool", "name": "leak", "args": {}}]}
    supervisor = {"thought": both, "decision": "done", "feedback": both,
                  "tips": [both], "answer": f"Authorization: Bearer {both}"}
    path.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                {"agent": "supervisor", "text": json.dumps(supervisor)}]),
                    encoding="utf-8")
    return str(path)


def test_canaries_never_reach_a_real_run_folder(cli: CliFn, isolated: Path) -> None:
    config = isolated.parent / "config" / "autoagent" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'openai_api_key = "{CANARY_CONFIG}"\n', encoding="utf-8")
    script = leaky_script(isolated.parent / "leaky.json")
    result = cli("run", "--json", "--script", script, "Leak the key",
                 env={"CLOUDFLARE_AUTH_TOKEN": CANARY_ENV})
    summary = json.loads(result.stdout)
    run_dir = isolated / summary["run_dir"]
    assert sorted(p.name for p in run_dir.iterdir()) == FILES, str(result)
    for canary in (CANARY_ENV, CANARY_CONFIG):
        found = subprocess.run(["grep", "-r", "-a", "-l", canary, str(isolated / ".runs")],
                               capture_output=True, text=True, timeout=60)
        assert found.returncode == 1 and found.stdout == "", found.stdout
        listed = cli("runs", "list", "--json", env={"CLOUDFLARE_AUTH_TOKEN": CANARY_ENV})
        shown = cli("runs", "show", run_dir.name, env={"CLOUDFLARE_AUTH_TOKEN": CANARY_ENV})
        assert canary not in listed.stdout + shown.stdout
    assert "[REDACTED]" in (run_dir / "timeline.md").read_text(encoding="utf-8")


@pytest.mark.chromium
def test_screenshot_of_a_scripted_run(run_task: RunTask,
                                      chromium: Callable[..., Any]) -> None:
    """Leaves tests/artifacts/timeline.png (and the page) for people to look at."""
    run = run_task("fix_tool", "Average of 2, 4 and 9")
    assert run.returncode == 0, run
    page = (Path(run.summary["run_dir"]) / "timeline.html").resolve()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "timeline.png"
    shot.unlink(missing_ok=True)
    result = chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    (ARTIFACTS / "timeline.html").write_bytes(page.read_bytes())
