"""The filtering proxy: autoagent's side of a tool's network in open mode.

Each open-mode call gets a Unix socket in its control folder (which the sandbox binds
read-only). One thread of the process that runs the calls (a CLI command, ``mcp serve``, a
Dask worker), started with its first open-mode call, accepts on the sockets of all calls
in flight and serves each connection in a thread of its own (:mod:`.protocols`,
:mod:`.upstream`). The threads are daemons: the proxy lives exactly as long as that
process, and a call's socket and connections end with the call.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import select
import socket
import threading
from collections.abc import Iterator

from autoagent_core.sandbox.network.addresses import Policy
from autoagent_core.sandbox.network.protocols import serve_connection
from autoagent_core.sandbox.network.upstream import Live

UNIX_PATH_MAX = 108  # sun_path, with its terminating NUL


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
            try:
                self._serve_ready(poller, serving)
            except Exception:  # the acceptor must outlive whatever one call does
                continue

    def _serve_ready(self, poller: select.poll, serving: dict[int, CallProxy]) -> None:
        """One wait: apply the calls' changes, or accept on a call's socket."""
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
