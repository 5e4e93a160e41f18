"""Framework time per turn of the run loop, model time excluded.

Runs the real loop in-process (scripted backend, filesystem stores, every recorder, the
real sandbox) on a task of N turns, each running a trivial tool, and reports per turn:
the median framework time (wall time minus the time spent inside the backend), and the
share of it spent in the sandbox, in saving the session and in recording events (median
of several runs). Usage:

    python bench/run_loop.py [--turns 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from autoagent_core import layers
from autoagent_core.config import load_settings
from autoagent_core.events import EventBus
from autoagent_core.loop.engine import RunLoop
from autoagent_core.redact import redactor_for
from autoagent_core.rundir import new_run_dir
from autoagent_core.sandbox import launcher as sandbox
from autoagent_core.types import Session


class Clock:
    """Accumulates the time spent inside wrapped calls."""

    def __init__(self) -> None:
        self.total = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total += time.perf_counter() - start
        return timed


def script(turns: int) -> list[dict[str, str]]:
    code = "def inc(n):\n    return n + 1\n"
    items = [{"agent": "coder", "text": json.dumps({"thought": "make it", "actions": [
        {"type": "create_tool", "name": "inc", "description": "Add one", "code": code},
        {"type": "run_tool", "name": "inc", "args": {"n": 0}}]})}]
    for n in range(turns):
        if n:
            items.append({"agent": "coder", "text": json.dumps({"thought": "again", "actions": [
                {"type": "run_tool", "name": "inc", "args": {"n": n}}]})})
        decision = "done" if n == turns - 1 else "continue"
        items.append({"agent": "supervisor", "text": json.dumps(
            {"thought": "ok", "decision": decision, "feedback": "next", "tips": ["go on"],
             "answer": str(n + 1)})})
    return items


def one_run(turns: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        path = Path(tmp) / "script.json"
        path.write_text(json.dumps(script(turns)))
        settings = load_settings({"backend": "scripted", "script": str(path),
                                  "max_turns": turns})
        sessions = layers.open_session_store(settings)
        backend = layers.open_backend(settings)
        model, sandboxed, saving, recording = Clock(), Clock(), Clock(), Clock()
        backend.complete = model.wrap(backend.complete)  # type: ignore[method-assign]
        sessions.save = saving.wrap(sessions.save)  # type: ignore[method-assign]
        original_run_tool = sandbox.run_tool
        sandbox.run_tool = sandboxed.wrap(original_run_tool)
        try:
            session = Session(id=sessions.new_id(), task="count")
            sessions.create(session)
            run_dir = new_run_dir(settings.path("log_dir"))
            recorders = layers.open_recorders(settings, run_dir)
            for _name, recorder in recorders:
                recorder.handle = recording.wrap(recorder.handle)  # type: ignore[method-assign]
                recorder.close = recording.wrap(recorder.close)  # type: ignore[method-assign]
            bus = EventBus(recorders, redactor_for(settings))
            loop = RunLoop(settings, backend, layers.open_tool_store(settings),
                           layers.open_agent_registry(settings), sessions, bus, session)
            start = time.perf_counter()
            outcome = loop.run()
            bus.close()
            wall = time.perf_counter() - start
        finally:
            sandbox.run_tool = original_run_tool
            os.chdir("/")
        assert outcome.status == "completed", outcome.error
        framework = wall - model.total
        return {"framework_ms": framework / turns * 1000,
                "sandbox": sandboxed.total / framework, "saving": saving.total / framework,
                "recording": recording.total / framework,
                "model_ms": model.total / turns * 1000}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results = [one_run(args.turns) for _ in range(args.runs)]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    framework = med("framework_ms")
    print(f"run loop, {args.turns} turns x {args.runs} runs (scripted backend, trivial tool)")
    print(f"  framework time per turn (median): {framework:8.1f} ms")
    for key in ("sandbox", "saving", "recording"):
        print(f"    {key:<10} {med(key) * 100:5.1f} %  ({med(key) * framework:6.1f} ms)")
    rest = 1 - med("sandbox") - med("saving") - med("recording")
    print(f"    {'the rest':<10} {rest * 100:5.1f} %  (prompts, parsing, stores, events)")
    print(f"  scripted backend time per turn (excluded): {med('model_ms'):.2f} ms")


if __name__ == "__main__":
    main()
