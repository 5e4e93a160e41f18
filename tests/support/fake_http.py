"""The machinery shared by the fake model servers: a real HTTP server on 127.0.0.1 in a
thread, a queue of scripted replies, a record of every request, and fault injection.

Queue items understood by every fake (see :mod:`support.fake_cloudflare` and
:mod:`support.fake_openai` for the shapes of a text reply):

* ``"text"`` or a server-specific reply object: what the model "says".
* :class:`HttpError`: an error status with a body in the server's error shape,
  optionally with ``Retry-After`` (``retry_after="2"``).
* :class:`Hang`: accept the request and never answer (until the server stops).
* :class:`StallAfterFirstChunk`: start a stream (or a JSON body), send one chunk, stall.
* :class:`Drop`: close the connection without answering.
* :class:`Raw`: any status, headers and body bytes.
* :class:`JsonInsteadOfStream`: answer a streaming request with plain JSON.
* :class:`Delay`: wait, then serve the next queued item in the same request.
* :class:`Trickle`: start a stream and send a keep-alive comment every ``interval``
  seconds, never finishing (only a total deadline ends it).
* :class:`Decision`: a recorded decision of the model, rendered in the protocol the
  request asks for (tool calls, a JSON-mode value or text).

An empty queue answers with an error saying so (HTTP 400, not retried), so a test that
queues too few replies fails with a clear line instead of hanging.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

HANG_LIMIT_S = 60.0
"""Longest a hanging or stalled reply waits before giving up (the server also ends it
when it stops)."""


@dataclass
class HttpError:
    """An error reply: ``status`` with the server's error body."""

    status: int
    code: int | str | None = None
    """A number (the envelope) or a string (the ``{"error": {...}}`` shape)."""
    message: str = ""
    retry_after: str | None = None
    openai_shape: bool = False
    """Cloudflare only: use ``{"error": {...}}`` instead of the envelope."""


@dataclass
class Hang:
    """Accept the request, then never answer."""


@dataclass
class StallAfterFirstChunk:
    """Send headers and the first chunk of ``text``, then stall."""

    text: str = "partial answer that never ends"


@dataclass
class Drop:
    """Close the connection without a reply."""


@dataclass
class Raw:
    """Exactly this reply."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class JsonInsteadOfStream:
    """Answer a streaming request with JSON (Cloudflare's gpt-oss does this);
    ``payload`` ``None`` means the server's empty success envelope."""

    payload: Any = None


@dataclass
class Delay:
    """Wait ``seconds``, then serve the next queued item."""

    seconds: float


@dataclass
class Trickle:
    """An event stream that sends a keep-alive comment every ``interval`` s, for ever."""

    interval: float = 0.3


@dataclass
class Decision:
    """One recorded decision of the model (a protocol reply object: the Coder's
    ``{"thought", "actions"}`` or the Supervisor's decision), rendered in the shape of
    the protocol the request asks for, as a model following it would answer: tool calls
    when the request offers ``tools`` (one call per action, the thought as the text), a
    JSON value when it carries ``response_format`` (JSON mode), else text with the JSON
    in a fenced block after a sentence of prose."""

    reply: dict[str, Any]

    def tool_calls(self, body: dict[str, Any]) -> list[dict[str, Any]] | None:
        """``[{"name", "arguments"}]`` when the request offers tools and the reply is
        actions; ``None`` otherwise."""
        actions = self.reply.get("actions")
        if not body.get("tools") or "decision" in self.reply or not isinstance(actions, list):
            return None
        return [{"name": a["type"], "arguments": {k: v for k, v in a.items() if k != "type"}}
                for a in actions]

    def text(self, body: dict[str, Any]) -> str:
        """The visible text for this request."""
        if self.tool_calls(body) is not None:
            return str(self.reply.get("thought", ""))
        if isinstance(body.get("response_format"), dict):
            return json.dumps(self.reply)
        return f"Here is my reply.\n```json\n{json.dumps(self.reply, indent=1)}\n```\n"

    @staticmethod
    def protocol_of(body: Any) -> str:
        """The protocol a recorded request body asked in."""
        if not isinstance(body, dict):
            return "?"
        if body.get("tools"):
            return "tools"
        return "json" if isinstance(body.get("response_format"), dict) else "text"


@dataclass
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


def split_words(text: str) -> list[str]:
    """``text`` cut into word-sized stream pieces (joined they give ``text`` back)."""
    import re

    pieces = re.findall(r"\S+\s*|\s+", text)
    return pieces or [text]


class FakeServer:
    """Base of the fakes: subclasses implement :meth:`handle`."""

    name: ClassVar[str] = "fake"

    def __init__(self) -> None:
        self.replies: deque[Any] = deque()
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # ------------------------------------------------------------------ life
    @classmethod
    def start(cls, **kwargs: Any) -> Self:
        server = cls(**kwargs)
        server._thread.start()
        return server

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ scripting
    def queue(self, *items: Any) -> Self:
        """Append replies (``fake.queue("hello", HttpError(500))``)."""
        self.replies.extend(items)
        return self

    def next_reply(self) -> Any:
        """The next queued item (``None`` when empty), after serving any :class:`Delay`."""
        while True:
            with self._lock:
                item = self.replies.popleft() if self.replies else None
            if not isinstance(item, Delay):
                return item
            self.stopping.wait(item.seconds)

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def handle(self, h: FakeHandler, request: RecordedRequest) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ faults
    def serve_fault(self, h: FakeHandler, item: Any) -> bool:
        """Serve the shared fault items; ``False`` when ``item`` is not one."""
        if isinstance(item, Hang):
            self.stopping.wait(HANG_LIMIT_S)
            h.close_connection = True
        elif isinstance(item, Drop):
            h.close_connection = True
            with_socket = h.connection
            with contextlib.suppress(OSError):
                with_socket.shutdown(socket.SHUT_RDWR)
        elif isinstance(item, Raw):
            h.send_body(item.status, item.body, item.content_type, item.headers)
        elif isinstance(item, Trickle):
            h.start_stream()
            deadline = time.monotonic() + HANG_LIMIT_S
            while time.monotonic() < deadline and not self.stopping.wait(item.interval):
                h.wfile.write(b": keep-alive\n\n")
                h.wfile.flush()
        else:
            return False
        return True


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler: records the request and lets the server answer it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
    server_ref: ClassVar[FakeServer]
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet tests

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()}, body,
                                  time.monotonic())
        self.server_ref.record(request)
        try:
            self.server_ref.handle(self, request)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ------------------------------------------------------------------ writers
    def send_body(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(payload).encode(), "application/json", headers)

    def start_stream(self) -> None:
        """Headers of an event stream; the body ends when the connection closes."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def send_event(self, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self.wfile.write(f"data: {text}\n\n".encode())
        self.wfile.flush()

    def send_stream(self, frames: Iterable[Any], stall_after_first: bool = False) -> None:
        self.start_stream()
        for frame in frames:
            self.send_event(frame)
            if stall_after_first:
                self.server_ref.stopping.wait(HANG_LIMIT_S)
                return


def _make_handler(server: FakeServer) -> type[FakeHandler]:
    return type("BoundFakeHandler", (FakeHandler,), {"server_ref": server})


def closed_port_url() -> str:
    """``http://127.0.0.1:PORT`` where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
