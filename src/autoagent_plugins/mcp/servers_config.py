"""Where the MCP servers a user added are kept, and how they are read.

* The user config file (``autoagent config`` TOML, mode 0600) holds ``[mcp_servers.NAME]``
  tables written by ``autoagent mcp add``: ``command``, ``args``, ``env`` (secrets: masked
  in ``mcp list``, redacted everywhere) or ``url``.
* A project's ``.mcp.json`` in the working directory, the format other MCP clients use:
  ``{"mcpServers": {"NAME": {"command": ..., "args": [...], "env": {...}} | {"url": ...}}}``.

On a name in both, the user config wins: a repository cannot replace a server the user set
up under that name. A ``.mcp.json`` starts nothing until the user trusted that exact file
(``autoagent mcp trust``, :mod:`autoagent_plugins.mcp.project_trust`); servers from the user
config need no trust step (the user wrote them).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import ConfigError, NotFoundError, UsageError

if TYPE_CHECKING:
    from autoagent_plugins.mcp.project_trust import ProjectFile

CONFIG_TABLE = "mcp_servers"
PROJECT_FILE = ".mcp.json"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


@dataclass
class ServerConfig:
    """One MCP server: a command to start (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str = ""
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    origin: str = "user"  # "user" (config file) or the path of a .mcp.json
    trusted: bool = True  # a .mcp.json server: whether the user trusted that exact file
    trust: str = "user"  # "user", or a project file's "trusted", "untrusted", "changed"

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def target(self) -> str:
        """What ``mcp list`` shows: the URL, or the command line (no environment values)."""
        return self.url or " ".join([self.command, *self.args])

    def public_dict(self) -> dict[str, Any]:
        return {"name": self.name, "transport": self.transport, "command": self.command,
                "args": self.args, "url": self.url,
                "env": {k: "(set, hidden)" for k in self.env}, "origin": self.origin,
                "trusted": self.trusted, "trust": self.trust}

    def to_toml(self) -> dict[str, Any]:
        if self.url:
            return {"url": self.url}
        data: dict[str, Any] = {"command": self.command, "args": self.args}
        if self.env:
            data["env"] = self.env
        return data


def validate_server_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UsageError(f"invalid MCP server name {name!r}: use a letter, then letters, "
                         "digits, '_' or '-' (at most 40; no dots: tools are NAME.TOOL)")
    return name


def _parse(name: str, raw: Any, origin: str) -> ServerConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"MCP server '{name}' in {origin} must be a table/object")
    url = raw.get("url", "")
    command = raw.get("command", "")
    args = raw.get("args", [])
    env = raw.get("env", {})
    if not isinstance(url, str) or not isinstance(command, str) or bool(url) == bool(command):
        raise ConfigError(f"MCP server '{name}' in {origin} needs either a command or a url")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"MCP server '{name}' in {origin}: args must be a list of strings")
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError(f"MCP server '{name}' in {origin}: env must map names to strings")
    return ServerConfig(name, command, list(args), {str(k): v for k, v in env.items()},
                        url, origin)


def user_servers() -> dict[str, ServerConfig]:
    from autoagent_core.config import config_path, read_config_file

    table = read_config_file().get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise ConfigError(f"'{CONFIG_TABLE}' in {config_path()} must be a table")
    return {name: _parse(name, raw, str(config_path())) for name, raw in table.items()}


def parse_project(project: ProjectFile) -> dict[str, ServerConfig]:
    """The servers a project file names (parsed, not started, trust not checked)."""
    path = project.path
    try:
        data = json.loads(project.data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    servers = data.get("mcpServers", {}) if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise ConfigError(f"{path}: 'mcpServers' must be an object")
    return {name: _parse(name, raw, str(path)) for name, raw in servers.items()
            if isinstance(name, str) and NAME_RE.match(name)}


def project_servers(cwd: Path | None = None) -> dict[str, ServerConfig]:
    """The servers of the working directory's ``.mcp.json``, each marked trusted or not."""
    from autoagent_plugins.mcp.project_trust import read_project_file, trust_state

    project = read_project_file((cwd or Path.cwd()) / PROJECT_FILE)
    if project is None:
        return {}
    found = parse_project(project)
    state = trust_state(project)
    for server in found.values():
        server.trusted, server.trust = state == "trusted", state
    return found


def _warn_line(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


def all_servers(cwd: Path | None = None, include_untrusted: bool = False,
                warn: Callable[[str], None] | None = None) -> dict[str, ServerConfig]:
    """Every configured server by name; the user config wins over ``.mcp.json``. The
    servers of an untrusted (or changed) ``.mcp.json`` are left out with one warning line
    saying how to trust it, unless ``include_untrusted`` (``mcp list``)."""
    user = user_servers()
    if include_untrusted:
        return {**project_servers(cwd), **user}
    try:
        project = project_servers(cwd)
    except ConfigError as exc:  # a broken project file costs its own servers, not the user's
        (warn or _warn_line)(f"{exc} (its MCP servers are not started)")
        return user
    if any(not s.trusted for s in project.values()):
        from autoagent_plugins.mcp.project_trust import (
            read_project_file,
            trust_state,
            untrusted_message,
        )

        read = read_project_file((cwd or Path.cwd()) / PROJECT_FILE)
        if read is not None:
            (warn or _warn_line)(untrusted_message(read, trust_state(read)))
        project = {}
    return {**project, **user}


def _write_table(table: dict[str, Any]) -> Path:
    import tomli_w

    from autoagent_core.atomic import atomic_write_bytes
    from autoagent_core.config import config_path, read_config_file

    path = config_path()
    data = read_config_file(path)
    if table:
        data[CONFIG_TABLE] = table
    else:
        data.pop(CONFIG_TABLE, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, tomli_w.dumps(data).encode(), mode=0o600)
    return path


def add_server(server: ServerConfig) -> Path:
    """Save (or replace) a server in the user config file."""
    from autoagent_core.config import read_config_file

    validate_server_name(server.name)
    table = dict(read_config_file().get(CONFIG_TABLE, {}))
    table[server.name] = server.to_toml()
    return _write_table(table)


def remove_server(name: str) -> Path:
    from autoagent_core.config import read_config_file

    table = dict(read_config_file().get(CONFIG_TABLE, {}))
    if name not in table:
        if name in project_servers():
            raise UsageError(f"MCP server '{name}' comes from {PROJECT_FILE}; edit that file "
                             "to remove it")
        raise NotFoundError(f"no MCP server named '{name}' (see 'autoagent mcp list')")
    del table[name]
    return _write_table(table)
