"""``autoagent ask``: one prompt through the selected backend, as a user types it."""

from __future__ import annotations

import json

import pytest

from fixtures.backends import assert_clean_error
from support.fake_cloudflare import CfReply


def test_help_lists_the_options(cli):
    result = cli("ask", "--help")
    assert result.returncode == 0
    for option in ("--backend", "--model", "--system", "--json-schema", "--stream",
                   "--no-stream", "--max-tokens", "--json"):
        assert option in result.stdout


def test_prompt_from_stdin(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue("read it")
    result = cli("ask", "-", "--no-stream", input="a prompt from a pipe\n", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "read it\n"
    assert fake_cloudflare.requests[0].body["messages"] == [
        {"role": "user", "content": "a prompt from a pipe\n"}]


def test_json_output_with_streaming_stays_one_json_document(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(CfReply("several streamed words", stream_style="chat"))
    result = cli("ask", "hi", "--json", "--stream", env=cf_env)
    assert result.returncode == 0, str(result)
    data = json.loads(result.stdout)
    assert set(data) == {"text", "usage", "model", "finish_reason", "latency_s"}
    assert data["text"] == "several streamed words"
    assert fake_cloudflare.requests[0].body["stream"] is True


def test_no_stream_sends_one_plain_request(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue("whole reply")
    result = cli("ask", "hi", "--no-stream", env=cf_env)
    assert result.stdout == "whole reply\n"
    assert "stream" not in fake_cloudflare.requests[0].body


def test_bad_schema_files_are_usage_errors(cli, cf_env, fake_cloudflare, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    for path, needle in ((broken, "not valid JSON"), (listing, "JSON object"),
                         (tmp_path / "missing.json", "cannot read")):
        result = cli("ask", "hi", "--json-schema", str(path), env=cf_env)
        assert_clean_error(result, 2, fake_cloudflare.token, needle)
    assert fake_cloudflare.requests == []


def test_empty_prompt_is_a_usage_error(cli, cf_env, fake_cloudflare):
    result = cli("ask", "  ", env=cf_env)
    assert_clean_error(result, 2, fake_cloudflare.token, "prompt is empty")


def test_no_backend_configured_explains_the_choices(cli):
    from autoagent_core.layers import local_extra_installed

    if local_extra_installed():
        pytest.skip("the local model is installed: 'auto' picks it")
    result = cli("ask", "hi")
    assert_clean_error(result, 3, "never-set", "CLOUDFLARE_ACCOUNT_ID", "OPENAI_BASE_URL")


def test_max_tokens_flag_overrides_the_setting(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue("ok")
    env = {**cf_env, "AUTOAGENT_MAX_TOKENS": "1000"}
    assert cli("ask", "hi", "--max-tokens", "12", env=env).returncode == 0
    fake_cloudflare.queue("ok")
    assert cli("ask", "hi", env=env).returncode == 0
    assert [r.body["max_tokens"] for r in fake_cloudflare.requests] == [12, 1000]


def test_unknown_backend_is_a_plugin_error(cli, cf_env):
    result = cli("ask", "hi", "--backend", "nope", env=cf_env)
    assert result.returncode == 5, str(result)
    assert "Traceback" not in result.stderr
