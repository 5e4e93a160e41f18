"""The body step's expression grammar (a JSON-schema pattern) and the arguments step's
one-value-per-parameter calls: what a small model can still write, and what it no longer
can."""

from __future__ import annotations

import json
import re

import pytest

from autoagent_core.loop.guided_steps import arguments_schema, tool_code, uses_each_value
from autoagent_core.loop.guided_syntax import body_schema, expression_pattern

WRITABLE = [
    ([("text", "str")], "text[::-1]"),
    ([("text", "str")], "sum(1 for c in text.lower() if c in 'aeiou')"),
    ([("text", "str")], "len(text.split())"),
    ([("words", "list")], "'-'.join(words)"),
    ([("numbers", "list")], "sorted(numbers)"),
    ([("numbers", "list")], "list(dict.fromkeys(numbers))"),
    ([("base", "int"), ("exponent", "int")], "base ** exponent"),
    ([("f", "float")], "round((f - 32) * 5 / 9, 2)"),
    ([("a", "int"), ("b", "int"), ("c", "int")], "statistics.mean([a, b, c])"),
    ([("start", "str"), ("end", "str")],
     "(datetime.date.fromisoformat(end) - datetime.date.fromisoformat(start)).days"),
    ([("n", "int")], "len([k for k in range(2, n) if all(k % d != 0 for d in range(2, k))])"),
]
NOT_WRITABLE = [
    ([("text", "str")], "text.reverse()"),  # a list's method on a string
    ([("number", "int")], "five hundred and twenty-two"),  # prose
    ([("number", "int")], "number = 2 * 10"),  # an assignment
    ([("number", "int")], "number * 2  # doubled"),  # a comment
    ([("text", "str")], 'text + "x"'),  # a double quote would end the JSON string
    ([("text", "str")], "open(text).read()"),
    ([("text", "str")], "eval(text)"),
    ([("text", "str")], "__import__('os').system(text)"),
    ([("number", "int")], "number * ((((((((2))))))))"),  # a run of brackets
    ([("number", "int")], ""),  # nothing
    ([("text", "str")], "'{0.__class__}'.format(text)"),  # a brace reaches dunders
    ([("text", "str")], "type(text)"),
]


@pytest.mark.parametrize(("params", "expression"), WRITABLE)
def test_the_expressions_a_tool_needs_are_writable(params: list[tuple[str, str]],
                                                   expression: str) -> None:
    assert re.fullmatch(expression_pattern(params), expression)
    assert tool_code("tool", "", params, expression) is not None


@pytest.mark.parametrize(("params", "expression"), NOT_WRITABLE)
def test_what_cannot_run_is_not_writable(params: list[tuple[str, str]],
                                         expression: str) -> None:
    assert not re.fullmatch(expression_pattern(params), expression)


def test_the_schema_is_a_plain_json_schema_with_an_anchored_pattern() -> None:
    schema = body_schema([("text", "str")])
    pattern = schema["properties"]["expression"]["pattern"]
    assert pattern.startswith("^") and pattern.endswith("$")
    assert schema["required"] == ["expression"]
    json.dumps(schema)  # llama.cpp's taking it is a local test (test_backend_local_model)


def test_two_parameters_drawing_from_the_same_values_get_a_value_each() -> None:
    params = [("number", "int"), ("times", "int")]
    schema = arguments_schema(params, "Compute 1234 minus 567.")
    assert schema["enum"] == [{"number": 1234, "times": 567}, {"number": 567, "times": 1234}]
    assert all(uses_each_value(call, params, "Compute 1234 minus 567.")
               for call in schema["enum"])
    # a task giving one value only may pass it twice: no list of calls then
    assert "enum" not in arguments_schema(params, "Add 2 and 2")
    # parameters of different types never share a value: the per-parameter schema stays
    mixed = arguments_schema([("word", "str"), ("count", "int")], "Repeat 'hi' 3 times.")
    assert mixed["properties"]["word"] == {"enum": ["hi"]}


def test_the_task_numbers_are_no_constants() -> None:
    params = [("number", "int"), ("times", "int")]
    pattern = expression_pattern(params, [1234, 567])
    assert not re.fullmatch(pattern, "1234 - 567")
    assert not re.fullmatch(pattern, "number - 567")
    assert re.fullmatch(pattern, "number - times")
    assert not re.fullmatch(pattern, "number - 567.0")  # the same value, written otherwise
    # other numbers, and numbers that only begin like a task number, stay writable
    for expression in ("number * 12345", "number * 123", "number / 1234.5", "times + 56"):
        assert re.fullmatch(pattern, expression), expression
    # one-digit values are common constants (an offset, a half): they stay writable
    assert re.fullmatch(expression_pattern(params, [1, 100]), "sum(range(number, times + 1))")
    # inside the task's lists too
    largest = expression_pattern([("numbers", "list")], [12, 45, 7, 23, 38])
    assert not re.fullmatch(largest, "max(12, 45, 7, 23, 38)")
    assert re.fullmatch(largest, "max(numbers)")
