"""Synthetic event streams that look like real runs, for the timeline tests and bench.

:func:`emit_realistic_run` drives an :class:`~autoagent_core.events.EventBus` the way the
run loop does: the Coder writes a tool that fails, the Supervisor gives tips, the Coder
fixes it, consults a specialised agent, and the Supervisor accepts the answer. Every
piece of model or tool text can carry an extra ``payload`` (hostile markup, a canary
secret) so the tests can check where it ends up.
"""

from __future__ import annotations

import json
from typing import Any

from autoagent_core.events import EventBus

TASK = "Compute the average of the numbers 3, 5, 10 and 22 with a reusable tool"
SESSION_ID = "20250101-120000-abcd"

BROKEN_CODE = '''def average(numbers):
    """Average of a list of numbers."""
    return sum(numbers) / len(number)
'''
FIXED_CODE = '''def average(numbers: list[float]) -> float:
    """Average of a list of numbers (0 for an empty list)."""
    if not numbers:
        return 0.0
    return sum(numbers) / len(numbers)
'''
SYSTEM_CODER = "You are the Coder. Answer with one JSON object: thought, actions."
SYSTEM_SUPERVISOR = "You are the Supervisor. Judge the result and decide."


def _reply(thought: str, actions: list[dict[str, Any]]) -> str:
    return json.dumps({"thought": thought, "actions": actions}, indent=2)


def emit_realistic_run(bus: EventBus, payload: str = "", turns: int = 2,
                       finish: bool = True, task: str = TASK,
                       session_id: str = SESSION_ID) -> None:
    """A run of ``turns`` turns (at least 2): a failing tool, a fix, a done decision."""
    p = payload
    bus.emit("run_started", task=task + p, session_id=session_id, backend="scripted",
             model="scripted-model", settings={"max_turns": 10}, resumed=False)
    history = [{"role": "system", "content": SYSTEM_CODER},
               {"role": "user", "content": f"Task: {task}{p}"}]
    for turn in range(1, turns + 1):
        last = turn == turns
        fixed = turn > 1
        bus.emit("turn_started", turn=turn)
        bus.emit("model_request", agent="coder", turn=turn, messages=list(history))
        code = FIXED_CODE if fixed else BROKEN_CODE
        text = _reply(
            ("The previous version had a typo; fixing it." if fixed
             else "I will write an average tool and run it.") + p,
            [{"type": "create_tool", "name": "average", "description": "Average " + p,
              "code": code},
             {"type": "run_tool", "name": "average", "args": {"numbers": [3, 5, 10, 22]}}],
        )
        bus.emit("model_reply", agent="coder", turn=turn, text=text,
                 usage={"prompt_tokens": 420 + 130 * turn, "completion_tokens": 96},
                 latency_s=1.25, model="scripted-model")
        history.append({"role": "assistant", "content": text})
        if turn == 1:
            bus.emit("format_error", agent="coder", turn=turn,
                     error="expected one JSON object" + p, text="Sure! here you go" + p)
        bus.emit("tool_created", name="average", version=turn,
                 description="Average of a list of numbers" + p,
                 code=code + (f"# {p}\n" if p else ""),
                 created=not fixed)
        if fixed:
            bus.emit("tool_run", name="average", version=turn,
                     args={"numbers": [3, 5, 10, 22], "note": p}, ok=True, result=10.0,
                     stdout="computed" + p, stderr="", duration_s=0.042)
        else:
            bus.emit("tool_run", name="average", version=turn,
                     args={"numbers": [3, 5, 10, 22]}, ok=False,
                     error={"class": "name", "message": "name 'number' is not defined" + p,
                            "traceback": 'File "average.py", line 3, in average\n'
                                         "    return sum(numbers) / len(number)\n"
                                         "NameError: name 'number' is not defined" + p,
                            "suggestions": ["Check the spelling of variable names" + p]},
                     stdout="", stderr="Traceback..." + p, duration_s=0.038)
        if turn == 2:
            bus.emit("agent_created", name="reviewer", role="Reviews numeric code" + p,
                     instructions="You review Python code for numeric errors." + p,
                     created_by="coder")
            bus.emit("agent_consulted", name="reviewer", message="Is the average right?" + p,
                     reply="Yes: (3+5+10+22)/4 = 10." + p, depth=1)
        history.append({"role": "user", "content": "Tool results: ..." + p})
        bus.emit("model_request", agent="supervisor", turn=turn,
                 messages=[{"role": "system", "content": SYSTEM_SUPERVISOR},
                           {"role": "user", "content": "Task and results" + p}])
        decision = "done" if last else "continue"
        sup_text = json.dumps({"thought": "Checking the result" + p, "decision": decision})
        bus.emit("model_reply", agent="supervisor", turn=turn, text=sup_text,
                 usage={"prompt_tokens": 610, "completion_tokens": 48}, latency_s=0.8,
                 model="scripted-model")
        if last:
            bus.emit("supervisor_decision", turn=turn, decision="done",
                     feedback="The tool works and the answer is correct." + p, tips=[],
                     answer="The average is 10." + p)
            bus.emit("final_answer", agent="supervisor", answer="The average is 10." + p)
        else:
            bus.emit("supervisor_decision", turn=turn, decision="continue",
                     feedback="The tool raised NameError: `number` is undefined." + p,
                     tips=["Use `len(numbers)`" + p, "Handle an empty list"], answer="")
        bus.emit("session_saved", session_id=session_id, turn=turn)
    if finish:
        bus.emit("run_finished", status="completed", answer="The average is 10." + p,
                 turns=turns, usage={"prompt_tokens": 2400, "completion_tokens": 300},
                 duration_s=7.5)


def emit_events(bus: EventBus, count: int) -> None:
    """About ``count`` events in the shape of a long run (for the benchmark)."""
    bus.emit("run_started", task=TASK, session_id=SESSION_ID, backend="scripted",
             model="m", settings={}, resumed=False)
    history = [{"role": "system", "content": SYSTEM_CODER},
               {"role": "user", "content": TASK}]
    emitted, turn = 1, 0
    while emitted < count - 1:
        turn += 1
        batch = [
            ("turn_started", {"turn": turn}),
            ("model_request", {"agent": "coder", "turn": turn, "messages": history[-6:]}),
            ("model_reply", {"agent": "coder", "turn": turn,
                             "text": _reply("thinking", [{"type": "run_tool",
                                                          "name": "average"}]),
                             "usage": {"prompt_tokens": 500, "completion_tokens": 80},
                             "latency_s": 1.0, "model": "m"}),
            ("tool_created", {"name": "average", "version": turn, "description": "Average",
                              "code": FIXED_CODE, "created": turn == 1}),
            ("tool_run", {"name": "average", "version": turn, "args": {"numbers": [1, 2]},
                          "ok": True, "result": 1.5, "duration_s": 0.04}),
            ("supervisor_decision", {"turn": turn, "decision": "continue",
                                     "feedback": "go on", "tips": ["a tip"], "answer": ""}),
            ("session_saved", {"session_id": SESSION_ID, "turn": turn}),
        ]
        for kind, data in batch:
            if emitted >= count - 1:
                break
            bus.emit(kind, **data)
            emitted += 1
        history.append({"role": "assistant", "content": f"reply of turn {turn}"})
    bus.emit("run_finished", status="completed", answer="1.5", turns=turn,
             usage={"prompt_tokens": 500 * turn, "completion_tokens": 80 * turn},
             duration_s=1.0)
