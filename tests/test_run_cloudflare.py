"""The same runs against a fake Cloudflare Workers AI server on 127.0.0.1: the loop works
with the original's backend, sends the protocol's schema, and survives a transient 500."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures.runs import RunTask, script_path
from support.fake_cloudflare import CfReply, FakeCloudflare
from support.fake_http import HttpError


def _queue_script(cf: FakeCloudflare, name: str, shape: str = "classic") -> list[str]:
    items = json.loads(Path(script_path(name)).read_text())
    agents = []
    for item in items:
        cf.replies.append(CfReply(item["text"], shape=shape))  # type: ignore[arg-type]
        agents.append(item["agent"])
    return agents


def test_happy_path_on_cloudflare(run_task: RunTask, fake_cloudflare: FakeCloudflare,
                                  cf_env: dict[str, str]) -> None:
    _queue_script(fake_cloudflare, "happy_path")
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "6"
    assert run.session["backend"] == "cloudflare"
    assert len(fake_cloudflare.requests) == 2
    coder, supervisor = (r.body for r in fake_cloudflare.requests)
    assert isinstance(coder, dict) and isinstance(supervisor, dict)
    assert coder["messages"][0]["role"] == "system"
    # gpt-oss-120b calls functions but is not on the JSON mode list: the Coder is offered
    # its actions as tools, the Supervisor asked for text
    assert [t["name"] for t in coder["tools"]] == [
        "create_tool", "run_tool", "create_agent", "ask_agent", "final_answer"]
    assert "response_format" not in coder and "response_format" not in supervisor
    assert "tools" not in supervisor
    # the token never reaches the session or the timeline
    for path in [*run.work.joinpath(".sessions").rglob("*"),
                 *run.work.joinpath(".runs").rglob("*")]:
        if path.is_file():
            assert fake_cloudflare.token not in path.read_text(errors="replace")


def test_fix_flow_on_cloudflare_with_a_transient_error(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    fake_cloudflare.replies.append(HttpError(500, 3043, "Internal server error"))
    _queue_script(fake_cloudflare, "fix_tool", shape="chat")
    run = run_task(None, "Average of 2, 4 and 9", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "5.0"
    assert [t["version"] for t in run.summary["tools_created"]] == [1, 2]
    assert len(fake_cloudflare.requests) == 5  # the 500 was retried


def test_malformed_reply_on_cloudflare(run_task: RunTask, fake_cloudflare: FakeCloudflare,
                                       cf_env: dict[str, str]) -> None:
    _queue_script(fake_cloudflare, "malformed_reply", shape="chat")
    run = run_task(None, "Multiply 6 by 7", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "42"
    assert run.kinds().count("format_error") == 1


def test_authentication_failure_is_exit_4_with_the_session_kept(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    env = {**cf_env, "CLOUDFLARE_AUTH_TOKEN": "wrong-token-0123456789"}
    run = run_task(None, "Sum 1, 2 and 3", "--backend", "cloudflare", env=env)
    assert run.returncode == 4, run
    assert run.summary["status"] == "interrupted"
    assert "Traceback" not in run.stderr
    assert "wrong-token-0123456789" not in run.stderr + run.stdout


def test_a_context_too_long_error_is_retried_with_a_shorter_history(
        run_task: RunTask, fake_cloudflare: FakeCloudflare, cf_env: dict[str, str]) -> None:
    items = json.loads(Path(script_path("fix_tool")).read_text())
    too_long = HttpError(413, 5021, "AiError: context window limit exceeded")
    fake_cloudflare.queue(CfReply(items[0]["text"]), CfReply(items[1]["text"]),
                          too_long, too_long,  # turn 2, history of 4 then of 1 full turn
                          CfReply(items[2]["text"]), CfReply(items[3]["text"]))
    run = run_task(None, "Average of 2, 4 and 9", "--backend", "cloudflare", env=cf_env)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "5.0"
    bodies = [r.body for r in fake_cloudflare.requests]
    assert len(bodies) == 6
    full, shortest = bodies[2], bodies[4]
    assert isinstance(full, dict) and isinstance(shortest, dict)
    assert len(shortest["messages"]) < len(full["messages"])
    assert "Earlier turns (summary)" in shortest["messages"][1]["content"]
    notes = [e["data"] for e in run.events if e["kind"] == "error"]
    assert [n["kind"] for n in notes] == ["context_too_long", "context_too_long"]
    assert all("shorter history" in n["message"] for n in notes)
