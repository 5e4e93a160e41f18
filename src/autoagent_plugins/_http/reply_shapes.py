"""Readers of the OpenAI reply shapes (``chat.completion`` and ``chat.completion.chunk``),
which the ``openai`` backend and Cloudflare's newer models both speak: usage in either
spelling, message content, and the accumulation of a streamed reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autoagent_core.errors import ServerError
from autoagent_core.types import Usage
from autoagent_plugins._http.client import AttemptFailed, one_line


def usage_from(raw: Any) -> Usage | None:
    """Usage from either spelling (``prompt_tokens``/``completion_tokens`` or
    ``input_tokens``/``output_tokens``); ``None`` when absent."""
    if not isinstance(raw, dict):
        return None
    prompt = raw.get("prompt_tokens", raw.get("input_tokens"))
    completion = raw.get("completion_tokens", raw.get("output_tokens"))
    if prompt is None and completion is None:
        return None
    try:
        return Usage(int(prompt or 0), int(completion or 0))
    except (TypeError, ValueError):
        return None


@dataclass
class ParsedReply:
    """What a backend read from a reply (or a whole stream)."""

    text: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """``[{"name", "arguments"}]``, ``arguments`` an object or a JSON string."""


def tool_calls_from(raw: Any) -> list[dict[str, Any]]:
    """Tool calls in any of their shapes, as ``[{"name", "arguments"}]``: Workers AI's
    classic ``[{name, arguments: object}]`` (cloudflare-python
    ``types/ai/ai_run_response.py``) and OpenAI's ``[{id, type, function: {name,
    arguments: "json"}}]`` (the chat-completion output of the Workers AI model schemas)."""
    calls: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return calls
    for item in raw:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        fn: dict[str, Any] = function if isinstance(function, dict) else item
        name = fn.get("name")
        if isinstance(name, str) and name.strip():
            calls.append({"name": name, "arguments": fn.get("arguments")})
    return calls


def content_text(content: Any) -> str:
    """Message content as text: a string, a list of ``{"type": "text", "text": ...}``
    parts, or a JSON value (JSON mode) serialised."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "".join(str(p.get("text", "")) for p in content)
    return json.dumps(content, ensure_ascii=False)


def parse_chat_completion(payload: dict[str, Any]) -> ParsedReply:
    """Read an OpenAI ``chat.completion`` object."""
    reply = ParsedReply(usage=usage_from(payload.get("usage")),
                        model=payload.get("model") if isinstance(payload.get("model"), str)
                        else None)
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        message = choice.get("message") or {}
        if isinstance(message, dict):
            reply.text = content_text(message.get("content"))
            reply.tool_calls = tool_calls_from(message.get("tool_calls"))
            reasoning = message.get("reasoning_content") or message.get("reasoning")
            reply.reasoning = reasoning if isinstance(reasoning, str) else ""
        elif "text" in choice:
            reply.text = content_text(choice.get("text"))
        reply.finish_reason = choice.get("finish_reason") or None
    return reply


@dataclass
class StreamAccumulator:
    """Collects a streamed reply and passes visible text to ``on_text`` as it arrives."""

    on_text: Callable[[str], None] | None = None
    parts: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    model: str | None = None

    @property
    def emitted(self) -> bool:
        """True once any visible text was passed on (a retry would repeat it)."""
        return bool(self.parts)

    def add_text(self, piece: str) -> None:
        if piece:
            self.parts.append(piece)
            if self.on_text is not None:
                self.on_text(piece)

    def add_chunk(self, frame: dict[str, Any]) -> None:
        """Apply one OpenAI ``chat.completion.chunk`` frame."""
        choices = frame.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta") or {}
            if isinstance(delta, dict):
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(reasoning, str):
                    self.reasoning.append(reasoning)
                self.add_text(content_text(delta.get("content")))
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        self.add_usage(frame.get("usage"))
        if isinstance(frame.get("model"), str):
            self.model = frame["model"]

    def add_usage(self, raw: Any) -> None:
        usage = usage_from(raw)
        if usage is not None:
            self.usage = usage

    def reply(self) -> ParsedReply:
        return ParsedReply("".join(self.parts), "".join(self.reasoning), self.usage,
                           self.finish_reason, self.model)


def decode_frame(data: str, label: str) -> dict[str, Any]:
    """One SSE ``data`` payload as a JSON object (a broken frame is a server error)."""
    from autoagent_core.protocol import json_scan

    try:
        frame = json_scan.loads(data)
    except json_scan.JsonScanError:
        raise AttemptFailed(ServerError(
            f"{label} sent a stream frame that is not JSON: {one_line(data, 80)!r}"
        )) from None
    return frame if isinstance(frame, dict) else {}
