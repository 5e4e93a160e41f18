"""The ``openai`` backend: any OpenAI-compatible chat server.

``POST {OPENAI_BASE_URL}/chat/completions`` (OpenAI, llama.cpp's ``llama_cpp.server``
and ``llama-server``, Ollama, vLLM, LM Studio). The API key is optional for local
servers. A JSON schema is sent as ``response_format`` ``json_schema``; when the server
refuses that (400/422), the backend falls back to ``json_object`` with the schema
attached (what llama.cpp understands), then to plain text, and remembers what worked.
HTTP, retries, timeouts and SSE parsing are shared with the Cloudflare backend
(:mod:`autoagent_plugins._http.client`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from autoagent_core.errors import (
    BackendError,
    BadRequestError,
    EmptyReplyError,
    FormatRefusedError,
    MissingCredentialsError,
    QuotaExceededError,
    UnknownModelError,
)
from autoagent_core.types import Completion, CompletionOptions, Message, Usage
from autoagent_plugins._http.client import (
    AttemptFailed,
    Deadline,
    HttpClient,
    NotAStream,
    error_for_status,
    error_payload_detail,
    one_line,
    policy_from_settings,
)
from autoagent_plugins._http.reply_shapes import (
    ParsedReply,
    StreamAccumulator,
    decode_frame,
    parse_chat_completion,
)

if TYPE_CHECKING:
    from autoagent_core.config import Settings

SCHEMA_MODES = ("json_schema", "json_object", "plain")
"""How a JSON schema is sent, most to least strict."""


def classify_error(status: int, payload: Any, text: str, *, label: str,
                   model: str) -> BackendError:
    """The project's exception for an error reply of an OpenAI-compatible server."""
    message, code = error_payload_detail(payload)
    if not message and payload is None:
        message = text
    message = one_line(message)
    lowered = f"{message} {code or ''}".lower()
    if status == 429 and ("insufficient_quota" in lowered or "quota" in lowered):
        return QuotaExceededError(f"{label}: the quota is used up (HTTP 429: {message})")
    if "model_not_found" in lowered or (status in (400, 404) and "model" in lowered
                                        and ("not found" in lowered
                                             or "does not exist" in lowered)):
        return UnknownModelError(
            f"{label} does not know the model '{model}' (HTTP {status}: {message}); "
            "choose another with --model or OPENAI_MODEL"
        )
    return error_for_status(status, message, label=label, model=model,
                            credentials_hint="check OPENAI_API_KEY")


def _response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True}}
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


class OpenAICompatBackend:
    """Chat completions from an OpenAI-compatible server."""

    name = "openai"

    def __init__(self, settings: Settings) -> None:
        base = settings.openai_base_url.rstrip("/")
        host = urlsplit(base).hostname or ""
        if host.endswith("api.openai.com") and not settings.openai_api_key:
            raise MissingCredentialsError(
                f"the openai backend needs OPENAI_API_KEY for {base} (or set OPENAI_BASE_URL "
                "to a local server such as llama.cpp, Ollama or vLLM, which need no key)"
            )
        self.model = settings.model or settings.openai_model
        self.base_url = base
        self.url = f"{base}/chat/completions"
        self.label = f"the OpenAI-compatible server at {host or base}"
        self.schema_mode = SCHEMA_MODES[0]
        timeouts, policy = policy_from_settings(settings)
        key = settings.openai_api_key
        self.http = HttpClient(
            label=self.label,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeouts=timeouts,
            policy=policy,
            classify=lambda status, payload, text: classify_error(
                status, payload, text, label=self.label, model=self.model),
            secrets=[key] if key else [],
        )

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self.http.close()

    def _body(self, messages: Sequence[Message], options: CompletionOptions,
              stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        schema, protocol = options.json_schema, options.protocol
        tools = self._tools(options)
        if tools:
            # native function calling (OpenAI chat completions API: "tools" as
            # [{type: "function", function: {name, description, parameters}}];
            # tool_choice "required": the model must call one or more tools, and every
            # reply of the Coder is actions)
            from autoagent_core.protocol.tool_calls import openai_tools

            body["tools"] = openai_tools(tools)
            body["tool_choice"] = "required"
        elif schema is not None and protocol in ("auto", "json"):
            mode = self.schema_mode
            if protocol == "json" and mode == "plain":
                mode = "json_object"
            response_format = _response_format(mode, schema)
            if response_format is not None:
                body["response_format"] = response_format
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def protocols(self) -> tuple[str, ...]:
        """Native tools, JSON mode, text: an OpenAI-compatible server is tried in each,
        and a server that refuses one (HTTP 400/422) moves the run to the next."""
        return ("tools", "json", "text")

    def _tools(self, options: CompletionOptions) -> list[dict[str, Any]] | None:
        if options.protocol != "tools" or options.json_schema is None:
            return None
        from autoagent_core.protocol.tool_calls import tools_for

        return tools_for(options.json_schema)

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        """One chat completion; streams to ``options.on_text`` when it is set (not in
        the ``tools`` protocol: the calls are passed on whole at the end)."""
        started = time.monotonic()
        deadline = Deadline(self.http.timeouts.total)
        tools_mode = self._tools(options) is not None
        stream = options.on_text is not None and not tools_mode
        while True:
            body = self._body(messages, options, stream)
            try:
                reply = self._request(body, options, deadline)
                break
            except BadRequestError as exc:
                self._after_refusal(exc, body, options.protocol)
        if reply.tool_calls:
            from autoagent_core.protocol.tool_calls import reply_text_from_tool_calls

            reply.text = reply_text_from_tool_calls(reply.tool_calls, reply.text)
        if not stream and options.on_text is not None and reply.text.strip():
            options.on_text(reply.text)
        if not reply.text.strip() and options.protocol in ("tools", "json") \
                and not reply.reasoning and reply.finish_reason != "length":
            # nothing to a request with tools or JSON mode: the loop asks in the next one
            raise FormatRefusedError(
                f"{self.label} sent an empty reply to a request in {options.protocol} mode")
        if not reply.text.strip():
            why = ("its reasoning used up" if reply.reasoning or reply.finish_reason == "length"
                   else "it may have run out of")
            raise EmptyReplyError(
                f"the model '{self.model}' returned no visible answer ({why} "
                f"max_tokens={options.max_tokens}); raise max_tokens "
                "(--max-tokens or AUTOAGENT_MAX_TOKENS)"
            )
        return Completion(
            text=reply.text,
            usage=reply.usage or Usage(),
            model=reply.model or self.model,
            finish_reason=reply.finish_reason or "stop",
            latency_s=round(time.monotonic() - started, 4),
        )

    def _after_refusal(self, error: BadRequestError, body: dict[str, Any],
                       protocol: str) -> None:
        """After a 400/422: the server may not know ``tools`` or this ``response_format``.
        Returns to try the next, less strict ``response_format``; raises the refusal of
        the protocol (:class:`FormatRefusedError`) when none is left, or the error when
        the request carried neither."""
        if "tools" in body:
            raise FormatRefusedError(f"{error.message} (native tools refused)",
                                     permanent=True) from None
        if "response_format" not in body:
            raise error
        last = SCHEMA_MODES[-1] if protocol == "auto" else "json_object"
        if self.schema_mode in (last, SCHEMA_MODES[-1]):
            if protocol == "json":
                raise FormatRefusedError(f"{error.message} (JSON mode refused)",
                                         permanent=True) from None
            raise error
        self.schema_mode = SCHEMA_MODES[SCHEMA_MODES.index(self.schema_mode) + 1]

    def _request(self, body: dict[str, Any], options: CompletionOptions,
                 deadline: Deadline) -> ParsedReply:
        """One request with retries, streamed when ``options.on_text`` is set."""
        if body.get("stream"):
            return self.http.run(lambda: self._stream_once(body, options, deadline), deadline)
        return self.http.run(
            lambda: self._read(self.http.post_json(self.url, body, deadline)), deadline)

    def _read(self, payload: Any) -> ParsedReply:
        if not isinstance(payload, dict):
            return ParsedReply()
        if "error" in payload and "choices" not in payload:
            raise AttemptFailed(classify_error(200, payload, "", label=self.label,
                                               model=self.model))
        return parse_chat_completion(payload)

    def _stream_once(self, body: dict[str, Any], options: CompletionOptions,
                     deadline: Deadline) -> ParsedReply:
        acc = StreamAccumulator(on_text=options.on_text)
        try:
            for data in self.http.stream_events(self.url, body, deadline):
                if data.strip() == "[DONE]":
                    break
                frame = decode_frame(data, self.label)
                if "error" in frame:
                    raise AttemptFailed(classify_error(200, frame, "", label=self.label,
                                                       model=self.model))
                acc.add_chunk(frame)
        except NotAStream as not_stream:  # a server that ignores "stream"
            reply = self._read(not_stream.payload)
            acc.add_text(reply.text)
            return reply
        except AttemptFailed as failure:
            if acc.emitted:  # a retry would repeat text the user has already seen
                raise failure.error.__class__(
                    f"{failure.error.message} (the reply broke off after partial output)"
                ) from None
            raise
        return acc.reply()

