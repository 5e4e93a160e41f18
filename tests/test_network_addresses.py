"""What open mode's proxy lets a tool reach (``sandbox/network/addresses.py``): public
addresses; the host, private ranges, link-local and IPv6 forms hiding them refused;
``--allow-net`` entries parsed and matched by address, network, name and port."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from autoagent_core.errors import ConfigError
from autoagent_core.sandbox.network.addresses import (
    forbidden_reason,
    own_addresses,
    parse_grant,
    policy_for,
)


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.254", "private"),
    ("192.168.1.1", "private"), ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("100.100.100.200", "shared"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    # IPv6 forms that carry an IPv4 address are judged by it
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"), ("2002:7f00:1::", "loopback"),
])
def test_the_host_private_and_link_local_ranges_are_refused(address: str,
                                                           reason: str) -> None:
    found = forbidden_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["1.1.1.1", "93.184.216.34", "203.0.113.10",
                                     "198.51.100.7", "172.32.0.1", "2606:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_the_hosts_own_addresses_are_refused() -> None:
    for address in own_addresses():
        assert forbidden_reason(address) is not None, address


def test_grants_open_what_they_name_and_nothing_else() -> None:
    policy = policy_for(["127.0.0.1:8786", "10.0.0.0/8", "[::1]:80", "localhost:9000",
                         "Intranet.Example"])
    loopback = ipaddress.ip_address("127.0.0.1")
    assert policy.refusal("127.0.0.1", 8786, loopback) is None
    assert policy.refusal("127.0.0.1", 8787, loopback) is not None
    assert policy.refusal("10.9.8.7", 5432, ipaddress.ip_address("10.9.8.7")) is None
    assert policy.refusal("192.168.0.1", 80, ipaddress.ip_address("192.168.0.1"))
    assert policy.refusal("::1", 80, ipaddress.ip_address("::1")) is None
    assert policy.refusal("::1", 81, ipaddress.ip_address("::1")) is not None
    # a name grant covers the addresses the name resolves to, on its port
    assert policy.refusal("127.0.0.1", 9000, loopback) is None
    assert policy.refusal("intranet.example.", 443, ipaddress.ip_address("10.0.0.1")) is None
    refusal = policy.refusal("rebind.example", 80, loopback)
    assert refusal is not None and "rebind.example (127.0.0.1)" in refusal
    assert "--allow-net rebind.example:80" in refusal
    assert refusal in policy.refusals


@pytest.mark.parametrize("text", ["", ":80", "host:0", "host:65536", "host:http", "a b",
                                  "[::1]x", "exa mple.com", "ünï.example", "a..b"])
def test_bad_grants_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--allow-net"):
        parse_grant(text)


@pytest.mark.parametrize("text, port", [("example.com", None), ("example.com:8080", 8080),
                                        ("::1", None), ("[::1]:80", 80),
                                        ("10.0.0.0/8", None), ("192.168.1.5:22", 22)])
def test_good_grants_parse(text: str, port: int | None) -> None:
    assert parse_grant(text).port == port


def test_the_proxy_of_a_call_ends_its_connections_when_the_call_ends(tmp_path: Path) -> None:
    """A server that keeps its side open holds no thread or socket of autoagent's proxy
    once the call is over (``mcp serve`` and batch workers run many calls)."""
    import socket
    import threading
    import time

    from autoagent_core.sandbox.network.proxy import CallProxy

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    proxy = CallProxy(str(tmp_path / "net.sock"), policy_for([f"127.0.0.1:{port}"]))
    client = socket.socket(socket.AF_UNIX)
    client.connect(str(tmp_path / "net.sock"))
    client.sendall(b"\x05\x01\x00")
    assert client.recv(2) == b"\x05\x00"
    client.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + port.to_bytes(2, "big"))
    assert client.recv(10)[:2] == b"\x05\x00"  # connected
    held, _ = server.accept()  # and never closed by the server
    client.shutdown(socket.SHUT_WR)  # the tool's side half-closes

    def copying() -> int:
        return sum(t.name.startswith("autoagent-net-") for t in threading.enumerate())

    deadline = time.monotonic() + 5
    while copying() < 2 and time.monotonic() < deadline:  # one thread each way
        time.sleep(0.01)
    assert copying() == 2
    proxy.close()
    deadline = time.monotonic() + 5
    while copying() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert copying() == 0
    held.settimeout(5)
    assert held.recv(10) == b""  # the proxy's side is closed
    assert not (tmp_path / "net.sock").exists()
    for sock in (held, client, server):
        sock.close()
