"""The Cloudflare backend in-process against the fake service: what it sends, how it reads
each shape and frame, how it maps errors, and that the token never leaks from objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autoagent_core.config import Settings, load_settings
from autoagent_core.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BadRequestError,
    ContextTooLongError,
    EmptyReplyError,
    MissingCredentialsError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    UnknownModelError,
)
from autoagent_core.layers import open_backend
from autoagent_core.types import CompletionOptions, Message
from autoagent_plugins.cloudflare.backend import CloudflareBackend, classify_error, clean_message
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.fake_http import HttpError, Raw

USER = [Message("user", "hi")]


def settings_for(cf: FakeCloudflare, **extra: Any) -> Settings:
    return load_settings({"backend": "cloudflare", **extra}, environ={
        **cf.env(), "AUTOAGENT_READ_TIMEOUT": "3", "AUTOAGENT_MAX_RETRIES": "1"})


@pytest.fixture
def backend(fake_cloudflare: FakeCloudflare) -> Iterator[CloudflareBackend]:
    llm = open_backend(settings_for(fake_cloudflare))
    assert isinstance(llm, CloudflareBackend)
    yield llm
    llm.close()


def test_the_plugin_provides_the_cloudflare_backend(fake_cloudflare):
    llm = open_backend(settings_for(fake_cloudflare, model="@cf/qwen/qwq-32b"))
    assert llm.name == "cloudflare"
    assert llm.model == "@cf/qwen/qwq-32b"
    llm.close()


def test_token_is_not_in_the_repr_of_anything(backend, fake_cloudflare):
    for thing in (backend, backend.http, vars(backend)):
        assert fake_cloudflare.token not in repr(thing)


def test_usage_spellings_and_classic_stream_usage(backend, fake_cloudflare):
    fake_cloudflare.queue(CfReply("a b", usage_style="input", prompt_tokens=7,
                                  completion_tokens=3))
    done = backend.complete(USER, CompletionOptions())
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (7, 3)
    pieces: list[str] = []
    fake_cloudflare.queue(CfReply("x y z", prompt_tokens=5, completion_tokens=3))
    done = backend.complete(USER, CompletionOptions(on_text=pieces.append))
    assert pieces == ["x ", "y ", "z"]  # heartbeat and padding frames add nothing
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (5, 3)


def test_temperature_and_max_tokens_are_sent(backend, fake_cloudflare):
    fake_cloudflare.queue("ok")
    backend.complete(USER, CompletionOptions(max_tokens=77, temperature=0.9))
    body = fake_cloudflare.requests[0].body
    assert body["max_tokens"] == 77
    assert body["temperature"] == 0.9
    assert fake_cloudflare.requests[0].headers["content-type"] == "application/json"


def test_json_mode_passes_the_whole_text_to_on_text(backend, fake_cloudflare):
    pieces: list[str] = []
    fake_cloudflare.queue(CfReply("", response_object={"answer": 42}))
    done = backend.complete(USER, CompletionOptions(json_schema={"type": "object"},
                                                    on_text=pieces.append))
    assert done.text == '{"answer": 42}'
    assert pieces == [done.text]


def test_truncated_responses_reply_reports_length(backend, fake_cloudflare):
    fake_cloudflare.queue(CfReply("partial", shape="responses", finish_reason="length"))
    done = backend.complete(USER, CompletionOptions())
    assert (done.text, done.finish_reason) == ("partial", "length")


def test_error_frame_inside_a_stream_is_reported(backend, fake_cloudflare):
    body = (b'data: {"errors": [{"code": 5006, "message": "AiError: bad frame"}]}\n\n'
            b"data: [DONE]\n\n")
    fake_cloudflare.queue(Raw(200, body, "text/event-stream"))
    with pytest.raises(BadRequestError, match="bad frame"):
        backend.complete(USER, CompletionOptions(on_text=lambda _t: None))


def test_unknown_account_is_an_error_naming_the_model(fake_cloudflare):
    settings = settings_for(fake_cloudflare)
    settings.cloudflare_account_id = "someone-else"
    llm = CloudflareBackend(settings)
    with pytest.raises(UnknownModelError):
        llm.complete(USER, CompletionOptions())
    llm.close()


def test_missing_token_is_a_configuration_error():
    settings = Settings(cloudflare_account_id="abc")
    with pytest.raises(MissingCredentialsError, match="CLOUDFLARE_AUTH_TOKEN") as info:
        CloudflareBackend(settings)
    assert "CLOUDFLARE_ACCOUNT_ID" not in str(info.value).split(":")[0]


def test_empty_classic_reply_is_an_empty_reply_error(backend, fake_cloudflare):
    fake_cloudflare.queue(CfReply("   "))
    with pytest.raises(EmptyReplyError, match="max_tokens=2048"):
        backend.complete(USER, CompletionOptions())


def test_success_false_with_a_retryable_code_is_retried(backend, fake_cloudflare):
    fake_cloudflare.queue(Raw(200, b'{"success": false, "errors": [{"code": 3040, '
                                   b'"message": "Capacity temporarily exceeded"}]}'), "ok")
    assert backend.complete(USER, CompletionOptions()).text == "ok"
    assert len(fake_cloudflare.requests) == 2


@pytest.mark.parametrize(("status", "code", "kind"), [
    (400, 10001, AuthenticationError),
    (401, 10000, AuthenticationError),
    (403, 10000, AuthenticationError),
    (400, 5007, UnknownModelError),
    (404, 3042, UnknownModelError),
    (400, 5006, BadRequestError),
    (413, 3006, ContextTooLongError),
    (413, 5021, ContextTooLongError),
    (408, 3007, BackendTimeoutError),
    (408, 3008, BackendTimeoutError),
    (429, 3040, RateLimitedError),
    (429, 3021, RateLimitedError),
    (429, 4006, QuotaExceededError),
    (429, 3036, QuotaExceededError),
    (500, None, ServerError),
    (503, 1234, ServerError),
    (422, None, BadRequestError),
])
def test_the_contract_error_table(status, code, kind):
    payload = {"success": False, "errors": [{"code": code, "message": "AiError: m (ab12cd34ef)"}]}
    error = classify_error(status, payload, "@cf/a/b")
    assert type(error) is kind
    assert "AiError" not in error.message and "ab12cd34ef" not in error.message
    assert kind.retryable == (status in (408, 429, 500, 503) and kind is not QuotaExceededError)


def test_clean_message_strips_prefixes_and_request_ids():
    assert clean_message("AiError: AiError: Bad input (3f2a0b1c-aaaa-bbbb-cccc-0123456789ab)") \
        == "Bad input"
    assert clean_message("Capacity temporarily exceeded (request id: 9a8b7c6d5e4f)") \
        == "Capacity temporarily exceeded"
    assert clean_message("Line one\nline two") == "Line one line two"


def test_429_without_retry_after_backs_off_and_recovers(backend, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3040, "busy"), "fine")
    assert backend.complete(USER, CompletionOptions()).text == "fine"
