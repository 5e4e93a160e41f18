"""The action protocol as native function calling: actions offered as tools, tool calls
read back as actions.

A backend whose model can call functions offers the actions of :data:`AGENT_SCHEMA` as
tools (one tool per action type, its parameters the action's fields) and turns the tool
calls of a reply into the protocol's JSON text with :func:`reply_text_from_tool_calls`, so
the loop parses, validates, records and replays a tool-call reply exactly like a text
reply. The tool schemas are derived from the action schema, never written twice.

Tool calls arrive in three shapes (normalised by the backends to ``{"name", "arguments"}``,
``arguments`` an object or a JSON string): Workers AI's classic ``result.tool_calls``
(object arguments, cloudflare-python ``types/ai/ai_run_response.py``), OpenAI's
``choices[0].message.tool_calls[].function`` (string arguments) and Responses
``function_call`` items (string arguments).
"""

from __future__ import annotations

import json
from typing import Any

from autoagent_core.protocol.actions import (
    AGENT_SCHEMA,
    ProtocolFormatError,
    extract_json_object,
)

# What each action field means, for the tool schemas (Workers AI requires a description
# for every parameter: the "tools" item schema in each text-generation model's schema).
FIELD_DESCRIPTIONS: dict[str, str] = {
    "name": "The name (a Python identifier for tools, a short name for agents).",
    "description": "One line saying what the tool does.",
    "code": "The complete Python source defining a function with the tool's name.",
    "args": "The keyword arguments of the call, as an object.",
    "role": "What the agent is for, in a few words.",
    "instructions": "How the agent should work.",
    "message": "What to ask the agent.",
    "answer": "The final answer to the task.",
}
ACTION_DESCRIPTIONS: dict[str, str] = {
    "create_tool": "Save a new Python tool (or a new version of one) in the tool library.",
    "run_tool": "Run a tool from the library in the sandbox with keyword arguments.",
    "create_agent": "Create a specialised agent that can be consulted later.",
    "ask_agent": "Ask a specialised agent a question and get its answer.",
    "final_answer": "Give the final answer to the task.",
}
_PREFIXES = ("functions.", "function.", "tools.")


def tools_for(schema: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The tools offering the actions of an action schema (``None`` for a schema that is
    not a list of actions, such as the Supervisor's, which carries a decision)."""
    if not schema:
        return None
    props = schema.get("properties") or {}
    actions = props.get("actions") or {}
    variants = (actions.get("items") or {}).get("anyOf")
    if "decision" in props or not isinstance(variants, list):
        return None
    tools = [_tool(variant) for variant in variants if isinstance(variant, dict)]
    return [t for t in tools if t is not None] or None


def agent_tools() -> list[dict[str, Any]]:
    """The tools of the Coder's and the specialised agents' actions."""
    tools = tools_for(AGENT_SCHEMA)
    assert tools is not None
    return tools


def _tool(variant: dict[str, Any]) -> dict[str, Any] | None:
    props = variant.get("properties") or {}
    kinds = (props.get("type") or {}).get("enum") or []
    if len(kinds) != 1:
        return None
    kind = str(kinds[0])
    params: dict[str, Any] = {}
    for field, spec in props.items():
        if field == "type":
            continue
        params[field] = {**spec, "description": FIELD_DESCRIPTIONS.get(field, field)}
    required = [r for r in variant.get("required", []) if r != "type"]
    return {"name": kind, "description": ACTION_DESCRIPTIONS.get(kind, kind),
            "parameters": {"type": "object", "properties": params, "required": required}}


def openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same tools in OpenAI's ``{"type": "function", "function": {...}}`` form."""
    return [{"type": "function", "function": dict(tool)} for tool in tools]


def reply_text_from_tool_calls(calls: list[dict[str, Any]], text: str = "") -> str:
    """The protocol's JSON reply for ``calls`` (``[{"name", "arguments"}]``): one action
    per call, in order; the visible text of the reply, when it is not JSON, becomes the
    thought. Never raises: what is wrong with a call is reported when the reply is
    validated, like any other reply."""
    actions = [action_from_call(call) for call in calls]
    thought = text.strip()
    if thought.startswith(("{", "[")):
        thought = ""
    return json.dumps({"thought": thought, "actions": actions}, ensure_ascii=False)


def action_from_call(call: dict[str, Any]) -> dict[str, Any]:
    """One tool call as an action object. String arguments are read with the protocol's
    tolerant JSON reader (tool code often arrives with raw newlines inside strings);
    arguments that are no object stay as ``arguments`` for validation to report."""
    name = str(call.get("name") or "").strip()
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    raw = call.get("arguments")
    args: Any = raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        args = {}
    elif isinstance(raw, str):
        try:
            args = json.loads(raw)
        except ValueError:
            try:
                args = extract_json_object(raw)
            except ProtocolFormatError:
                args = raw
    if not isinstance(args, dict):
        return {"type": name, "arguments": args}
    return {**{k: v for k, v in args.items() if k != "type"}, "type": name}
