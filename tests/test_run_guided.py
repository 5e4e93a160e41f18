"""The guided strategy through the real CLI with replayed replies (``--script``): each
narrow step is one reply, the loop builds, saves, runs, fixes and reuses the tool, the
Supervisor's yes/no comes after the facts the loop checks itself."""

from __future__ import annotations

import json
from pathlib import Path

from autoagent_core.loop.guided_steps import (
    arguments_schema,
    parse_signature,
    signature_schema,
    task_literals,
    tool_code,
    usable_signature,
    uses_each_value,
)
from fixtures.runs import RunTask

ONE_SAMPLE = {"AUTOAGENT_GUIDED_SAMPLES": "1"}


def test_failing_tool_is_fixed_under_the_same_name(run_task: RunTask, isolated: Path) -> None:
    run = run_task("guided_fix", "--strategy", "guided", "Average of 2, 4 and 9",
                   env=ONE_SAMPLE)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "5"
    assert [(t["name"], t["version"]) for t in run.summary["tools_created"]] == [
        ("average", 1), ("average", 2)]
    first, second = run.session["turns"]
    assert first["results"][-1]["ok"] is False
    assert "TypeError" in first["results"][-1]["error"]["message"]
    # the facts decided turn 1 without asking the Supervisor's model for a judgement
    assert first["decision"]["decision"] == "continue"
    assert "judge" not in {m.get("step") for m in first["messages"]}
    assert second["decision"] == {**second["decision"], "decision": "done", "answer": "5"}
    # the fix request showed the failed expression and the error
    body_requests = [e["data"] for e in run.events if e["kind"] == "model_request"
                     and e["data"].get("step") == "body"]
    assert "len(numbers[0])" in body_requests[1]["messages"][-1]["content"]
    assert "TypeError" in body_requests[1]["messages"][-1]["content"]
    code = (isolated / ".permanent_tools" / "average.py").read_text()
    assert "import statistics" in code
    assert (isolated / ".permanent_tools" / ".versions" / "average" / "v2.py").is_file()
    kinds = run.kinds()
    for kind in ("run_started", "turn_started", "model_request", "model_reply",
                 "candidate_run", "tool_created", "tool_run", "supervisor_decision",
                 "session_saved", "run_finished"):
        assert kind in kinds, kind


def test_a_later_run_reuses_the_tool(run_task: RunTask, isolated: Path) -> None:
    assert run_task("guided_fix", "--strategy", "guided", "Average of 2, 4 and 9",
                    env=ONE_SAMPLE).returncode == 0
    run = run_task("guided_reuse", "--strategy", "guided", "Average of 1, 2 and 3",
                   env=ONE_SAMPLE)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "2"
    assert run.summary["tools_created"] == []
    assert run.summary["tools_used"][0]["name"] == "average"
    choose = next(e["data"] for e in run.events if e["kind"] == "model_request"
                  and e["data"].get("step") == "choose")
    assert "average(numbers: array)" in choose["messages"][-1]["content"]


def test_free_is_kept_for_scripted_runs(run_task: RunTask) -> None:
    run = run_task("happy_path", "Sum 1, 2 and 3")
    assert run.returncode == 0, run
    assert run.events[0]["data"]["strategy"] == "free"


def test_bad_strategy_is_one_line_exit_2_or_3(run_task: RunTask) -> None:
    run = run_task("happy_path", "--strategy", "clever", "Sum 1, 2 and 3")
    assert run.returncode in (2, 3), run
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("autoagent: error:")


def test_call_values_are_the_task_literals() -> None:
    task = "Join 'red' and 'blue' 3 times from 2024-01-02 over [1, 2.5] and 7.5"
    found = task_literals(task)
    assert found["string"] == ["red", "blue", "2024-01-02"]
    assert found["array"] == [[1, 2.5]]
    assert found["integer"] == [3]
    assert found["number"] == [3, 7.5]
    schema = arguments_schema([("word", "str"), ("count", "int")], task)
    assert schema["properties"]["word"] == {"enum": ["red", "blue", "2024-01-02"]}
    assert schema["properties"]["count"] == {"enum": [3]}


def test_tool_code_imports_the_modules_it_names() -> None:
    code = tool_code("days", "Days between", [("a", "str"), ("b", "str")],
                     "(datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days")
    assert code is not None and "    import datetime\n" in code
    namespace: dict[str, object] = {}
    exec(code, namespace)
    assert namespace["days"]("2024-01-01", "2024-03-01") == 60  # type: ignore[operator]
    assert tool_code("bad", "", [("a", "int")], "a +") is None
    assert json.loads(json.dumps(code))


def test_a_body_reading_an_undefined_name_is_no_candidate() -> None:
    params = [("two", "int"), ("four", "int"), ("nine", "int")]
    assert tool_code("average", "", params, "three * two / four * nine") is None
    assert tool_code("average", "", params, "average(two, four, nine)") is None
    # comprehension targets, lambda arguments, builtins and modules are defined
    assert tool_code("average", "", params,
                     "statistics.mean([n for n in (two, four, nine)])") is not None
    assert tool_code("average", "", params,
                     "(lambda a: a / 3)(sum(x for x in [two, four, nine]))") is not None


def test_the_signature_schema_has_room_for_the_task_values_only() -> None:
    one = signature_schema("Convert the text 'hello world' to upper case.")
    params = one["properties"]["params"]
    assert params["maxItems"] == 1
    assert params["items"]["properties"]["type"] == {"enum": ["str"]}
    three = signature_schema("Average of 2, 4 and 9.5")["properties"]["params"]
    assert three["maxItems"] == 3
    assert three["items"]["properties"]["type"] == {"enum": ["int", "float", "list"]}
    words = signature_schema("Join 'red', 'green' and 'blue' with dashes.")["properties"]
    assert words["params"]["items"]["properties"]["type"] == {"enum": ["str", "list"]}
    assert arguments_schema([("words", "list")], "Join 'red', 'green' and 'blue'.")[
        "properties"]["words"] == {"enum": [["red", "green", "blue"]]}


def test_a_parameter_named_like_its_function_is_renamed() -> None:
    reply = {"name": "upper_case_text", "description": "Upper case",
             "params": [{"name": "upper_case_text", "type": "str"}]}
    assert parse_signature(reply) == ("upper_case_text", "Upper case", [("text", "str")])
    task = "Convert the text 'hello world' to upper case."
    assert usable_signature(reply, task)


def test_a_call_gives_each_task_value_its_own_parameter() -> None:
    params = [("number", "int"), ("percent", "int")]
    task = "What is 15 percent of 80?"
    assert not uses_each_value({"number": 15, "percent": 15}, params, task)
    assert uses_each_value({"number": 80, "percent": 15}, params, task)
    # a task that gives one value twice may pass it twice
    assert uses_each_value({"number": 2, "percent": 2}, params, "Add 2 and 2")
