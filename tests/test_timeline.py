"""The four recorders, driven through a real EventBus by synthetic runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.events import EventBus
from autoagent_core.hookspecs import hookimpl
from autoagent_core.plugins import get_plugin_manager
from autoagent_core.types import Event, Provider
from fixtures.timeline import RecordRun
from support.timeline_events import BROKEN_CODE, FIXED_CODE, TASK, emit_realistic_run

FILES = ("events.jsonl", "timeline.md", "timeline.html", "transcript.json")


def jsonl(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in
            (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_a_run_leaves_the_four_files(record_run: RecordRun) -> None:
    run_dir = record_run(emit_realistic_run)
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(FILES)
    assert run_dir.parent.name == ".runs"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}", run_dir.name)


def test_jsonl_has_every_event_in_order_as_event_to_dict(record_run: RecordRun) -> None:
    seen: list[Event] = []

    def emit(bus: EventBus) -> None:
        bus.listeners.append(seen.append)
        emit_realistic_run(bus)

    run_dir = record_run(emit)
    events = jsonl(run_dir)
    assert events == [json.loads(json.dumps(e.to_dict())) for e in seen]
    assert [e["seq"] for e in events] == list(range(1, len(seen) + 1))
    assert events[0]["kind"] == "run_started" and events[-1]["kind"] == "run_finished"


def test_markdown_tells_the_run_turn_by_turn(record_run: RecordRun) -> None:
    text = (record_run(emit_realistic_run) / "timeline.md").read_text(encoding="utf-8")
    assert TASK in text
    assert "| Status | completed |" in text
    assert "| Turns | 2 |" in text
    assert text.index("## Turn 1") < text.index("## Turn 2")
    # tools as code blocks, results, errors, decisions
    assert f"```python\n{BROKEN_CODE}```" in text
    assert f"```python\n{FIXED_CODE}```" in text
    assert "### Ran `average`: FAILED" in text
    assert "name 'number' is not defined" in text
    assert "### Ran `average`: ok" in text and "10.0" in text
    assert "### Supervisor: continue" in text and "### Supervisor: done" in text
    assert "- Use `len(numbers)`" in text.replace("\\`", "`")
    assert "## Answer\n\n```text\nThe average is 10.\n```" in text
    assert "### Asked agent `reviewer`" in text


def test_markdown_fence_is_longer_than_any_backtick_run_in_the_code(
        record_run: RecordRun) -> None:
    code = 'def fence():\n    return """\n````\nnot the end\n````\n"""\n'

    def emit(bus: EventBus) -> None:
        bus.emit("run_started", task="t", session_id="s1")
        bus.emit("turn_started", turn=1)
        bus.emit("tool_created", name="fence", version=1, code=code, created=True)

    text = (record_run(emit) / "timeline.md").read_text(encoding="utf-8")
    assert f"`````python\n{code}`````\n" in text


def test_transcript_holds_every_message_per_agent(record_run: RecordRun) -> None:
    seen: list[Event] = []

    def emit(bus: EventBus) -> None:
        bus.listeners.append(seen.append)
        emit_realistic_run(bus)

    data = json.loads((record_run(emit) / "transcript.json").read_text(encoding="utf-8"))
    assert data["task"] == TASK and data["status"] == "completed"
    assert set(data["agents"]) == {"coder", "supervisor"}
    requests = [e for e in seen if e.kind == "model_request"]
    replies = [e for e in seen if e.kind == "model_reply"]
    for agent in ("coder", "supervisor"):
        exchanges = data["agents"][agent]
        sent = [e.data["messages"] for e in requests if e.data["agent"] == agent]
        got = [e.data["text"] for e in replies if e.data["agent"] == agent]
        assert [x["messages"] for x in exchanges] == sent
        assert [x["reply"] for x in exchanges] == got
        assert all(x["usage"]["completion_tokens"] > 0 for x in exchanges)
    assert data["agents"]["coder"][0]["format_error"] == "expected one JSON object"


def test_unknown_kinds_and_missing_fields_are_rendered_not_fatal(
        record_run: RecordRun) -> None:
    warnings: list[str] = []

    def emit(bus: EventBus) -> None:
        bus.emit("run_started")
        bus.emit("turn_started")
        bus.emit("model_request")
        bus.emit("model_reply", usage="not a dict", text=None)
        bus.emit("tool_run", ok=False, error="just a string")
        bus.emit("tool_created")
        bus.emit("supervisor_decision", tips="not a list")
        bus.emit("brand_new_kind", detail={"x": [1, 2]})
        bus.emit("run_finished", turns="many", usage=None)

    run_dir = record_run(emit, warnings=warnings)
    assert warnings == []
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(FILES)
    markdown = (run_dir / "timeline.md").read_text(encoding="utf-8")
    assert "### brand\\_new\\_kind" in markdown or "### brand_new_kind" in markdown
    assert "just a string" in markdown
    page = (run_dir / "timeline.html").read_text(encoding="utf-8")
    assert "brand_new_kind" in page and "just a string" in page


@pytest.mark.parametrize("ending", ["interrupted", "failed", "killed"])
def test_files_are_written_when_the_run_does_not_complete(
        record_run: RecordRun, ending: str) -> None:
    def emit(bus: EventBus) -> None:
        emit_realistic_run(bus, finish=False)
        bus.emit("turn_started", turn=3)
        if ending == "interrupted":
            bus.emit("interrupted", turn=3)
            bus.emit("run_finished", status="interrupted", turns=3, answer=None)
        elif ending == "failed":
            bus.emit("error", message="backend said 401", kind="AuthenticationError")
            bus.emit("run_finished", status="failed", turns=3)
        # "killed": the loop raised before run_finished; the bus is still closed

    run_dir = record_run(emit)
    expected = {"interrupted": "interrupted", "failed": "failed", "killed": "incomplete"}
    markdown = (run_dir / "timeline.md").read_text(encoding="utf-8")
    assert f"| Status | {expected[ending]} |" in markdown
    assert "## Turn 3" in markdown
    page = (run_dir / "timeline.html").read_text(encoding="utf-8")
    assert f'">{expected[ending]}</span>' in page
    if ending == "failed":
        assert "backend said 401" in markdown and "backend said 401" in page


class BrokenRecorder:
    """A third-party recorder that fails on its third event."""

    def __init__(self, settings: Any, run_dir: Path) -> None:
        self.count = 0

    def handle(self, event: Event) -> None:
        self.count += 1
        if self.count == 3:
            raise RuntimeError("disk on fire")

    def close(self) -> None:
        pass


class BrokenPlugin:
    @hookimpl
    def autoagent_timeline_recorders(self) -> list[Provider]:
        return [Provider("broken", BrokenRecorder, "fails")]


def test_a_failing_recorder_is_reported_once_and_the_others_go_on(
        record_run: RecordRun) -> None:
    get_plugin_manager().register(BrokenPlugin(), "broken-plugin")
    warnings: list[str] = []
    run_dir = record_run(emit_realistic_run, warnings=warnings,
                         recorders="jsonl,broken,markdown,html,transcript")
    assert len(warnings) == 1, warnings
    assert "'broken'" in warnings[0] and "disk on fire" in warnings[0]
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(FILES)
    assert jsonl(run_dir)[-1]["kind"] == "run_finished"


def test_only_the_selected_recorders_write(record_run: RecordRun) -> None:
    run_dir = record_run(emit_realistic_run, recorders="jsonl,transcript")
    assert sorted(p.name for p in run_dir.iterdir()) == ["events.jsonl", "transcript.json"]


def test_recorder_files_are_written_atomically_no_temp_left(record_run: RecordRun) -> None:
    run_dir = record_run(emit_realistic_run)
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_plugins_list_the_four_recorders() -> None:
    names = get_plugin_manager().names("recorder")
    assert {"jsonl", "markdown", "html", "transcript"} <= set(names)
