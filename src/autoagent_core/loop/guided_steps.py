"""The narrow steps of the guided strategy: their prompts, their JSON schemas, and the
code and arguments built from the model's replies. No model calls here (see
:mod:`autoagent_core.loop.guided`).

Every step asks for one small JSON object whose schema the backend enforces while decoding
(a llama.cpp grammar for the local model). The prompts and their worked examples are data
(``loop/templates/guided.json``). The values a call may use are the literals of the task
text (numbers, quoted strings, bracketed lists, ISO dates): the model chooses among them,
so a small model cannot invent a value the task does not give.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import json
import math
import re
import sys
from collections import Counter
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from autoagent_core.types import Message

PARAM_TYPES = {"int": "integer", "float": "number", "str": "string", "list": "array"}
"""Parameter types the signature step offers, with their JSON-schema names."""
IDENTIFIER = "^[a-z][a-z0-9_]{2,30}$"
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
QUOTED = re.compile(r"'([^'\n]{1,200})'|\"([^\"\n]{1,200})\"")
BRACKETS = re.compile(r"\[[^\[\]\n]{0,400}\]")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@cache
def prompts() -> dict[str, Any]:
    """The guided prompts and examples (package data)."""
    path = resources.files("autoagent_core.loop").joinpath("templates", "guided.json")
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _fill(text: str, **values: str) -> str:
    return Template(text).safe_substitute(**values)


def _exchange(step: str, user: str, examples: list[tuple[str, Any]]) -> list[Message]:
    """System prompt, the worked examples as earlier exchanges, then the real question."""
    messages = [Message("system", prompts()[step]["system"])]
    for question, reply in examples:
        messages += [Message("user", question),
                     Message("assistant", json.dumps(reply, ensure_ascii=False))]
    messages.append(Message("user", user))
    return messages


# --------------------------------------------------------------------------- step 1: reuse


def choose_messages(task: str, tools_text: str) -> list[Message]:
    data = prompts()["choose"]
    return _exchange("choose", _fill(data["user"], task=task, tools=tools_text), [])


def choose_schema(names: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": {"tool": {"enum": [*names, "new"]}},
            "required": ["tool"]}


# --------------------------------------------------------------------------- step 2: signature


def values_text(task: str) -> str:
    """The task's literals as the signature step shows them."""
    found = task_literals(task)
    shown = [*found["array"], *found["string"], *found["number"]]
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in shown) or "(none)"


def signature_messages(task: str) -> list[Message]:
    data = prompts()["signature"]
    examples = [(_fill(data["user"], task=e["task"], values=values_text(e["task"])),
                 e["reply"]) for e in data["examples"]]
    return _exchange("signature", _fill(data["user"], task=task, values=values_text(task)),
                     examples)


def copies_an_example(step: str, reply: dict[str, Any]) -> bool:
    """True when a reply repeats a worked example's name (small models copy examples)."""
    names = {str(e["reply"].get("name")) for e in prompts()[step]["examples"]}
    return str(reply.get("name")) in names


def values_given(found: dict[str, list[Any]]) -> int:
    """How many values the task gives (lists, texts and numbers), counted up to the three
    parameters a signature may have."""
    return min(3, len(found["array"]) + len(found["string"]) + len(found["number"]))


def usable_signature(reply: dict[str, Any], task: str = "") -> bool:
    """A signature worth building on: a name, parameters, not an example's copy, room for
    the values the task gives (one parameter each, or a list taking several), so no value of
    the task ends up as a constant inside the body, and no more parameters than values, so
    no call has to invent one."""
    name, _description, params = parse_signature(reply)
    given = values_given(task_literals(task))
    room = 99 if any(t == "list" for _, t in params) else len(params)
    return (bool(name) and bool(params) and not copies_an_example("signature", reply)
            and room >= given
            and len(params) <= max(1, given))


SIGNATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": IDENTIFIER},
        "description": {"type": "string", "maxLength": 80},
        "params": {"type": "array", "minItems": 1, "maxItems": 3, "items": {
            "type": "object",
            "properties": {"name": {"type": "string", "pattern": IDENTIFIER},
                           "type": {"enum": list(PARAM_TYPES)}},
            "required": ["name", "type"]}},
    },
    "required": ["name", "description", "params"],
}


def signature_schema(task: str) -> dict[str, Any]:
    """:data:`SIGNATURE_SCHEMA` narrowed to the task's values, so that the decoder cannot
    give more parameters than the task gives values, nor a type the task gives no value
    of (a call would have to invent one): at most one parameter per value (three at most),
    and the types of the task's literals (a list when it gives a list or several values of
    one type, a float for any number, an int for a whole one)."""
    found = task_literals(task)
    given = values_given(found)
    types = [t for t, kind in (("int", "integer"), ("float", "number"), ("str", "string"))
             if found[kind]] + (["list"] if list_values(found) else [])
    params = dict(SIGNATURE_SCHEMA["properties"]["params"])
    params["maxItems"] = max(1, given)
    if types:
        item = dict(params["items"])
        item["properties"] = {**item["properties"], "type": {"enum": types}}
        params["items"] = item
    return {**SIGNATURE_SCHEMA, "properties": {**SIGNATURE_SCHEMA["properties"],
                                               "params": params}}


GENERIC_NAMES = {"int": "number", "float": "value", "str": "text", "list": "items"}
"""A parameter's name by its type, for a parameter the model named like its function."""


def parse_signature(reply: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]]]:
    """(name, description, [(parameter, python type)]) with repeated parameters dropped; a
    parameter named like the function (small models echo the name) is renamed by its type
    (``text``, ``number``...), so the body never reads as a call of the function itself."""
    name = str(reply.get("name", ""))
    params: list[tuple[str, str]] = []
    for item in reply.get("params") or []:
        pname, ptype = str(item.get("name", "")), str(item.get("type", "str"))
        ptype = ptype if ptype in PARAM_TYPES else "str"
        if pname == name:
            pname = GENERIC_NAMES[ptype]
        if pname.isidentifier() and pname not in {p for p, _ in params}:
            params.append((pname, ptype))
    return name, str(reply.get("description", "")), params


def python_signature(name: str, params: list[tuple[str, str]]) -> str:
    return f"{name}({', '.join(f'{p}: {t}' for p, t in params)})"


def params_of_schema(parameters: dict[str, Any]) -> list[tuple[str, str]]:
    """A stored tool's parameters (its JSON schema) as [(parameter, python type)]."""
    back = {v: k for k, v in PARAM_TYPES.items()}
    props = parameters.get("properties") or {}
    return [(p, back.get(str((s or {}).get("type")), "str") if isinstance(s, dict) else "str")
            for p, s in props.items()]


# --------------------------------------------------------------------------- step 3: body


def body_messages(task: str, signature: str, tried: str = "", problem: str = "") -> list[Message]:
    data = prompts()["body"]
    examples = [(_fill(data["user"], task=e["task"], signature=e["signature"], feedback=""),
                 e["reply"]) for e in data["examples"]]
    feedback = _fill(data["feedback"], expression=tried, problem=problem) if tried else ""
    user = _fill(data["user"], task=task, signature=signature, feedback=feedback)
    return _exchange("body", user, examples)


def tool_code(name: str, description: str, params: list[tuple[str, str]],
              expression: str) -> str | None:
    """The tool's source: a function returning ``expression``, with an import for each
    standard-library module the expression names. None when the expression does not parse
    or leaves a parameter unused: each parameter carries a value the task gives, and an
    expression that ignores one (``ten * ten * ten`` for ``power(power, ten)``) computes
    something else than the task asks."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    bound = {p for p, _ in params}
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if not bound <= used or unknown_names(tree, bound):
        return None
    modules = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)
                      and node.id in sys.stdlib_module_names and node.id not in bound})
    lines = [f"def {python_signature(name, params)}:",
             f"    {json.dumps(description or name)}"]
    lines += [f"    import {module}" for module in modules]
    lines.append(f"    return {ast.unparse(tree)}")
    return "\n".join(lines) + "\n"


def returned_expression(code: str) -> str:
    """The expression a tool written by :func:`tool_code` returns (a fix turn compares a
    new body with it)."""
    return code.rsplit("return ", 1)[-1].strip()


def unknown_names(tree: ast.AST, params: set[str]) -> set[str]:
    """Names the expression reads that nothing defines: not a parameter, a builtin, a
    standard-library module (imported for it) or a name the expression binds itself
    (comprehension targets, lambda arguments). Such a body can only fail with a NameError
    (``three * two`` for ``average(two, four, nine)``, a call of the tool's own name)."""
    own = {node.id for node in ast.walk(tree)
           if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    own |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    known = params | own | set(dir(builtins)) | set(sys.stdlib_module_names)
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id not in known}


# --------------------------------------------------------------------------- step 4: arguments


def task_literals(task: str) -> dict[str, list[Any]]:
    """The values the task text gives, by JSON type, in the order they appear."""
    found: dict[str, list[Any]] = {"integer": [], "number": [], "string": [], "array": []}

    def add(kind: str, value: Any) -> None:
        if value not in found[kind]:
            found[kind].append(value)

    rest = task
    for match in BRACKETS.finditer(task):
        try:
            value = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, list):
            add("array", value)
            rest = rest.replace(match.group(0), " ")
    for match in QUOTED.finditer(rest):
        add("string", match.group(1) if match.group(1) is not None else match.group(2))
    for match in ISO_DATE.finditer(rest):
        add("string", match.group(0))
    plain = ISO_DATE.sub(" ", QUOTED.sub(" ", rest))
    for match in NUMBER.finditer(plain):
        text = match.group(0)
        number = float(text)
        add("number", int(number) if number.is_integer() else number)
        if number.is_integer():
            add("integer", int(number))
    return found


def task_numbers(task: str) -> list[Any]:
    """The numbers the task gives, alone or inside its lists."""
    found = task_literals(task)
    inside = [v for array in found["array"] for v in array
              if isinstance(v, int | float) and not isinstance(v, bool)]
    return list(dict.fromkeys([*found["number"], *inside]))


def list_values(found: dict[str, list[Any]]) -> list[list[Any]]:
    """The lists a list parameter may take: the task's bracketed lists, or else its
    numbers, and its quoted texts, each gathered as one list when it gives several."""
    if found["array"]:
        return list(found["array"])
    return [values for values in (found["number"], found["string"]) if len(values) > 1]


def arguments_messages(task: str, signature: str) -> list[Message]:
    data = prompts()["arguments"]
    examples = [(_fill(data["user"], task=e["task"], signature=e["signature"]), e["reply"])
                for e in data["examples"]]
    return _exchange("arguments", _fill(data["user"], task=task, signature=signature),
                     examples)


def arguments_schema(params: list[tuple[str, str]], task: str) -> dict[str, Any]:
    """Each parameter's value is one of the task's literals of its type; a type the task
    gives no literal for is left free (but typed)."""
    literals = task_literals(task)
    props: dict[str, Any] = {}
    for pname, ptype in params:
        kind = PARAM_TYPES.get(ptype, "string")
        values = list_values(literals) if kind == "array" else literals[kind]
        if values:
            props[pname] = {"enum": values}
        elif kind == "array":
            props[pname] = {"type": "array", "maxItems": 20}
        elif kind == "string":
            props[pname] = {"type": "string", "maxLength": 60}
        else:
            props[pname] = {"type": kind}
    calls = distinct_calls(params, props, literals)
    if calls:
        return {"type": "object", "enum": calls}
    return {"type": "object", "properties": props, "required": [p for p, _ in params]}


CALLS_MAX = 60
"""Most calls a schema lists one by one (three parameters over five values: 60)."""


def distinct_calls(params: list[tuple[str, str]], props: dict[str, Any],
                   literals: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The calls that give each parameter its own value, when two parameters draw from the
    same values and the task gives enough of them (:func:`uses_each_value` as a decoding
    constraint: a small model otherwise passes its favourite value twice); else empty."""
    pools = [props[p].get("enum") or [] for p, _ in params]
    if len(params) < 2 or not all(pools):
        return []
    keys = [{result_key(v) for v in pool} for pool in pools]
    shared = any(keys[i] & keys[j] for i in range(len(keys)) for j in range(i + 1, len(keys)))
    if not shared or len(set().union(*keys)) < len(params):
        return []
    distinct = (combo for combo in itertools.product(*pools)
                if len({result_key(v) for v in combo}) == len(combo))
    calls = [dict(zip([p for p, _ in params], combo, strict=True))
             for combo in itertools.islice(distinct, CALLS_MAX + 1)]
    return calls if len(calls) <= CALLS_MAX else []


def uses_each_value(args: dict[str, Any], params: list[tuple[str, str]], task: str) -> bool:
    """False when a call gives one value to two parameters although the task gives enough
    different values of their types for each to have its own (``percent(15, 15)`` for
    "15 percent of 80"): one parameter per value the task gives."""
    literals = task_literals(task)
    used = [result_key(args.get(p)) for p, _ in params]
    if len(set(used)) == len(used):
        return True
    kinds = {PARAM_TYPES.get(t, "string") for _, t in params}
    offered = {result_key(v) for kind in kinds for v in literals[kind]}
    return len(offered) < len(params)


# --------------------------------------------------------------------------- voting


def _same_number(value: Any) -> Any:
    """Numbers as one form, so ``5``, ``5.0`` and ``4.999999999999999`` compare equal."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, 9)
        return int(rounded) if rounded.is_integer() else rounded
    if isinstance(value, list):
        return [_same_number(v) for v in value]
    return value


def result_key(value: Any) -> str:
    """The form in which two results are compared (the vote, the agreement check)."""
    return json.dumps(_same_number(value), sort_keys=True, ensure_ascii=False, default=repr)


def vote(results: list[Any]) -> int | None:
    """Index of the first result of the most frequent value (None: no result)."""
    if not results:
        return None
    counts = Counter(result_key(r) for r in results)
    best = max(counts.values())
    for index, value in enumerate(results):
        if counts[result_key(value)] == best:
            return index
    return None


def judge_messages(task: str, call: str, result: str) -> list[Message]:
    data = prompts()["judge"]
    return _exchange("judge", _fill(data["user"], task=task, call=call, result=result), [])


JUDGE_SCHEMA: dict[str, Any] = {"type": "object",
                                "properties": {"answer": {"enum": ["yes", "no"]}},
                                "required": ["answer"]}
