"""Open mode's network (README, "Open mode's network"): a tool run by ``autoagent tools run``
reaches a stand-in internet (a network namespace made by the test, a public-looking
address) by HTTP through the proxy variables and by plain sockets; servers on the host's
loopback, on the host's own address and on a private address are refused, each until
``--allow-net`` grants it; names resolve outside the sandbox and are checked after
resolution; strict mode keeps no network at all."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoagent_core.sandbox.launcher import unavailable_reason
from conftest import CliFn, Result
from support.stand_in_internet import Internet, available, stand_in_internet

pytestmark = pytest.mark.skipif(
    bool(available() or unavailable_reason("open")),
    reason=f"stand-in internet or open mode unavailable: {available()}")

PROBE = """
import socket, urllib.request

def probe(urls: list, tcp: list) -> dict:
    out = {}
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                out[url] = reply.read().decode().strip()
        except Exception as exc:
            out[url] = f"{type(exc).__name__}: {exc}"
    for host, port in tcp:
        try:
            with socket.create_connection((host, port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            out[f"{host}:{port}"] = data.split(b"\\r\\n\\r\\n", 1)[1].decode().strip()
        except Exception as exc:
            out[f"{host}:{port}"] = f"{type(exc).__name__}: {exc}"
    return out
"""
FETCH = """
import urllib.request

def fetch(url: str) -> str:
    return urllib.request.urlopen(url, timeout=10).read().decode().strip()
"""

OTHERS = """
import asyncio, http.client, os, ssl, subprocess, urllib.parse, urllib.request

async def fetch_async(host):
    reader, writer = await asyncio.open_connection(host, 80)
    writer.write(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data.split(b"\\r\\n\\r\\n", 1)[1].decode().strip()

def others(host: str, cafile: str) -> dict:
    out = {}
    proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
    tunnel = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)
    tunnel.set_tunnel(host, 80)  # HTTP CONNECT, as clients do for HTTPS
    tunnel.request("GET", "/")
    out["connect"] = tunnel.getresponse().read().decode().strip()
    out["asyncio"] = asyncio.run(fetch_async(host))
    out["curl"] = subprocess.run(["curl", "-s", "--max-time", "10", f"http://{host}/"],
                                 capture_output=True, text=True).stdout.strip()
    if cafile:
        context = ssl.create_default_context(cafile=cafile)
        with urllib.request.urlopen(f"https://{host}/", context=context, timeout=10) as reply:
            out["https"] = reply.read().decode().strip()
    return out
"""


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"host\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def internet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Internet]:
    with stand_in_internet(tmp_path_factory.mktemp("internet")) as net:
        yield net


@pytest.fixture
def host_server() -> Iterator[int]:
    """A server of the host on every address (as many dev servers listen): its port."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Named)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def library(isolated: Path) -> Path:
    tools = isolated / ".permanent_tools"
    tools.mkdir()
    (tools / "probe.py").write_text(PROBE)
    (tools / "fetch.py").write_text(FETCH)
    (tools / "others.py").write_text(OTHERS)
    return tools


def _probe(cli: CliFn, urls: list[str], tcp: list[tuple[str, int]], *grants: str,
           sandbox: str = "open") -> dict[str, str]:
    args = json.dumps({"urls": urls, "tcp": tcp})
    flags = [f"--allow-net={g}" for g in grants]
    result = cli("tools", "run", "probe", "--sandbox", sandbox, *flags, "--args", args)
    assert result.returncode == 0, result
    outcome: dict[str, str] = json.loads(result.stdout)
    return outcome


def _refused(text: str, grant: str) -> bool:
    return "autoagent refused" in text and f"--allow-net {grant}" in text


def test_a_tool_reaches_the_internet_but_nothing_of_the_host_or_private_networks(
        cli: CliFn, library: Path, internet: Internet, host_server: int) -> None:
    port = host_server
    public, private, own = internet.public, internet.private, internet.host_side
    urls = [f"http://{public}/", f"http://127.0.0.1:{port}/", f"http://{private}/",
            f"http://{own}:{port}/", "http://169.254.169.254/latest/meta-data/"]
    tcp = [(public, 80), ("127.0.0.1", port), ("::1", port), (private, 80), (own, port),
           ("localhost", port)]
    out = _probe(cli, urls, tcp)
    assert out[f"http://{public}/"] == "public" and out[f"{public}:80"] == "public", out
    assert _refused(out[f"http://127.0.0.1:{port}/"], f"127.0.0.1:{port}"), out
    assert _refused(out[f"127.0.0.1:{port}"], f"127.0.0.1:{port}"), out
    assert _refused(out[f"::1:{port}"], f"[::1]:{port}"), out
    assert out[f"localhost:{port}"].startswith("ConnectionRefusedError"), out
    assert "--allow-net" in out[f"localhost:{port}"]
    assert _refused(out[f"http://{private}/"], f"{private}:80"), out
    assert "private network" in out[f"http://{private}/"]
    assert _refused(out[f"{private}:80"], f"{private}:80"), out
    assert _refused(out[f"http://{own}:{port}/"], f"{own}:{port}"), out
    assert "an address of this host" in out[f"http://{own}:{port}/"]
    assert _refused(out[f"{own}:{port}"], f"{own}:{port}"), out
    assert "link-local" in out["http://169.254.169.254/latest/meta-data/"], out

    # each grant opens what it names and nothing else
    granted = _probe(cli, urls[:4], tcp[:5], f"127.0.0.1:{port}", private)
    assert granted[f"http://127.0.0.1:{port}/"] == "host", granted
    assert granted[f"127.0.0.1:{port}"] == "host"
    assert granted[f"http://{private}/"] == "private" and granted[f"{private}:80"] == "private"
    assert granted[f"http://{public}/"] == "public"
    assert _refused(granted[f"::1:{port}"], f"[::1]:{port}"), granted  # not granted
    assert _refused(granted[f"{own}:{port}"], f"{own}:{port}"), granted
    other_port = _probe(cli, [f"http://127.0.0.1:{port}/"], [], "127.0.0.1:1")
    assert _refused(other_port[f"http://127.0.0.1:{port}/"], f"127.0.0.1:{port}")


def test_https_http_connect_and_programs_other_than_python_reach_the_internet(
        cli: CliFn, library: Path, isolated: Path, internet: Internet) -> None:
    cafile = ""
    if internet.certificate is not None:  # the sandbox hides /tmp: the tool reads a copy
        cafile = str(isolated / "stand-in.pem")
        Path(cafile).write_bytes(internet.certificate.read_bytes())
    result = cli("tools", "run", "others", "--sandbox", "open", "--args",
                 json.dumps({"host": internet.public, "cafile": cafile}))
    assert result.returncode == 0, result
    out = json.loads(result.stdout)
    assert out["connect"] == "public" and out["curl"] == "public", out
    assert out["asyncio"] == "public", out
    if cafile:
        assert out["https"] == "public", out


def test_a_refused_connection_is_a_network_error_that_names_allow_net(
        cli: CliFn, library: Path, internet: Internet, host_server: int) -> None:
    url = f"http://127.0.0.1:{host_server}/"
    failed = cli("tools", "run", "fetch", "--sandbox", "open", "--json",
                 "--args", json.dumps({"url": url}))
    assert failed.returncode == 1, failed
    error = json.loads(failed.stdout)["error"]
    assert error["class"] == "network", error
    assert f"--allow-net 127.0.0.1:{host_server}" in error["suggestions"][0], error
    plain = cli("tools", "run", "fetch", "--sandbox", "open", "--args",
                json.dumps({"url": url}))
    assert plain.returncode == 1 and f"--allow-net 127.0.0.1:{host_server}" in plain.stderr
    assert "Traceback" not in plain.stderr.split("\n")[0]

    granted = cli("tools", "run", "fetch", "--sandbox", "open", "--allow-net",
                  f"127.0.0.1:{host_server}", "--args", json.dumps({"url": url}))
    assert granted.returncode == 0 and json.loads(granted.stdout) == "host", granted
    # the setting works like the flag
    by_setting = cli("tools", "run", "fetch", "--sandbox", "open", "--args",
                     json.dumps({"url": url}),
                     env={"AUTOAGENT_ALLOW_NET": f"127.0.0.1:{host_server}"})
    assert by_setting.returncode == 0, by_setting


def test_strict_mode_keeps_no_network(cli: CliFn, library: Path, internet: Internet) -> None:
    out = _probe(cli, [f"http://{internet.public}/"], [(internet.public, 80)],
                 sandbox="strict")
    assert "public" not in out.values(), out


def _cli_with_hosts(isolated: Path, hosts: str, *args: str) -> Result:
    """``autoagent ARGS`` in a mount namespace of its own where /etc/hosts is ``hosts``:
    names resolve through the system resolver as they would through DNS."""
    hosts_file = isolated.parent / "hosts"
    hosts_file.write_text(Path("/etc/hosts").read_text() + hosts)
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts_file),
            sys.executable, "-m", "autoagent_core", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=isolated, timeout=120,
                          env=dict(os.environ))
    return Result(list(args), proc.returncode, proc.stdout, proc.stderr)


def test_names_resolve_outside_and_are_checked_after_resolution(
        isolated: Path, library: Path, internet: Internet, host_server: int) -> None:
    hosts = (f"{internet.public} shop.example\n127.0.0.1 rebind.example\n"
             f"{internet.private} intranet.example\n")
    port = host_server
    urls = ["http://shop.example/", f"http://rebind.example:{port}/",
            "http://intranet.example/"]
    tcp = [["shop.example", 80], ["rebind.example", port]]
    args = json.dumps({"urls": urls, "tcp": tcp})
    result = _cli_with_hosts(isolated, hosts, "tools", "run", "probe", "--sandbox", "open",
                             "--args", args)
    assert result.returncode == 0, result
    out = json.loads(result.stdout)
    assert out["http://shop.example/"] == "public" and out["shop.example:80"] == "public", out
    assert "rebind.example (127.0.0.1)" in out[f"http://rebind.example:{port}/"], out
    assert _refused(out[f"rebind.example:{port}"], f"127.0.0.1:{port}"), out
    assert _refused(out["http://intranet.example/"], "intranet.example:80"), out

    granted = _cli_with_hosts(isolated, hosts, "tools", "run", "probe", "--sandbox", "open",
                              "--allow-net", "intranet.example", "--args",
                              json.dumps({"urls": urls[2:], "tcp": []}))
    assert json.loads(granted.stdout) == {"http://intranet.example/": "private"}, granted


@pytest.mark.parametrize("bad", ["", "host:0", "host:99999", "a b", "[::1]x", "host:port"])
def test_a_bad_allow_net_is_a_usage_error(cli: CliFn, library: Path, bad: str) -> None:
    result = cli("tools", "run", "probe", "--allow-net", bad, "--args", "{}")
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and "--allow-net" in result.stderr, result


def test_a_temp_folder_too_long_for_a_socket_address_still_works(
        cli: CliFn, library: Path, isolated: Path, internet: Internet) -> None:
    deep = isolated.parent / ("t" * 60) / ("u" * 60)  # the call's socket path: > 108 bytes
    deep.mkdir(parents=True)
    result = cli("tools", "run", "probe", "--sandbox", "open", "--args",
                 json.dumps({"urls": [f"http://{internet.public}/"], "tcp": []}),
                 env={"TMPDIR": str(deep)})
    assert result.returncode == 0, result
    assert json.loads(result.stdout) == {f"http://{internet.public}/": "public"}
