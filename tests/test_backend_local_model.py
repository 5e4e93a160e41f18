"""The real offline model: SmolLM2-135M-Instruct run by llama.cpp through the ``local``
backend, and served by ``llama_cpp.server`` to the ``openai`` backend.

Run with ``nox -s local`` (``pytest -m local``); skipped, with the reason, where the
``local`` extra is not installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.config import Settings, load_settings
from autoagent_core.errors import FormatRefusedError
from autoagent_core.layers import open_backend, resolve_backend_name
from autoagent_core.loop.guided_steps import body_messages, python_signature, task_numbers
from autoagent_core.loop.guided_syntax import TEXT_MAX_CHARS, body_schema, expression_pattern
from autoagent_core.types import CompletionOptions, LLMBackend, Message
from autoagent_plugins.local_llama.grammar import grammar_parses, strict_json_gbnf
from fixtures.backends import assert_clean_error

pytestmark = [pytest.mark.local, pytest.mark.usefixtures("local_gguf")]

ACTION_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "action": {"type": "string", "enum": ["create_tool", "run_tool", "final_answer"]},
        "code": {"type": "string"},
    },
    "required": ["thought", "action", "code"],
}
CODER = "You are a coder. Reply with one JSON object with the keys thought, action, code."


@pytest.fixture(scope="module")
def local() -> Any:
    backend = open_backend(Settings(backend="local", local_n_ctx=2048))
    yield backend
    backend.close()


def test_ask_gives_a_short_reply_and_keeps_stderr_clean(cli: Any) -> None:
    result = cli("ask", "Say hello in one short sentence.", "--backend", "local", "--json",
                 "--max-tokens", "32")
    assert result.returncode == 0, str(result)
    assert result.stderr == "", str(result)  # no llama.cpp log lines
    reply = json.loads(result.stdout)
    assert reply["text"].strip()
    assert reply["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert reply["usage"]["prompt_tokens"] > 5
    assert 0 < reply["usage"]["completion_tokens"] <= 32
    assert reply["latency_s"] > 0


def test_ask_streams_the_reply_to_stdout(cli: Any) -> None:
    result = cli("ask", "Name a colour.", "--backend", "local", "--max-tokens", "16")
    assert result.returncode == 0, str(result)
    assert result.stdout.strip() and result.stderr == "", str(result)


@pytest.mark.parametrize("task", [
    "Write a python function add(a, b) that returns the sum.",
    "Write a tool that parses CSV files and computes statistics of every column, with "
    "many comments and a long explanation.",
])
def test_a_json_schema_reply_parses_with_the_required_keys(cli: Any, isolated: Path,
                                                           task: str) -> None:
    schema = isolated / "schema.json"
    schema.write_text(json.dumps(ACTION_SCHEMA))
    result = cli("ask", task, "--backend", "local", "--system", CODER, "--json-schema",
                 str(schema), "--max-tokens", "200", "--json")
    assert result.returncode == 0, str(result)
    action = json.loads(json.loads(result.stdout)["text"])
    assert set(action) == {"thought", "action", "code"}
    assert action["action"] in ("create_tool", "run_tool", "final_answer")


def test_a_json_reply_cut_by_max_tokens_still_parses(local: LLMBackend) -> None:
    messages = [Message("system", CODER + " Explain at length in thought."),
                Message("user", "Write a tool that fetches a web page and counts its words.")]
    pieces: list[str] = []
    reply = local.complete(messages, CompletionOptions(
        max_tokens=24, json_schema=ACTION_SCHEMA, on_text=pieces.append))
    assert isinstance(json.loads(reply.text), dict)
    assert "".join(pieces) == reply.text
    assert reply.usage.completion_tokens <= 24


def test_a_schema_whose_grammar_llama_cpp_refuses_is_an_error_not_a_crash(
        local: LLMBackend) -> None:
    # the converter keeps "\\." inside a literal, an escape llama.cpp's parser refuses;
    # a request built on that grammar used to end the process with a segmentation fault
    refused = {"type": "object", "required": ["word"],
               "properties": {"word": {"type": "string", "pattern": "^a\\.(b|cd)$"}}}
    with pytest.raises(FormatRefusedError) as caught:
        local.complete([Message("user", "Say a.b")], CompletionOptions(
            max_tokens=8, json_schema=refused))
    assert caught.value.permanent
    reply = local.complete([Message("user", "Say a.b")], CompletionOptions(
        max_tokens=32, json_schema={**refused, "properties": {
            "word": {"type": "string", "pattern": "^a[.](b|cd)$"}}}))
    assert json.loads(reply.text)["word"] in ("a.b", "a.cd")


@pytest.mark.parametrize("params", [[("text", "str")], [("numbers", "list")],
                                    [("base", "int"), ("exponent", "int")]])
def test_body_replies_are_expressions_the_pattern_admits(local: LLMBackend,
                                                         params: list[tuple[str, str]]) -> None:
    pattern = re.compile(expression_pattern(params))
    signature = python_signature("tool", params)
    messages = body_messages("Compute what the task asks with the parameters.", signature)
    for sample in range(3):
        reply = local.complete(messages, CompletionOptions(
            max_tokens=96, json_schema=body_schema(params), temperature=0.8,
            seed=7 + sample))
        expression = json.loads(reply.text)["expression"]
        assert pattern.fullmatch(expression), expression
        assert '"' not in expression and "=" not in re.sub("[=!<>]=", "", expression)


def test_every_bench_task_body_grammar_is_taken_by_llama_cpp(local: Any) -> None:
    # the task's numbers are cut out of the number literals: a trie of alternatives that
    # llama.cpp's parser must still take (it refused the grammar of eight five-digit numbers)
    tasks = json.loads((Path(__file__).parents[1] / "bench" / "offline_tasks.json")
                       .read_text())["tasks"]
    params = [("number", "int"), ("value", "float"), ("text", "str"), ("items", "list")]
    hard = ["Sort [101, 1002, 10003, 100004, 99, 98.5]",
            "Add 123456789012.5, 234567890123.25, 345678901234.125 and 456789012345.75",
            "Sum [" + ", ".join(str(11111 * k) for k in range(1, 21)) + "]"]
    for task in [t["task"] for t in tasks] + hard:
        gbnf = strict_json_gbnf(body_schema(params, task_numbers(task)))
        assert grammar_parses(local.llm._model.vocab, gbnf), task
    # the Supervisor's own expression: no parameters, the task's numbers, longer texts
    check = strict_json_gbnf(body_schema([], (), TEXT_MAX_CHARS))
    assert check.startswith("expression ::=") or "\nexpression ::=" in check  # not any-object
    assert grammar_parses(local.llm._model.vocab, check)


def test_a_second_turn_evaluates_only_its_new_tokens(local: Any) -> None:
    rules = " ".join(f"Rule {i}: keep tools small and typed." for i in range(40))
    coder = [Message("system", "You are the Coder. " + rules), Message("user", "Add 2 and 3.")]
    supervisor = [Message("system", "You are the Supervisor. " + rules),
                  Message("user", "Judge the Coder.")]
    first = local.complete(coder, CompletionOptions(max_tokens=8))
    first_prompt = local.last_prompt_tokens
    second = [*coder, Message("assistant", first.text), Message("user", "Next step?")]
    local.complete(second, CompletionOptions(max_tokens=1))
    assert local.last_reused_tokens >= first_prompt - 2

    # the Supervisor asks in between: the Coder's state is restored, not evaluated again
    local.complete(supervisor, CompletionOptions(max_tokens=1))
    third = [*second, Message("assistant", "ok"), Message("user", "And now?")]
    local.complete(third, CompletionOptions(max_tokens=1))
    assert local.last_reused_tokens >= first_prompt


def test_auto_selects_the_local_model_without_credentials(cli: Any) -> None:
    assert resolve_backend_name(load_settings()) == "local"
    result = cli("ask", "Say yes.", "--json", "--max-tokens", "8",
                 env={"AUTOAGENT_BACKEND": "auto"})
    assert result.returncode == 0, str(result)
    assert json.loads(result.stdout)["model"].startswith("SmolLM2")


def test_a_file_that_is_not_a_model_is_one_clear_error(cli: Any, isolated: Path) -> None:
    bad = isolated / "broken.gguf"
    bad.write_bytes(b"GGUF this is not a model" * 10)
    result = cli("ask", "hi", "--backend", "local",
                 env={"AUTOAGENT_LOCAL_MODEL_PATH": str(bad)})
    assert_clean_error(result, 3, "\0", "cannot load the local model", str(bad))


def test_the_openai_backend_talks_to_llama_cpp_server(llama_server: str, cli: Any) -> None:
    env = {"OPENAI_BASE_URL": llama_server, "OPENAI_MODEL": "smollm2",
           "AUTOAGENT_BACKEND": "openai"}
    result = cli("ask", "Say hello.", "--json", "--max-tokens", "16", env=env)
    assert result.returncode == 0, str(result)
    reply = json.loads(result.stdout)
    assert reply["text"].strip()
    assert reply["usage"]["completion_tokens"] > 0

    streamed = cli("ask", "Name a fruit.", "--max-tokens", "16", env=env)
    assert streamed.returncode == 0 and streamed.stdout.strip(), str(streamed)
