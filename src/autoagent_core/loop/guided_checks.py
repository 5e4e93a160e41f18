"""What the guided strategy checks before it calls an answer done: the prompts, schemas and
facts of its independent checks. No model calls here (see :mod:`autoagent_core.loop.guided`).

An answer is declared only when every check agrees with it:

- **agreement**: an independent computation gives the same value, and no other value was
  computed as often by the tool's samples and the check's together. The check is first the
  Supervisor's own: one expression written over the task's values, with no function, no
  parameters and none of the Coder's names (:func:`direct_messages`, kept only when it
  computes from the task's values: :func:`computes_from_task`); when that does not agree, a
  second tool, designed independently of the first (its own sampled signature, different
  from the kept one, its own bodies and its own call)
  (:mod:`autoagent_core.loop.guided_verify`). A body that leaves a parameter unused or
  reads a name nothing defines never becomes a candidate.
- **form**: the model is asked one narrow constrained question, what kind of value answers
  the task (a number, a whole number, a text, yes or no, a list, a date), and the loop
  checks the value's own type against that kind.
- the Supervisor's yes/no question on the task, the call and its result.

When a check disagrees the run ends ``failed`` with the value as the unverified
``candidate``: a wrong answer with exit 0 is worse than an honest failure.

Reuse: a library tool is offered only when it fits the task: its name, description and
parameters score at least :data:`autoagent_core.retrieval.FIT_THRESHOLD` against the task,
and the task gives a literal of every parameter's type.
"""

from __future__ import annotations

import ast
import datetime
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.loop.guided_steps import (
    ISO_DATE,
    PARAM_TYPES,
    _exchange,
    _fill,
    list_values,
    prompts,
    result_key,
    task_literals,
    task_numbers,
)
from autoagent_core.types import Message

KINDS = ["number", "whole number", "text", "yes or no", "list", "date"]
KIND_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"kind": {"enum": KINDS}},
                               "required": ["kind"]}
YES_NO = {"yes", "no", "true", "false"}


# --------------------------------------------------------------------------- form


def kind_messages(task: str) -> list[Message]:
    data = prompts()["kind"]
    examples = [(_fill(data["user"], task=e["task"]), e["reply"]) for e in data["examples"]]
    return _exchange("kind", _fill(data["user"], task=task), examples)


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return False
    return True


def value_fits(kind: str, value: Any) -> bool:
    """True when the value's own type is a ``kind`` answer (a fact about the value)."""
    if kind == "number":
        return _as_number(value) is not None
    if kind == "whole number":
        number = _as_number(value)
        return number is not None and number.is_integer()
    if kind == "yes or no":
        return isinstance(value, bool) or (isinstance(value, str)
                                           and value.strip().lower() in YES_NO)
    if kind == "list":
        return isinstance(value, list)
    if kind == "date":
        return _is_date(value)
    if kind == "text":
        return isinstance(value, str) or _as_number(value) is not None
    return True  # no kind given: nothing to hold against the value


# --------------------------------------------------------------------------- agreement


def direct_messages(task: str) -> list[Message]:
    """The Supervisor's own computation: the task's answer as one expression over its
    values (no function, no parameter, none of the Coder's names)."""
    data = prompts()["direct"]
    examples = [(_fill(data["user"], task=e["task"]), e["reply"]) for e in data["examples"]]
    return _exchange("direct", _fill(data["user"], task=task), examples)


LITERAL_NODES = (ast.Expression, ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict,
                 ast.UnaryOp, ast.USub, ast.UAdd, ast.Load)
"""What a value written out is made of (``3.0``, ``(5, 3, 9)``, ``-2``)."""


def task_values(task: str) -> list[Any]:
    """The task's values as an expression writes them: its numbers, alone or in its lists
    (and without their sign: ``-7`` parses as minus applied to ``7``), its quoted texts and
    the texts of its lists, and the year, month and day of its ISO dates
    (``datetime.date(2024, 3, 15)``)."""
    found = task_literals(task)
    numbers = task_numbers(task)
    values: list[Any] = [*numbers, *(abs(n) for n in numbers), *found["string"]]
    values += [v for array in found["array"] for v in array if isinstance(v, str)]
    for text in found["string"]:
        if ISO_DATE.fullmatch(text):
            values += [int(part) for part in text.split("-")]
    return values


def _constants(expression: str) -> list[Any] | None:
    """The expression's constants (no booleans), or None when it does not parse; ``[]`` when
    it is a value written out (made of constants and displays only)."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    nodes = list(ast.walk(tree))
    if all(isinstance(node, LITERAL_NODES) for node in nodes):
        return []
    return [node.value for node in nodes
            if isinstance(node, ast.Constant) and not isinstance(node.value, bool)]


def computes_from_task(expression: str, task: str) -> bool:
    """True when ``expression`` computes (it is not a value written out: ``10``, the task's
    own list) and starts from at least one value the task gives (:func:`task_values`): a
    check that states a value, or computes from none of the task's, checks nothing."""
    given = task_values(task)
    return any(constant in given for constant in _constants(expression) or [])


def states_its_value(expression: str, value: Any, task: str) -> bool:
    """True when ``value`` is one of the expression's own constants that the task does not
    give (``max(1024, 2)`` for "2 to the power of 10"): the answer was written out, not
    computed."""
    given = task_values(task)
    key = result_key(value)
    return any(result_key(constant) == key for constant in _constants(expression) or []
               if constant not in given)


@dataclass
class Candidates:
    """The values the first tool's sampled bodies computed with the chosen arguments, one
    per sample that ran, and the values of the independent checks (the Supervisor's own
    expression, the second tool: :func:`autoagent_core.loop.guided_verify.independent_values`)."""

    values: list[Any] = field(default_factory=list)
    second: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> None:
        self.values.append(value)

    def support(self, value: Any) -> int:
        """How many samples of the first tool computed ``value``."""
        key = result_key(value)
        return sum(result_key(v) == key for v in self.values)

    def others(self, value: Any) -> list[Any]:
        key = result_key(value)
        return [v for v in self.values if result_key(v) != key]

    def agreed(self, value: Any) -> bool:
        """The first tool computed ``value``, an independent check computed it too, no
        other value was computed as often by both together, and none more often by the
        checks alone (the tool's repeated samples cannot outvote the checks)."""
        key = result_key(value)
        counts = Counter(result_key(v) for v in [*self.values, *self.second])
        checks = Counter(result_key(v) for v in self.second)
        return (self.support(value) >= 1 and checks[key] >= 1
                and all(n < counts[key] for k, n in counts.items() if k != key)
                and all(n <= checks[key] for n in checks.values()))

    def disagreement(self, value: Any) -> str:
        """Why ``value`` is not agreed, for the stderr line (the next turn's prompt is
        told only that a check did not confirm it)."""
        key = result_key(value)
        rivals = [v for v in self.second if result_key(v) != key]
        if rivals:
            return f"an independent check computed {shown(rivals[0])}"
        if not self.second:
            return "no independent check computed a value"
        others = self.others(value)
        return f"another sampled body computed {shown(others[0])}" if others else "unchecked"


def shown(value: Any, width: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           default=repr)
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- reuse


def params_fit_task(params: list[tuple[str, str]], task: str) -> bool:
    """True when the task gives a literal of each parameter's type (a list parameter may
    take the task's numbers, or its texts, as one list), so a call can use the task's own
    values."""
    literals = task_literals(task)
    for _name, ptype in params:
        kind = PARAM_TYPES.get(ptype, "string")
        if literals[kind]:
            continue
        if kind == "array" and list_values(literals):
            continue
        return False
    return True
