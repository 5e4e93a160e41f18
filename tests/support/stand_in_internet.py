"""A stand-in for the internet that is not the host: a network namespace made for the test,
joined to the host by a veth pair, with HTTP servers on a public-looking address
(198.51.100.x, TEST-NET-2) and on a private one (172.30.x.10). Needs root and iproute2.

Each server answers every GET with its own name (``public``, ``private``), so a tool's
result says which one it reached."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SERVER = """
import http.server, socketserver, sys
class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):  # without the reverse lookup of HTTPServer's (no DNS here)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (sys.argv[2] + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
if len(sys.argv) > 3:  # and HTTPS on 443 with this certificate and key
    import ssl, threading
    tls = Server((sys.argv[1], 443), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    tls.socket = context.wrap_socket(tls.socket, server_side=True)
    threading.Thread(target=tls.serve_forever, daemon=True).start()
Server((sys.argv[1], 80), Handler).serve_forever()
"""


def available() -> str | None:
    """Why the stand-in cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and veth pairs)"
    if not shutil.which("ip"):
        return "needs iproute2 (ip)"
    return None


@dataclass
class Internet:
    namespace: str
    public: str  # the namespace's public-looking address (port 80 answers "public")
    private: str  # its private address (port 80 answers "private")
    host_side: str  # the host's own address on the veth pair
    certificate: Path | None = None  # the public address's (HTTPS on 443), where openssl is
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _wait_for(address: str, deadline: float) -> None:
    while True:
        try:
            socket.create_connection((address, 80), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def stand_in_internet(tmp: Path) -> Iterator[Internet]:
    block = random.randrange(1, 63)
    tag = f"{os.getpid() % 100000}{block}"
    net = Internet(f"aa-inet-{tag}", f"198.51.100.{4 * block + 2}", f"172.30.{block}.10",
                   f"198.51.100.{4 * block + 1}")
    host_if, inner_if = f"aah{tag}"[:15], f"aan{tag}"[:15]
    script = tmp / "stand_in_server.py"
    script.write_text(SERVER)
    tls: list[str] = []
    if shutil.which("openssl"):
        net.certificate, key = tmp / "public.pem", tmp / "public.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=stand-in", "-addext",
                        f"subjectAltName=IP:{net.public}", "-keyout", str(key), "-out",
                        str(net.certificate)], check=True, capture_output=True)
        tls = [str(net.certificate), str(key)]
    _ip("netns", "add", net.namespace)
    try:
        _ip("link", "add", host_if, "type", "veth", "peer", "name", inner_if)
        _ip("link", "set", inner_if, "netns", net.namespace)
        _ip("addr", "add", f"{net.host_side}/30", "dev", host_if)
        _ip("link", "set", host_if, "up")
        _ip("route", "add", f"{net.private}/32", "dev", host_if)
        inside = ("netns", "exec", net.namespace, "ip")
        _ip(*inside, "addr", "add", f"{net.public}/30", "dev", inner_if)
        _ip(*inside, "addr", "add", f"{net.private}/32", "dev", inner_if)
        _ip(*inside, "link", "set", inner_if, "up")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "route", "add", "default", "via", net.host_side)
        for address, name in ((net.public, "public"), (net.private, "private")):
            net.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", net.namespace, sys.executable, "-I", str(script),
                 address, name, *(tls if name == "public" else [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 15
        for address in (net.public, net.private):
            _wait_for(address, deadline)
        yield net
    finally:
        for proc in net.procs:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "netns", "del", net.namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
