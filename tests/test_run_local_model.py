"""The README's main job on the real offline model (``nox -s local``): `autoagent run` with
no credentials picks the local SmolLM2 model, works in the guided strategy, writes a tool,
runs it and answers 5, leaving the tool in the library, a session and a run folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.local, pytest.mark.usefixtures("local_gguf")]

TASK = "Write a tool that adds two numbers and use it to add 2 and 3"


def test_main_job_on_the_local_model_answers_5(cli: Any, isolated: Path) -> None:
    result = cli("run", TASK, "--json", timeout=900)
    assert result.returncode == 0, result
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    assert summary["answer"].strip() == "5"
    assert summary["usage"]["total_tokens"] < 5000
    created = summary["tools_created"]
    assert created and created[0]["version"] == 1
    name = created[0]["name"]
    assert [t["name"] for t in summary["tools_used"]] == [name]
    assert summary["tools_used"][0]["failures"] == 0
    # the tool is in the library and gives the same answer when a user runs it
    listed = json.loads(cli("tools", "list", "--json").stdout)
    assert name in [t["name"] for t in listed]
    session_file = isolated / ".sessions" / f"{summary['session_id']}.json"
    session = json.loads(session_file.read_text())
    assert session["backend"] == "local"
    assert session["status"] == "completed"
    run_args = session["turns"][-1]["actions"][-1]["args"]
    rerun = cli("tools", "run", name, "--args", json.dumps(run_args))
    assert rerun.returncode == 0, rerun
    assert json.loads(rerun.stdout) == 5
    run_dir = Path(summary["run_dir"])
    if not run_dir.is_absolute():
        run_dir = isolated / run_dir
    for file in ("events.jsonl", "timeline.md", "timeline.html", "transcript.json"):
        assert (run_dir / file).is_file(), file
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[0]["data"]["strategy"] == "guided"
    steps = [e["data"].get("step") for e in events if e["kind"] == "model_reply"]
    for step in ("signature", "body", "arguments", "judge"):
        assert step in steps, step


def test_free_strategy_on_the_local_model_ends_cleanly(cli: Any, isolated: Path) -> None:
    """``--strategy free`` keeps the action protocol on the same model: a clean end with a
    documented exit code and a saved session, whatever the tiny model manages."""
    result = cli("run", TASK, "--json", "-m", "1", "--strategy", "free", timeout=900)
    assert result.returncode in (0, 1), result
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] in ("completed", "failed")
    assert summary["turns"] == 1
