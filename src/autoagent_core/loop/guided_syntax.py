"""The body step's expression, constrained while it is decoded.

A model of a few hundred million parameters asked for "one Python expression" writes prose
(``five hundred and twenty-two``), assignments (``2 * 10 = 20``), trailing comments and
methods its values do not have (``text.reverse()`` on a string) in most of its samples.
Each such sample is lost. The body step's JSON schema therefore carries a ``pattern`` (a
standard JSON-schema keyword, which llama.cpp turns into its grammar) that admits only
the words an expression over the tool's parameters can use:

- names: the parameters, Python's builtin functions (not those that run or open things),
  the expression keywords, the modules the prompt offers (:data:`MODULES`) and one-letter
  names for comprehension and lambda variables;
- attributes (after a name or a closing bracket): the public names of the parameters' types
  and of the offered modules;
- numbers, short quoted texts, and Python's operators and brackets. A number the task
  gives (two digits or more) cannot be written as a constant: each value of the task is a
  parameter's, and ``max(12, 45, 7)`` in place of ``max(numbers)`` ignores the call.

The vocabulary comes from Python itself (``dir`` of the types and modules), never from a
task: the model still chooses the expression; the grammar only removes what cannot run.
Brackets are not balanced by the pattern (a regular expression cannot count); the parser
still drops an expression that does not parse (:func:`.guided_steps.tool_code`).
"""

from __future__ import annotations

import builtins
import datetime
import importlib
from collections.abc import Sequence
from functools import cache
from typing import Any

MODULES = ("math", "datetime", "statistics")
"""Standard-library modules a body may name (the body prompt offers math and datetime)."""
MODULE_TYPES = (datetime.date, datetime.datetime, datetime.timedelta)
"""Classes reached through a module whose attributes a body may use."""
PARAM_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "list": list}
KEYWORDS = ("for", "in", "if", "else", "and", "or", "not", "is", "lambda", "None", "True",
            "False")
NOT_OFFERED = {"breakpoint", "compile", "copyright", "credits", "delattr", "eval", "exec",
               "exit", "globals", "help", "input", "license", "locals", "memoryview", "open",
               "quit", "setattr", "vars", "aiter", "anext", "classmethod", "staticmethod",
               "property", "super", "object", "id", "hash", "issubclass", "getattr", "type",
               "dir",
               "hasattr", "callable", "__import__", "format", "print"}
"""Builtins that run code, touch files or the interpreter, or make no value a task asks
for."""
OPERATORS = ("\\*\\*", "//", "==", "!=", "<=", ">=", "[-+*/%<>(),:\\[\\]]")
"""Operators and brackets; ``=`` alone (an assignment) is not one."""
MAX_OPERATOR_RUN = 4
"""Operators and brackets in a row between two words (``)) +``, ``[::-1]``): more is the
model looping on brackets."""
TEXT_CHARS = 16
"""Characters of a quoted text in a tool's body (a longer one is the model writing prose)."""
TEXT_MAX_CHARS = 64
"""Characters of a quoted text in a check written over the task's own texts."""
NUMBER = "[0-9]+([.][0-9]+)?"
FREE_WHOLE = "[0-9]*([.][0-9]+)?"
FREE_FRACTION = "[0-9]*"
TAKEN_CHARS = 24
"""Digits of the task's numbers kept out of the number literals, the first numbers up to
this many: the grammar grows with each digit, and llama.cpp's parser refused one built
from eight five-digit numbers."""


def _public(obj: Any) -> set[str]:
    return {name for name in dir(obj)
            if not name.startswith("_") and name.isidentifier() and name.isascii()}


def _alternatives(words: set[str]) -> str:
    """The words as one regular expression with shared prefixes factored out
    (``a(bs|ll|ny)``): the grammar then follows a few branches per character instead of
    one per word, which keeps decoding fast."""
    heads: dict[str, set[str]] = {}
    ends = False
    for word in words:
        if word:
            heads.setdefault(word[0], set()).add(word[1:])
        else:
            ends = True
    branches = []
    for head in sorted(heads):
        rest = heads[head]
        if rest == {""}:
            branches.append(head)
        else:
            branches.append(f"{head}({_alternatives(rest)})")
    if ends:
        return f"({'|'.join(branches)})?" if branches else ""
    return "|".join(branches)


@cache
def _builtin_names() -> frozenset[str]:
    return frozenset(name for name in _public(builtins)
                     if name.islower() and callable(getattr(builtins, name))
                     and name not in NOT_OFFERED)


@cache
def _module_attributes() -> frozenset[str]:
    names: set[str] = set()
    for module in MODULES:
        names |= _public(importlib.import_module(module))
    for kind in MODULE_TYPES:
        names |= _public(kind)
    return frozenset(names)


def number_pattern(taken: list[str]) -> str:
    """Any number literal except the texts in ``taken`` (the task's own values of two
    digits or more: :func:`expression_pattern`)."""
    trie: dict[str, Any] = {}
    for text in taken:
        node = trie
        for char in text:
            node = node.setdefault(char, {})
        node["$"] = {}
    return _number_after(trie, first=True, fraction=False) if trie else NUMBER


def _number_after(node: dict[str, Any], first: bool, fraction: bool,
                  after_dot: bool = False) -> str:
    """The rest of a number literal from ``node`` of the trie of taken texts."""
    options = [f"{d}{_number_after(node[d], False, fraction)}"
               for d in "0123456789" if d in node]
    free = "".join(d for d in "0123456789" if d not in node)
    if free:
        options.append(f"[{free}]{FREE_FRACTION if fraction else FREE_WHOLE}")
    if not (first or fraction or after_dot):
        if "." in node:
            options.append(f"[.]{_number_after(node['.'], False, True, True)}")
        else:  # a taken whole number may not come back as 1234.0
            options.append("[.]0*[1-9][0-9]*" if "$" in node else "[.][0-9]+")
    may_end = not first and not after_dot and "$" not in node
    return f"({'|'.join(options)})" + ("?" if may_end else "")


def text_pattern(chars: int = TEXT_CHARS) -> str:
    """A quoted text: single quotes, no double quote or backslash (the JSON string holding
    the expression stays plain), no control character, no brace (``'{0.__class__}'.format(x)``
    would reach attributes the vocabulary leaves out)."""
    return f"'[^'\"\\\\{{}}\\x00-\\x1f]{{0,{min(max(chars, 1), TEXT_MAX_CHARS)}}}'"


def expression_pattern(params: list[tuple[str, str]], task_numbers: Sequence[Any] = (),
                       text_chars: int = TEXT_CHARS) -> str:
    """The regular expression (JSON-schema ``pattern``) of a body over ``params``
    (``[(name, python type)]``). After a parameter come its type's attributes only (no
    ``text.reverse()`` on a string); after a quoted text a string's; after anything else
    those of the types, the modules and ``dict``. Quoted texts have up to ``text_chars``
    characters (at most :data:`TEXT_MAX_CHARS`)."""
    names = set(_builtin_names()) | set(KEYWORDS) | set(MODULES)
    names |= {chr(c) for c in range(ord("a"), ord("z") + 1)}
    names -= {p for p, _ in params}
    everything = set(_module_attributes()) | _public(dict)
    for kind in PARAM_TYPES.values():
        everything |= _public(kind)
    operator = f"({'|'.join(OPERATORS)}|[)\\]]{_attribute(everything)})"
    run = f"{operator}{{1,{MAX_OPERATOR_RUN}}}"
    words = [f"({_alternatives(names)})({_attribute(everything)})*",
             f"{text_pattern(text_chars)}({_attribute(_public(str))})*",
             number_pattern(_taken(task_numbers))]
    for pname, ptype in params:
        words.append(f"{pname}({_attribute(_public(PARAM_TYPES.get(ptype, str)))})*")
    word = f"({'|'.join(words)})"
    between = f"( *{run}( +{run}){{0,2}} *| +)"
    return f"^ *({run} *)?({word}{between})*{word}( *{run})?$"


def _taken(task_numbers: Sequence[Any]) -> list[str]:
    """The task's first numbers of two digits or more, as Python writes them (``12.5`` for
    a task's ``12.50``), up to :data:`TAKEN_CHARS` digits."""
    taken: list[str] = []
    for number in task_numbers:
        if abs(number) < 10:
            continue
        text = str(abs(number))
        if sum(map(len, taken)) + len(text) > TAKEN_CHARS:
            break
        taken.append(text)
    return taken


def _attribute(names: set[str]) -> str:
    return f"[.]({_alternatives(names)})"


def body_schema(params: list[tuple[str, str]], task_numbers: Sequence[Any] = (),
                text_chars: int = TEXT_CHARS) -> dict[str, Any]:
    """The body step's JSON schema: one ``expression`` matching :func:`expression_pattern`."""
    pattern = expression_pattern(params, task_numbers, text_chars)
    return {
        "type": "object",
        "properties": {"expression": {"type": "string", "pattern": pattern}},
        "required": ["expression"],
    }
