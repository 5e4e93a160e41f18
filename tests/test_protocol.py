"""The action protocol's parser: what models really send (fences, prose, raw newlines in
code) is accepted; what cannot be used gets a message that tells the model what to fix."""

from __future__ import annotations

import json

import pytest

from autoagent_core.protocol.actions import (
    AGENT_SCHEMA,
    SUPERVISOR_SCHEMA,
    ProtocolFormatError,
    extract_json_object,
    parse_agent_reply,
    parse_supervisor_reply,
)

REPLY = {"thought": "sum them", "actions": [
    {"type": "create_tool", "name": "sum_list", "description": "Sum numbers",
     "code": "def sum_list(numbers):\n    return sum(numbers)\n"},
    {"type": "run_tool", "name": "sum_list", "args": {"numbers": [1, 2, 3]}},
]}


def test_plain_object() -> None:
    reply = parse_agent_reply(json.dumps(REPLY))
    assert reply.thought == "sum them"
    assert [a["type"] for a in reply.actions] == ["create_tool", "run_tool"]
    assert reply.actions[1]["args"] == {"numbers": [1, 2, 3]}
    assert reply.final_answer() is None


@pytest.mark.parametrize("wrap", [
    "```json\n{}\n```",
    "```\n{}\n```",
    "Sure! Here is my answer:\n```json\n{}\n```\nLet me know.",
    "I will create the tool now. {} That is all.",
    "<think>the user wants {{a sum}}</think>\n{}",
])
def test_fences_and_prose_around_the_object(wrap: str) -> None:
    text = wrap.replace("{}", json.dumps(REPLY), 1) if "{{" not in wrap else \
        wrap.replace("{{a sum}}", "{a sum}").replace("{}", json.dumps(REPLY))
    reply = parse_agent_reply(text)
    assert reply.actions[0]["name"] == "sum_list"


def test_raw_newlines_inside_strings_are_repaired() -> None:
    text = ('{"thought": "x", "actions": [{"type": "create_tool", "name": "add", '
            '"code": "def add(a, b):\n\treturn a + b\n"}]}')
    reply = parse_agent_reply(text)
    assert reply.actions[0]["code"] == "def add(a, b):\n\treturn a + b\n"
    compile(reply.actions[0]["code"], "add", "exec")


def test_trailing_commas_are_repaired_but_not_inside_strings() -> None:
    text = ('{"thought": "a, }", "actions": [{"type": "final_answer", "answer": "1, 2,]"},],}')
    reply = parse_agent_reply(text)
    assert reply.thought == "a, }"
    assert reply.final_answer() == "1, 2,]"


def test_braces_inside_strings_do_not_confuse_the_scanner() -> None:
    code = "def f():\n    return {'a': '}'}\n"
    obj = {"thought": "t", "actions": [{"type": "create_tool", "name": "f", "code": code}]}
    reply = parse_agent_reply("prose { not json } then " + json.dumps(obj))
    assert reply.actions[0]["code"] == code


def test_a_lone_action_is_accepted() -> None:
    reply = parse_agent_reply('{"type": "final_answer", "answer": "42"}')
    assert reply.final_answer() == "42"


def test_args_given_as_a_json_string() -> None:
    reply = parse_agent_reply('{"thought": "", "actions": [{"type": "run_tool", '
                              '"name": "f", "args": "{\\"x\\": 1}"}]}')
    assert reply.actions[0]["args"] == {"x": 1}


def test_non_string_final_answer_becomes_json_text() -> None:
    reply = parse_agent_reply('{"actions": [{"type": "final_answer", "answer": [1, 2]}]}')
    assert reply.final_answer() == "[1, 2]"


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("I think the answer is 6.", "no JSON object"),
    ('{"thought": "x", "actions": [{"type": "create_tool", "name": "f", "code": "def f',
     "cut off"),
    ('{"thought": "x"}', "no 'actions' list"),
    ('{"thought": "x", "actions": []}', "empty"),
    ('{"thought": "x", "actions": "run it"}', "must be a list"),
    ('{"actions": [{"type": "delete_everything"}]}', "unknown type 'delete_everything'"),
    ('{"actions": ["run_tool"]}', "action 1 must be an object"),
    ('{"actions": [{"type": "create_tool", "name": "f"}]}', "action 1 (create_tool) needs a "
                                                            "non-empty text field 'code'"),
    ('{"actions": [{"type": "run_tool", "name": "f", "args": [1, 2]}]}', "object of keyword"),
    ('{"actions": [{"type": "run_tool", "name": "f"}, {"type": "ask_agent", "name": "a"}]}',
     "action 2 (ask_agent) needs a non-empty text field 'message'"),
    ("[1, 2, 3]", "no JSON object"),
    ('{"a": 1} {"b": ', "not valid JSON|no 'actions'"),
])
def test_unusable_replies_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ProtocolFormatError, match=message.replace("(", r"\(")
                       .replace(")", r"\)").replace("[", r"\[")):
        parse_agent_reply(text)


def test_invalid_json_names_the_position() -> None:
    with pytest.raises(ProtocolFormatError, match="line 1 column"):
        extract_json_object('{"thought": "x" "actions": []}')


def test_supervisor_reply() -> None:
    reply = parse_supervisor_reply(
        "```json\n" + json.dumps({"thought": "ok", "decision": "Continue", "feedback": "fix it",
                                  "tips": "use float()", "actions": [
                                      {"type": "ask_agent", "name": "math", "message": "?"}]})
        + "\n```")
    assert reply.decision == "continue"
    assert reply.tips == ["use float()"]
    assert reply.actions[0]["name"] == "math"
    assert reply.to_dict()["feedback"] == "fix it"


def test_supervisor_done_with_a_numeric_answer() -> None:
    reply = parse_supervisor_reply('{"thought": "", "decision": "done", "answer": 6}')
    assert reply.answer == "6"


@pytest.mark.parametrize(("text", "message"), [
    ('{"thought": "x", "decision": "maybe"}', "'decision' must be one of continue, done, fail"),
    ('{"thought": "x"}', "'decision' must be one of"),
    ('{"decision": "done", "tips": 3}', "'tips' must be a list"),
    ('{"decision": "done", "actions": [{"type": "run_tool", "name": "f"}]}',
     "unknown type 'run_tool': use one of create_agent, ask_agent"),
])
def test_unusable_supervisor_replies(text: str, message: str) -> None:
    with pytest.raises(ProtocolFormatError, match=message):
        parse_supervisor_reply(text)


def test_schemas_name_every_action_type() -> None:
    kinds = [item["properties"]["type"]["enum"][0]
             for item in AGENT_SCHEMA["properties"]["actions"]["items"]["anyOf"]]
    assert kinds == ["create_tool", "run_tool", "create_agent", "ask_agent", "final_answer"]
    assert SUPERVISOR_SCHEMA["properties"]["decision"]["enum"] == ["continue", "done", "fail"]
    json.dumps(AGENT_SCHEMA)  # serialisable for response_format / grammars
