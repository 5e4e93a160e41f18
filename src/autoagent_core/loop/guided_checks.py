"""What the guided strategy checks before it calls an answer done: the prompts, schemas and
facts of its independent checks. No model calls here (see :mod:`autoagent_core.loop.guided`).

An answer is declared only when every check agrees with it:

- **agreement**: a second, independently sampled tool body (another prompt order and
  seed) computes the same value from the same arguments. Candidates that ran and agree
  count; a body that leaves a parameter unused never becomes a candidate.
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

import datetime
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.loop.guided_steps import (
    PARAM_TYPES,
    _exchange,
    _fill,
    body_messages,
    prompts,
    result_key,
    task_literals,
)
from autoagent_core.types import Message

KINDS = ["number", "whole number", "text", "yes or no", "list", "date"]
KIND_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"kind": {"enum": KINDS}},
                               "required": ["kind"]}
YES_NO = {"yes", "no", "true", "false"}
RECHECK_SAMPLES = 3
"""Further bodies sampled, one at a time, when the first samples give no two agreeing
values: the independent second tool."""


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


def recheck_messages(task: str, signature: str) -> list[Message]:
    """The body request of the independent second tool: another system prompt and the
    worked examples in reverse order."""
    messages = body_messages(task, signature)
    examples = messages[1:-1]
    pairs = [examples[i:i + 2] for i in range(0, len(examples), 2)]
    reordered = [m for pair in reversed(pairs) for m in pair]
    return [Message("system", prompts()["recheck"]["system"]), *reordered, messages[-1]]


@dataclass
class Candidates:
    """The values the sampled bodies computed with the chosen arguments, one per sample
    that ran (identical bodies sampled twice count twice: each is an independent draw)."""

    values: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> None:
        self.values.append(value)

    def support(self, value: Any) -> int:
        key = result_key(value)
        return sum(result_key(v) == key for v in self.values)

    def others(self, value: Any) -> list[Any]:
        key = result_key(value)
        return [v for v in self.values if result_key(v) != key]

    def best(self) -> Any:
        """The value most samples computed (the first of a tie), or None."""
        if not self.values:
            return None
        counts = Counter(result_key(v) for v in self.values)
        top = max(counts.values())
        return next(v for v in self.values if counts[result_key(v)] == top)

    def agreed(self, value: Any) -> bool:
        """At least two samples computed ``value`` and more computed it than any other."""
        support = self.support(value)
        rivals = Counter(result_key(v) for v in self.others(value))
        return support >= 2 and all(n < support for n in rivals.values())


def shown(value: Any, width: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- reuse


def params_fit_task(params: list[tuple[str, str]], task: str) -> bool:
    """True when the task gives a literal of each parameter's type (a list parameter may
    take the task's numbers as one list), so a call can use the task's own values."""
    literals = task_literals(task)
    for _name, ptype in params:
        kind = PARAM_TYPES.get(ptype, "string")
        if literals[kind]:
            continue
        if kind == "array" and len(literals["number"]) > 1:
            continue
        return False
    return True
