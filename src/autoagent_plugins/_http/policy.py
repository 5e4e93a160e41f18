"""Retry policy, timeouts, deadlines and the mapping of HTTP failures to the project's
exceptions, shared by the HTTP backends (see :mod:`autoagent_plugins._http.client`)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BadRequestError,
    ContextTooLongError,
    RateLimitedError,
    ServerError,
    UnknownModelError,
)

if TYPE_CHECKING:
    import httpx

    from autoagent_core.config import Settings

MAX_DETAIL_CHARS = 300
"""Longest server message quoted in an error line."""


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before retrying a failed request."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 60.0

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): exponential, capped,
        with jitter (75-100 % of the nominal wait, as the OpenAI SDK does)."""
        import random

        nominal = min(self.max_delay, self.initial_delay * (2**retry))
        return nominal * (1.0 - 0.25 * random.random())


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, to wait for the next bytes, and for one call in all."""

    connect: float = 10.0
    read: float = 120.0
    total: float = 600.0


def policy_from_settings(settings: Settings) -> tuple[Timeouts, RetryPolicy]:
    """The timeouts and retry policy the settings ask for."""
    timeouts = Timeouts(settings.connect_timeout, settings.read_timeout, settings.total_timeout)
    policy = RetryPolicy(max_retries=settings.max_retries,
                         retry_after_cap=settings.retry_after_cap)
    return timeouts, policy


class Deadline:
    """The moment one backend call must be finished by (``total_timeout``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.end


# --------------------------------------------------------------------------- failures


@dataclass(eq=False)
class AttemptFailed(Exception):
    """One attempt failed with ``error``; :meth:`HttpClient.run` decides whether to retry.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    ``retryable`` defaults to the error class's own ``retryable``.
    """

    error: BackendError
    retry_after: float | None = None
    retryable: bool | None = None

    def __post_init__(self) -> None:
        if self.retryable is None:
            self.retryable = self.error.retryable

    def __str__(self) -> str:
        return str(self.error)


class NotAStream(Exception):
    """A streaming request was answered with ordinary JSON (``payload``)."""

    def __init__(self, payload: Any) -> None:
        super().__init__("the server answered a streaming request with JSON")
        self.payload = payload


def one_line(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` on one line, shortened to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def with_note(error: BackendError, note: str) -> BackendError:
    """The same kind of error with ``note`` appended to its message."""
    return type(error)(f"{error.message} ({note})")


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``."""
    import email.utils

    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        with contextlib.suppress(ValueError):
            return max(0.0, float(raw_ms) / 1000.0)
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_payload_detail(payload: Any) -> tuple[str, Any]:
    """``(message, code)`` from an error body in any common shape: Cloudflare's envelope
    ``{"errors": [{"code", "message"}]}``, OpenAI's ``{"error": {"message", "code"}}``,
    ``{"error": "text"}``, FastAPI's ``{"detail": ...}`` or ``{"message": ...}``."""
    if not isinstance(payload, dict):
        return "", None
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message") or ""), first.get("code")
        return str(first), None
    err = payload.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or err.get("type") or ""), err.get("code")
    if isinstance(err, str):
        return err, payload.get("code")
    detail = payload.get("detail")
    if detail is not None:
        if isinstance(detail, list):
            parts = []
            for item in detail[:3]:
                if isinstance(item, dict):
                    loc = ".".join(str(x) for x in item.get("loc", []))
                    parts.append(f"{loc}: {item.get('msg', '')}".strip(": "))
                else:
                    parts.append(str(item))
            return "; ".join(parts), None
        return str(detail), None
    if payload.get("message"):
        return str(payload["message"]), payload.get("code")
    return "", None


def error_for_status(status: int, detail: str, *, label: str, model: str,
                     credentials_hint: str) -> BackendError:
    """The project's exception for an HTTP error status (the generic mapping)."""
    said = f": {detail}" if detail else ""
    lowered = detail.lower()
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "refused access"
        return AuthenticationError(f"{label} {what} (HTTP {status}{said}): {credentials_hint}")
    if status == 404:
        return UnknownModelError(f"{label} does not know the model '{model}' (HTTP 404{said})")
    if status == 413 or any(k in lowered for k in ("context length", "context window",
                                                    "maximum context", "too many tokens",
                                                    "context_length_exceeded")):
        return ContextTooLongError(
            f"{label}: the request is too long for the model '{model}' (HTTP {status}{said}); "
            "shorten the conversation or lower max_tokens"
        )
    if status in (408, 504):
        return BackendTimeoutError(f"{label} timed out (HTTP {status}{said})")
    if status == 429:
        return RateLimitedError(f"{label} is rate limiting requests (HTTP 429{said})")
    if status == 409 or status >= 500:
        return ServerError(f"{label} answered with a server error (HTTP {status}{said})")
    return BadRequestError(f"{label} refused the request (HTTP {status}{said})")
