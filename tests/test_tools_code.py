"""Static analysis of tool code: parameters schema from the signature, without running it."""

from __future__ import annotations

import pytest

from autoagent_core.errors import UsageError
from autoagent_core.tools.code import parse_code, top_level_functions, validate_tool_code


def _schema(signature: str) -> dict:
    code = f"from typing import Optional, Literal\ndef t({signature}):\n    pass\n"
    return validate_tool_code("t", code, 10_000).parameters


@pytest.mark.parametrize("signature, properties, required", [
    ("a: int, b: float, c: str, d: bool", {"a": {"type": "integer"}, "b": {"type": "number"},
                                           "c": {"type": "string"}, "d": {"type": "boolean"}},
     ["a", "b", "c", "d"]),
    ("xs: list[int], m: dict[str, float]",
     {"xs": {"type": "array", "items": {"type": "integer"}},
      "m": {"type": "object", "additionalProperties": {"type": "number"}}}, ["xs", "m"]),
    ("x: int | None = None, y: Optional[str] = 'a'",
     {"x": {"type": "integer", "default": None}, "y": {"type": "string", "default": "a"}}, []),
    ("mode: Literal['fast', 'slow'] = 'fast'", {"mode": {"enum": ["fast", "slow"],
                                                         "default": "fast"}}, []),
    ("anything, *, flag: 'bool' = False", {"anything": {},
                                           "flag": {"type": "boolean", "default": False}},
     ["anything"]),
    ("pair: tuple[int, str], xs: tuple[float, ...] = (1.0,)",
     {"pair": {"type": "array"},
      "xs": {"type": "array", "items": {"type": "number"}, "default": [1.0]}}, ["pair"]),
])
def test_parameters_schema_from_the_signature(signature: str, properties: dict,
                                              required: list[str]) -> None:
    schema = _schema(signature)
    assert schema == {"type": "object", "properties": properties, "required": required}


def test_kwargs_allow_extra_properties_and_nothing_is_executed() -> None:
    code = "raise SystemExit('executed!')\ndef t(a, **rest):\n    pass\n"
    schema = validate_tool_code("t", code, 10_000).parameters
    assert schema["additionalProperties"] is True and schema["required"] == ["a"]


def test_refusals_say_what_is_wrong() -> None:
    with pytest.raises(UsageError, match=r"line 2"):
        validate_tool_code("t", "def t():\n    return (\n", 100)
    with pytest.raises(UsageError, match="functions found: other"):
        validate_tool_code("t", "def other():\n    pass\n", 100)
    with pytest.raises(UsageError, match="TOOL_CODE_MAX_CHARS"):
        validate_tool_code("t", "def t():\n    pass\n" + "#" * 200, 100)
    assert set(top_level_functions(parse_code("def a(): pass\nasync def b(): pass\n"))) == \
        {"a", "b"}
