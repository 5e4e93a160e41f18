"""200,000 nested brackets written to the result pipe are a classified tool error, through
the project's JSON scanner: ``tools run`` exits 1 and ``run`` ends with the session saved,
no traceback and no session left ``active``."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CliFn
from fixtures.runs import read_session

# the result pipe's number is the sandbox's business: write to every pipe the tool holds
CODE = '''def deep():
    import os, stat
    data = b"[" * 200_000 + b"]" * 200_000
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and stat.S_ISFIFO(os.fstat(fd).st_mode):
                os.write(fd, data)
        except OSError:
            pass
    os._exit(0)
'''


def _script(path: Path) -> Path:
    coder = {"thought": "go", "actions": [
        {"type": "create_tool", "name": "deep", "description": "deep", "code": CODE},
        {"type": "run_tool", "name": "deep", "args": {}}]}
    supervisor = {"thought": "it broke", "decision": "fail", "feedback": "the result broke",
                  "tips": [], "answer": ""}
    path.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                {"agent": "supervisor", "text": json.dumps(supervisor)}]))
    return path


def test_two_hundred_thousand_nested_brackets_are_a_classified_error(
        cli: CliFn, isolated: Path) -> None:
    ran = cli("run", "go deep", "--json", "--script", str(_script(isolated / "s.json")))
    assert ran.returncode == 1, ran
    assert "Traceback" not in ran.stderr and "internal error" not in ran.stderr
    summary = json.loads(ran.stdout)
    session = read_session(isolated, summary["session_id"])
    assert session["status"] == "failed"
    events = [json.loads(line) for line in
              (Path(summary["run_dir"]) / "events.jsonl").read_text().splitlines()]
    [call] = [e["data"] for e in events if e["kind"] == "tool_run"]
    assert call["ok"] is False and call["error"]["class"] == "output_too_large"
    assert "nested deeper than" in call["error"]["message"]

    direct = cli("tools", "run", "deep")
    assert direct.returncode == 1, direct
    assert "Traceback" not in direct.stderr
    assert "[output_too_large] the tool's result is nested deeper than" in direct.stderr
