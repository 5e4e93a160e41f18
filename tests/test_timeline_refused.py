"""A refused action (code that does not parse, an invalid agent name) is visible in the
timeline, the Markdown and the HTML page, not only in the session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _script(path: Path) -> Path:
    coder = {"thought": "write it", "actions": [
        {"type": "create_tool", "name": "adder", "description": "Add",
         "code": "def adder(a, b):\n    return a + b\n  } },"},
        {"type": "create_agent", "name": "../evil", "role": "r", "instructions": "i"}]}
    supervisor = {"thought": "no", "decision": "fail", "feedback": "the code did not parse",
                  "tips": [], "answer": ""}
    path.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                {"agent": "supervisor", "text": json.dumps(supervisor)}]))
    return path


def test_refused_actions_appear_in_every_timeline_file(cli: Any, isolated: Path) -> None:
    script = _script(isolated / "refused.json")
    result = cli("run", "--script", str(script), "--json", "add two numbers")
    assert result.returncode == 1, result
    run_dir = isolated / json.loads(result.stdout)["run_dir"]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    refused = [e["data"] for e in events if e["kind"] == "action_failed"]
    assert [(r["type"], r["name"], r["error"]["class"]) for r in refused] == [
        ("create_tool", "adder", "invalid_tool"), ("create_agent", "../evil", "invalid_name")]
    markdown = (run_dir / "timeline.md").read_text()
    assert "### Refused: create_tool `adder`" in markdown
    assert "### Refused: create_agent" in markdown
    page = (run_dir / "timeline.html").read_text()
    assert page.count("refused</span>") == 2
    assert "../evil" in page
    assert not (isolated / ".permanent_tools" / "adder.py").exists()
