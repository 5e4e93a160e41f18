"""Runs across sessions: agents and tools persist and are reused, Ctrl-C leaves a session
that ``--resume`` continues, and a finished session takes a new instruction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CliFn
from fixtures.runs import RunTask, read_events, read_session, script_path


def test_agent_created_in_one_session_is_consulted_in_the_next(run_task: RunTask,
                                                               isolated: Path) -> None:
    first = run_task("agent_create", "Convert 3 km to metres")
    assert first.returncode == 0, first
    assert first.summary["answer"] == "3 km = 3000 m"
    assert first.summary["agents_created"] == ["unit_converter"]
    assert (isolated / ".agents" / "unit_converter.json").is_file()
    consulted = [e["data"] for e in first.events if e["kind"] == "agent_consulted"]
    assert consulted == [{"name": "unit_converter", "message": "How many metres are 3 km?",
                          "reply": "3000 metres", "depth": 1}]
    # the agent's own tool call is part of the turn, marked with the agent's name
    turn = first.session["turns"][0]
    assert [r["agent"] for r in turn["results"]] == [
        "coder", "unit_converter", "unit_converter", "unit_converter", "coder"]

    second = run_task("agent_consult", "Convert 5 km to metres")
    assert second.returncode == 0, second
    assert second.summary["agents_created"] == []
    assert second.summary["tools_created"] == []
    # the Coder's prompt listed the agent; the agent's prompt listed the tool
    requests = [e["data"] for e in second.events if e["kind"] == "model_request"]
    assert "unit_converter: Converts between units" in requests[0]["messages"][0]["content"]
    agent_request = next(r for r in requests if r["agent"] == "unit_converter")
    assert "km_to_m(km" in agent_request["messages"][0]["content"]
    replies = [e["data"]["reply"] for e in second.events if e["kind"] == "agent_consulted"]
    assert replies == ["5000 metres"]
    manifest = json.loads((isolated / ".agents" / "manifest.json").read_text())
    assert manifest["agents"]["unit_converter"]["uses"] == 2  # the file keeps the original's keys


def test_second_session_reuses_a_persisted_tool(run_task: RunTask, isolated: Path) -> None:
    assert run_task("happy_path", "Sum 1, 2 and 3").returncode == 0
    code_before = (isolated / ".permanent_tools" / "sum_list.py").read_text()
    run = run_task("reuse_tool", "Sum 10, 20 and 30")
    assert run.returncode == 0, run
    assert run.summary["answer"] == "60"
    assert run.summary["tools_created"] == []
    assert run.summary["tools_used"] == [{"name": "sum_list", "version": 1, "runs": 1,
                                          "failures": 0}]
    assert (isolated / ".permanent_tools" / "sum_list.py").read_text() == code_before
    system = next(e for e in run.events if e["kind"] == "model_request")["data"]["messages"][0]
    assert "sum_list(numbers" in system["content"]


def test_ctrl_c_saves_interrupted_and_resume_continues(cli: CliFn, isolated: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "run", "--script",
         script_path("slow_tool"), "Sum 1 and 2 slowly"],
        cwd=isolated, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ))
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "created tool slow_sum" in line:
            break
    time.sleep(0.5)  # the tool is now sleeping in the sandbox
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "--resume" in err.strip().splitlines()[-1]
    rows = json.loads(cli("sessions", "list", "--json").stdout)
    session_id = rows[0]["id"] if isinstance(rows, list) else rows["sessions"][0]["id"]
    session = read_session(isolated, session_id)
    assert session["status"] == "interrupted"
    assert session["turns"][0]["decision"] is None  # stopped before the Supervisor

    resumed = cli("run", "--json", "--resume", "--script", script_path("resume_after_interrupt"))
    assert resumed.returncode == 0, resumed
    summary = json.loads(resumed.stdout)
    assert summary["session_id"] == session_id
    assert summary["status"] == "completed" and summary["answer"] == "3"
    assert summary["turns"] == 2
    assert [t["version"] for t in summary["tools_created"]] == [1, 2]
    # the resumed Coder saw the interrupted turn
    events = read_events(Path(summary["run_dir"]))
    assert events[0]["data"]["resumed"] is True
    first_request = next(e for e in events if e["kind"] == "model_request")
    history = json.dumps(first_request["data"]["messages"])
    assert "slow_sum" in history and "interrupted" in history
    again = cli("run", "--resume", "--session-id", session_id, "--script",
                script_path("happy_path"))
    assert again.returncode == 2 and "completed" in again.stderr, again


def test_completed_session_continues_with_a_new_instruction(run_task: RunTask) -> None:
    first = run_task("happy_path", "--session-id", "calc", "Sum 1, 2 and 3")
    assert first.returncode == 0, first
    assert first.summary["session_id"] == "calc"
    then = run_task("continue_session", "--session-id", "calc",
                    "Now also multiply the numbers")
    assert then.returncode == 0, then
    assert then.summary["session_id"] == "calc"
    assert then.summary["answer"] == "sum 6, product 6"
    session = then.session
    assert session["instructions"] == ["Now also multiply the numbers"]
    assert len(session["turns"]) == 2 and len(session["run_dirs"]) == 2
    assert [t["name"] for t in session["tools_created"]] == ["sum_list", "product"]
    # the Coder saw the earlier turn and the new instruction
    request = next(e for e in then.events if e["kind"] == "model_request")["data"]["messages"]
    assert request[1]["content"] == "Task: Sum 1, 2 and 3"
    assert any(m["role"] == "assistant" and "sum_list" in m["content"] for m in request)
    assert "New instruction from the user: Now also multiply" in request[-1]["content"]
    # without an instruction a completed session cannot be resumed
    alone = run_task("happy_path", "--session-id", "calc")
    assert alone.returncode == 2, alone
    assert "give a new instruction" in alone.stderr


def test_a_session_open_in_another_run_is_refused(run_task: RunTask, isolated: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoagent_core", "run", "--session-id", "busy", "--script",
         script_path("slow_tool"), "Sum slowly"],
        cwd=isolated, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ))
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line or "created tool" in line:
                break
        other = run_task("happy_path", "--session-id", "busy", "more")
        assert other.returncode == 7, other
        assert "busy" in other.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 130


def test_supervisor_consults_an_agent_and_nesting_is_limited(run_task: RunTask) -> None:
    run = run_task("supervisor_agent", "212 F in Celsius", env={"AUTOAGENT_MAX_AGENT_DEPTH": "1"})
    assert run.returncode == 0, run
    assert run.summary["answer"] == "100 C"  # done without an answer: the Coder's answer
    first = run.session["turns"][0]
    by_agent = [(r["agent"], r["type"], r["ok"]) for r in first["results"]]
    assert by_agent == [("coder", "create_tool", True), ("coder", "run_tool", True),
                        ("supervisor", "create_agent", True),
                        ("reviewer", "ask_agent", False), ("reviewer", "final_answer", True),
                        ("supervisor", "ask_agent", True)]
    assert first["results"][3]["error"]["class"] == "depth_limit"
    # the Coder's next request carried the reviewer's reply
    coder_requests = [e["data"] for e in run.events
                      if e["kind"] == "model_request" and e["data"]["agent"] == "coder"]
    last = coder_requests[1]["messages"][-1]["content"]
    assert "The Supervisor consulted agents" in last and "water boils at 100 C" in last
    assert run.summary["agents_created"] == ["reviewer"]
