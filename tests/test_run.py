"""``autoagent run`` end to end: the real CLI in a subprocess, the scripted backend, the real
sandbox, the real stores and recorders."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliFn
from fixtures.runs import RunTask, read_events, read_session, script_path


def test_happy_path_creates_runs_and_answers(run_task: RunTask, isolated: Path) -> None:
    run = run_task("happy_path", "Sum 1, 2 and 3")
    assert run.returncode == 0, run
    assert run.summary["status"] == "completed"
    assert run.summary["answer"] == "6"
    assert run.summary["turns"] == 1
    assert run.summary["tools_created"][0] == {"name": "sum_list", "version": 1, "turn": 1,
                                               "created_by": "coder"}
    assert run.summary["tools_used"] == [{"name": "sum_list", "version": 1, "runs": 1,
                                          "failures": 0}]
    assert run.summary["usage"]["total_tokens"] > 0
    # the tool persists in the library
    assert (isolated / ".permanent_tools" / "sum_list.py").is_file()
    # the session is saved with the turn, its actions, results and decision
    session = run.session
    assert session["status"] == "completed"
    turn = session["turns"][0]
    assert [a["type"] for a in turn["actions"]] == ["create_tool", "run_tool"]
    assert turn["results"][1]["ok"] is True and turn["results"][1]["result"] == 6
    assert turn["decision"]["decision"] == "done"
    assert {m["agent"] for m in turn["messages"]} == {"coder", "supervisor"}
    # every step is on the timeline, in order
    kinds = run.kinds()
    for kind in ("run_started", "turn_started", "model_request", "model_reply",
                 "tool_created", "tool_run", "supervisor_decision", "final_answer",
                 "session_saved", "run_finished"):
        assert kind in kinds, kind
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert (Path(run.summary["run_dir"]) / "timeline.md").is_file()


def test_failing_tool_is_fixed_as_version_2(run_task: RunTask, isolated: Path) -> None:
    run = run_task("fix_tool", "Average of 2, 4 and 9")
    assert run.returncode == 0, run
    assert run.summary["answer"] == "5.0"
    assert [(t["name"], t["version"]) for t in run.summary["tools_created"]] == [
        ("average", 1), ("average", 2)]
    first, second = run.session["turns"]
    failed = first["results"][1]
    assert failed["ok"] is False
    assert failed["error"]["class"] == "name"  # classified by the sandbox
    assert failed["error"]["suggestions"]
    assert second["results"][1] == {**second["results"][1], "ok": True, "result": 5.0,
                                    "version": 2}
    # the Coder's second request carried the error, its suggestions and the Supervisor's tips
    requests = [e for e in run.events if e["kind"] == "model_request"
                and e["data"]["agent"] == "coder"]
    last_message = requests[1]["data"]["messages"][-1]["content"]
    assert "FAILED (name)" in last_message
    assert "number" in last_message and "suggestions:" in last_message
    assert "fix the name and run the tool again" in last_message
    # both versions are kept
    listed = json.loads((isolated / ".permanent_tools" / "manifest.json").read_text())
    assert "average" in json.dumps(listed)


def test_malformed_reply_is_retried_as_a_format_error(run_task: RunTask) -> None:
    run = run_task("malformed_reply", "Multiply 6 by 7")
    assert run.returncode == 0, run
    assert run.summary["answer"] == "42"
    errors = [e for e in run.events if e["kind"] == "format_error"]
    assert len(errors) == 1
    assert errors[0]["data"]["agent"] == "coder"
    assert "no JSON object" in errors[0]["data"]["error"]
    # the retry request showed the model its error
    retry = [e for e in run.events if e["kind"] == "model_request"][1]
    assert "could not be used" in retry["data"]["messages"][-1]["content"]
    # the raw newlines inside the code string were repaired
    turn = run.session["turns"][0]
    assert turn["results"][1]["result"] == 42


def test_format_errors_beyond_the_retries_do_not_crash(run_task: RunTask,
                                                       isolated: Path) -> None:
    script = isolated / "prose.json"
    script.write_text(json.dumps(
        [{"agent": "coder", "text": "I cannot answer in JSON."}] * 2
        + [{"agent": "supervisor", "text": '{"decision": "fail", "feedback": "no JSON"}'}]))
    result = run_task(None, "Anything", "--script", str(script),
                      env={"AUTOAGENT_FORMAT_RETRIES": "1"})
    assert result.returncode == 1, result
    assert result.summary["status"] == "failed"
    assert "no JSON" in result.stderr


def test_turn_limit_fails_with_exit_1(run_task: RunTask) -> None:
    run = run_task("turn_limit", "Count for ever", "-m", "2")
    assert run.returncode == 1, run
    assert run.summary["status"] == "failed"
    assert run.summary["turns"] == 2
    assert run.session["status"] == "failed"
    assert "turn limit reached (2 turns)" in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("autoagent: error:")
    assert "Traceback" not in run.stderr


def test_backend_error_saves_the_session_as_interrupted(run_task: RunTask,
                                                        isolated: Path) -> None:
    # the script runs out after the Coder's reply: a backend error (exit 4)
    script = isolated / "short.json"
    script.write_text(json.dumps(json.loads(Path(script_path("happy_path")).read_text())[:1]))
    run = run_task(None, "Sum 1, 2 and 3", "--script", str(script))
    assert run.returncode == 4, run
    assert run.summary["status"] == "interrupted"
    assert run.session["status"] == "interrupted"
    assert len(run.session["turns"]) == 1
    assert "Traceback" not in run.stderr
    kinds = run.kinds()
    assert "error" in kinds and kinds[-1] == "run_finished"


def test_pipe_output_keeps_only_the_answer_on_stdout(cli: CliFn) -> None:
    result = cli("run", "--script", script_path("happy_path"), "Sum 1, 2 and 3")
    assert result.returncode == 0, result
    assert result.stdout == "6\n"
    assert "created tool sum_list v1" in result.stderr
    assert "ran sum_list v1" in result.stderr and "ok: 6" in result.stderr
    assert "supervisor: done" in result.stderr


def test_task_from_stdin_and_task_option(run_task: RunTask, cli: CliFn) -> None:
    run = run_task("happy_path", "-", input="Sum 1, 2 and 3\n")
    assert run.returncode == 0, run
    assert run.session["task"].strip() == "Sum 1, 2 and 3"
    run = run_task("happy_path", "-q", "Sum them")
    assert run.returncode == 0, run
    assert run.session["task"] == "Sum them"


def test_usage_errors(cli: CliFn) -> None:
    result = cli("run", "--script", script_path("happy_path"))
    assert result.returncode == 2, result
    assert "give a task" in result.stderr
    result = cli("run", "--script", script_path("happy_path"), "-q", "a", "b")
    assert result.returncode == 2, result
    result = cli("run", "--script", script_path("happy_path"), "--sandbox", "loose", "x")
    assert result.returncode == 2, result
    result = cli("run", "--resume", "--script", script_path("happy_path"))
    assert result.returncode == 6, result
    assert "no active or interrupted session" in result.stderr
    result = cli("run", "--session-id", "../etc", "--script", script_path("happy_path"), "x")
    assert result.returncode == 2, result


def test_no_backend_is_a_config_error(cli: CliFn) -> None:
    result = cli("run", "Sum 1, 2 and 3", env={"AUTOAGENT_BACKEND": "cloudflare"})
    assert result.returncode == 3, result
    assert "Traceback" not in result.stderr


def test_record_writes_a_replayable_script(cli: CliFn, isolated: Path) -> None:
    recorded = isolated / "recorded.json"
    result = cli("run", "--script", script_path("fix_tool"), "--record", str(recorded), "avg")
    assert result.returncode == 0, result
    items = json.loads(recorded.read_text())
    assert [i["agent"] for i in items] == ["coder", "supervisor", "coder", "supervisor"]
    again = cli("run", "--json", "--script", str(recorded), "--tools-dir", "other", "avg")
    assert again.returncode == 0, again
    assert json.loads(again.stdout)["answer"] == "5.0"
    assert (isolated / "other" / "average.py").is_file()


def test_events_and_sessions_hold_no_secret(cli: CliFn, isolated: Path) -> None:
    canary = "sk-canary-4f1e2d3c4b5a69788796a5b4"
    script = isolated / "leak.json"
    script.write_text(json.dumps([
        {"agent": "coder", "text": json.dumps({"thought": f"token {canary}", "actions": [
            {"type": "create_tool", "name": "echo", "code": "def echo(x):\n    return x\n"},
            {"type": "run_tool", "name": "echo", "args": {"x": canary}}]})},
        {"agent": "supervisor", "text": json.dumps({"decision": "done", "answer": canary})},
    ]))
    result = cli("run", "--json", "--script", str(script), "echo",
                 env={"OPENAI_API_KEY": canary})
    assert result.returncode == 0, result
    assert canary not in result.stdout
    for path in [*(isolated / ".sessions").rglob("*"), *(isolated / ".runs").rglob("*")]:
        if path.is_file():
            assert canary not in path.read_text(errors="replace"), path
    session = read_session(isolated, json.loads(result.stdout)["session_id"])
    assert session["answer"] == "[REDACTED]"
    assert read_events(Path(json.loads(result.stdout)["run_dir"]))


def test_done_without_any_answer_is_not_accepted(run_task: RunTask) -> None:
    """A Supervisor that says done with no answer, no final answer from the Coder and no
    tool result does not end the run: the turn counts as continue."""
    run = run_task("done_without_answer", "Sum 1, 2 and 3")
    assert run.returncode == 0, run
    assert run.summary["turns"] == 2
    first, second = run.session["turns"]
    assert first["decision"]["decision"] == "continue"
    assert "no answer yet" in first["decision"]["feedback"]
    # the second "done" has no answer either, but a tool result supports one
    assert second["decision"]["decision"] == "done"
    assert run.summary["answer"] == "6"
