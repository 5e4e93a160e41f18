"""Authentication of ``autoagent mcp serve --http``: every request carries
``Authorization: Bearer TOKEN`` or gets 401 and runs nothing.

* ``--token-file FILE``: the token is read from FILE, or a fresh random one is written
  there (mode 0600, never through a link) when FILE is missing.
* Without it, the token is kept in the user config folder (``mcp-serve-token`` beside
  ``config.toml``) and the server prints on stderr where it is (never the token itself).
* A bind to an address other than loopback needs ``--allow-remote``, and keeps the SDK's
  DNS-rebinding protection on, for the names and addresses this machine answers to.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from autoagent_core.errors import ConfigError, StorageError, UsageError

TOKEN_FILE_NAME = "mcp-serve-token"
TOKEN_MIN_CHARS = 16
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def default_token_path() -> Path:
    from autoagent_core.config import config_path

    return config_path().parent / TOKEN_FILE_NAME


def _read_token(path: Path) -> str:
    from autoagent_core.atomic import open_owned_nofollow

    fd = open_owned_nofollow(path, os.O_RDONLY)
    with open(fd, "rb") as fh:
        if os.fstat(fh.fileno()).st_mode & 0o077:
            raise ConfigError(f"the token file {path} can be read by other users; "
                              f"'chmod 600 {path}' it, or delete it to get a new one")
        raw = fh.read(4096)
    token = raw.decode("utf-8", "replace").strip()
    if len(token) < TOKEN_MIN_CHARS or any(c.isspace() for c in token):
        raise ConfigError(f"the token file {path} must hold one token of at least "
                          f"{TOKEN_MIN_CHARS} characters")
    return token


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The token in ``path``, or a new one written there (mode 0600); and whether it was
    created."""
    try:
        return _read_token(path), False
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
    except OSError as exc:
        raise StorageError(f"cannot create the token file {path}: "
                           f"{exc.strerror or exc}") from None
    with open(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), stat.S_IRUSR | stat.S_IWUSR)  # whatever the umask
        fh.write(token + "\n")
    return token, True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def transport_security(host: str) -> Any:
    """DNS-rebinding protection for the names this server answers to: loopback, and for
    another bind its address, or (a wildcard bind) this machine's name and addresses."""
    import socket

    from mcp.server.transport_security import TransportSecuritySettings

    names = {"127.0.0.1", "localhost", "[::1]"}
    if not is_loopback(host):
        wildcard = host in ("0.0.0.0", "::")
        if not wildcard:
            names.add(f"[{host}]" if ":" in host else host)
        else:
            hostname = socket.gethostname()
            names |= {hostname, socket.getfqdn()}
            with contextlib.suppress(OSError):
                names |= set(socket.gethostbyname_ex(hostname)[2])
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{n}:*" for n in sorted(names)],
        allowed_origins=[f"{scheme}://{n}:*" for n in sorted(names)
                         for scheme in ("http", "https")])


def check_bind(host: str, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise UsageError(f"--http {host} listens beyond this machine; add --allow-remote "
                         "if other machines should reach the tool library (the token is "
                         "still required)")


class BearerAuth:
    """ASGI middleware: an HTTP request without ``Authorization: Bearer TOKEN`` gets 401
    and never reaches the MCP app. Lifespan events pass through."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((value for key, value in scope.get("headers", [])
                      if key.lower() == b"authorization"), b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = (b'{"error": "unauthorized", "error_description": "this MCP server needs '
                b'Authorization: Bearer TOKEN (see the token file autoagent mcp serve '
                b'printed)"}')
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "http.response.start", "status": 401, "headers": [
            (b"content-type", b"application/json"),
            (b"www-authenticate", b'Bearer realm="autoagent"'),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
