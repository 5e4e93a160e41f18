"""Cloudflare error replies mapped to the project's exceptions.

Errors come in two shapes, and both are read: the API envelope
``{"errors": [{"code": 3036, "message": "..."}]}`` and the OpenAI-style
``{"error": {"code": "<string>", "message": "4006: ..."}}`` (the shape of
workers-ai-provider's ``src/workersai-error.ts``: ``code`` is a string or null), where
the numeric code is often only at the start of the message. The codes and their HTTP
statuses are those of developers.cloudflare.com/workers-ai/platform/errors/
(cloudflare-docs ``src/content/docs/workers-ai/platform/errors.mdx``).
"""

from __future__ import annotations

import re
from typing import Any

from autoagent_core.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ContextTooLongError,
    FormatRefusedError,
    QuotaExceededError,
    RateLimitedError,
    UnknownModelError,
)
from autoagent_plugins._http.client import error_for_status, error_payload_detail, one_line

LABEL = "Cloudflare Workers AI"
CREDENTIALS_HINT = (
    "set CLOUDFLARE_AUTH_TOKEN to an API token with the 'Workers AI' permission "
    "and CLOUDFLARE_ACCOUNT_ID to your account id"
)
_AI_ERROR_PREFIX = re.compile(r"^(?:\s*AiError:\s*)+", re.IGNORECASE)
_REQUEST_ID_SUFFIX = re.compile(
    r"\s*\((?:request[ _-]?id[:=\s]*)?[0-9a-fA-F][0-9a-fA-F-]{7,}\)\s*\.?\s*$", re.IGNORECASE
)
_CODE_IN_MESSAGE = re.compile(r"^\s*(?:AiError:\s*)*(\d{4,5})\s*[:\-]\s*")
JSON_MODE_REFUSED = re.compile(r"json mode could(?:n't| not) be met", re.IGNORECASE)
"""The refusal the JSON mode page documents ("an error `JSON Mode couldn't be met` is
returned and must be handled"); no numeric code is documented for it."""

QUOTA_CODES = (3036, 4006)
TIMEOUT_CODES = (3007, 3008)
TERMS_CODE = 5016
ACCOUNT_NOT_ALLOWED = (5018, 3041)


def clean_message(message: str) -> str:
    """A Cloudflare error message without ``AiError:`` prefixes and the trailing request
    id in parentheses, on one line."""
    text = one_line(message, 1000)
    text = _AI_ERROR_PREFIX.sub("", text)
    text = _REQUEST_ID_SUFFIX.sub("", text)
    return one_line(text)


def error_code(raw_code: Any, message: str) -> int | None:
    """The numeric code: the ``code`` field when it is a number (or a numeric string),
    else the number the message starts with (``"4006: you have used up..."``)."""
    try:
        return int(raw_code)
    except (TypeError, ValueError):
        pass
    match = _CODE_IN_MESSAGE.match(message or "")
    return int(match.group(1)) if match else None


def classify_error(status: int, payload: Any, model: str) -> BackendError:
    """The project's exception for a Cloudflare error reply (status + code)."""
    raw_message, raw_code = error_payload_detail(payload)
    code = error_code(raw_code, clean_message(raw_message))
    message = _CODE_IN_MESSAGE.sub("", clean_message(raw_message), count=1)
    tag = f"HTTP {status}" + (f", code {code}" if code is not None else "")
    said = f"{tag}: {message}" if message else tag
    if JSON_MODE_REFUSED.search(message):
        return FormatRefusedError(f"{LABEL} could not meet JSON mode ({said})")
    if code == 10001:
        return AuthenticationError(
            f"{LABEL} found the credentials missing or malformed ({said}): {CREDENTIALS_HINT}")
    if code in QUOTA_CODES:
        return QuotaExceededError(
            f"{LABEL}: the daily free allocation is spent ({said}); it resets at 00:00 UTC "
            "(or upgrade to Workers Paid)")
    if code == TERMS_CODE:
        return AuthenticationError(
            f"{LABEL}: the terms of the model '{model}' have not been accepted ({said}); "
            f"accept them once with: autoagent ask --model {model} agree")
    if code in ACCOUNT_NOT_ALLOWED:
        return AuthenticationError(
            f"{LABEL}: this account is not allowed to use the model '{model}' ({said}); "
            "choose another model with --model or CF_MODEL")
    if code in TIMEOUT_CODES:
        return BackendTimeoutError(f"{LABEL} timed out ({said})")
    if code == 10000 or status in (401, 403):
        if status == 403:
            return AuthenticationError(
                f"{LABEL} refused access ({said}): the token lacks the 'Workers AI' "
                "permission for this account; check CLOUDFLARE_AUTH_TOKEN and "
                "CLOUDFLARE_ACCOUNT_ID")
        return AuthenticationError(
            f"{LABEL} rejected the token ({said}): check CLOUDFLARE_AUTH_TOKEN "
            "(bad or expired)")
    if code in (5007, 3042):
        return UnknownModelError(
            f"{LABEL} does not know the model '{model}' ({said}); choose another with "
            "--model or CF_MODEL")
    if code in (3006, 5021):
        return ContextTooLongError(
            f"{LABEL}: the request is too large for the model '{model}' ({said}); "
            "shorten the conversation or lower max_tokens")
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
