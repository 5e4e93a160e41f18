"""``--record FILE``: every reply of any backend is written as a script that the scripted
backend replays exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.config import Settings
from autoagent_core.errors import BackendError, ScriptError, StorageError
from autoagent_core.layers import open_backend
from autoagent_core.recording import RecordingBackend, record_if_asked
from autoagent_core.types import CompletionOptions, LLMBackend, Message
from support.fake_openai import FakeOpenAI

PROMPT = [Message("user", "add two numbers")]


def replay(path: Path) -> LLMBackend:
    return open_backend(Settings(backend="scripted", script=str(path)))


def script_of(isolated: Path, items: list[Any]) -> Path:
    path = isolated / "source.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def test_a_recorded_run_replays_exactly(isolated: Path) -> None:
    source = script_of(isolated, ["plan: write add", '{"decision": "continue"}', "done: 5"])
    record = isolated / "run.json"
    backend = RecordingBackend(replay(source), record)
    agents = ["coder", "supervisor", "coder"]
    texts = [backend.complete(PROMPT, CompletionOptions(agent=a)).text for a in agents]
    assert json.loads(record.read_text()) == [
        {"agent": a, "text": t} for a, t in zip(agents, texts, strict=True)]

    again = replay(record)
    assert [again.complete(PROMPT, CompletionOptions(agent=a)).text for a in agents] == texts


def test_the_replay_checks_the_recorded_agents(isolated: Path) -> None:
    record = isolated / "run.json"
    backend = RecordingBackend(replay(script_of(isolated, ["x"])), record)
    backend.complete(PROMPT, CompletionOptions(agent="supervisor"))
    with pytest.raises(ScriptError, match=r"'supervisor'.*'coder'"):
        replay(record).complete(PROMPT, CompletionOptions(agent="coder"))


def test_the_file_is_a_complete_script_after_every_reply(isolated: Path) -> None:
    record = isolated / "run.json"
    backend = RecordingBackend(replay(script_of(isolated, ["a", "b"])), record)
    assert json.loads(record.read_text()) == []  # written before the first request
    for count in (1, 2):
        backend.complete(PROMPT, CompletionOptions())
        assert len(json.loads(record.read_text())) == count
    assert [p.name for p in isolated.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_request_records_nothing(isolated: Path) -> None:
    record = isolated / "run.json"
    backend = RecordingBackend(replay(script_of(isolated, [{"agent": "coder", "text": "a"}])),
                               record)
    with pytest.raises(BackendError):
        backend.complete(PROMPT, CompletionOptions(agent="supervisor"))
    assert json.loads(record.read_text()) == []


def test_an_unwritable_record_path_fails_before_the_first_request(isolated: Path) -> None:
    with pytest.raises(StorageError, match="cannot write"):
        RecordingBackend(replay(script_of(isolated, ["a"])), isolated / "no" / "run.json")


def test_record_if_asked_wraps_only_when_the_setting_names_a_file(isolated: Path) -> None:
    inner = replay(script_of(isolated, ["a"]))
    assert record_if_asked(inner, Settings()) is inner
    wrapped = record_if_asked(inner, Settings(record=str(isolated / "r.json")))
    assert isinstance(wrapped, RecordingBackend)
    assert (wrapped.name, wrapped.model) == ("scripted", "scripted")


def test_an_http_backend_is_recorded_with_its_streamed_text(isolated: Path) -> None:
    with FakeOpenAI.start() as server:
        server.replies.append("Hello from the server.")
        env = server.env()
        settings = Settings(backend="openai", openai_base_url=env["OPENAI_BASE_URL"],
                            openai_model=env.get("OPENAI_MODEL", "fake-model"),
                            max_retries=0)
        record = isolated / "run.json"
        backend = RecordingBackend(open_backend(settings), record)
        pieces: list[str] = []
        text = backend.complete(PROMPT, CompletionOptions(on_text=pieces.append)).text
        backend.close()
    assert text == "Hello from the server." == "".join(pieces)
    assert replay(record).complete(PROMPT, CompletionOptions()).text == text
