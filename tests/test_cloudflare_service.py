"""The Cloudflare backend as the real service behaves: both error shapes (code in the
envelope, or only in the message of ``{"error": {...}}``), the AI Gateway URL form,
tokens and model ids checked before any request, and tool-call replies turned into
actions, through ``autoagent ask`` and ``autoagent run``."""

from __future__ import annotations

import json

import pytest

from fixtures.backends import assert_clean_error
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.fake_http import HttpError

QUOTA_MSG = ("you have used up your daily free allocation of 10,000 neurons, please upgrade "
             "to Cloudflare's Workers Paid plan if you would like to continue usage.")


def _shapes(status: int, code: int, message: str) -> list[HttpError]:
    """The same error in the envelope and in the OpenAI-style shape (string code, the
    number only in the message)."""
    return [HttpError(status, code, message),
            HttpError(status, "invalid_request", f"{code}: {message}",  # type: ignore[arg-type]
                      openai_shape=True)]


@pytest.mark.parametrize("shape", [0, 1])
@pytest.mark.parametrize("code", [3036, 4006])
def test_a_spent_daily_allocation_is_one_request_and_says_when_it_resets(
        cli, cf_env, fake_cloudflare: FakeCloudflare, shape: int, code: int) -> None:
    fake_cloudflare.queue(_shapes(429, code, QUOTA_MSG)[shape], "never sent")
    result = cli("ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert_clean_error(result, 4, fake_cloudflare.token, "daily free allocation is spent",
                       "00:00 UTC")
    assert len(fake_cloudflare.requests) == 1


@pytest.mark.parametrize("shape", [0, 1])
@pytest.mark.parametrize("code", [3007, 3008])
def test_a_timeout_sent_as_a_400_is_retried(cli, cf_env, fake_cloudflare: FakeCloudflare,
                                            shape: int, code: int) -> None:
    fake_cloudflare.queue(_shapes(400, code, "Request timeout")[shape], "back again")
    result = cli("ask", "hi", "--backend", "cloudflare", "--no-stream", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout.strip() == "back again"
    assert len(fake_cloudflare.requests) == 2


@pytest.mark.parametrize("shape", [0, 1])
def test_unaccepted_terms_tell_the_user_to_send_agree(cli, cf_env, fake_cloudflare, shape):
    model = "@cf/meta/llama-3.2-11b-vision-instruct"
    fake_cloudflare.queue(_shapes(403, 5016, "User has not agreed to Llama3.2 model terms")[shape])
    result = cli("ask", "hi", "--backend", "cloudflare", "--model", model, env=cf_env)
    assert_clean_error(result, 4, fake_cloudflare.token,
                       f"autoagent ask --model {model} agree")
    assert len(fake_cloudflare.requests) == 1


@pytest.mark.parametrize("shape", [0, 1])
@pytest.mark.parametrize("code", [5018, 3041])
def test_an_account_not_allowed_is_said_so(cli, cf_env, fake_cloudflare, shape, code):
    fake_cloudflare.queue(
        _shapes(403, code, "The account is not allowed to access this model")[shape])
    result = cli("ask", "hi", "--backend", "cloudflare", env=cf_env)
    line = assert_clean_error(result, 4, fake_cloudflare.token, "account is not allowed")
    assert "permission" not in line  # not reported as a token problem


def test_the_ai_gateway_form_sends_requests_to_base_slash_model(cli, fake_cloudflare):
    fake_cloudflare.queue("via the gateway")
    base = f"{fake_cloudflare.root_url}/v1/{fake_cloudflare.account_id}/my-gw/workers-ai"
    env = {"CLOUDFLARE_API_BASE": base, "CLOUDFLARE_AUTH_TOKEN": fake_cloudflare.token}
    result = cli("ask", "hi", "--backend", "cloudflare", "--no-stream", env=env)
    assert result.returncode == 0, str(result)
    assert result.stdout.strip() == "via the gateway"
    (request,) = fake_cloudflare.requests
    assert request.path == (f"/v1/{fake_cloudflare.account_id}/my-gw/workers-ai/"
                            "@cf/openai/gpt-oss-120b")


@pytest.mark.parametrize("bad", ["tok-with-space ", "tok\nnewline", "tok\twith-tab",
                                 "tök-non-ascii"])
def test_a_bad_token_shape_is_exit_3_before_any_request(cli, cf_env, fake_cloudflare, bad):
    result = cli("ask", "hi", "--backend", "cloudflare",
                 env={**cf_env, "CLOUDFLARE_AUTH_TOKEN": bad})
    line = assert_clean_error(result, 3, bad, "CLOUDFLARE_AUTH_TOKEN")
    assert bad.strip() not in line
    assert fake_cloudflare.requests == []


@pytest.mark.parametrize("model", ["gpt-4o", "@cf/../../accounts", "@cf/x y/z", "@xx/a/b"])
def test_a_bad_model_id_is_exit_3_before_any_request(cli, cf_env, fake_cloudflare, model):
    result = cli("ask", "hi", "--backend", "cloudflare", "--model", model, env=cf_env)
    assert_clean_error(result, 3, fake_cloudflare.token, "not a Workers AI model id")
    assert fake_cloudflare.requests == []


def test_a_temperature_above_the_models_maximum_is_refused_before_sending(
        cli, cf_env, fake_cloudflare):
    result = cli("ask", "hi", "--backend", "cloudflare", "--temperature", "7", env=cf_env)
    assert_clean_error(result, 3, fake_cloudflare.token, "temperature=7", "0-5")
    assert fake_cloudflare.requests == []


CREATE = {"name": "sum_list", "description": "Sum a list",
          "code": "def sum_list(numbers):\n    return sum(numbers)\n"}
RUN = {"name": "sum_list", "args": {"numbers": [1, 2, 3]}}
DONE = json.dumps({"thought": "6 answers it", "decision": "done", "answer": "6"})


@pytest.mark.parametrize("shape", ["classic", "chat"])
def test_tool_call_only_replies_in_both_shapes_become_actions(
        run_task, fake_cloudflare: FakeCloudflare, cf_env, shape) -> None:
    calls = [{"name": "create_tool", "arguments": CREATE},
             {"name": "run_tool", "arguments": RUN}]
    fake_cloudflare.queue(CfReply("", shape=shape, tool_calls=calls), DONE)  # type: ignore
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert [t["name"] for t in run.summary["tools_created"]] == ["sum_list"]
    assert run.summary["tools_used"][0]["runs"] == 1
    assert "format_error" not in run.kinds()  # not misreported as an empty reply
    assert "max_tokens" not in run.stderr


@pytest.mark.parametrize("shape", [0, 1])
def test_json_mode_refused_is_asked_again_as_text_and_the_run_completes(
        run_task, fake_cloudflare: FakeCloudflare, cf_env, shape) -> None:
    refused = [HttpError(400, None, "AiError: JSON Mode couldn't be met"),
               HttpError(400, "json_mode", "JSON Mode couldn't be met",  # type: ignore
                         openai_shape=True)][shape]
    coder = json.dumps({"thought": "sum", "actions": [
        {"type": "create_tool", **CREATE}, {"type": "run_tool", **RUN}]})
    # a JSON-mode model that calls no functions: the Supervisor gets JSON mode
    model = "@cf/meta/llama-3.1-8b-instruct"
    fake_cloudflare.queue(coder, refused, DONE)
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", "--model", model,
                   env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    sup_first, sup_again = (r.body for r in fake_cloudflare.requests[1:])
    assert "response_format" in sup_first and "response_format" not in sup_again
    refusals = [e for e in run.events if e["kind"] == "format_error"]
    assert len(refusals) == 1 and "JSON mode" in json.dumps(refusals[0])


def test_an_openai_tool_call_only_reply_becomes_actions(run_task, fake_openai, openai_env):
    from support.fake_openai import OaiReply

    calls = [{"name": "create_tool", "arguments": CREATE},
             {"name": "run_tool", "arguments": RUN}]
    fake_openai.queue(OaiReply("", tool_calls=calls), DONE)
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "openai", env=openai_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert [t["name"] for t in run.summary["tools_created"]] == ["sum_list"]
    assert "format_error" not in run.kinds()
