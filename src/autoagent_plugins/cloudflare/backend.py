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

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ContextTooLongError,
    EmptyReplyError,
    MissingCredentialsError,
    QuotaExceededError,
    RateLimitedError,
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
    content_text,
    decode_frame,
    parse_chat_completion,
    usage_from,
)

if TYPE_CHECKING:
    from autoagent_core.config import Settings

LABEL = "Cloudflare Workers AI"
CREDENTIALS_HINT = (
    "set CLOUDFLARE_AUTH_TOKEN to an API token with the 'Workers AI' permission "
    "and CLOUDFLARE_ACCOUNT_ID to your account id"
)
_AI_ERROR_PREFIX = re.compile(r"^(?:\s*AiError:\s*)+", re.IGNORECASE)
_REQUEST_ID_SUFFIX = re.compile(
    r"\s*\((?:request[ _-]?id[:=\s]*)?[0-9a-fA-F][0-9a-fA-F-]{7,}\)\s*\.?\s*$", re.IGNORECASE
)


def clean_message(message: str) -> str:
    """A Cloudflare error message without ``AiError:`` prefixes and the trailing request
    id in parentheses, on one line."""
    text = one_line(message, 1000)
    text = _AI_ERROR_PREFIX.sub("", text)
    text = _REQUEST_ID_SUFFIX.sub("", text)
    return one_line(text)


def _int_code(code: Any) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


def classify_error(status: int, payload: Any, model: str) -> BackendError:
    """The project's exception for a Cloudflare error reply (status + envelope code)."""
    raw_message, raw_code = error_payload_detail(payload)
    message = clean_message(raw_message)
    code = _int_code(raw_code)
    tag = f"HTTP {status}" + (f", code {code}" if code is not None else "")
    said = f"{tag}: {message}" if message else tag
    if code == 10001:
        return AuthenticationError(
            f"{LABEL} found the credentials missing or malformed ({said}): {CREDENTIALS_HINT}"
        )
    if code == 10000 or status in (401, 403):
        if status == 403:
            return AuthenticationError(
                f"{LABEL} refused access ({said}): the token lacks the 'Workers AI' "
                "permission for this account; check CLOUDFLARE_AUTH_TOKEN and "
                "CLOUDFLARE_ACCOUNT_ID"
            )
        return AuthenticationError(
            f"{LABEL} rejected the token ({said}): check CLOUDFLARE_AUTH_TOKEN "
            "(bad or expired)"
        )
    if code in (5007, 3042):
        return UnknownModelError(
            f"{LABEL} does not know the model '{model}' ({said}); choose another with "
            "--model or CF_MODEL"
        )
    if code in (3006, 5021):
        return ContextTooLongError(
            f"{LABEL}: the request is too large for the model '{model}' ({said}); "
            "shorten the conversation or lower max_tokens"
        )
    if code in (4006, 3036):
        return QuotaExceededError(
            f"{LABEL}: the daily free allocation is used up ({said}); it resets at "
            "00:00 UTC, or upgrade to Workers Paid"
        )
    if code in (3007, 3008):
        return BackendTimeoutError(f"{LABEL} timed out ({said})")
    if code == 3040:
        return RateLimitedError(f"{LABEL} is out of capacity ({said})")
    if code == 3021:
        return RateLimitedError(f"{LABEL} is rate limiting requests ({said})")
    if code == 5006:
        return BadRequestError(f"{LABEL} refused the input ({said})")
    if status == 200:  # success: false with no code we know
        return BadRequestError(f"{LABEL} reported a failure ({said})")
    error = error_for_status(status, message, label=LABEL, model=model,
                             credentials_hint=CREDENTIALS_HINT)
    if code is not None:
        error = type(error)(error.message.replace(f"HTTP {status}", tag, 1))
    return error


def parse_result(result: Any) -> ParsedReply:
    """Read the ``result`` of a native reply in any of its three shapes."""
    if not isinstance(result, dict):
        return ParsedReply()
    if isinstance(result.get("choices"), list):
        return parse_chat_completion(result)
    if isinstance(result.get("output"), list):
        return _parse_responses(result)
    reply = ParsedReply(usage=usage_from(result.get("usage")))
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


class CloudflareBackend:
    """Chat completions from Cloudflare Workers AI (native ``/ai/run`` endpoint)."""

    name = "cloudflare"

    def __init__(self, settings: Settings) -> None:
        missing = [env for env, value in (("CLOUDFLARE_ACCOUNT_ID", settings.cloudflare_account_id),
                                          ("CLOUDFLARE_AUTH_TOKEN", settings.cloudflare_auth_token))
                   if not value]
        if missing:
            raise MissingCredentialsError(
                f"the cloudflare backend needs {' and '.join(missing)}: {CREDENTIALS_HINT}"
            )
        self.model = settings.model or settings.cf_model
        self.account_id = settings.cloudflare_account_id
        base = settings.cloudflare_api_base.rstrip("/")
        self.url = f"{base}/accounts/{self.account_id}/ai/run/{self.model}"
        timeouts, policy = policy_from_settings(settings)
        token = settings.cloudflare_auth_token
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
            "temperature": options.temperature,
        }
        if options.json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": options.json_schema}
        if stream:
            body["stream"] = True
        return body

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        """One chat completion; streams to ``options.on_text`` when it is set (JSON mode
        does not stream: the whole text is passed on at the end)."""
        started = time.monotonic()
        deadline = Deadline(self.http.timeouts.total)
        stream = options.on_text is not None and options.json_schema is None
        reply: ParsedReply | None = None
        if stream:
            body = self._body(messages, options, stream=True)
            reply = self.http.run(lambda: self._stream_once(body, options, deadline), deadline)
        if reply is None:  # not streaming, or the stream came back as empty JSON
            body = self._body(messages, options, stream=False)
            reply = self.http.run(lambda: self._post_once(body, deadline), deadline)
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
        if reply.text.strip():
            return
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

