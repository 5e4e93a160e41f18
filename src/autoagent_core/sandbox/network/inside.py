"""The sandbox's side of open mode's network, run by the sandbox child (it imports nothing of
autoagent: the launcher ships this file compiled in the call's request and the child runs it
in a namespace of its own, the way the Landlock code is shipped).

The tool's network namespace has only its own loopback. :func:`open_bridge` listens on
that loopback's 127.0.0.1 before the child forks; the supervising half runs
:func:`run_bridge` in a thread, forwarding every connection to autoagent's filtering proxy
over the Unix socket; the worker half gets ``HTTP_PROXY``/``HTTPS_PROXY`` (requests,
urllib, httpx, curl, pip) and :func:`install_socket_patch`, which, when the tool imports
:mod:`socket`, routes ``connect`` of TCP sockets through the proxy (SOCKS5) and resolves
names through it, so plain ``socket.create_connection`` works too. Only C modules are
loaded until the tool imports ``socket`` itself.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BRIDGE_HOST = "127.0.0.1"
LIMIT = 256 * 1024  # bytes buffered per direction before reading pauses
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
GRANT_HINT = ("the host's loopback, its own and private addresses and link-local are not "
              "reachable from tools unless granted with --allow-net {grant}")


def open_bridge() -> tuple[Any, int]:
    """The bridge's listening socket on the namespace's loopback, and its port."""
    import _socket

    listener = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    listener.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    listener.bind((BRIDGE_HOST, 0))
    listener.listen(128)
    return listener, listener.getsockname()[1]


def proxy_environment(port: int) -> dict[str, str]:
    url = f"http://{BRIDGE_HOST}:{port}"
    return {name: url for name in PROXY_VARS}


def run_bridge(listener: Any, unix_path: str) -> None:
    """Forward each connection accepted on ``listener`` to ``unix_path``: one poll loop
    (threads would count against the call's process limit)."""
    import _socket
    import os
    import select

    if len(os.fsencode(unix_path)) >= 108:  # too long for a socket address: via its folder
        folder = os.open(os.path.dirname(unix_path), os.O_RDONLY | os.O_DIRECTORY)
        unix_path = f"/proc/self/fd/{folder}/{os.path.basename(unix_path)}"
    poll_in, poll_out = select.POLLIN, select.POLLOUT
    listener.setblocking(False)
    poller = select.poll()
    poller.register(listener.fileno(), poll_in)
    socks: dict[int, Any] = {}
    peer: dict[int, int] = {}
    pending: dict[int, bytearray] = {}  # bytes waiting to be written to this fd
    read_done: set[int] = set()

    def close(fd: int) -> None:
        for one in (fd, peer.get(fd)):
            if one is not None and one in socks:
                poller.unregister(one)
                socks.pop(one).close()
                peer.pop(one, None)
                pending.pop(one, None)
                read_done.discard(one)

    def update(fd: int) -> None:
        if fd not in socks:
            return
        other = peer[fd]
        mask = 0
        if fd not in read_done and len(pending[other]) < LIMIT:
            mask |= poll_in
        if pending[fd]:
            mask |= poll_out
        poller.modify(fd, mask)
        if fd in read_done and other in read_done and not pending[fd] and not pending[other]:
            close(fd)

    while True:
        for fd, event in poller.poll():
            if fd == listener.fileno():
                try:
                    accepted, _ = listener._accept()
                except OSError:
                    continue
                inner = _socket.socket(fileno=accepted)
                outer = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
                try:
                    outer.connect(unix_path)
                except OSError:
                    inner.close()
                    outer.close()
                    continue
                for end, far in ((inner, outer), (outer, inner)):
                    end.setblocking(False)
                    socks[end.fileno()] = end
                    peer[end.fileno()] = far.fileno()
                    pending[end.fileno()] = bytearray()
                    poller.register(end.fileno(), poll_in)
                continue
            if fd not in socks:
                continue
            other = peer[fd]
            try:
                if event & poll_out and pending[fd]:
                    sent = socks[fd].send(pending[fd])
                    del pending[fd][:sent]
                    if not pending[fd] and other in read_done:
                        socks[fd].shutdown(_socket.SHUT_WR)
                if event & (poll_in | select.POLLHUP | select.POLLERR) \
                        and fd not in read_done:
                    data = socks[fd].recv(65536)
                    if data:
                        pending[other] += data
                    else:
                        read_done.add(fd)
                        if not pending[other]:
                            socks[other].shutdown(_socket.SHUT_WR)
            except BlockingIOError:
                pass
            except OSError:
                close(fd)
                continue
            update(fd)
            update(other)


# --------------------------------------------------------------------------- the tool's side
def install_socket_patch(port: int) -> None:
    """Patch :mod:`socket` when the tool first imports it (nothing is loaded before)."""
    import sys

    class SocketPatcher:
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
            if name != "socket":
                return None
            sys.meta_path.remove(self)
            import importlib
            from importlib.machinery import ModuleSpec

            module = importlib.import_module("socket")
            patch_socket_module(module, port)
            del sys.modules["socket"]  # else the import would run the module again
            return ModuleSpec("socket", _Loaded(module),  # type: ignore[arg-type]
                              origin=getattr(module, "__file__", None))

    class _Loaded:
        def __init__(self, module: Any) -> None:
            self.module = module

        def create_module(self, spec: Any) -> Any:
            return self.module

        def exec_module(self, module: Any) -> None:
            return None

    sys.meta_path.insert(0, SocketPatcher())


def _listening_in_namespace(port: int) -> bool:
    """True when a socket of this namespace listens on ``port`` (the tool's own server)."""
    wanted = f":{port:04X} "
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                for line in fh:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A" and (fields[1] + " ").endswith(
                            wanted):
                        return True
        except OSError:
            continue
    return False


def patch_socket_module(socket: Any, port: int) -> None:
    """TCP ``connect`` goes through the proxy; names resolve through it."""
    import errno
    import ipaddress

    base = socket.socket
    original_connect = base.connect
    original_getaddrinfo = socket.getaddrinfo

    def recv_exact(sock: Any, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise ConnectionResetError(errno.ECONNRESET, "autoagent's proxy closed")
            data += chunk
        return data

    def is_literal(host: str) -> bool:
        try:
            ipaddress.ip_address(host.split("%")[0])
            return True
        except ValueError:
            return False

    def socks(sock: Any, command: int, host: str, target_port: int) -> bytes:
        """One SOCKS5 exchange over ``sock`` (already connected to the bridge); the
        bound address of the reply."""
        if is_literal(host):
            packed = ipaddress.ip_address(host.split("%")[0]).packed
            address = bytes([1 if len(packed) == 4 else 4]) + packed
        else:
            name = host.encode("idna")
            address = bytes([3, len(name)]) + name
        sock.sendall(b"\x05\x01\x00")
        if recv_exact(sock, 2) != b"\x05\x00":
            raise ConnectionError("autoagent's proxy refused the SOCKS greeting")
        sock.sendall(bytes([5, command, 0]) + address + target_port.to_bytes(2, "big"))
        head = recv_exact(sock, 4)
        bound = recv_exact(sock, 4 if head[3] == 1 else 16)
        recv_exact(sock, 2)
        code = head[1]
        if code == 0:
            return bound
        where = f"{host} port {target_port}"
        if code == 2:
            raise ConnectionRefusedError(
                errno.ECONNREFUSED, f"autoagent refused a connection to {where}: "
                + GRANT_HINT.format(grant=f"[{host}]:{target_port}" if ":" in host
                                    else f"{host}:{target_port}"))
        if code == 4 and not is_literal(host) and command == 0xF0:
            raise socket.gaierror(socket.EAI_NONAME, f"cannot resolve {host}")
        if code == 5:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection refused by {where}")
        raise OSError(errno.EHOSTUNREACH, f"cannot reach {where}")

    def bridge_address(family: int) -> tuple[str, int]:
        return (BRIDGE_HOST if family == socket.AF_INET else f"::ffff:{BRIDGE_HOST}", port)

    def direct(address: Any) -> bool:
        host, target_port = str(address[0]), int(address[1])
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            return False
        return target_port == port or _listening_in_namespace(target_port)

    def connect(self: Any, address: Any) -> None:
        if self.family not in (socket.AF_INET, socket.AF_INET6) \
                or self.type != socket.SOCK_STREAM or direct(address):
            return original_connect(self, address)
        timeout = self.gettimeout()
        if timeout == 0.0:
            self.settimeout(30.0)  # the exchange is short; non-blocking callers see success
        try:
            original_connect(self, bridge_address(self.family))
            socks(self, 1, str(address[0]), int(address[1]))
        finally:
            self.settimeout(timeout)

    def connect_ex(self: Any, address: Any) -> int:
        try:
            connect(self, address)
        except OSError as exc:
            return exc.errno or errno.ECONNREFUSED
        return 0

    def resolve(host: str) -> str:
        with base(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(30.0)
            original_connect(sock, bridge_address(socket.AF_INET))
            bound = socks(sock, 0xF0, host, 0)
        return str(ipaddress.ip_address(bound))

    def getaddrinfo(host: Any, port_: Any, family: int = 0, type: int = 0, proto: int = 0,
                    flags: int = 0) -> Any:
        if host is None or (isinstance(host, bytes) and not host):
            return original_getaddrinfo(host, port_, family, type, proto, flags)
        text = host.decode() if isinstance(host, bytes) else str(host)
        if is_literal(text) or text.lower() in ("localhost", "localhost.localdomain"):
            return original_getaddrinfo(host, port_, family, type, proto, flags)
        address = resolve(text)
        infos = original_getaddrinfo(address, port_, family, type, proto,
                                     flags | socket.AI_NUMERICHOST)
        if flags & socket.AI_CANONNAME:
            infos = [(f, t, p, text, sa) for f, t, p, _, sa in infos]
        return infos

    def gethostbyname(host: str) -> str:
        return str(getaddrinfo(host, None, socket.AF_INET)[0][4][0])

    def gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
        return host, [], [gethostbyname(host)]

    base.connect = connect
    base.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
