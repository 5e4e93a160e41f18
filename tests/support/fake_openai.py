"""A fake OpenAI-compatible chat server (``POST /v1/chat/completions``) for tests.

Usage::

    from support.fake_openai import FakeOpenAI, OaiReply

    with FakeOpenAI.start(api_key="sk-canary") as oai:   # or the ``fake_openai`` fixture
        oai.replies.append("Hello!")
        env = oai.env()            # OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_MODEL
        ...
        oai.requests[0].body["response_format"]

``replies`` takes a ``str``, an :class:`OaiReply` or any fault of
:mod:`support.fake_http`. ``response_formats`` lists the ``response_format`` types the
server accepts (default: ``json_schema``, ``json_object``, ``text``); any other type is
refused with ``reject_status`` (400, or 422 like ``llama_cpp.server``'s validation).
Streaming requests get ``chat.completion.chunk`` frames, a usage chunk when asked for
with ``stream_options.include_usage``, then ``[DONE]``. ``tools_supported=False``
refuses requests that carry ``tools``; a :class:`~support.fake_http.Decision` is
rendered in the protocol requested (tool calls, JSON, or text). With ``api_key`` set, a request
without ``Authorization: Bearer <key>`` gets 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from support.fake_http import (
    Decision,
    FakeHandler,
    FakeServer,
    HttpError,
    JsonInsteadOfStream,
    RecordedRequest,
    StallAfterFirstChunk,
    split_words,
)


@dataclass
class OaiReply:
    """A reply of the model."""

    text: str
    reasoning: str = ""
    finish_reason: str = "stop"
    prompt_tokens: int = 9
    completion_tokens: int | None = None
    tool_calls: list[dict[str, Any]] | None = None
    """``[{"name", "arguments": {...}}]``, sent as ``message.tool_calls`` with the
    arguments as a JSON string, as OpenAI does."""


class FakeOpenAI(FakeServer):
    """The fake server. Start with :meth:`FakeOpenAI.start`."""

    name = "openai"

    def __init__(self, api_key: str = "", model: str = "fake-model",
                 response_formats: tuple[str, ...] = ("json_schema", "json_object", "text"),
                 reject_status: int = 400, tools_supported: bool = True) -> None:
        super().__init__()
        self.tools_supported = tools_supported
        self.api_key = api_key
        self.model = model
        self.response_formats = response_formats
        self.reject_status = reject_status

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def env(self) -> dict[str, str]:
        env = {"OPENAI_BASE_URL": self.base_url, "OPENAI_MODEL": self.model}
        if self.api_key:
            env["OPENAI_API_KEY"] = self.api_key
        return env

    def handle(self, h: FakeHandler, request: RecordedRequest) -> None:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            h.send_json(404, {"error": {"message": f"no route {request.path}",
                                        "type": "invalid_request_error"}})
            return
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            h.send_json(401, {"error": {"message": "Incorrect API key provided",
                                        "type": "invalid_request_error",
                                        "code": "invalid_api_key"}})
            return
        body = request.body if isinstance(request.body, dict) else {}
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") not in self.response_formats:
            h.send_json(self.reject_status, {"error": {
                "message": f"response_format type {fmt.get('type')!r} is not supported",
                "type": "invalid_request_error"}})
            return
        if body.get("tools") and not self.tools_supported:
            # llama.cpp's llama-server started without --jinja answers this
            h.send_json(self.reject_status, {"error": {
                "message": "tools param requires --jinja flag",
                "type": "invalid_request_error"}})
            return
        item = self.next_reply()
        if item is None:
            h.send_json(400, {"error": {"message": "fake: no scripted reply left"}})
            return
        if self.serve_fault(h, item):
            return
        if isinstance(item, HttpError):
            headers = {"Retry-After": item.retry_after} if item.retry_after else {}
            h.send_json(item.status, {"error": {"message": item.message, "code": item.code}},
                        headers)
            return
        if isinstance(item, StallAfterFirstChunk):
            h.send_stream([self._chunk({"content": w}) for w in split_words(item.text)],
                          stall_after_first=True)
            return
        model = str(body.get("model") or self.model)
        if isinstance(item, JsonInsteadOfStream):
            h.send_json(200, item.payload if item.payload is not None
                        else self._completion(OaiReply("from json"), model))
            return
        if isinstance(item, Decision):
            item = OaiReply(item.text(body), tool_calls=item.tool_calls(body))
        reply = item if isinstance(item, OaiReply) else OaiReply(str(item))
        if request.stream:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            h.send_stream(self._frames(reply, model, include_usage))
        else:
            h.send_json(200, self._completion(reply, model))

    @staticmethod
    def _usage(reply: OaiReply) -> dict[str, int]:
        completion = (reply.completion_tokens if reply.completion_tokens is not None
                      else max(1, len(reply.text.split())))
        return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": completion,
                "total_tokens": reply.prompt_tokens + completion}

    def _completion(self, reply: OaiReply, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            import json

            message["content"] = reply.text or None
            message["tool_calls"] = [
                {"id": f"call_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for i, c in enumerate(reply.tool_calls)]
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": reply.finish_reason}],
                "usage": self._usage(reply)}

    @staticmethod
    def _chunk(delta: dict[str, Any], finish: str | None = None,
               model: str = "fake-model") -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def _frames(self, reply: OaiReply, model: str, include_usage: bool) -> list[Any]:
        frames: list[Any] = [self._chunk({"role": "assistant", "content": ""}, model=model)]
        if reply.reasoning:
            frames.append(self._chunk({"reasoning_content": reply.reasoning}, model=model))
        frames += [self._chunk({"content": w}, model=model)
                   for w in (split_words(reply.text) if reply.text else [])]
        frames.append(self._chunk({}, reply.finish_reason, model=model))
        if include_usage:
            frames.append({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                           "model": model, "choices": [], "usage": self._usage(reply)})
        frames.append("[DONE]")
        return frames
