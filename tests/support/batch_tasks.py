"""Writes TASKS.jsonl files and scripted-backend scripts for batch tests and the benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def tool_script(path: Path, tool: str, code: str, args: dict[str, Any] | None = None,
                answer: str = "ok", create: bool = True, agent: str | None = None) -> Path:
    """A script: the Coder (creates ``agent`` and) (creates and) runs ``tool``, the
    Supervisor says done."""
    actions: list[dict[str, Any]] = []
    if agent:
        actions.append({"type": "create_agent", "name": agent, "role": f"{agent} helper",
                        "instructions": "Help with sums."})
    if create:
        actions.append({"type": "create_tool", "name": tool, "description": f"{tool} tool",
                        "code": code})
    actions.append({"type": "run_tool", "name": tool, "args": args or {}})
    coder = {"thought": f"use {tool}", "actions": actions}
    supervisor = {"thought": "the tool answered", "decision": "done", "feedback": "",
                  "tips": [], "answer": answer}
    path.write_text(json.dumps([{"agent": "coder", "text": json.dumps(coder)},
                                {"agent": "supervisor", "text": json.dumps(supervisor)}]))
    return path


def write_tasks(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def own_tool_tasks(folder: Path, count: int, sleep_s: float = 0.0,
                   agents: bool = False) -> Path:
    """``count`` tasks, task ``tN`` creating and running its own tool ``tool_N`` (and
    creating its own agent ``agent_N`` with ``agents``)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(count):
        pause = f"    import time\n    time.sleep({sleep_s})\n" if sleep_s else ""
        code = f"def tool_{n}(x):\n{pause}    return x + {n}\n"
        tool_script(folder / f"script_{n}.json", f"tool_{n}", code, {"x": 1}, str(1 + n),
                    agent=f"agent_{n}" if agents else None)
        rows.append({"id": f"t{n}", "task": f"add {n} to 1", "script": f"script_{n}.json"})
    return write_tasks(folder / "tasks.jsonl", rows)


def read_results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
