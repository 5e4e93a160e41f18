"""The filtering proxy: autoagent's side of a tool's network in open mode.

Each open-mode call gets a Unix socket in its control folder (which the sandbox binds
read-only); a thread of the CLI process accepts on it and serves every connection in a
thread of its own. The first byte picks the protocol:

* ``0x05``: SOCKS5 without authentication: CONNECT (an address or a name, resolved here)
  and Tor's RESOLVE extension (``0xF0``), which the tool's patched ``getaddrinfo`` uses;
* anything else: HTTP, either ``CONNECT host:port`` (HTTPS and any TCP) or a plain-HTTP
  request with an absolute URL, forwarded with ``Connection: close``.

Every destination is resolved here, each address checked by the call's
:class:`~autoagent_core.sandbox.network.addresses.Policy`, and the connection made to the
checked address, never to the name again. Threads are daemons: the proxy lives exactly as
long as the process that runs the calls (a CLI command, ``mcp serve``, a Dask worker).
"""

from __future__ import annotations

import _thread
import contextlib
import ipaddress
import os
import select
import socket
import struct
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from autoagent_core.sandbox.network.addresses import Address, Policy

HANDSHAKE_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 15.0
MAX_HEADER_BYTES = 64 * 1024
CHUNK = 65536
UNIX_PATH_MAX = 108  # sun_path, with its terminating NUL
SOCKS_RESOLVE = 0xF0  # Tor's extension: resolve a name, answer one address
REPLY_OK, REPLY_FAILURE, REPLY_NOT_ALLOWED = 0, 1, 2
REPLY_HOST_UNREACHABLE, REPLY_REFUSED, REPLY_BAD_COMMAND, REPLY_BAD_ADDRESS = 4, 5, 7, 8


class Refused(Exception):
    """The destination is not allowed; the message says why and how to grant it."""


class Unreachable(Exception):
    """Resolution or connection failed; ``reply`` is the SOCKS code to answer."""

    def __init__(self, message: str, reply: int) -> None:
        super().__init__(message)
        self.reply = reply


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Unreachable(f"cannot resolve {host}: {exc}", REPLY_HOST_UNREACHABLE) from None
    seen: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


def open_checked(host: str, port: int, policy: Policy) -> socket.socket:
    """A TCP connection to ``host``: every address is checked after resolution, and the
    first allowed one that answers is used. :class:`Refused` when none is allowed."""
    addresses = _resolve(host, port)
    allowed: list[Address] = []
    first_refusal = None
    for address in addresses:
        why = policy.refusal(host, port, address)
        if why is None:
            allowed.append(address)
        elif first_refusal is None:
            first_refusal = why
    if not allowed:
        raise Refused(first_refusal or f"{host} has no address")
    last: OSError | None = None
    for address in allowed:
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect((str(address), port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        sock.settimeout(None)
        return sock
    reply = REPLY_REFUSED if isinstance(last, ConnectionRefusedError) else \
        REPLY_HOST_UNREACHABLE
    raise Unreachable(f"cannot connect to {host} port {port}: {last}", reply)


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    return data


class Live:
    """The open sockets of one call, shut down together when the call ends (a server that
    keeps its side open cannot keep a thread of the proxy waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.closed = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.closed:
                self._sockets.add(sock)
                return
        sock.close()
        raise ConnectionAbortedError("the call has ended")

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        sock.close()

    def shut_all(self) -> None:
        with self._lock:
            self.closed = True
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _copy(source: socket.socket, target: socket.socket) -> None:
    """One direction, until the source ends; then the target's writing half is closed."""
    try:
        while data := source.recv(CHUNK):
            target.sendall(data)
    except OSError:
        with contextlib.suppress(OSError):
            source.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def pump(a: socket.socket, b: socket.socket, live: Live) -> None:
    """Copy bytes both ways, a thread each (neither direction waits on the other), until
    both directions have ended."""
    other = threading.Thread(target=_copy, args=(b, a), name="autoagent-net-copy",
                             daemon=True)
    other.start()
    _copy(a, b)
    other.join()
    live.discard(a)
    live.discard(b)


# --------------------------------------------------------------------------- SOCKS5
def _socks_address(conn: socket.socket) -> str:
    kind = _recv_exact(conn, 1)[0]
    if kind == 1:
        return str(ipaddress.IPv4Address(_recv_exact(conn, 4)))
    if kind == 4:
        return str(ipaddress.IPv6Address(_recv_exact(conn, 16)))
    if kind == 3:
        return _recv_exact(conn, _recv_exact(conn, 1)[0]).decode("idna")
    raise Unreachable(f"unknown address type {kind}", REPLY_BAD_ADDRESS)


def _socks_reply(conn: socket.socket, code: int, address: Address | None = None) -> None:
    bound = address or ipaddress.IPv4Address(0)
    kind = 1 if bound.version == 4 else 4
    conn.sendall(bytes([5, code, 0, kind]) + bound.packed + b"\0\0")


def serve_socks(conn: socket.socket, policy: Policy, live: Live) -> None:
    greeting = _recv_exact(conn, 2)
    methods = _recv_exact(conn, greeting[1])
    if 0 not in methods:
        conn.sendall(b"\x05\xff")
        return
    conn.sendall(b"\x05\x00")
    _, command, _ = _recv_exact(conn, 3)
    try:
        host = _socks_address(conn)
        port = struct.unpack("!H", _recv_exact(conn, 2))[0]
        if command == SOCKS_RESOLVE:
            _socks_reply(conn, REPLY_OK, _resolve(host, port)[0])
            return
        if command != 1:
            raise Unreachable(f"SOCKS command {command} is not supported", REPLY_BAD_COMMAND)
        upstream = open_checked(host, port, policy)
        live.add(upstream)
    except Refused:
        _socks_reply(conn, REPLY_NOT_ALLOWED)
        return
    except Unreachable as exc:
        _socks_reply(conn, exc.reply)
        return
    _socks_reply(conn, REPLY_OK)
    conn.settimeout(None)
    pump(conn, upstream, live)


# --------------------------------------------------------------------------- HTTP
def _http_answer(conn: socket.socket, status: str, message: str) -> None:
    body = (message + "\n").encode()
    head = (f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    with contextlib.suppress(OSError):
        conn.sendall(head.encode() + body)


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEADER_BYTES:
            raise ValueError("request headers too large")
        chunk = conn.recv(CHUNK)
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _host_port(authority: str, default: int) -> tuple[str, int]:
    parts = urlsplit(f"//{authority}")
    return (parts.hostname or "", parts.port or default)


def serve_http(conn: socket.socket, policy: Policy, live: Live) -> None:
    try:
        head, rest = _read_head(conn)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
    except (ValueError, ConnectionError):
        _http_answer(conn, "400 Bad Request", "autoagent's proxy could not read the request")
        return
    if method.upper() == "CONNECT":
        host, port = _host_port(target, 443)
    elif target.lower().startswith("http://"):
        url = urlsplit(target)
        host, port = url.hostname or "", url.port or 80
    else:
        _http_answer(conn, "400 Bad Request",
                     "autoagent's proxy takes CONNECT and absolute http:// URLs only")
        return
    try:
        upstream = open_checked(host, port, policy)
        live.add(upstream)
    except Refused as exc:
        _http_answer(conn, f"403 {exc}", str(exc))
        return
    except Unreachable as exc:
        _http_answer(conn, "502 Bad Gateway", str(exc))
        return
    conn.settimeout(None)
    if method.upper() == "CONNECT":
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
    else:
        url = urlsplit(target)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        headers = [h for h in lines[1:] if h.split(":", 1)[0].strip().lower()
                   not in ("proxy-connection", "proxy-authorization", "connection",
                           "keep-alive")]
        request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close"])
        upstream.sendall(request.encode("latin-1") + b"\r\n\r\n" + rest)
    pump(conn, upstream, live)


def serve_connection(conn: socket.socket, policy: Policy, live: Live) -> None:
    """One client of the Unix socket, SOCKS5 or HTTP by its first byte."""
    try:
        live.add(conn)
        conn.settimeout(HANDSHAKE_TIMEOUT_S)
        first = conn.recv(1, socket.MSG_PEEK)
        if first == b"\x05":
            serve_socks(conn, policy, live)
        elif first:
            serve_http(conn, policy, live)
    except OSError:
        pass
    finally:
        live.discard(conn)


@contextlib.contextmanager
def short_unix_path(path: str) -> Iterator[str]:
    """``path``, or where it is longer than a socket address may be (a long TMPDIR), the
    same file reached through ``/proc/self/fd`` and an open descriptor of its folder."""
    if len(os.fsencode(path)) < UNIX_PATH_MAX:
        yield path
        return
    folder = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{os.path.basename(path)}"
    finally:
        os.close(folder)


class _Acceptor:
    """The proxy's one long-lived thread in a process, started with its first call: it
    accepts on the socket of every call in flight and gives each connection a thread.
    Calls register and unregister through a pipe, so starting and ending a call never waits
    for another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[CallProxy] = []
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        _thread.start_new_thread(self._run, ())

    def change(self, proxy: CallProxy) -> None:
        """Start accepting for ``proxy``, or (once it is closed) stop and close its socket."""
        with self._lock:
            self._changes.append(proxy)
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        serving: dict[int, CallProxy] = {}
        while True:
            for fd, _ in poller.poll():
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_r, 4096)
                    with self._lock:
                        changes, self._changes = self._changes, []
                    for proxy in changes:
                        number = proxy.listener.fileno()
                        if proxy.closed:
                            if serving.pop(number, None) is not None:
                                poller.unregister(number)
                            proxy.listener.close()
                        elif number not in serving:
                            serving[number] = proxy
                            poller.register(number, select.POLLIN)
                    continue
                proxy = serving[fd]
                try:
                    conn, _ = proxy.listener.accept()
                except OSError:
                    continue
                conn.setblocking(True)
                threading.Thread(target=serve_connection, args=(conn, proxy.policy, proxy.live),
                                 name="autoagent-net-conn", daemon=True).start()


_acceptor: tuple[int, _Acceptor] | None = None
_acceptor_lock = threading.Lock()


def acceptor() -> _Acceptor:
    """This process's acceptor (a new one in a forked child, where the thread is gone)."""
    global _acceptor
    with _acceptor_lock:
        if _acceptor is None or _acceptor[0] != os.getpid():
            _acceptor = (os.getpid(), _Acceptor())
        return _acceptor[1]


class CallProxy:
    """The proxy of one call: a listening Unix socket at ``path``, served by the process's
    acceptor until :meth:`close`; ``policy.refusals`` holds what it refused."""

    def __init__(self, path: str, policy: Policy) -> None:
        self.path = path
        self.policy = policy
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with short_unix_path(path) as usable:
                self.listener.bind(usable)
            os.chmod(path, 0o600)
            self.listener.listen(128)
            self.listener.setblocking(False)
        except OSError:
            self.listener.close()
            raise
        self.closed = False
        self.live = Live()
        acceptor().change(self)

    def close(self) -> None:
        """Stop accepting (the acceptor closes the socket), and end the call's connections
        still open."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        acceptor().change(self)
        self.live.shut_all()
