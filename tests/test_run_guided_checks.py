"""``done`` means checked, and only a fitting tool is reused: the guided strategy through the
real CLI with replayed replies (``--script``, one sample per step, so each reply is one
request). A wrong answer must never leave with exit 0: when the independent checks
disagree the run ends failed, ``answer`` empty and the unverified value as ``candidate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoagent_core.loop.guided_checks import (
    Candidates,
    computes_from_task,
    params_fit_task,
    states_its_value,
    value_fits,
)
from autoagent_core.retrieval import FIT_THRESHOLD, fit_score
from fixtures.runs import RunOnDisk, RunTask, script_path

ONE_SAMPLE = {"AUTOAGENT_GUIDED_SAMPLES": "1"}
MAIN_JOB = "Write a tool that adds two numbers and use it to add 2 and 3"


def _steps(run: RunOnDisk) -> list[str]:
    return [e["data"].get("step") for e in run.events if e["kind"] == "model_request"]


def _failed_with_candidate(run: RunOnDisk, candidate: str) -> None:
    assert run.returncode == 1, run
    assert run.summary["status"] == "failed"
    assert run.summary["answer"] in (None, "")
    assert run.summary["candidate"] == candidate
    assert run.session["status"] == "failed"
    assert run.session["candidate"] == candidate
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run
    assert "unverified answer" in lines[0] and candidate in lines[0]
    assert "judge" not in _steps(run)  # a failed check is final: no yes/no is asked
    assert len(run.session["turns"]) == 1  # on the last turn


def test_main_job_is_checked_and_done(run_task: RunTask) -> None:
    run = run_task("guided_add", "--strategy", "guided", MAIN_JOB, env=ONE_SAMPLE)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "5"
    assert run.summary["candidate"] is None
    checked = next(e["data"] for e in run.events if e["kind"] == "answer_checked")
    # the kept tool and the Supervisor's own expression over the task's values computed 5;
    # with that agreement no second tool is designed
    assert checked["support"] == 1 and checked["second"] == [5]
    assert checked["agreed"] is True and checked["kind"] == "number"
    assert _steps(run) == ["kind", "signature", "body", "arguments", "direct", "judge"]
    # the check ran in the sandbox as a function of no parameters, never saved
    runs = [(e["data"]["name"], e["data"]["args"]) for e in run.events
            if e["kind"] == "candidate_run"]
    assert runs == [("add_numbers", {"a": 2, "b": 3}), ("supervisor_check", {})]
    assert [t["name"] for t in run.summary["tools_created"]] == ["add_numbers"]


def test_an_unrelated_library_tool_is_not_offered(run_task: RunTask) -> None:
    assert run_task("guided_add", "--strategy", "guided", MAIN_JOB,
                    env=ONE_SAMPLE).returncode == 0
    # the adding tool takes two integers and the task gives two: only its words differ
    run = run_task("guided_multiply", "--strategy", "guided", "What is 17 times 23?",
                   env=ONE_SAMPLE)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "391"
    assert "choose" not in _steps(run)
    offered = next(e["data"] for e in run.events if e["kind"] == "tools_offered")
    assert offered["tools"] == []
    assert [t["name"] for t in run.summary["tools_used"]] == ["multiply"]
    # the Supervisor's expression computed 40 (17 + 23): a second tool was designed, and
    # its 391 agreed with the tool's, against one rival
    checked = next(e["data"] for e in run.events if e["kind"] == "answer_checked")
    assert checked["second"] == [40, 391] and checked["agreed"] is True
    assert _steps(run)[4:] == ["direct", "signature", "arguments", "body", "judge"]


def test_the_timelines_tell_each_candidate_and_the_verdict(run_task: RunTask) -> None:
    run = run_task("guided_multiply", "--strategy", "guided", "What is 17 times 23?",
                   env=ONE_SAMPLE)
    assert run.returncode == 0, run
    folder = Path(run.summary["run_dir"])
    markdown = (folder / "timeline.md").read_text()
    html = (folder / "timeline.html").read_text()
    for line in ("no library tool fits the task",
                 "candidate multiply(x=17, y=23) returned 391",
                 "candidate supervisor_check() returned 40",
                 "candidate product(a=17, b=23) returned 391",
                 "check of multiply: 391 agreed"):
        assert f"### {line}" in markdown, line
        assert line in html, line
    assert "### candidate_run" not in markdown  # told in a line, not dumped as JSON


def test_a_disagreeing_second_tool_ends_the_run_failed(run_task: RunTask,
                                                       isolated: Path) -> None:
    run = run_task("guided_disagree", "--strategy", "guided", "-m", "1",
                   "What is 2 to the power of 10?", env=ONE_SAMPLE)
    _failed_with_candidate(run, "20")
    assert "an independent check computed 1024" in run.stderr
    checked = next(e["data"] for e in run.events if e["kind"] == "answer_checked")
    # the Supervisor wrote the value out (1024) instead of computing it: no check, and never
    # run; the first second-tool design that computed a value is the check
    assert checked["agreed"] is False and checked["second"] == [1024]
    designs = [e["data"]["name"] for e in run.events if e["kind"] == "candidate_run"]
    assert designs == ["power", "raise_to"]


def test_a_disagreement_with_turns_left_fixes_the_tool(run_task: RunTask,
                                                        isolated: Path) -> None:
    run = run_task("guided_disagree_fixed", "--strategy", "guided", "-m", "2",
                   "What is 2 to the power of 10?", env=ONE_SAMPLE)
    assert run.returncode == 0, run
    assert run.summary["answer"] == "1024" and run.summary["candidate"] is None
    first, second = run.session["turns"]
    assert second["decision"]["decision"] == "done"
    assert first["decision"]["decision"] == "continue"
    # the turn's feedback is what the Coder reads next: that the check did not confirm 20,
    # never the check's 1024 (that stays in the answer_checked event)
    assert first["decision"]["feedback"] == "an independent check did not confirm 20"
    checked = next(e["data"] for e in run.events if e["kind"] == "answer_checked")
    assert checked["second"] == [1024, 1024] and checked["agreed"] is False
    # the fix request showed the refuted expression and that a check did not confirm it,
    # and the same tool got version 2
    fix = next(e["data"] for e in run.events if e["kind"] == "model_request"
               and e["data"].get("step") == "body" and e["data"]["turn"] == 2
               )["messages"][-1]["content"]
    assert "base * exponent" in fix and "did not confirm 20" in fix
    # never the check's value: a tool written to return it would agree without computing
    assert "1024" not in fix
    assert [(t["name"], t["version"]) for t in run.summary["tools_created"]] == [
        ("power", 1), ("power", 2)]
    assert "base ** exponent" in (isolated / ".permanent_tools" / "power.py").read_text()


def test_an_answer_of_the_wrong_kind_ends_the_run_failed(run_task: RunTask) -> None:
    run = run_task("guided_wrong_kind", "--strategy", "guided", "-m", "1",
                   "Is 7 a prime number?", env=ONE_SAMPLE)
    _failed_with_candidate(run, "14")
    assert "yes or no" in run.stderr
    assert _steps(run) == ["kind", "signature", "body", "arguments"]  # no second tool


def test_a_failed_run_without_json_prints_no_answer(cli: Any, isolated: Path) -> None:
    result = cli("run", "--strategy", "guided", "-m", "1", "--script",
                 script_path("guided_disagree"), "What is 2 to the power of 10?", env=ONE_SAMPLE)
    assert result.returncode == 1, result
    assert result.stdout.strip() == ""
    assert result.stderr.strip().splitlines()[-1].startswith("autoagent: error:")


def test_fit_score_separates_related_and_unrelated_tools() -> None:
    add = ("add_numbers", "Add two numbers", ["a", "b"])
    assert fit_score(MAIN_JOB, *add) >= FIT_THRESHOLD
    assert fit_score("Add 7 and 12.", *add) >= FIT_THRESHOLD
    for task in ("What is 17 times 23?", "Reverse the string 'autoagent'.",
                 "Sum the whole numbers from 1 to 100.", "How many prime numbers are below 30?"):
        assert fit_score(task, *add) < FIT_THRESHOLD, task
    average = ("average", "Average of numbers", ["numbers"])
    assert fit_score("Average of 1, 2 and 3", *average) >= FIT_THRESHOLD


def test_parameter_types_must_find_the_task_literals() -> None:
    assert params_fit_task([("a", "int"), ("b", "int")], "Add 2 and 3")
    assert params_fit_task([("numbers", "list")], "Average of 2, 4 and 9")
    assert not params_fit_task([("a", "int"), ("b", "int")], "Reverse the string 'abc'")
    assert not params_fit_task([("text", "str")], "What is 17 times 23?")


def test_value_kinds_are_facts_about_the_value() -> None:
    assert value_fits("number", 37.5) and value_fits("number", "12")
    assert not value_fits("number", True) and not value_fits("number", "abc")
    assert value_fits("whole number", 4) and value_fits("whole number", 4.0)
    assert not value_fits("whole number", 4.5)
    assert value_fits("yes or no", False) and value_fits("yes or no", "Yes")
    assert not value_fits("yes or no", 14)
    assert value_fits("text", "HELLO") and value_fits("text", 5)  # a number reads as text
    assert not value_fits("text", [1]) and not value_fits("text", True)
    assert value_fits("list", [1, 2]) and not value_fits("list", "1, 2")
    assert value_fits("date", "2024-02-03") and not value_fits("date", "Friday")
    assert value_fits("", 5)  # no kind given: nothing to hold against the value


def test_agreement_needs_an_independent_check_and_no_equal_rival() -> None:
    assert Candidates([5], second=[5.0]).agreed(5)  # 5 and 5.0 are one value
    assert not Candidates([5, 5, 5]).agreed(5)  # one tool's samples alone are not enough
    assert not Candidates([5], second=[7]).agreed(5)
    assert not Candidates([5, 7], second=[5, 7]).agreed(5)  # a tie
    assert Candidates([5, 5, 7], second=[5, 7]).agreed(5)
    # the tool's repeated samples cannot outvote what most of the checks computed
    assert not Candidates([1200, 1200, 1200], second=[1200, 12, 12]).agreed(1200)
    assert "an independent check computed 7" in Candidates([5], second=[7]).disagreement(5)
    assert "no independent check" in Candidates([5]).disagreement(5)


def test_the_supervisors_check_must_compute_from_the_task_values() -> None:
    task = "Sort the list [5, 3, 9, 1, 7] in ascending order."
    assert computes_from_task("sorted([5, 3, 9, 1, 7])", task)
    assert not computes_from_task("[5, 3, 9, 1, 7]", task)  # the task's list written out
    assert not computes_from_task("[1, 3, 5, 7, 9]", task)  # an answer stated, not computed
    assert not computes_from_task("sorted([2, 4])", task)  # none of the task's values
    assert not computes_from_task("sorted([5, 3,", task)  # does not parse
    reverse = "Reverse the string 'autoagent'."
    assert computes_from_task("'autoagent'[::-1]", reverse)
    assert not computes_from_task("'autoagent'", reverse)
    assert not computes_from_task("-667", "Compute 1234 minus 567.")
    assert computes_from_task("1234 - 567", "Compute 1234 minus 567.")
    # the task's values as an expression writes them: a negative number is minus applied to
    # a positive one, a list's texts count, a date is its year, month and day
    assert computes_from_task("abs(-7)", "What is the absolute value of -7?")
    assert computes_from_task("sorted(['pear', 'fig'])", "Sort the words ['pear', 'fig'].")
    assert computes_from_task("datetime.date(2024, 3, 15).weekday()",
                              "What day of the week was 2024-03-15?")
    assert computes_from_task("datetime.date.fromisoformat('2024-03-15').weekday()",
                              "What day of the week was 2024-03-15?")


def test_a_check_that_writes_the_answer_out_is_no_check() -> None:
    power = "What is 2 to the power of 10?"
    assert states_its_value("max(1024, 2)", 1024, power)
    assert states_its_value("[1024, 10][0]", 1024.0, power)
    assert not states_its_value("2 ** 10", 1024, power)
    assert not states_its_value("max([12, 45, 7])", 45, "Largest of [12, 45, 7]?")  # given
    assert not states_its_value("3.5 * 100", 350.0, "How many centimetres in 3.5 metres?")


def test_a_check_stating_the_tools_value_beside_a_task_value_is_not_counted(
        run_task: RunTask) -> None:
    # max(20, 2) returns the wrong tool's 20: counted, it would have agreed with exit 0
    run = run_task("guided_stated", "--strategy", "guided", "-m", "1",
                   "What is 2 to the power of 10?", env=ONE_SAMPLE)
    _failed_with_candidate(run, "20")
    checked = next(e["data"] for e in run.events if e["kind"] == "answer_checked")
    assert checked["second"] == [1024] and checked["agreed"] is False
    ran = [(e["data"]["name"], e["data"]["result"]) for e in run.events
           if e["kind"] == "candidate_run"]
    assert ran == [("power", 20), ("supervisor_check", 20), ("raise_to", 1024)]


def test_a_fix_turn_does_not_run_the_refuted_expression_again(run_task: RunTask) -> None:
    # turn 2's only body is turn 1's refuted one (spaced differently): it is no candidate
    run = run_task("guided_refuted_repeat", "--strategy", "guided", "-m", "2",
                   "What is 2 to the power of 10?", env=ONE_SAMPLE)
    assert run.returncode == 1, run
    assert run.summary["answer"] in (None, "") and run.summary["candidate"] == "20"
    second_turn = [e["data"] for e in run.events if e["data"].get("turn") == 2]
    assert not [e for e in second_turn if "args" in e and e.get("name") == "power"]
    failed = [e for e in second_turn if e.get("type") == "create_tool"]
    assert failed and "no expression" in failed[0]["error"]["message"]
    assert [(t["name"], t["version"]) for t in run.summary["tools_created"]] == [("power", 1)]
    assert "Traceback" not in run.stderr
