"""``autoagent batch`` through the real CLI with the scripted backend: parallel tasks that
create tools (different names, the same name), bad lines, failures and --retry-failed."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliFn
from support.batch_tasks import own_tool_tasks, read_results, tool_script, write_tasks


def _sessions(work: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in (work / ".sessions").glob("*.json")
            if not p.name.startswith("_") and p.name != "index.json"]


def test_eight_tasks_four_processes_each_keep_their_tool(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "batch", 8, agents=True)
    result = cli("batch", str(tasks), "-j", "4", "-o", "results.jsonl", "--json")
    assert result.returncode == 0, result
    summary = json.loads(result.stdout)
    assert summary["completed"] == 8 and summary["failed"] == 0
    rows = read_results(isolated / "results.jsonl")
    assert sorted(r["id"] for r in rows) == [f"t{n}" for n in range(8)]
    for row in rows:
        n = int(row["id"][1:])
        assert row["status"] == "completed" and row["answer"] == str(1 + n)
        assert row["tools_created"][0]["name"] == f"tool_{n}"
        assert row["usage"]["total_tokens"] > 0 and row["turns"] == 1
    assert len(result.stderr.strip().splitlines()) == 8  # a plain line per task in a pipe
    listed = json.loads(cli("tools", "list", "--json").stdout)
    assert sorted(t["name"] for t in listed) == [f"tool_{n}" for n in range(8)]
    agents = json.loads(cli("agents", "list", "--json").stdout)
    assert sorted(a["name"] for a in agents) == [f"agent_{n}" for n in range(8)]
    sessions = json.loads(cli("sessions", "list", "--json").stdout)
    assert len(sessions) == 8 and {s["status"] for s in sessions} == {"completed"}
    assert {s["id"] for s in sessions} == {r["session_id"] for r in rows}


def test_tasks_creating_the_same_tool_leave_one_version(cli: CliFn, isolated: Path) -> None:
    folder = isolated / "same"
    folder.mkdir()
    tool_script(folder / "s.json", "double", "def double(x):\n    return 2 * x\n", {"x": 4}, "8")
    write_tasks(folder / "tasks.jsonl",
                [{"id": f"d{n}", "task": "double 4", "script": "s.json"} for n in range(8)])
    result = cli("batch", str(folder / "tasks.jsonl"), "-j", "4")
    assert result.returncode == 0, result
    history = json.loads(cli("tools", "history", "double", "--json").stdout)
    assert [v["version"] for v in history] == [1]
    rows = read_results(folder / "tasks.results.jsonl")
    assert len(rows) == 8 and all(r["answer"] == "8" for r in rows)


def test_bad_lines_refuse_the_whole_file_before_any_work(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "b", 2)
    good = tasks.read_text().splitlines()
    tasks.write_text("\n".join([good[0], "{not json", '{"id": "x"}', good[1],
                                json.dumps({"id": "t0", "task": "again"})]) + "\n")
    result = cli("batch", str(tasks), "-o", "r.jsonl")
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autoagent: error:")
    assert "line 2: not JSON" in lines[0] and "line 3: 'task'" in lines[0]
    assert "line 5: id 't0' already on line 1" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (isolated / "r.jsonl").exists() and not (isolated / ".sessions").exists()


def test_failed_tasks_exit_1_and_retry_failed_runs_them(cli: CliFn, isolated: Path) -> None:
    folder = isolated / "f"
    tasks = own_tool_tasks(folder, 2)
    rows = [json.loads(line) for line in tasks.read_text().splitlines()]
    rows[1]["script"] = "missing.json"
    write_tasks(tasks, rows)
    first = cli("batch", str(tasks), "-o", "r.jsonl", "--json")
    assert first.returncode == 1, first
    by_id = {r["id"]: r for r in read_results(isolated / "r.jsonl")}
    assert by_id["t0"]["status"] == "completed"
    assert by_id["t1"]["status"] == "failed" and "missing.json" in by_id["t1"]["error"]
    again = cli("batch", str(tasks), "-o", "r.jsonl", "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["ran"] == 0
    rows[1]["script"] = "script_1.json"
    write_tasks(tasks, rows)
    retried = cli("batch", str(tasks), "-o", "r.jsonl", "--retry-failed", "--json")
    assert retried.returncode == 0, retried
    assert json.loads(retried.stdout)["ran"] == 1
    last = {r["id"]: r["status"] for r in read_results(isolated / "r.jsonl")}
    assert last == {"t0": "completed", "t1": "completed"}


def test_per_task_max_turns_and_session_id(cli: CliFn, isolated: Path) -> None:
    folder = isolated / "o"
    own_tool_tasks(folder, 1)
    write_tasks(folder / "tasks.jsonl", [{"id": "named", "task": "add", "max_turns": 3,
                                          "script": "script_0.json", "session_id": "my-run"}])
    result = cli("batch", str(folder / "tasks.jsonl"), "--json")
    assert result.returncode == 0, result
    row = read_results(folder / "tasks.results.jsonl")[0]
    assert row["session_id"] == "my-run"
    assert json.loads(cli("sessions", "show", "my-run", "--json").stdout)["status"] == \
        "completed"


SERIAL_EXECUTOR = '''
from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


class Serial:
    def __init__(self, options):
        self.options = options

    def run(self, jobs, on_result):
        from autoagent_core.batch.one_task import run_job
        for job in reversed(list(jobs)):
            row = run_job(job)
            row["answer"] = "serial:" + str(row["answer"])
            on_result(row)

    def close(self):
        pass


@hookimpl
def autoagent_executors():
    return [Provider("serial", Serial, "one task after another, last first")]
'''


def test_a_third_party_executor_plugs_in(cli: CliFn, isolated: Path) -> None:
    from support.fake_dist import make_fake_plugin

    site = isolated.parent / "site"
    make_fake_plugin(site, "fake-serial", "serial", "fake_serial", SERIAL_EXECUTOR)
    tasks = own_tool_tasks(isolated / "p", 2)
    result = cli("batch", str(tasks), "--executor", "serial", "-o", "r.jsonl",
                 env={"PYTHONPATH": str(site)})
    assert result.returncode == 0, result
    rows = read_results(isolated / "r.jsonl")
    assert [r["id"] for r in rows] == ["t1", "t0"]
    assert [r["answer"] for r in rows] == ["serial:2", "serial:1"]
    unknown = cli("batch", str(tasks), "--executor", "nope", "-o", "x.jsonl")
    assert unknown.returncode == 5 and "no executor named 'nope'" in unknown.stderr


def test_a_results_line_cut_by_a_crash_is_ignored(cli: CliFn, isolated: Path) -> None:
    tasks = own_tool_tasks(isolated / "cut", 2)
    results = isolated / "r.jsonl"
    results.write_text('{"id": "t0", "status": "completed", "answ')  # killed mid-write
    result = cli("batch", str(tasks), "-o", str(results), "--json")
    assert result.returncode == 0, result
    assert json.loads(result.stdout)["ran"] == 2  # the cut line did not count as done
    assert sorted(r["id"] for r in read_results_skipping_cut(results)) == ["t0", "t1"]


def read_results_skipping_cut(path: Path) -> list[dict[str, object]]:
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            assert line.startswith('{"id": "t0", "status": "completed", "answ')
    return rows
