"""The protocols the proxy speaks on a call's Unix socket, picked by the first byte:

* ``0x05``: SOCKS5 without authentication: CONNECT (an address or a name, resolved here)
  and Tor's RESOLVE extension (``0xF0``), which the tool's patched ``getaddrinfo`` uses;
* anything else: HTTP, either ``CONNECT host:port`` (HTTPS and any TCP) or a plain-HTTP
  request with an absolute URL, forwarded with ``Connection: close``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
from urllib.parse import urlsplit

from autoagent_core.sandbox.network.addresses import Address, Policy
from autoagent_core.sandbox.network.upstream import (
    CHUNK,
    REPLY_BAD_ADDRESS,
    REPLY_BAD_COMMAND,
    REPLY_NOT_ALLOWED,
    REPLY_OK,
    Live,
    Refused,
    Unreachable,
    open_checked,
    pump,
    recv_exact,
    resolve,
)

HANDSHAKE_TIMEOUT_S = 30.0
MAX_HEADER_BYTES = 64 * 1024
SOCKS_RESOLVE = 0xF0  # Tor's extension: resolve a name, answer one address


# --------------------------------------------------------------------------- SOCKS5
def _socks_address(conn: socket.socket) -> str:
    kind = recv_exact(conn, 1)[0]
    if kind == 1:
        return str(ipaddress.IPv4Address(recv_exact(conn, 4)))
    if kind == 4:
        return str(ipaddress.IPv6Address(recv_exact(conn, 16)))
    if kind == 3:
        return recv_exact(conn, recv_exact(conn, 1)[0]).decode("idna")
    raise Unreachable(f"unknown address type {kind}", REPLY_BAD_ADDRESS)


def _socks_reply(conn: socket.socket, code: int, address: Address | None = None) -> None:
    bound = address or ipaddress.IPv4Address(0)
    kind = 1 if bound.version == 4 else 4
    conn.sendall(bytes([5, code, 0, kind]) + bound.packed + b"\0\0")


def serve_socks(conn: socket.socket, policy: Policy, live: Live) -> None:
    greeting = recv_exact(conn, 2)
    methods = recv_exact(conn, greeting[1])
    if 0 not in methods:
        conn.sendall(b"\x05\xff")
        return
    conn.sendall(b"\x05\x00")
    _, command, _ = recv_exact(conn, 3)
    try:
        host = _socks_address(conn)
        port = struct.unpack("!H", recv_exact(conn, 2))[0]
        if command == SOCKS_RESOLVE:
            _socks_reply(conn, REPLY_OK, resolve(host, port)[0])
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
    try:
        if method.upper() == "CONNECT":
            host, port = _host_port(target, 443)
        elif target.lower().startswith("http://"):
            url = urlsplit(target)
            host, port = url.hostname or "", url.port or 80
        else:
            host, port = "", 0
    except ValueError:  # a port that is not one
        host, port = "", 0
    if not host:
        _http_answer(conn, "400 Bad Request", "autoagent's proxy takes CONNECT host:port and "
                     "absolute http:// URLs only")
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
    except Exception:  # a client's garbage ends its connection, nothing else
        pass
    finally:
        live.discard(conn)
