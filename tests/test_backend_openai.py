"""The ``openai`` backend (any OpenAI-compatible server) against the fake server, in-process
and through ``autoagent ask``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from autoagent_core.config import load_settings
from autoagent_core.errors import QuotaExceededError, UnknownModelError
from autoagent_core.layers import open_backend
from autoagent_core.types import CompletionOptions, Message
from autoagent_plugins.openai.backend import OpenAICompatBackend
from fixtures.backends import assert_clean_error
from support.fake_http import HttpError, JsonInsteadOfStream, StallAfterFirstChunk
from support.fake_openai import FakeOpenAI, OaiReply

USER = [Message("user", "hi")]
SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def backend_for(server: FakeOpenAI, **extra: Any) -> OpenAICompatBackend:
    settings = load_settings({"backend": "openai", **extra},
                             environ={**server.env(), "AUTOAGENT_MAX_RETRIES": "1"})
    llm = open_backend(settings)
    assert isinstance(llm, OpenAICompatBackend)
    return llm


def test_request_shape_and_streamed_usage(fake_openai):
    llm = backend_for(fake_openai)
    fake_openai.queue(OaiReply("one two", prompt_tokens=4, completion_tokens=2))
    pieces: list[str] = []
    done = llm.complete(USER, CompletionOptions(max_tokens=50, on_text=pieces.append))
    llm.close()
    assert "".join(pieces) == done.text == "one two"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (4, 2)
    assert done.model == "fake-model"
    (request,) = fake_openai.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {fake_openai.api_key}"
    assert request.body["model"] == "fake-model"
    assert request.body["max_tokens"] == 50
    assert request.body["stream_options"] == {"include_usage": True}
    assert fake_openai.api_key not in repr(llm) + repr(llm.http)


def test_schema_is_sent_as_json_schema(fake_openai):
    llm = backend_for(fake_openai)
    fake_openai.queue('{"n": 1}')
    assert llm.complete(USER, CompletionOptions(json_schema=SCHEMA)).text == '{"n": 1}'
    fmt = fake_openai.requests[0].body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["schema"] == SCHEMA


@pytest.mark.parametrize(("accepted", "status", "expected"), [
    (("json_object", "text"), 422, ["json_schema", "json_object"]),
    (("text",), 400, ["json_schema", "json_object", None]),
], ids=["llama-cpp-422", "plain-400"])
def test_schema_falls_back_when_the_server_refuses_it(accepted, status, expected):
    with FakeOpenAI.start(response_formats=accepted, reject_status=status) as server:
        llm = backend_for(server)
        server.queue('{"n": 2}', '{"n": 3}')
        assert llm.complete(USER, CompletionOptions(json_schema=SCHEMA)).text == '{"n": 2}'
        sent = [(r.body.get("response_format") or {}).get("type") for r in server.requests]
        assert sent == expected
        if "json_object" in accepted:
            assert server.requests[-1].body["response_format"]["schema"] == SCHEMA
        # the working mode is remembered: the next call needs one request
        llm.complete(USER, CompletionOptions(json_schema=SCHEMA))
        assert len(server.requests) == len(expected) + 1
        llm.close()


def test_no_api_key_sends_no_authorization_header():
    with FakeOpenAI.start() as server:
        llm = backend_for(server)
        server.queue("hello")
        assert llm.complete(USER, CompletionOptions()).text == "hello"
        assert "authorization" not in server.requests[0].headers
        llm.close()


def test_reasoning_only_reply_is_an_empty_reply(cli, openai_env, fake_openai):
    fake_openai.queue(OaiReply("", reasoning="hmm", finish_reason="length"))
    result = cli("ask", "hi", "--backend", "openai", env=openai_env)
    assert_clean_error(result, 4, fake_openai.api_key, "no visible answer", "max_tokens")


def test_json_instead_of_stream_is_read(fake_openai):
    llm = backend_for(fake_openai)
    fake_openai.queue(JsonInsteadOfStream())
    pieces: list[str] = []
    assert llm.complete(USER, CompletionOptions(on_text=pieces.append)).text == "from json"
    assert pieces == ["from json"]
    llm.close()


@pytest.mark.parametrize(("item", "kind"), [
    (HttpError(429, "insufficient_quota", "You exceeded your current quota"),
     QuotaExceededError),
    (HttpError(404, "model_not_found", "The model `x` does not exist"), UnknownModelError),
])
def test_quota_and_unknown_model(fake_openai, item, kind):
    llm = backend_for(fake_openai)
    fake_openai.queue(item)
    with pytest.raises(kind):
        llm.complete(USER, CompletionOptions())
    assert len(fake_openai.requests) == 1
    llm.close()


# --------------------------------------------------------------------------- CLI


def test_ask_through_the_openai_backend(cli, openai_env, fake_openai):
    fake_openai.queue("streamed words here", OaiReply("whole", prompt_tokens=3))
    result = cli("ask", "hi", "--backend", "openai", env=openai_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "streamed words here\n"
    result = cli("ask", "hi", "--backend", "openai", "--model", "other", "--json",
                 env=openai_env)
    data = json.loads(result.stdout)
    assert data["text"] == "whole"
    assert data["model"] == "other"
    assert data["usage"]["prompt_tokens"] == 3


@pytest.mark.parametrize(("item", "code", "needles"), [
    (HttpError(401, "invalid_api_key", "Incorrect API key provided"), 4, ["OPENAI_API_KEY"]),
    (HttpError(400, "context_length_exceeded",
               "This model's maximum context length is 4096 tokens"), 4, ["too long"]),
    (HttpError(400, None, "messages: field required"), 4, ["refused the request"]),
])
def test_openai_errors_are_one_line(cli, openai_env, fake_openai, item, code, needles):
    fake_openai.queue(item)
    result = cli("ask", "hi", "--backend", "openai", env=openai_env)
    assert_clean_error(result, code, fake_openai.api_key, *needles)
    assert len(fake_openai.requests) == 1


def test_wrong_key_is_rejected_without_leaking_it(cli, openai_env, fake_openai):
    env = {**openai_env, "OPENAI_API_KEY": "sk-wrong-canary-key-123"}
    result = cli("ask", "hi", "--backend", "openai", env=env)
    assert_clean_error(result, 4, "sk-wrong-canary-key-123", "OPENAI_API_KEY")


def test_openai_server_errors_are_retried(cli, openai_env, fake_openai):
    fake_openai.queue(HttpError(500, None, "boom"), HttpError(429, None, "slow down",
                                                              retry_after="0"), "recovered")
    result = cli("ask", "hi", "--backend", "openai", env=openai_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "recovered\n"
    assert len(fake_openai.requests) == 3


def test_openai_stall_after_first_chunk_is_bounded(cli, openai_env, fake_openai):
    fake_openai.queue(StallAfterFirstChunk("hello and then nothing"))
    result = cli("ask", "hi", "--backend", "openai",
                 env={**openai_env, "AUTOAGENT_READ_TIMEOUT": "1"})
    assert_clean_error(result, 4, fake_openai.api_key, "read_timeout=1")


def test_openai_dot_com_without_a_key_is_a_configuration_error(cli):
    result = cli("ask", "hi", "--backend", "openai")
    assert_clean_error(result, 3, "sk-", "OPENAI_API_KEY", "OPENAI_BASE_URL")
