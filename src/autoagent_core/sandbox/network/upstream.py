"""The proxy's connections to the world: every name resolved here, every address checked
by the call's :class:`~autoagent_core.sandbox.network.addresses.Policy`, the connection
made to the checked address (never to the name again); then bytes copied both ways."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading

from autoagent_core.sandbox.network.addresses import Address, Policy

CONNECT_TIMEOUT_S = 15.0
CHUNK = 65536
# SOCKS5 reply codes, also how a failure is told
REPLY_OK, REPLY_FAILURE, REPLY_NOT_ALLOWED = 0, 1, 2
REPLY_HOST_UNREACHABLE, REPLY_REFUSED, REPLY_BAD_COMMAND, REPLY_BAD_ADDRESS = 4, 5, 7, 8


class Refused(Exception):
    """The destination is not allowed; the message says why and how to grant it."""


class Unreachable(Exception):
    """Resolution or connection failed; ``reply`` is the SOCKS code to answer."""

    def __init__(self, message: str, reply: int) -> None:
        super().__init__(message)
        self.reply = reply


def resolve(host: str, port: int) -> list[Address]:
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
    addresses = resolve(host, port)
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


def recv_exact(conn: socket.socket, size: int) -> bytes:
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
