"""How replies are asked for (``--protocol`` / the ``protocol`` setting), through
``autoagent run`` against the fake Cloudflare and OpenAI-compatible servers on 127.0.0.1:
``auto`` takes native tools, else JSON mode, else text and falls back when the service
refuses one; a forced protocol is never left silently; and one recorded conversation
replayed through each protocol creates the same tools and gives the same answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.runs import RunOnDisk, RunTask, script_path
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.fake_http import Decision, HttpError
from support.fake_openai import FakeOpenAI

# on both of models.json's lists: native tools and JSON mode
ALL_PROTOCOLS_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def recorded(name: str) -> list[tuple[str, Decision]]:
    """The model decisions of ``tests/scripts/<name>.json`` (a ``--record`` script)."""
    items = json.loads(Path(script_path(name)).read_text())
    return [(item["agent"], Decision(json.loads(item["text"]))) for item in items]


def protocols_of(server: FakeCloudflare | FakeOpenAI) -> list[str]:
    return [Decision.protocol_of(r.body) for r in server.requests]


def fallbacks(run: RunOnDisk) -> list[tuple[str, str, str]]:
    return [(e["data"]["reason"], e["data"]["protocol"], e["data"]["next_protocol"])
            for e in run.events if e["kind"] == "format_error"]


def outcome(run: RunOnDisk) -> dict[str, Any]:
    """What a user gets from a run: the status, the answer, the tools created."""
    return {"status": run.summary["status"], "answer": run.summary["answer"],
            "turns": run.summary["turns"],
            "tools": [(t["name"], t["version"]) for t in run.summary["tools_created"]]}


# --------------------------------------------------------------------------- comparison
@pytest.mark.parametrize("backend", ["cloudflare", "openai"])
def test_one_recorded_conversation_gives_the_same_result_in_every_protocol(
        run_task: RunTask, backend: str, cf_env: dict[str, str],
        fake_cloudflare: FakeCloudflare, fake_openai: FakeOpenAI,
        openai_env: dict[str, str]) -> None:
    server: FakeCloudflare | FakeOpenAI = fake_cloudflare if backend == "cloudflare" \
        else fake_openai
    env = cf_env if backend == "cloudflare" else openai_env
    model = ["--model", ALL_PROTOCOLS_MODEL] if backend == "cloudflare" else []
    decisions = recorded("fix_tool")
    results: dict[str, dict[str, Any]] = {}
    codes: dict[str, list[str]] = {}
    for protocol in ("tools", "json", "text"):
        server.requests.clear()
        server.queue(*(d for _agent, d in decisions))
        run = run_task(None, "Average of 2, 4 and 9", "--backend", backend, *model,
                       "--protocol", protocol, "--tools-dir", f"tools-{protocol}",
                       "--sessions-dir", f"sessions-{protocol}", env=env)
        assert run.returncode == 0, run
        results[protocol] = outcome(run)
        codes[protocol] = [p.read_text() for p in
                           sorted(Path(run.work, f"tools-{protocol}").rglob("*.py"))]
        # each request was asked in the protocol forced; the Supervisor answers a
        # decision, not actions, so under tools it gets the best other one (JSON mode)
        supervisor_protocol = "json" if protocol == "tools" else protocol
        expected = [protocol if who == "coder" else supervisor_protocol
                    for who, _d in decisions]
        assert protocols_of(server) == expected
        assert fallbacks(run) == []
    assert results["tools"] == results["json"] == results["text"]
    assert results["text"]["answer"] == "5.0"
    assert results["text"]["tools"] == [("average", 1), ("average", 2)]
    assert codes["tools"] == codes["json"] == codes["text"] and codes["text"]


def test_auto_uses_native_tools_for_the_coder_and_json_mode_for_the_supervisor(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    fake_cloudflare.decision_shape = "chat"  # OpenAI-style tool_calls with string arguments
    fake_cloudflare.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare",
                   "--model", ALL_PROTOCOLS_MODEL, env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert protocols_of(fake_cloudflare) == ["tools", "json"]
    coder = fake_cloudflare.requests[0].body
    assert [t["name"] for t in coder["tools"]][:2] == ["create_tool", "run_tool"]


# --------------------------------------------------------------------------- fallback
def test_tools_refused_then_json_refused_falls_back_to_text_and_the_run_completes(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    fake_cloudflare.refuse = {"tools", "json"}
    fake_cloudflare.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare",
                   "--model", ALL_PROTOCOLS_MODEL, env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert [t["name"] for t in run.summary["tools_created"]] == ["sum_list"]
    # the Coder: tools refused, JSON mode refused, text; the Supervisor then goes straight
    # to text (the fallback holds for the rest of the run)
    assert protocols_of(fake_cloudflare) == ["tools", "json", "text", "text"]
    assert fallbacks(run) == [("protocol_refused", "tools", "json"),
                              ("protocol_refused", "json", "text")]
    errors = [e["data"]["error"] for e in run.events if e["kind"] == "format_error"]
    assert "falling back from tools to json for the rest of the run" in errors[0]
    assert "JSON Mode couldn't be met" in errors[1]


def test_an_unusable_reply_in_tools_falls_back_to_json_mode(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    (_c, coder), (_s, supervisor) = recorded("happy_path")
    fake_cloudflare.queue(CfReply("I will sum the numbers for you."), coder, supervisor)
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare",
                   "--model", ALL_PROTOCOLS_MODEL, env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert protocols_of(fake_cloudflare) == ["tools", "json", "json"]
    assert fallbacks(run) == [("unusable_reply", "tools", "json")]


def test_an_empty_reply_to_tools_falls_back_instead_of_ending_the_run(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    (_c, coder), (_s, supervisor) = recorded("happy_path")
    fake_cloudflare.queue(CfReply(""), coder, supervisor)
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    # gpt-oss-120b: native tools, then text (it is not on the JSON mode list)
    assert protocols_of(fake_cloudflare) == ["tools", "text", "text"]
    assert fallbacks(run) == [("protocol_refused", "tools", "text")]


def test_openai_server_without_tools_falls_back_to_json_schema(
        run_task: RunTask, fake_openai: FakeOpenAI, openai_env: dict[str, str]) -> None:
    fake_openai.tools_supported = False
    fake_openai.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "openai", env=openai_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert protocols_of(fake_openai) == ["tools", "json", "json"]
    first, second = (r.body for r in fake_openai.requests[:2])
    assert first["tool_choice"] == "required"
    assert first["tools"][0]["type"] == "function"
    assert second["response_format"]["type"] == "json_schema"
    assert fallbacks(run) == [("protocol_refused", "tools", "json")]
    assert "--jinja" in run.events[[e["kind"] for e in run.events].index("format_error")][
        "data"]["error"]


def test_openai_tools_mode_turns_the_calls_into_actions(
        run_task: RunTask, fake_openai: FakeOpenAI, openai_env: dict[str, str]) -> None:
    fake_openai.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "openai", env=openai_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert run.summary["tools_used"][0]["runs"] == 1
    assert protocols_of(fake_openai) == ["tools", "json"]
    assert [t["function"]["name"] for t in fake_openai.requests[0].body["tools"]] == [
        "create_tool", "run_tool", "create_agent", "ask_agent", "final_answer"]


# --------------------------------------------------------------------------- forced
def test_a_forced_protocol_the_service_refuses_stops_the_run_and_says_so(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    fake_cloudflare.refuse = {"tools"}
    fake_cloudflare.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare",
                   "--model", ALL_PROTOCOLS_MODEL, "--protocol", "tools", env=cf_env)
    assert run.returncode == 4, run
    assert run.summary["status"] == "interrupted"  # resumable, e.g. with --protocol auto
    assert protocols_of(fake_cloudflare) == ["tools"]  # no silent JSON or text request
    lines = [line for line in run.stderr.splitlines() if line.startswith("autoagent: error:")]
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert "forces 'tools'" in lines[0] and "--protocol auto" in lines[0]
    assert fake_cloudflare.token not in run.stderr + run.stdout


def test_a_forced_json_mode_is_asked_again_in_json_mode_when_not_met(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    (_c, coder), (_s, supervisor) = recorded("happy_path")
    # gpt-oss-120b is not on the JSON mode list: forced, JSON mode is sent all the same
    fake_cloudflare.queue(HttpError(400, None, "AiError: JSON Mode couldn't be met"),
                          coder, supervisor)
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", "--protocol", "json",
                   env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert protocols_of(fake_cloudflare) == ["json", "json", "json"]
    assert fallbacks(run) == [("protocol_refused", "json", "json")]


def test_the_protocol_setting_from_the_config_file_forces_text(
        cli: Any, run_task: RunTask, fake_cloudflare: FakeCloudflare,
        cf_env: dict[str, str]) -> None:
    assert cli("config", "set", "protocol", "text").returncode == 0
    fake_cloudflare.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare",
                   "--model", ALL_PROTOCOLS_MODEL, env=cf_env)
    assert run.returncode == 0, run
    assert protocols_of(fake_cloudflare) == ["text", "text"]


def test_an_unknown_protocol_is_a_usage_error(cli: Any) -> None:
    result = cli("run", "--protocol", "xml", "Sum 1, 2 and 3")
    assert result.returncode == 2, str(result)
    assert "--protocol must be tools, json, text or auto" in result.stderr
    result = cli("config", "set", "protocol", "xml")
    assert result.returncode == 3, str(result)
    assert "choose one of auto, tools, json, text" in result.stderr


def test_forcing_tools_on_a_backend_that_cannot_send_them_is_a_configuration_error(
        run_task: RunTask) -> None:
    run = run_task("happy_path", "Sum 1, 2 and 3", "--protocol", "tools")
    assert run.returncode == 3, run
    assert run.summary["status"] == "interrupted"
    lines = [line for line in run.stderr.splitlines() if line.startswith("autoagent: error:")]
    assert len(lines) == 1, run
    assert "scripted backend cannot send the 'tools' protocol" in lines[0]
    assert "--protocol json or text, or auto" in lines[0]


def test_a_run_recorded_in_tools_mode_replays_as_a_script(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    fake_cloudflare.queue(*(d for _a, d in recorded("fix_tool")))
    live = run_task(None, "Average of 2, 4 and 9", "--backend", "cloudflare",
                    "--record", "tools-run.json", env=cf_env)
    assert live.returncode == 0, live
    assert protocols_of(fake_cloudflare)[0] == "tools"  # recording keeps native tools
    replay = run_task(None, "Average of 2, 4 and 9", "--script", "tools-run.json",
                      "--tools-dir", "replayed-tools", env=cf_env)
    assert replay.returncode == 0, replay
    assert outcome(replay) == outcome(live)


def test_openai_server_with_neither_tools_nor_json_mode_ends_in_text(
        run_task: RunTask, fake_openai: FakeOpenAI, openai_env: dict[str, str]) -> None:
    fake_openai.tools_supported = False
    fake_openai.response_formats = ("text",)
    fake_openai.reject_status = 422  # llama_cpp.server's validation error
    fake_openai.queue(*(d for _a, d in recorded("happy_path")))
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "openai", env=openai_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    formats = [(r.body.get("response_format") or {}).get("type") for r in fake_openai.requests]
    # tools; JSON mode as json_schema then json_object; then text for the rest of the run
    assert protocols_of(fake_openai) == ["tools", "json", "json", "text", "text"]
    assert formats == [None, "json_schema", "json_object", None, None]
    assert fallbacks(run) == [("protocol_refused", "tools", "json"),
                              ("protocol_refused", "json", "text")]
