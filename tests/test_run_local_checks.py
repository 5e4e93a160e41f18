"""The guided strategy's checks on the real offline model (``nox -s local``): a library tool
that does something else is not offered for reuse, and a run ends with exit 0 only when an
independent check (the Supervisor's own expression or a second tool) computed its answer,
otherwise failed (exit 1) with its unverified value as ``candidate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.loop.guided_steps import result_key
from fixtures.runs import read_events

pytestmark = [pytest.mark.local, pytest.mark.usefixtures("local_gguf"), pytest.mark.timeout(2400)]

MAIN_JOB = "Write a tool that adds two numbers and use it to add 2 and 3"


def _run(cli: Any, task: str) -> tuple[Any, dict[str, Any]]:
    result = cli("run", task, "--json", "-m", "2", timeout=1200)
    assert result.returncode in (0, 1), result
    assert "Traceback" not in result.stderr
    return result, json.loads(result.stdout)


def _right_or_honest(result: Any, summary: dict[str, Any], right: str) -> None:
    if result.returncode == 0:
        assert summary["status"] == "completed"
        assert summary["answer"].strip() == right
        assert summary["candidate"] is None
    else:
        assert summary["status"] == "failed"
        assert summary["answer"] in (None, "")
        assert len(result.stderr.strip().splitlines()) == 1, result


def test_an_unrelated_tool_is_not_reused(cli: Any, isolated: Path) -> None:
    first, made = _run(cli, MAIN_JOB)
    assert first.returncode == 0, first
    assert made["answer"].strip() == "5"
    adder = made["tools_created"][0]["name"]
    result, summary = _run(cli, "What is 17 times 23?")
    events = read_events(Path(summary["run_dir"]))
    offered = [e["data"]["tools"] for e in events if e["kind"] == "tools_offered"]
    assert offered and adder not in offered[0]
    assert "choose" not in [e["data"].get("step") for e in events
                            if e["kind"] == "model_request"]
    assert adder not in [t["name"] for t in summary["tools_used"]]
    _right_or_honest(result, summary, "391")


def test_done_means_an_independent_check_computed_the_answer(cli: Any,
                                                            isolated: Path) -> None:
    """On main the model answered 1000 here with exit 0 and nothing checked it. Exit 0 now
    means an independent check (the Supervisor's expression over 2 and 10, or a second tool
    designed again from the task) computed the same value; any other end is a failure with
    the unverified candidate."""
    result, summary = _run(cli, "What is 2 to the power of 10?")
    events = read_events(Path(summary["run_dir"]))
    checked = [e["data"] for e in events if e["kind"] == "answer_checked"]
    if result.returncode == 0:
        last = checked[-1]
        assert last["agreed"] is True and summary["candidate"] is None
        assert summary["answer"].strip() == json.dumps(last["value"]).strip('"')
        assert result_key(last["value"]) in {result_key(v) for v in last["second"]}
    else:
        _right_or_honest(result, summary, "1024")
        if summary["candidate"] is not None:
            assert "unverified answer" in result.stderr or "turn limit" in result.stderr
