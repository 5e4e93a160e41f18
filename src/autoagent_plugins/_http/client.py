"""HTTP plumbing shared by the HTTP model backends (``cloudflare`` and ``openai``).

One place for what both need, so it is written once:

* :class:`HttpClient`: JSON POSTs and Server-Sent-Event streams over ``httpx`` with
  per-attempt connect/read timeouts and a *real* total deadline. httpx's timeouts are per
  read, so a server that trickles bytes could keep a stream open for ever; a watchdog
  thread shuts the socket down when the deadline passes.
* :meth:`HttpClient.run`: the retry loop. Exponential backoff from 0.5 s capped at 8 s
  with jitter, at most ``max_retries`` retries, ``Retry-After`` honoured up to
  ``retry_after_cap`` (a longer wait fails at once), never past the total deadline.
  Whether a failure is retried is decided by the project's exception class
  (``BackendError.retryable``), so each backend only maps its replies to exceptions.

The readers of the OpenAI reply shapes are in :mod:`autoagent_plugins._http.reply_shapes`.

Secrets: the ``Authorization`` header lives only in the httpx client; error messages are
built from status, codes and server text with the secrets replaced, and ``repr`` of these
objects never shows headers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from autoagent_core.errors import (
    AuthenticationError,
    BackendConnectionError,
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

T = TypeVar("T")

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


# --------------------------------------------------------------------------- watchdog


class _Watch:
    """One watched socket: shut down at ``end`` unless released first."""

    __slots__ = ("end", "fired", "sock")

    def __init__(self, end: float, sock: socket.socket) -> None:
        self.end = end
        self.sock = sock
        self.fired = False


class _Watchdog:
    """A daemon thread that shuts down the socket of a reply whose total deadline passed.

    Shutting the socket down wakes the thread blocked reading it (the read returns end of
    file), so a stalled or trickling stream ends at the deadline instead of at the next
    read timeout.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None

    def watch(self, end: float, sock: socket.socket) -> _Watch:
        item = _Watch(end, sock)
        with self._cond:
            self._watches.add(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="autoagent-deadline",
                                                daemon=True)
                self._thread.start()
            self._cond.notify()
        return item

    def release(self, item: _Watch) -> None:
        with self._cond:
            self._watches.discard(item)

    def _loop(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for item in [w for w in self._watches if w.end <= now]:
                    self._watches.discard(item)
                    item.fired = True
                    with contextlib.suppress(OSError):
                        # the plain socket's shutdown, also under TLS: it only touches the fd
                        socket.socket.shutdown(item.sock, socket.SHUT_RDWR)
                wait = min((w.end for w in self._watches), default=now + 3600) - now
                self._cond.wait(timeout=max(wait, 0.001))


_WATCHDOG = _Watchdog()


# --------------------------------------------------------------------------- client

ErrorClassifier = Callable[[int, Any, str], BackendError]
"""``classify(status, parsed JSON body or None, body text) -> exception``."""


class HttpClient:
    """JSON and SSE requests with timeouts, a total deadline and retries.

    ``label`` names the service in error lines ("Cloudflare Workers AI"); ``classify``
    maps an HTTP error reply to the project's exception; ``secrets`` are removed from any
    server text quoted in an error.
    """

    def __init__(self, *, label: str, headers: dict[str, str], timeouts: Timeouts,
                 policy: RetryPolicy, classify: ErrorClassifier,
                 secrets: Sequence[str] = ()) -> None:
        import httpx

        self.label = label
        self.timeouts = timeouts
        self.policy = policy
        self._classify = classify
        self._secrets = [s for s in secrets if s]
        self._client = httpx.Client(
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     **headers},
            timeout=httpx.Timeout(timeouts.read, connect=timeouts.connect),
            follow_redirects=False,
            # headers and body go out as separate writes: without TCP_NODELAY the body can
            # wait for a delayed ACK (40 ms on Linux)
            transport=httpx.HTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]),
        )

    def __repr__(self) -> str:
        return f"HttpClient(label={self.label!r})"

    def close(self) -> None:
        self._client.close()

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    # ------------------------------------------------------------------ retries
    def run(self, attempt: Callable[[], T], deadline: Deadline) -> T:
        """Call ``attempt`` until it succeeds, retrying :class:`AttemptFailed` by policy.

        Raises the attempt's error when it is not retryable, when the retries are used
        up, when the server's ``Retry-After`` exceeds ``retry_after_cap``, or when the
        wait would pass the total deadline.
        """
        policy = self.policy
        retries = 0
        while True:
            try:
                return attempt()
            except AttemptFailed as failure:
                error = failure.error
                if not failure.retryable:
                    raise error from None
                attempts = retries + 1
                if retries >= policy.max_retries:
                    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
                    raise with_note(error, f"gave up after {tries}") from None
                wait = failure.retry_after
                if wait is not None and wait > policy.retry_after_cap:
                    raise RateLimitedError(
                        f"{error.message}; the server asks to wait {wait:g} s, longer than "
                        f"retry_after_cap={policy.retry_after_cap:g} s: try again later"
                    ) from None
                if wait is None:
                    wait = policy.backoff(retries)
                if wait >= deadline.remaining():
                    raise with_note(
                        error, f"no time left to retry within total_timeout={deadline.seconds:g} s"
                    ) from None
                time.sleep(wait)
                retries += 1

    # ------------------------------------------------------------------ one attempt
    def post_json(self, url: str, body: dict[str, Any], deadline: Deadline) -> Any:
        """One POST; returns the decoded JSON body of a 2xx reply."""
        with self._open(url, body, deadline) as (response, watch):
            raw = self._read_all(response, deadline, watch)
        return self._decode_json(raw, response.status_code)

    def stream_events(self, url: str, body: dict[str, Any],
                      deadline: Deadline) -> Iterator[str]:
        """One streaming POST; yields the ``data`` of each Server-Sent Event (``[DONE]``
        included). Raises :class:`NotAStream` when the server answered JSON instead."""
        with self._open(url, body, deadline) as (response, watch):
            ctype = response.headers.get("content-type", "")
            if "text/event-stream" not in ctype:
                raw = self._read_all(response, deadline, watch)
                text = raw.decode("utf-8", "replace").lstrip()
                if "json" in ctype or text.startswith(("{", "[")):
                    raise NotAStream(self._decode_json(raw, response.status_code))
                yield from _sse_data(iter(text.splitlines()))
                return
            lines = self._guard_iter(response.iter_lines(), deadline, watch)
            yield from _sse_data(lines)

    # ------------------------------------------------------------------ internals
    @contextlib.contextmanager
    def _open(self, url: str, body: dict[str, Any],
              deadline: Deadline) -> Iterator[tuple[httpx.Response, _Watch | None]]:
        """Send the request; yield the 2xx response (body unread) with its watchdog entry;
        raise :class:`AttemptFailed` for transport errors and error statuses."""
        import httpx

        remaining = deadline.remaining()
        if remaining <= 0:
            raise AttemptFailed(self._total_timeout_error(), retryable=False)
        timeout = httpx.Timeout(
            min(self.timeouts.read, remaining),
            connect=min(self.timeouts.connect, remaining),
        )
        content = json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace")
        request = self._client.build_request("POST", url, content=content, timeout=timeout)
        try:
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_failure(exc, deadline, None) from None
        watch = self._watch(response, deadline)
        try:
            if response.status_code >= 400:
                raw = self._read_all(response, deadline, watch)
                raise self._status_failure(response, raw)
            yield response, watch
        finally:
            if watch is not None:
                _WATCHDOG.release(watch)
            response.close()

    @staticmethod
    def _watch(response: httpx.Response, deadline: Deadline) -> _Watch | None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return None
        return _WATCHDOG.watch(deadline.end, sock)

    def _read_all(self, response: httpx.Response, deadline: Deadline,
                  watch: _Watch | None) -> bytes:
        chunks = list(self._guard_iter(response.iter_raw(), deadline, watch))
        return b"".join(chunks)

    def _guard_iter(self, source: Iterator[T], deadline: Deadline,
                    watch: _Watch | None) -> Iterator[T]:
        """Iterate a response body, turning transport errors into :class:`AttemptFailed`
        and stopping at the total deadline."""
        import httpx

        try:
            for item in source:
                if deadline.expired:
                    raise AttemptFailed(self._total_timeout_error(), retryable=False)
                yield item
        except (httpx.HTTPError, OSError) as exc:
            raise self._transport_failure(exc, deadline, watch) from None
        if watch is not None and watch.fired:
            # the watchdog's shutdown can look like a clean end of a close-delimited body
            raise AttemptFailed(self._total_timeout_error(), retryable=False)

    def _decode_json(self, raw: bytes, status: int) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            snippet = self.redact(one_line(raw.decode("utf-8", "replace"), 120))
            raise AttemptFailed(ServerError(
                f"{self.label} answered HTTP {status} with a body that is not JSON: {snippet!r}"
            )) from None

    def _status_failure(self, response: httpx.Response, raw: bytes) -> AttemptFailed:
        text = raw.decode("utf-8", "replace")
        try:
            payload: Any = json.loads(text)
        except ValueError:
            payload = None
        error = self._classify(response.status_code, payload, self.redact(text))
        error = type(error)(self.redact(error.message))
        return AttemptFailed(error, retry_after=parse_retry_after(response.headers))

    def _total_timeout_error(self) -> BackendTimeoutError:
        return BackendTimeoutError(
            f"{self.label} did not finish within total_timeout={self.timeouts.total:g} s"
        )

    def _transport_failure(self, exc: BaseException, deadline: Deadline,
                           watch: _Watch | None) -> AttemptFailed:
        import httpx

        if (watch is not None and watch.fired) or deadline.expired:
            return AttemptFailed(self._total_timeout_error(), retryable=False)
        reason = self.redact(one_line(str(exc) or type(exc).__name__, 160))
        where = _where(exc)
        if isinstance(exc, httpx.ConnectTimeout):
            return AttemptFailed(BackendTimeoutError(
                f"cannot connect to {self.label}{where} within "
                f"connect_timeout={self.timeouts.connect:g} s"))
        if isinstance(exc, httpx.TimeoutException):
            return AttemptFailed(BackendTimeoutError(
                f"{self.label} sent nothing for read_timeout={self.timeouts.read:g} s"))
        if isinstance(exc, httpx.ConnectError):
            return AttemptFailed(BackendConnectionError(
                f"cannot connect to {self.label}{where}: {reason}"))
        return AttemptFailed(BackendConnectionError(
            f"the connection to {self.label}{where} broke: {reason}"))


def _where(exc: BaseException) -> str:
    """`` at host:port`` of the request that failed, when httpx knows it."""
    try:
        url = exc.request.url  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when unset
        return ""
    port = f":{url.port}" if url.port else ""
    return f" at {url.host}{port}"


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` of each Server-Sent Event in ``lines`` (comments and other fields are
    skipped; multi-line data is joined with newlines)."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment, used as a heartbeat by some servers
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
