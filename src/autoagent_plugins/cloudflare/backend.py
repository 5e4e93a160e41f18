"""The ``cloudflare`` backend: Cloudflare Workers AI over its native REST API.

``POST {CLOUDFLARE_API_BASE}/accounts/{account_id}/ai/run/{model}`` with a Bearer token.
The reply may come in any of the three shapes the service uses (classic ``response``,
OpenAI ``chat.completion``, Responses ``output``), with either usage spelling; streams
may mix classic frames, chunk frames and heartbeats, or come back as plain JSON (then the
request is sent once more without streaming). Errors are read from both error shapes
(also a 200 with ``success: false``) and mapped to the project's exceptions following
the table of ``cloudflare-workers-ai.md``; HTTP, retries and timeouts live in
:mod:`autoagent_plugins._http.client`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import (
    BadRequestError,
    EmptyReplyError,
    FormatRefusedError,
    MissingCredentialsError,
)
from autoagent_core.types import Completion, CompletionOptions, Message, Usage
from autoagent_plugins._http.client import (
    AttemptFailed,
    Deadline,
    HttpClient,
    NotAStream,
    policy_from_settings,
)
from autoagent_plugins._http.reply_shapes import (
    ParsedReply,
    StreamAccumulator,
    content_text,
    decode_frame,
    parse_chat_completion,
    tool_calls_from,
    usage_from,
)
from autoagent_plugins.cloudflare.errors import (
    CREDENTIALS_HINT,
    LABEL,
    classify_error,
    clean_message,
)
from autoagent_plugins.cloudflare.models import (
    check_account,
    check_model,
    check_temperature,
    check_token,
    clamp,
    model_info,
)

__all__ = ["LABEL", "CloudflareBackend", "classify_error", "clean_message", "parse_result"]

if TYPE_CHECKING:
    from autoagent_core.config import Settings

def parse_result(result: Any) -> ParsedReply:
    """Read the ``result`` of a native reply in any of its three shapes."""
    if not isinstance(result, dict):
        return ParsedReply()
    if isinstance(result.get("choices"), list):
        return parse_chat_completion(result)
    if isinstance(result.get("output"), list):
        return _parse_responses(result)
    reply = ParsedReply(usage=usage_from(result.get("usage")),
                        tool_calls=tool_calls_from(result.get("tool_calls")))
    if "response" in result:
        reply.text = content_text(result["response"])
    elif isinstance(result.get("output_text"), str):
        reply.text = result["output_text"]
    return reply


def _parse_responses(result: dict[str, Any]) -> ParsedReply:
    """A Responses object: visible text from ``message`` items' ``output_text`` parts."""
    text: list[str] = []
    reasoning: list[str] = []
    for item in result.get("output", []):
        if not isinstance(item, dict):
            continue
        for part in item.get("content") or []:
            if not isinstance(part, dict):
                continue
            if item.get("type") == "message" and part.get("type") == "output_text":
                text.append(str(part.get("text", "")))
            elif part.get("type") == "reasoning_text":
                reasoning.append(str(part.get("text", "")))
    finish = "stop"
    if result.get("status") == "incomplete":
        details = result.get("incomplete_details") or {}
        reason = details.get("reason", "") if isinstance(details, dict) else ""
        finish = "length" if "token" in str(reason) else str(reason or "incomplete")
    return ParsedReply("".join(text), "".join(reasoning), usage_from(result.get("usage")),
                       finish)


def refused_protocol(error: BadRequestError, body: dict[str, Any],
                     protocol: str) -> BadRequestError | FormatRefusedError:
    """A 400 to a request sent with ``tools`` or ``response_format`` under an explicit
    protocol, as the refusal of that protocol (a model whose input schema has no
    ``tools`` or ``response_format`` fails validation with 5006 "bad input", errors.mdx);
    the loop then asks again in the next protocol, where a real input problem shows up
    again with its own message."""
    if protocol == "tools" and "tools" in body:
        return FormatRefusedError(f"{error.message} (native tools refused)", permanent=True)
    if protocol == "json" and "response_format" in body:
        return FormatRefusedError(f"{error.message} (JSON mode refused)", permanent=True)
    return error


class CloudflareBackend:
    """Chat completions from Cloudflare Workers AI (native ``/ai/run`` endpoint)."""

    name = "cloudflare"

    def __init__(self, settings: Settings) -> None:
        base = settings.cloudflare_api_base.rstrip("/")
        # AI Gateway: {gateway base}/workers-ai/{model} replaces
        # {api base}/accounts/{id}/ai/run/{model}
        # (developers.cloudflare.com/ai-gateway/providers/workersai/)
        self.gateway = base.endswith("/workers-ai")
        needed = [("CLOUDFLARE_AUTH_TOKEN", settings.cloudflare_auth_token)]
        if not self.gateway:
            needed.insert(0, ("CLOUDFLARE_ACCOUNT_ID", settings.cloudflare_account_id))
        missing = [env for env, value in needed if not value]
        if missing:
            raise MissingCredentialsError(
                f"the cloudflare backend needs {' and '.join(missing)}: {CREDENTIALS_HINT}"
            )
        # checked before any request: one line, exit 3, the token never shown
        token = check_token(settings.cloudflare_auth_token)
        self.model = check_model(settings.model or settings.cf_model)
        self.info = model_info(self.model)
        check_temperature(self.info, settings.temperature)
        self.account_id = settings.cloudflare_account_id
        if self.gateway:
            self.url = f"{base}/{self.model}"
        else:
            self.url = f"{base}/accounts/{check_account(self.account_id)}/ai/run/{self.model}"
        timeouts, policy = policy_from_settings(settings)
        self.http = HttpClient(
            label=LABEL,
            headers={"Authorization": f"Bearer {token}"},
            timeouts=timeouts,
            policy=policy,
            classify=lambda status, payload, _text: classify_error(status, payload, self.model),
            secrets=[token],
        )

    def __repr__(self) -> str:
        return f"CloudflareBackend(model={self.model!r})"

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ requests
    def _body(self, messages: Sequence[Message], options: CompletionOptions,
              stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [m.to_dict() for m in messages],
            # the service defaults to 256 tokens: always say how many
            "max_tokens": options.max_tokens,
            "temperature": clamp(self.info, "temperature", options.temperature),
        }
        protocol = options.protocol
        tools = self._tools(options) if protocol in ("auto", "tools") else None
        if tools:
            # function calling: the actions as tools ("Traditional" function calling,
            # developers.cloudflare.com/workers-ai/features/function-calling/traditional/:
            # tools as [{name, description, parameters}]; cloudflare-python
            # types/ai/ai_run_params.py Messages.tools, MessagesToolUnionMember0, whose
            # parameter properties each need a description and a type)
            body["tools"] = tools
        elif options.json_schema is not None and (
                protocol == "json" or (protocol == "auto" and self.info.json_mode)):
            # JSON mode (json-mode.mdx: response_format {type: json_schema, json_schema};
            # the SDK's Messages params do not list it, the model schemas of the listed
            # models do); under auto only for the models the JSON mode page lists
            body["response_format"] = {"type": "json_schema", "json_schema": options.json_schema}
        if stream:
            body["stream"] = True
        return body

    def protocols(self) -> tuple[str, ...]:
        """The protocols this model supports, best first: native tools for the models
        the catalog marks ``function_calling``, JSON mode for those the JSON mode page
        lists (``models.json``), text always."""
        listed = []
        if self.info.function_calling:
            listed.append("tools")
        if self.info.json_mode:
            listed.append("json")
        return (*listed, "text")

    def _tools(self, options: CompletionOptions) -> list[dict[str, Any]] | None:
        """The actions as tools: under ``tools`` always (the setting may force it), under
        ``auto`` for a model marked ``function_calling`` (else ``None``)."""
        if options.json_schema is None or (
                options.protocol == "auto" and not self.info.function_calling):
            return None
        from autoagent_core.protocol.tool_calls import tools_for

        return tools_for(options.json_schema)

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        """One chat completion; streams to ``options.on_text`` when it is set (JSON mode
        does not stream: the whole text is passed on at the end)."""
        started = time.monotonic()
        deadline = Deadline(self.http.timeouts.total)
        # JSON mode and tool calls do not stream (json-mode.mdx: "JSON Mode currently
        # doesn't support streaming")
        stream = options.on_text is not None and options.json_schema is None
        reply: ParsedReply | None = None
        if stream:
            body = self._body(messages, options, stream=True)
            reply = self.http.run(lambda: self._stream_once(body, options, deadline), deadline)
        if reply is None:  # not streaming, or the stream came back as empty JSON
            body = self._body(messages, options, stream=False)
            try:
                reply = self.http.run(lambda: self._post_once(body, deadline), deadline)
            except BadRequestError as exc:
                raise refused_protocol(exc, body, options.protocol) from None
            self._check_visible(reply, options)
            if options.on_text is not None:
                options.on_text(reply.text)
        else:
            self._check_visible(reply, options)
        return Completion(
            text=reply.text,
            usage=reply.usage or Usage(),
            model=self.model,
            finish_reason=reply.finish_reason or "stop",
            latency_s=round(time.monotonic() - started, 4),
        )

    def _check_visible(self, reply: ParsedReply, options: CompletionOptions) -> None:
        if reply.tool_calls:
            # a reply of tool calls only is an answer: the calls become the protocol's
            # actions (cloudflare-python types/ai/ai_run_response.py: tool_calls)
            from autoagent_core.protocol.tool_calls import reply_text_from_tool_calls

            reply.text = reply_text_from_tool_calls(reply.tool_calls, reply.text)
            return
        if reply.text.strip():
            return
        if options.protocol in ("tools", "json") and not reply.reasoning \
                and reply.finish_reason != "length":
            # nothing at all, not even reasoning, to a request with tools or JSON mode
            # (gpt-oss answers some requests with an empty result, cloudflare-workers-ai.md):
            # a reply that cannot be used in this protocol; the loop asks in the next
            raise FormatRefusedError(
                f"{LABEL} sent an empty reply to a request in {options.protocol} mode")
        if reply.reasoning or reply.finish_reason == "length":
            why = f"its reasoning used up max_tokens={options.max_tokens}"
        else:
            why = f"a reasoning model's thinking probably used up max_tokens={options.max_tokens}"
        raise EmptyReplyError(
            f"the model '{self.model}' returned no visible answer ({why}); "
            "raise max_tokens (--max-tokens or AUTOAGENT_MAX_TOKENS)"
        )

    def _post_once(self, body: dict[str, Any], deadline: Deadline) -> ParsedReply:
        return self._read_envelope(self.http.post_json(self.url, body, deadline))

    def _read_envelope(self, payload: Any) -> ParsedReply:
        """The parsed reply of a native envelope (or of an unwrapped result); raises
        :class:`AttemptFailed` for ``success: false``."""
        if not isinstance(payload, dict):
            return ParsedReply()
        if payload.get("success") is False or (
            payload.get("errors") and not payload.get("result")
        ) or ("error" in payload and "result" not in payload):
            raise AttemptFailed(classify_error(200, payload, self.model))
        result = payload.get("result", payload)
        return parse_result(result)

    def _stream_once(self, body: dict[str, Any], options: CompletionOptions,
                     deadline: Deadline) -> ParsedReply | None:
        """One streaming attempt. ``None`` means the server answered with JSON holding no
        text: the caller asks again without streaming."""
        acc = StreamAccumulator(on_text=options.on_text)
        try:
            for data in self.http.stream_events(self.url, body, deadline):
                if data.strip() == "[DONE]":
                    break
                self._apply_frame(acc, decode_frame(data, LABEL))
        except NotAStream as not_stream:
            reply = self._read_envelope(not_stream.payload)
            if not reply.text.strip():
                return None
            acc.add_text(reply.text)
            return reply
        except AttemptFailed as failure:
            if acc.emitted:  # a retry would repeat text the user has already seen
                raise failure.error.__class__(
                    f"{failure.error.message} (the reply broke off after partial output)"
                ) from None
            raise
        return acc.reply()

    def _apply_frame(self, acc: StreamAccumulator, frame: dict[str, Any]) -> None:
        """One stream frame: classic ``{"response": ...}``, a chat chunk, or an error."""
        if frame.get("errors") or "error" in frame or frame.get("success") is False:
            raise AttemptFailed(classify_error(200, frame, self.model))
        if "choices" in frame:
            acc.add_chunk(frame)
            return
        piece = frame.get("response")
        if isinstance(piece, str):
            acc.add_text(piece)
        acc.add_usage(frame.get("usage"))

