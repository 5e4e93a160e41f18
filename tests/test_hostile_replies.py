"""Hostile model replies and script files, through ``autoagent run --backend scripted``: lone
surrogates, deep nesting, thousands of braces, FIFOs. Each ends in one clear line (or a
format retry), bounded in time, with every file on disk readable and no session ``active``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import CliFn
from fixtures.runs import read_events, read_session

GOOD_CODER = json.dumps({"thought": "t", "actions": [{"type": "final_answer", "answer": "42"}]})
GOOD_SUPERVISOR = json.dumps({"thought": "ok", "decision": "done", "answer": "42"})


def write_script(path: Path, items: list[Any]) -> str:
    path.write_text(json.dumps(items), encoding="utf-8")
    return str(path)


def run_script(cli: CliFn, script: str, *extra: str, timeout: float = 60) -> tuple[Any, dict]:
    result = cli("run", "--json", "--backend", "scripted", "--script", script, *extra,
                 "answer 42", timeout=timeout)
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    return result, summary


def assert_clean(result: Any) -> None:
    assert "Traceback" not in result.stderr, result


def assert_files_readable(work: Path) -> None:
    """Every JSON file the run wrote parses, and no session is left active."""
    for path in [*work.glob(".sessions/*.json"), *work.glob(".runs/*/transcript.json")]:
        json.loads(path.read_bytes().decode("utf-8"))
    for path in work.glob(".runs/*/events.jsonl"):
        for line in path.read_bytes().decode("utf-8").splitlines():
            json.loads(line)
    for path in work.glob(".runs/*/timeline.*"):
        path.read_bytes().decode("utf-8")
    for path in work.glob(".sessions/*.json"):
        if path.name != "index.json":
            assert json.loads(path.read_text())["status"] != "active", path


@pytest.mark.timeout(90)
def test_lone_surrogates_in_replies_are_replaced(cli: CliFn, isolated: Path,
                                                 tmp_path: Path) -> None:
    coder = '{"thought": "a\\ud800", "actions": [{"type": "final_answer", "answer": "x\\ud800"}]}'
    supervisor = '{"thought": "ok", "decision": "done", "answer": "\\udc00y"}'
    script = write_script(tmp_path / "s.json", [{"agent": "coder", "text": coder},
                                                {"agent": "supervisor", "text": supervisor}])
    result, summary = run_script(cli, script)
    assert result.returncode == 0, result
    assert_clean(result)
    assert summary["answer"] == "\ufffdy"
    session = read_session(isolated, summary["session_id"])
    assert session["status"] == "completed"
    assert session["turns"][0]["actions"][0]["answer"] == "x\ufffd"
    assert_files_readable(isolated)
    assert "recorder" not in result.stderr  # no timeline recorder gave up


@pytest.mark.timeout(90)
def test_lone_surrogate_in_the_raw_reply_text(cli: CliFn, isolated: Path,
                                              tmp_path: Path) -> None:
    # the script's text itself holds a lone surrogate (as an HTTP backend's JSON could)
    coder = GOOD_CODER.replace('"t"', '"t\ud800"')
    script = write_script(tmp_path / "s.json", [{"agent": "coder", "text": coder},
                                                {"agent": "supervisor",
                                                 "text": GOOD_SUPERVISOR}])
    result, summary = run_script(cli, script)
    assert result.returncode == 0, result
    assert_clean(result)
    assert summary["answer"] == "42"
    assert_files_readable(isolated)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("bad", ["[" * 100_000, '{"a":' * 100_000, "{" * 40_000,
                                 '{"thought": "' + "{" * 40_000, "{}" * 20_000 + "{"])
def test_hostile_reply_gets_a_format_retry(cli: CliFn, isolated: Path, tmp_path: Path,
                                           bad: str) -> None:
    script = write_script(tmp_path / "s.json", [{"agent": "coder", "text": bad},
                                                {"agent": "coder", "text": GOOD_CODER},
                                                {"agent": "supervisor",
                                                 "text": GOOD_SUPERVISOR}])
    result, summary = run_script(cli, script, timeout=60)
    assert result.returncode == 0, result
    assert_clean(result)
    assert summary["status"] == "completed" and summary["answer"] == "42"
    events = read_events(Path(summary["run_dir"]))
    errors = [e["data"]["error"] for e in events if e["kind"] == "format_error"]
    assert len(errors) == 1, errors
    assert len(errors[0]) < 300
    assert_files_readable(isolated)


@pytest.mark.timeout(60)
def test_wrong_shape_valid_json_still_gets_a_format_retry(cli: CliFn, isolated: Path,
                                                          tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [
        {"agent": "coder", "text": '{"thought": 1, "actions": "run it"}'},
        {"agent": "coder", "text": GOOD_CODER},
        {"agent": "supervisor", "text": GOOD_SUPERVISOR}])
    result, summary = run_script(cli, script)
    assert result.returncode == 0, result
    events = read_events(Path(summary["run_dir"]))
    errors = [e["data"]["error"] for e in events if e["kind"] == "format_error"]
    assert errors == ["'actions' must be a list of action objects"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, '["\\ud800"]'])
def test_hostile_script_file(cli: CliFn, isolated: Path, tmp_path: Path,
                             content: str) -> None:
    script = tmp_path / "s.json"
    script.write_text(content)
    result, _ = run_script(cli, str(script))
    assert_clean(result)
    if content.startswith("[["):
        assert result.returncode == 2, result
        assert result.stderr.strip().splitlines()[-1].startswith("autoagent: error:")
        assert "nested deeper" in result.stderr
        assert not (isolated / ".sessions").exists()  # refused before anything is touched
    else:  # a lone reply with a lone surrogate: not JSON, so format retries, then a failure
        assert result.returncode != 0
        assert_files_readable(isolated)


@pytest.mark.timeout(60)
def test_script_file_that_is_a_fifo(cli: CliFn, isolated: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    result, _ = run_script(cli, str(fifo), timeout=30)
    assert result.returncode == 2, result
    assert_clean(result)
    assert "not a regular file" in result.stderr
