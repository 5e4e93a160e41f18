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
from typing import TYPE_CHECKING, Any, TypeVar

from autoagent_core.errors import (
    BackendConnectionError,
    BackendError,
    BackendTimeoutError,
    RateLimitedError,
    ServerError,
)
from autoagent_plugins._http.policy import (
    AttemptFailed,
    Deadline,
    NotAStream,
    RetryPolicy,
    Timeouts,
    error_for_status,
    error_payload_detail,
    one_line,
    parse_retry_after,
    policy_from_settings,
    with_note,
)

# The policy names the backends use are importable from here too.
__all__ = ["AttemptFailed", "Deadline", "HttpClient", "NotAStream", "RetryPolicy", "Timeouts",
           "error_for_status", "error_payload_detail", "one_line", "policy_from_settings"]

if TYPE_CHECKING:
    import httpx


T = TypeVar("T")

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
