"""The scripted backend: replies replayed in order, checked against the agent asking, and
clear errors for a missing, malformed or exhausted script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.config import Settings
from autoagent_core.errors import ScriptError, UsageError
from autoagent_core.layers import open_backend
from autoagent_core.types import CompletionOptions, LLMBackend, Message
from fixtures.backends import assert_clean_error

PROMPT = [Message("system", "You are the coder."), Message("user", "add two numbers")]


def write_script(path: Path, items: Any) -> Path:
    path.write_text(json.dumps(items), encoding="utf-8")
    return path


def scripted(path: Path) -> LLMBackend:
    return open_backend(Settings(backend="scripted", script=str(path)))


def ask(backend: LLMBackend, agent: str = "coder", **kwargs: Any) -> str:
    return backend.complete(PROMPT, CompletionOptions(agent=agent, **kwargs)).text


def test_replies_come_back_in_order_for_the_agents_named(isolated: Path) -> None:
    path = write_script(isolated / "s.json", [
        "any agent may get this",
        {"agent": "coder", "text": "coder reply"},
        {"agent": "supervisor", "text": "supervisor reply"},
        {"agent": "csv_expert", "text": "specialist reply"},
        {"text": "no agent named"},
    ])
    backend = scripted(path)
    assert backend.name == "scripted" and backend.model == "scripted"
    assert ask(backend, "supervisor") == "any agent may get this"
    assert ask(backend, "coder") == "coder reply"
    assert ask(backend, "supervisor") == "supervisor reply"
    assert ask(backend, "csv_expert") == "specialist reply"
    assert ask(backend, "coder") == "no agent named"


def test_a_completion_reports_model_usage_and_finish(isolated: Path) -> None:
    backend = scripted(write_script(isolated / "s.json", ["three word reply"]))
    completion = backend.complete(PROMPT, CompletionOptions())
    assert completion.model == "scripted"
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens == 3
    assert completion.usage.prompt_tokens == 7  # words of the two messages
    assert completion.latency_s >= 0


def test_streaming_delivers_the_text_in_pieces(isolated: Path) -> None:
    text = "def add(a, b):\n    return a + b\n"
    backend = scripted(write_script(isolated / "s.json", [text]))
    pieces: list[str] = []
    assert ask(backend, on_text=pieces.append) == text
    assert len(pieces) > 1
    assert "".join(pieces) == text


def test_a_reply_for_another_agent_is_an_error_naming_both(isolated: Path) -> None:
    backend = scripted(write_script(isolated / "s.json", [
        {"agent": "supervisor", "text": "ok"}]))
    with pytest.raises(ScriptError) as err:
        ask(backend, "coder")
    assert "'supervisor'" in str(err.value) and "'coder'" in str(err.value)
    assert "reply 1" in str(err.value)
    assert err.value.exit_code == 4


def test_running_out_of_replies_is_an_error(isolated: Path) -> None:
    backend = scripted(write_script(isolated / "s.json", ["only one"]))
    ask(backend)
    with pytest.raises(ScriptError, match=r"ran out of replies.*reply 2.*has 1"):
        ask(backend)


@pytest.mark.parametrize(("content", "needle"), [
    ("[1, 2", "not valid JSON"),
    ('{"agent": "coder"}', "must hold a JSON list"),
    ("[42]", "reply 1 must be a string or an object"),
    ('["ok", {"agent": "coder"}]', "reply 2 needs a 'text' string"),
    ('[{"agent": "", "text": "x"}]', "empty or non-string 'agent'"),
    ('[{"agent": "coder", "text": "x", "tone": "dry"}]', "unknown keys: tone"),
])
def test_a_malformed_script_says_what_is_wrong(isolated: Path, content: str,
                                               needle: str) -> None:
    path = isolated / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as err:
        scripted(path)
    assert needle in str(err.value)
    assert str(path) in str(err.value)


def test_a_missing_script_file_or_setting_is_a_usage_error(isolated: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        scripted(isolated / "nope.json")
    with pytest.raises(UsageError, match="--script FILE"):
        open_backend(Settings(backend="scripted"))


def test_ask_replays_through_the_cli(cli: Any, isolated: Path) -> None:
    path = write_script(isolated / "s.json", ["Hello from the script."])
    result = cli("ask", "hi", "--json", env={"AUTOAGENT_BACKEND": "scripted",
                                              "AUTOAGENT_SCRIPT": str(path)})
    assert result.returncode == 0, str(result)
    reply = json.loads(result.stdout)
    assert reply["text"] == "Hello from the script."
    assert reply["model"] == "scripted"
    assert reply["usage"]["completion_tokens"] == 4


def test_cli_errors_are_one_line_with_the_right_exit_code(cli: Any, isolated: Path) -> None:
    env = {"AUTOAGENT_BACKEND": "scripted", "AUTOAGENT_SCRIPT": str(isolated / "nope.json")}
    assert_clean_error(cli("ask", "hi", env=env), 2, "\0", "does not exist")
    env["AUTOAGENT_SCRIPT"] = str(write_script(isolated / "empty.json", []))
    assert_clean_error(cli("ask", "hi", env=env), 4, "\0", "ran out of replies")
