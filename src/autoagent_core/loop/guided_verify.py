"""The guided strategy's independent second tool and the Supervisor's decision.

An answer is ``done`` only when a second tool, designed independently of the first (its own
sampled signature, different from the kept one, its own bodies and its own call), computes
the same value, the value is of the kind the task asks for, and the Supervisor's model says
yes. The second tool shares nothing with the first but the task: a small model that
misreads a task through the names it chose (``value * power`` in ``power_to_10(value,
power)`` for "2 to the power of 10", sampled twice out of three) rarely misreads it the same
way through other names. Facts and prompts live in :mod:`.guided_checks`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from autoagent_core.loop import guided_checks as checks
from autoagent_core.loop import guided_steps as steps
from autoagent_core.loop.prompts import clip
from autoagent_core.protocol.actions import SupervisorReply
from autoagent_core.types import Turn

if TYPE_CHECKING:
    from autoagent_core.loop.guided import GuidedTurn


SECOND_DESIGNS = 3
"""Designs tried for the second tool, one after another, until one computes a value."""


def second_tool(guided: GuidedTurn, task: str, turn: Turn, name: str,
                params: list[tuple[str, str]]) -> list[Any]:
    """The values an independently designed second tool computes: a signature sampled at
    temperature (sample numbers after the first tool's), different from ``name(params)``
    and from earlier designs, its sampled bodies, each run in the sandbox (never saved)
    with its own first call. Values not of the kind the task asks for are no answers and
    are left out; a design none of whose bodies computes one is replaced by the next, up
    to :data:`SECOND_DESIGNS`.

    The first design that computes values is the check, whether or not it agrees: trying
    further designs until one agrees gives the model's favourite wrong constants more
    chances to repeat through other names (``degrees * 9.8``, then ``temperature * 9.8``
    for Fahrenheit to Celsius: 980 was accepted when designs were tried until one agreed)."""
    samples = guided.loop.settings.guided_samples
    tried = [(name, params)]
    for design in range(SECOND_DESIGNS):
        second, description, second_params = guided.signature(
            task, turn, samples * (design + 1) + 1, unlike=tried)
        if not second:
            continue
        tried.append((second, second_params))
        calls = guided.arguments(task, turn, steps.python_signature(second, second_params),
                                 second_params, count=1)
        values = []
        for code in dict.fromkeys(guided.bodies(task, turn, second, description,
                                                second_params)):
            value = guided.run_code(turn, second, code, calls[0]) if calls else None
            if value is not None and checks.value_fits(guided.kind, value):
                values.append(value)
        if values:
            return values
    return []


def decide(guided: GuidedTurn, task: str, turn: Turn,
           run: dict[str, Any] | None) -> SupervisorReply:
    """The decision on the turn's kept run: ``continue`` without a value, ``fail`` when a
    check disagrees, else the Supervisor's yes/no question decides ``done``."""
    if run is None or run.get("type") != "run_tool":
        return SupervisorReply(thought="", decision="continue",
                               feedback="no tool was written and run this turn")
    if not run.get("ok"):
        error = run.get("error") or {}
        return SupervisorReply(
            thought="", decision="continue",
            feedback=f"the tool failed ({error.get('class', 'error')}): "
                     f"{clip(str(error.get('message', '')), 300)}")
    value = run.get("result")
    if value is None or value == "" or value == []:
        return SupervisorReply(thought="", decision="continue",
                               feedback="the tool returned no value")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    args = (run.get("action") or {}).get("args") or {}
    call = f"{run.get('name')}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
    thought = f"{call} returned {clip(text, 200)}"
    guided.session.candidate = text
    agreement: checks.Candidates = run.get("agreement") or checks.Candidates()
    if not checks.value_fits(guided.kind, value):
        return SupervisorReply(
            thought=thought, decision="fail",
            feedback=f"unverified answer {checks.shown(value)}: the task asks for "
                     f"{guided.kind}, and the value is not one")
    if not agreement.agreed(value):
        return SupervisorReply(thought=thought, decision="fail",
                               feedback=f"unverified answer {checks.shown(value)}: "
                                        f"{agreement.disagreement(value)}")
    reply = guided.ask("supervisor", "judge",
                       steps.judge_messages(task, call, clip(text, 500)),
                       steps.JUDGE_SCHEMA, turn)
    if (reply or {}).get("answer") == "no":
        return SupervisorReply(thought=thought, decision="continue",
                               feedback=f"the result {clip(text, 200)} does not answer "
                                        "the task")
    return SupervisorReply(thought=thought, decision="done", answer=text)
