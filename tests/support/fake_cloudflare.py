"""A fake Cloudflare Workers AI server (native ``/ai/run`` API) for tests and benchmarks.

A real HTTP server on 127.0.0.1 in a thread, speaking every shape of
``design/cloudflare-workers-ai.md``. Use it from any test::

    from support.fake_cloudflare import FakeCloudflare, CfReply
    from support.fake_http import HttpError

    with FakeCloudflare.start() as cf:          # or the ``fake_cloudflare`` fixture
        cf.replies.append("Hello!")             # what the model "says" next
        cf.queue(HttpError(429, 3040, "Capacity temporarily exceeded", retry_after="1"),
                 CfReply("ok", shape="chat"))
        env = cf.env()                          # CLOUDFLARE_API_BASE/ACCOUNT_ID/AUTH_TOKEN
        ...                                     # run `autoagent ... --backend cloudflare`
        cf.requests[0].path, cf.requests[0].headers["authorization"], cf.requests[0].body

Attributes: ``base_url`` (use as ``CLOUDFLARE_API_BASE``), ``account_id``, ``token``,
``replies`` (a deque: each item is a ``str``, a :class:`CfReply` or a fault from
:mod:`support.fake_http`), ``requests`` (every request received, in order), ``models``
(every model path requested), ``stop()``. ``known_models`` (``None``: every model
exists) makes other model names fail with code 5007 as the service does. ``refuse``
(``{"tools", "json"}``) makes requests in those protocols fail as the service refuses
them. A :class:`~support.fake_http.Decision` is rendered in the protocol requested (tool
calls in ``decision_shape``, a JSON-mode object, or text).

How a text reply is rendered: non-streaming requests get the success envelope with the
reply's ``shape`` (``classic`` ``{"response": ...}``, ``chat`` ``choices``, or
``responses`` ``output``); with JSON mode (``response_format``) and a classic shape, a
text that parses as JSON comes back as an object, as the service does. Streaming requests
get classic frames (with ``p`` padding and a heartbeat frame) or chat-completion chunk
frames (``stream_style="chat"``), then a classic terminal usage frame and ``[DONE]``.
A request without ``Authorization: Bearer <token>`` gets 401 code 10000, a wrong
account id 404.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

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

DEFAULT_TOKEN = "cf-canary-token-7f3a9c1e5b2d4608"
DEFAULT_ACCOUNT = "acct0123456789abcdef"
_RUN_PATH = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/run/(?P<model>.+)$")
# AI Gateway: /v1/{account}/{gateway}/workers-ai/{model}
# (developers.cloudflare.com/ai-gateway/providers/workersai/)
_GATEWAY_PATH = re.compile(
    r"^/v1/(?P<account>[^/]+)/(?P<gateway>[^/]+)/workers-ai/(?P<model>@.+)$")


@dataclass
class CfReply:
    """A reply of the model, rendered in one of the service's shapes.

    ``reasoning`` adds reasoning text (chat shape: ``reasoning_content``; responses
    shape: a ``reasoning`` item); ``finish_reason`` ``"length"`` marks a truncated reply.
    ``usage_style="input"`` spells usage ``input_tokens``/``output_tokens``.
    """

    text: str
    shape: Literal["classic", "chat", "responses"] = "classic"
    stream_style: Literal["classic", "chat"] = "classic"
    reasoning: str = ""
    prompt_tokens: int = 12
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    usage_style: Literal["prompt", "input"] = "prompt"
    response_object: Any = None
    """Classic shape: send this JSON value as ``response`` instead of the text."""
    tool_calls: list[dict[str, Any]] | None = None
    """``[{"name", "arguments": {...}}]``: classic shape ``result.tool_calls`` with object
    arguments; chat shape ``choices[0].message.tool_calls`` with string arguments."""

    def usage(self) -> dict[str, Any]:
        completion = (self.completion_tokens if self.completion_tokens is not None
                      else max(1, len(self.text.split())))
        if self.usage_style == "input":
            return {"input_tokens": self.prompt_tokens, "output_tokens": completion,
                    "total_tokens": self.prompt_tokens + completion}
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion}


def error_envelope(code: int | None, message: str) -> dict[str, Any]:
    errors = [{"code": code, "message": message}] if code is not None else [
        {"message": message}]
    return {"result": None, "success": False, "errors": errors, "messages": []}


class FakeCloudflare(FakeServer):
    """The fake service. Start with :meth:`FakeCloudflare.start`."""

    name = "cloudflare"

    def __init__(self, account_id: str = DEFAULT_ACCOUNT, token: str = DEFAULT_TOKEN,
                 known_models: set[str] | None = None,
                 refuse: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.refuse = set(refuse)
        self.account_id = account_id
        self.token = token
        self.known_models = known_models
        self.models: list[str] = []
        self.decision_shape: Literal["classic", "chat"] = "classic"
        """The result shape :class:`~support.fake_http.Decision` replies are sent in."""

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/client/v4"

    def env(self) -> dict[str, str]:
        """The environment that points the ``cloudflare`` backend at this fake."""
        return {"CLOUDFLARE_API_BASE": self.base_url, "CLOUDFLARE_ACCOUNT_ID": self.account_id,
                "CLOUDFLARE_AUTH_TOKEN": self.token}

    # ------------------------------------------------------------------ serving
    def handle(self, h: FakeHandler, request: RecordedRequest) -> None:
        match = _RUN_PATH.match(request.path) or _GATEWAY_PATH.match(request.path)
        if request.method != "POST" or match is None:
            h.send_json(404, error_envelope(7000, "No route for that URI"))
            return
        if match["account"] != self.account_id:
            h.send_json(404, error_envelope(7003, "Could not route to /accounts/x: "
                                                  "account not found"))
            return
        auth = request.headers.get("authorization", "")
        if not auth:
            h.send_json(400, error_envelope(10001, "Missing or malformed credentials"))
            return
        if auth != f"Bearer {self.token}":
            h.send_json(401, error_envelope(10000, "Authentication error"))
            return
        model = match["model"]
        self.models.append(model)
        if self.known_models is not None and model not in self.known_models:
            request_id = "a1b2c3d4-0000-1111-2222-333344445555"
            h.send_json(400, error_envelope(
                5007, f"AiError: No such model {model} or task ({request_id})"))
            return
        body = request.body if isinstance(request.body, dict) else {}
        refusal = self._refusal(body)
        if refusal is not None:
            h.send_json(400, refusal)
            return
        item = self.next_reply()
        if item is None:
            h.send_json(400, error_envelope(5006, "fake: no scripted reply left"))
            return
        if self.serve_fault(h, item):
            return
        if isinstance(item, HttpError):
            self._serve_error(h, item)
            return
        if isinstance(item, JsonInsteadOfStream):
            payload = item.payload if item.payload is not None else {
                "result": {}, "success": True, "errors": [], "messages": []}
            h.send_json(200, payload)
            return
        if isinstance(item, StallAfterFirstChunk):
            if request.stream:
                h.send_stream([{"response": w} for w in split_words(item.text)],
                              stall_after_first=True)
            else:
                self._stall_json(h, item.text)
            return
        if isinstance(item, Decision):
            item = CfReply(item.text(body), shape=self.decision_shape,
                           tool_calls=item.tool_calls(body))
        reply = item if isinstance(item, CfReply) else CfReply(str(item))
        json_mode = isinstance(body.get("response_format"), dict)
        if request.stream:
            h.send_stream(self._frames(reply))
        else:
            h.send_json(200, {"result": self._result(reply, json_mode), "success": True,
                              "errors": [], "messages": []})

    def _refusal(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The error of a request in a protocol this fake refuses (``refuse``): native
        tools fail input validation (5006, the code of a schema mismatch in errors.mdx);
        JSON mode answers the refusal json-mode.mdx documents."""
        if "tools" in self.refuse and body.get("tools"):
            return error_envelope(5006, "AiError: Bad input: Error: additional property "
                                        "'tools' is not allowed")
        if "json" in self.refuse and isinstance(body.get("response_format"), dict):
            return error_envelope(None, "AiError: JSON Mode couldn't be met")
        return None

    def _serve_error(self, h: FakeHandler, item: HttpError) -> None:
        headers = {"Retry-After": item.retry_after} if item.retry_after is not None else {}
        if item.openai_shape:
            payload: Any = {"error": {"message": item.message, "code": item.code}}
        else:
            payload = error_envelope(item.code, item.message)
        h.send_json(item.status, payload, headers)

    @staticmethod
    def _stall_json(h: FakeHandler, text: str) -> None:
        body = json.dumps({"result": {"response": text}, "success": True}).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:10])
        h.wfile.flush()
        h.close_connection = True
        h.server_ref.stopping.wait(60)

    # ------------------------------------------------------------------ shapes
    @staticmethod
    def _result(reply: CfReply, json_mode: bool) -> dict[str, Any]:
        usage = reply.usage()
        if reply.shape == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
            if reply.reasoning:
                message["reasoning_content"] = reply.reasoning
            if reply.tool_calls:
                message["content"] = reply.text or None
                message["tool_calls"] = [
                    {"id": f"call{i:06d}", "type": "function",
                     "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                    for i, c in enumerate(reply.tool_calls)]
            return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                    "model": "fake", "choices": [{"index": 0, "message": message,
                                                  "finish_reason": reply.finish_reason}],
                    "usage": usage}
        if reply.shape == "responses":
            output: list[dict[str, Any]] = []
            if reply.reasoning:
                output.append({"type": "reasoning", "id": "rs_1", "content": [
                    {"type": "reasoning_text", "text": reply.reasoning}]})
            if reply.text:
                output.append({"type": "message", "id": "msg_1", "role": "assistant",
                               "content": [{"type": "output_text", "text": reply.text,
                                            "annotations": []}]})
            result: dict[str, Any] = {"object": "response", "status": "completed",
                                      "output": output, "usage": usage}
            if reply.finish_reason == "length":
                result["status"] = "incomplete"
                result["incomplete_details"] = {"reason": "max_output_tokens"}
            return result
        response: Any = reply.text
        if reply.response_object is not None:
            response = reply.response_object
        elif json_mode:
            with contextlib.suppress(ValueError):
                response = json.loads(reply.text)
        return {"response": response, "tool_calls": list(reply.tool_calls or []),
                "usage": usage}

    @staticmethod
    def _frames(reply: CfReply) -> list[Any]:
        words = split_words(reply.text) if reply.text else []
        frames: list[Any] = []
        if reply.stream_style == "chat":
            if reply.reasoning:
                frames.append({"object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": {"reasoning_content": reply.reasoning}}]})
            for word in words:
                frames.append({"object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": {"content": word}, "finish_reason": None}]})
            frames.append({"object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
        else:
            for i, word in enumerate(words):
                frame: dict[str, Any] = {"response": word}
                if i % 2 == 0:
                    frame["p"] = "abcdefghij"[: 1 + i % 9]  # padding, as the service sends
                frames.append(frame)
                if i == 0:
                    frames.append({"response": "", "p": "heartbeat"})
        usage = reply.usage()
        usage["neurons"] = 1.2345
        frames.append({"response": "", "usage": usage})
        frames.append("[DONE]")
        return frames
