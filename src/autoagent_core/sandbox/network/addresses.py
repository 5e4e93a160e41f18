"""Which destinations a tool in open mode may reach: public addresses, and whatever the user
granted with ``--allow-net HOST[:PORT]`` (setting ``allow_net``).

Refused unless granted: the host's loopback and its own addresses, private and shared
ranges, link-local (where cloud metadata services answer), multicast and reserved space.
IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address.
The check runs on addresses after name resolution, so a name that resolves to 127.0.0.1
(DNS rebinding) is refused like the address itself.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass, field

from autoagent_core.errors import ConfigError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*specs: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(s) for s in specs)


# (networks, why a tool may not reach them); the first match names the reason
FORBIDDEN: tuple[tuple[tuple[Network, ...], str], ...] = (
    (_nets("127.0.0.0/8", "::1/128"), "the host's loopback"),
    (_nets("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
     "a private network address"),
    (_nets("169.254.0.0/16", "fe80::/10"),
     "a link-local address (where cloud metadata services answer)"),
    (_nets("100.64.0.0/10"), "a shared (carrier-grade NAT) address"),
    (_nets("0.0.0.0/8", "::/128"), "the unspecified address (this host)"),
    (_nets("224.0.0.0/4", "ff00::/8"), "a multicast address"),
    (_nets("240.0.0.0/4", "192.0.0.0/24", "198.18.0.0/15"), "a reserved address"),
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
OWN_ADDRESSES_TTL_S = 30.0


def embedded_ipv4(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def _own_addresses() -> set[Address]:
    """The host's own addresses, from /proc (IPv4 local routes, IPv6 interface addresses)."""
    found: set[Address] = set()
    try:
        with open("/proc/net/fib_trie", encoding="ascii", errors="replace") as fh:
            last = ""
            for line in fh:
                text = line.strip()
                if text.startswith("|--"):
                    last = text[3:].strip()
                elif text.startswith("/32 host LOCAL") and last:
                    found.add(ipaddress.ip_address(last))
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as fh:
            for line in fh:
                hex_address = line.split()[0]
                found.add(ipaddress.IPv6Address(int(hex_address, 16)))
    except (OSError, ValueError, IndexError):
        pass
    return found


_own_lock = threading.Lock()
_own_cache: tuple[float, set[Address]] = (0.0, set())


def own_addresses() -> set[Address]:
    """:func:`_own_addresses`, read again at most every ``OWN_ADDRESSES_TTL_S`` seconds."""
    global _own_cache
    with _own_lock:
        if time.monotonic() - _own_cache[0] > OWN_ADDRESSES_TTL_S:
            _own_cache = (time.monotonic(), _own_addresses())
        return _own_cache[1]


def forbidden_reason(address: Address) -> str | None:
    """Why a tool may not reach ``address`` without a grant, or None (a public address)."""
    plain = embedded_ipv4(address)
    for networks, reason in FORBIDDEN:
        if any(plain.version == n.version and plain in n for n in networks):
            return reason
    if address in own_addresses() or plain in own_addresses():
        return "an address of this host"
    return None


@dataclass(frozen=True)
class Grant:
    """One ``--allow-net`` entry: a host name, an address or a network, and a port or any."""

    text: str
    name: str | None = None  # lower-case host name
    network: Network | None = None
    port: int | None = None

    def covers_port(self, port: int) -> bool:
        return self.port is None or self.port == port


def parse_grant(text: str) -> Grant:
    """``HOST[:PORT]``: a name, an IPv4 address or network, ``[IPv6]`` (or bare IPv6
    without a port); :class:`ConfigError` for anything else."""
    raw = text.strip()
    host, port_text = raw, ""
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ConfigError(f"--allow-net {text!r}: expected HOST[:PORT] or [IPV6]:PORT")
        port_text = rest[1:]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"--allow-net {text!r}: the port must be a number 1-65535")
        port = int(port_text)
    if not host:
        raise ConfigError(f"--allow-net {text!r}: no host (expected HOST[:PORT])")
    try:
        return Grant(raw, network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        pass
    label = host.lower().rstrip(".")
    if not all(part and len(part) < 64 and part.replace("-", "").replace("_", "").isalnum()
               and part.isascii() for part in label.split(".")):
        raise ConfigError(f"--allow-net {text!r}: {host!r} is neither a host name nor an "
                          "address")
    return Grant(raw, name=label, port=port)


@dataclass
class Policy:
    """The grants of one call, and the refusals it met (read by the launcher after it)."""

    grants: tuple[Grant, ...] = ()
    refusals: list[str] = field(default_factory=list)
    _resolved: dict[str, set[Address]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def name_granted(self, name: str, port: int) -> bool:
        label = name.lower().rstrip(".")
        return any(g.name == label and g.covers_port(port) for g in self.grants)

    def address_granted(self, address: Address, port: int) -> bool:
        for grant in self.grants:
            if not grant.covers_port(port):
                continue
            if grant.network is not None:
                if address.version == grant.network.version and address in grant.network:
                    return True
            elif grant.name is not None and address in self._addresses_of(grant.name):
                return True
        return False

    def _addresses_of(self, name: str) -> set[Address]:
        with self._lock:
            if name not in self._resolved:
                try:
                    infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
                    self._resolved[name] = {ipaddress.ip_address(str(i[4][0]).split("%")[0])
                                            for i in infos}
                except (OSError, ValueError):
                    self._resolved[name] = set()
            return self._resolved[name]

    def refusal(self, host: str, port: int, address: Address | None) -> str | None:
        """Why a connection to ``address`` (``host`` as the tool named it) is refused, or
        None when it is allowed; a refusal is also kept in :attr:`refusals`."""
        if self.name_granted(host, port):
            return None
        if address is None:
            return None
        reason = forbidden_reason(address)
        if reason is None or self.address_granted(address, port):
            return None
        shown = f"[{host}]" if ":" in host else host
        where = host if host == str(address) else f"{host} ({address})"
        message = (f"autoagent refused a connection to {where} port {port}: {reason} is "
                   f"not reachable from tools; grant it with --allow-net {shown}:{port}")
        with self._lock:
            if message not in self.refusals:
                self.refusals.append(message)
        return message


def policy_for(allow_net: list[str]) -> Policy:
    """The policy of a call from the ``allow_net`` setting (ConfigError on a bad entry)."""
    return Policy(tuple(parse_grant(entry) for entry in allow_net if entry.strip()))
