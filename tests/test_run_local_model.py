"""The main job on the real offline model: `autoagent run` with no credentials picks the
local SmolLM2 model and ends cleanly with a documented exit code, whatever its answer,
leaving a session and a run folder (``nox -s local``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.local, pytest.mark.usefixtures("local_gguf")]

TASK = "Write a tool that adds two numbers and use it to add 2 and 3"


def test_run_on_the_local_model_ends_cleanly(cli: Any, isolated: Path) -> None:
    result = cli("run", TASK, "--json", "-m", "2", timeout=900)
    # 0 done, 1 failed or turn limit: both are a clean end; anything else is not
    assert result.returncode in (0, 1), result
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] in ("completed", "failed")
    assert 1 <= summary["turns"] <= 2
    assert summary["usage"]["prompt_tokens"] > 0
    session_file = isolated / ".sessions" / f"{summary['session_id']}.json"
    session = json.loads(session_file.read_text())
    assert session["backend"] == "local"
    assert session["status"] == summary["status"]
    run_dir = Path(summary["run_dir"])
    if not run_dir.is_absolute():
        run_dir = isolated / run_dir
    for name in ("events.jsonl", "timeline.md", "timeline.html", "transcript.json"):
        assert (run_dir / name).is_file(), name
    listed = cli("sessions", "list", "--json")
    assert summary["session_id"] in listed.stdout
