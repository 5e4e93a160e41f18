"""The Cloudflare backend through the real CLI (``autoagent ask``) against the fake service:
every reply shape and stream variant reaches the user as text, every error as one line
with the documented exit code, and the token never shows."""

from __future__ import annotations

import json

import pytest

from fixtures.backends import assert_clean_error
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.fake_http import HttpError, JsonInsteadOfStream, Raw

# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("reply", [
    CfReply("Paris is the capital."),
    CfReply("Paris is the capital.", shape="chat"),
    CfReply("Paris is the capital.", shape="chat", reasoning="The user asks..."),
    CfReply("Paris is the capital.", shape="responses", reasoning="Think", usage_style="input"),
], ids=["classic", "chat", "chat-reasoning", "responses"])
def test_each_result_shape_prints_the_visible_text(cli, cf_env, fake_cloudflare, reply):
    fake_cloudflare.queue(reply)
    result = cli("ask", "Capital of France?", "--backend", "cloudflare", "--json", env=cf_env)
    assert result.returncode == 0, str(result)
    data = json.loads(result.stdout)
    assert data["text"] == "Paris is the capital."
    assert data["usage"] == {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
    assert data["model"] == "@cf/openai/gpt-oss-120b"
    assert data["finish_reason"] == "stop"
    assert data["latency_s"] >= 0


def test_request_has_path_auth_and_explicit_max_tokens(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue("ok")
    result = cli("ask", "hi", "--backend", "cloudflare", "--model", "@cf/meta/llama-3.1-8b",
                 "--system", "Be brief.", "--max-tokens", "333", "--no-stream", env=cf_env)
    assert result.returncode == 0, str(result)
    (request,) = fake_cloudflare.requests
    assert request.path == (f"/client/v4/accounts/{fake_cloudflare.account_id}"
                            "/ai/run/@cf/meta/llama-3.1-8b")
    assert request.headers["authorization"] == f"Bearer {fake_cloudflare.token}"
    assert request.body["max_tokens"] == 333
    assert request.body["messages"] == [{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "hi"}]
    assert "stream" not in request.body


def test_json_schema_asks_for_json_mode_and_reads_an_object_response(cli, cf_env,
                                                                     fake_cloudflare, tmp_path):
    schema = {"type": "object", "properties": {"city": {"type": "string"}},
              "required": ["city"]}
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    fake_cloudflare.queue('{"city": "Paris"}')  # JSON mode: the fake returns an object
    # a model on the JSON mode page's list (the default gpt-oss-120b is not on it)
    result = cli("ask", "Where?", "--backend", "cloudflare", "--json-schema", str(path),
                 "--model", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", env=cf_env)
    assert result.returncode == 0, str(result)
    assert json.loads(result.stdout) == {"city": "Paris"}
    (request,) = fake_cloudflare.requests
    assert request.body["response_format"] == {"type": "json_schema", "json_schema": schema}
    assert "stream" not in request.body  # JSON mode does not stream


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("style", ["classic", "chat"])
def test_streamed_reply_is_printed_whole(cli, cf_env, fake_cloudflare, style):
    fake_cloudflare.queue(CfReply("one two three four", stream_style=style, reasoning="hm"))
    result = cli("ask", "count", "--backend", "cloudflare", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "one two three four\n"
    assert fake_cloudflare.requests[0].body["stream"] is True


def test_stream_answered_with_json_is_asked_again_without_streaming(cli, cf_env,
                                                                    fake_cloudflare):
    fake_cloudflare.queue(JsonInsteadOfStream(), "from the second request")
    result = cli("ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "from the second request\n"
    assert [r.stream for r in fake_cloudflare.requests] == [True, False]


def test_stream_answered_with_usable_json_uses_it(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(JsonInsteadOfStream({"result": {"response": "direct"},
                                               "success": True, "errors": []}))
    result = cli("ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "direct\n"
    assert len(fake_cloudflare.requests) == 1


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("item", "needles"), [
    (HttpError(401, 10000, "Authentication error"), ["CLOUDFLARE_AUTH_TOKEN", "10000"]),
    (HttpError(403, 10000, "Authentication error"), ["permission", "CLOUDFLARE_AUTH_TOKEN"]),
    (HttpError(400, 10001, "Missing or malformed credentials"),
     ["CLOUDFLARE_AUTH_TOKEN", "CLOUDFLARE_ACCOUNT_ID"]),
    (HttpError(400, 5007, "AiError: No such model @cf/x/y (0a1b2c3d-1111-2222-3333-444455556666)"),
     ["@cf/openai/gpt-oss-120b", "does not know the model"]),
    (HttpError(404, 3042, "Invalid model name"), ["does not know the model"]),
    (HttpError(400, 5006, "AiError: AiError: Bad input: must have required property 'x'"
                          " (9f8e7d6c-aaaa-bbbb-cccc-ddddeeeeffff)"),
     ["Bad input: must have required property 'x')"]),
    (HttpError(413, 5021, "context window limit exceeded"), ["too large", "shorten"]),
    (HttpError(429, 4006, "you have used up your daily free allocation"),
     ["daily free allocation", "00:00 UTC"]),
    (HttpError(429, 3036, "account limited"), ["daily free allocation"]),
    (HttpError(400, 5006, "openai-shaped message", openai_shape=True), ["openai-shaped message"]),
    (Raw(200, json.dumps({"result": None, "success": False,
                          "errors": [{"code": 5006, "message": "AiError: bad"}]}).encode()),
     ["refused the input", "bad"]),
], ids=["401", "403", "10001", "5007", "3042", "5006", "5021", "4006", "3036", "openai-shape",
        "200-success-false"])
def test_errors_reach_the_user_as_one_line(cli, cf_env, fake_cloudflare, item, needles):
    fake_cloudflare.queue(item)
    result = cli("ask", "hi", "--backend", "cloudflare", "--no-stream", env=cf_env)
    line = assert_clean_error(result, 4, fake_cloudflare.token, *needles)
    assert "AiError" not in line
    assert "0a1b2c3d" not in line and "9f8e7d6c" not in line  # request ids cleaned away
    assert len(fake_cloudflare.requests) == 1  # none of these is retried


def test_empty_answer_of_a_reasoning_model_says_max_tokens_ran_out(cli, cf_env,
                                                                  fake_cloudflare):
    fake_cloudflare.queue(CfReply("", shape="chat", stream_style="chat",
                                  reasoning="Let me think " * 20,
                                  finish_reason="length"))
    result = cli("ask", "hi", "--backend", "cloudflare", "--max-tokens", "64", env=cf_env)
    assert_clean_error(result, 4, fake_cloudflare.token, "no visible answer",
                       "reasoning used up max_tokens=64")


def test_empty_stream_is_an_empty_reply_error(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(CfReply("", stream_style="chat", reasoning="only thoughts"))
    result = cli("ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert_clean_error(result, 4, fake_cloudflare.token, "no visible answer", "max_tokens")


def test_missing_credentials_name_the_variables(cli, fake_cloudflare):
    result = cli("ask", "hi", "--backend", "cloudflare",
                 env={"CLOUDFLARE_API_BASE": fake_cloudflare.base_url})
    assert_clean_error(result, 3, fake_cloudflare.token, "CLOUDFLARE_ACCOUNT_ID",
                       "CLOUDFLARE_AUTH_TOKEN")
    assert fake_cloudflare.requests == []


def test_token_echoed_by_the_server_is_redacted(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(400, 5006, f"bad token {fake_cloudflare.token} given"))
    result = cli("ask", "hi", "--backend", "cloudflare", "--no-stream", env=cf_env)
    line = assert_clean_error(result, 4, fake_cloudflare.token)
    assert "[REDACTED]" in line


def test_not_json_body_is_a_server_error(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(*[Raw(200, b"<html>oops</html>", "text/html")] * 2)
    result = cli("ask", "hi", "--backend", "cloudflare", "--no-stream",
                 env={**cf_env, "AUTOAGENT_MAX_RETRIES": "1"})
    assert_clean_error(result, 4, fake_cloudflare.token, "not JSON", "gave up after 2")


def test_the_cloudflare_backend_is_chosen_automatically_with_credentials(cli, cf_env,
                                                                         fake_cloudflare):
    fake_cloudflare.queue("auto works")
    result = cli("ask", "hi", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "auto works\n"


def test_models_listed_by_the_fake_are_known(cli, cf_env):
    with FakeCloudflare.start(known_models={"@cf/meta/llama-3.1-8b"}) as cf:
        env = {**cf_env, **cf.env()}
        result = cli("ask", "hi", "--model", "@cf/nope/none", "--no-stream", env=env)
        assert_clean_error(result, 4, cf.token, "@cf/nope/none")
