"""The guided strategy's independent checks and the Supervisor's decision.

An answer is ``done`` only when an independent computation gives the same value, the value
is of the kind the task asks for, and the Supervisor's model says yes. The computations
share nothing with the tool but the task: first the Supervisor's own expression over the
task's values (:func:`direct_values`), then, when that does not agree, a second tool
designed independently (its own sampled signature, different from the kept one, its own
bodies and its own call: :func:`second_tool`). A small model that misreads a task through
the names it chose (``value * power`` in ``power_to_10(value, power)`` for "2 to the power
of 10", sampled twice out of three) rarely misreads it the same way through other names, or
with no names at all. Facts and prompts live in :mod:`.guided_checks`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from autoagent_core.loop import guided_checks as checks
from autoagent_core.loop import guided_steps as steps
from autoagent_core.loop import guided_syntax as syntax
from autoagent_core.loop.prompts import clip
from autoagent_core.protocol.actions import SupervisorReply
from autoagent_core.types import Turn

if TYPE_CHECKING:
    from autoagent_core.loop.guided import GuidedTurn


SECOND_DESIGNS = 3
"""Designs tried for the second tool, one after another, until one computes a value."""


DIRECT_NAME = "supervisor_check"
"""The function the Supervisor's expression runs as in the sandbox (never saved)."""


def independent_values(guided: GuidedTurn, task: str, turn: Turn, value: Any,
                       agreement: checks.Candidates, name: str,
                       params: list[tuple[str, str]]) -> list[Any]:
    """The values the independent checks compute: the Supervisor's own expression, and the
    second tool's too when those do not agree on ``value`` (the first tool's
    ``agreement``)."""
    found = direct_values(guided, task, turn)
    if checks.Candidates(agreement.values, found).agreed(value):
        return found
    return [*found, *second_tool(guided, task, turn, name, params)]


def direct_values(guided: GuidedTurn, task: str, turn: Turn) -> list[Any]:
    """The values of the Supervisor's sampled expressions over the task's values, each run
    in the sandbox as a function of no parameters; an expression that writes out a value
    instead of computing one (alone, or beside the task's values: ``max(1024, 2)``), or
    computes from none of the task's values, is left out, as are values not of the kind the
    task asks for."""
    texts = steps.task_literals(task)["string"]
    schema = syntax.body_schema([], (), max([syntax.TEXT_CHARS, *map(len, texts)]))
    ran: dict[str, Any] = {}
    values = []
    for reply in guided.samples("supervisor", "direct", checks.direct_messages(task), schema,
                                turn, distinct=False):  # a repeat is another draw
        expression = str(reply.get("expression", ""))
        code = steps.tool_code(DIRECT_NAME, "", [], expression)
        if code is None or not checks.computes_from_task(expression, task):
            continue
        if code not in ran:
            ran[code] = guided.run_code(turn, DIRECT_NAME, code, {})
        value = ran[code]
        if (value is not None and checks.value_fits(guided.kind, value)
                and not checks.states_its_value(expression, value, task)):
            values.append(value)
    return values


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
        # the Coder hears that a check disagreed, never the check's value: a tool written
        # to return it would agree with the check the next turn without computing anything
        return SupervisorReply(thought=thought, decision="fail",
                               feedback=f"unverified answer {checks.shown(value)}: "
                                        f"{agreement.disagreement(value)}",
                               tips=[f"an independent check did not confirm "
                                     f"{checks.shown(value, 60)}"])
    reply = guided.ask("supervisor", "judge",
                       steps.judge_messages(task, call, clip(text, 500)),
                       steps.JUDGE_SCHEMA, turn)
    if (reply or {}).get("answer") == "no":
        return SupervisorReply(thought=thought, decision="continue",
                               feedback=f"the result {clip(text, 200)} does not answer "
                                        "the task")
    return SupervisorReply(thought=thought, decision="done", answer=text)
