"""Where the MCP servers a user added are kept, and how they are read.

* The user config file (``autoagent config`` TOML, mode 0600) holds ``[mcp_servers.NAME]``
  tables written by ``autoagent mcp add``: ``command``, ``args``, ``env`` (secrets: masked
  in ``mcp list``, redacted everywhere) or ``url``.
* A project's ``.mcp.json`` in the working directory, the format other MCP clients use:
  ``{"mcpServers": {"NAME": {"command": ..., "args": [...], "env": {...}} | {"url": ...}}}``.

* The original AutoAgent's ``MCP_STDIO`` setting: a JSON list of ``{"name", "cmd",
  "args", "env", "allow_list": [fnmatch patterns of the tools offered], "timeout"}``. From
  the environment or the user config it is the user's own; from a project's ``.env`` (its
  usual home in the original) it counts as a project server, like ``.mcp.json``'s.

On a name in several, the user's own wins: a repository cannot replace a server the user
set up under that name. A project's servers (``.mcp.json``, ``MCP_STDIO`` in its ``.env``)
start nothing until the user trusted that exact file (``autoagent mcp trust [FILE]``,
:mod:`autoagent_plugins.mcp.project_trust`); servers from the user config or the environment
need no trust step (the user wrote them).
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
    # fnmatch patterns of the tools offered (the original's MCP_STDIO); empty: every tool
    allow_list: list[str] = field(default_factory=list)
    timeout: float | None = None  # seconds per call (the original's MCP_STDIO "timeout")

    def allows(self, tool: str) -> bool:
        from fnmatch import fnmatchcase

        return not self.allow_list or any(fnmatchcase(tool, p) for p in self.allow_list)

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


def _stdio_server(n: int, raw: Any, origin: str) -> ServerConfig:
    where = f"MCP_STDIO[{n}] ({origin})"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) \
            or not NAME_RE.match(raw["name"]):
        raise ConfigError(f"{where}: each server needs a 'name' (a letter, then letters, "
                          "digits, '_' or '-')")
    cmd, args, env = raw.get("cmd", raw.get("command")), raw.get("args", []), raw.get("env")
    allow = raw.get("allow_list", [])
    if not isinstance(cmd, str) or not cmd:
        raise ConfigError(f"{where}: 'cmd' must be the command to start")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"{where}: 'args' must be a list of strings")
    if env is not None and not isinstance(env, dict):
        raise ConfigError(f"{where}: 'env' must be an object")
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError(f"{where}: 'allow_list' must be a list of patterns")
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)
                                or timeout <= 0):
        raise ConfigError(f"{where}: 'timeout' must be a number of seconds")
    return ServerConfig(raw["name"], cmd, list(args),
                        {str(k): str(v) for k, v in (env or {}).items()}, "", origin,
                        allow_list=list(allow),
                        timeout=float(timeout) if timeout is not None else None)


def stdio_servers(settings: Any = None) -> tuple[dict[str, ServerConfig], bool]:
    """The servers of ``MCP_STDIO`` and whether they come from a project's ``.env``."""
    if settings is None:
        from autoagent_core.config import load_settings

        settings = load_settings()
    raw_text = str(getattr(settings, "mcp_stdio", "") or "").strip()
    if not raw_text:
        return {}, False
    source = settings.sources.get("mcp_stdio", "")
    from_project = source.startswith(".env")
    origin = str(Path.cwd() / ".env") if from_project else f"MCP_STDIO ({source})"
    return _parse_stdio(raw_text, source, origin), from_project


def _parse_stdio(raw_text: str, where: str, origin: str) -> dict[str, ServerConfig]:
    """The servers of an ``MCP_STDIO`` value (a JSON list), by name; ``where`` names its
    source in errors, ``origin`` is each server's origin."""
    try:
        data = json.loads(raw_text)
    except ValueError as exc:
        raise ConfigError(f"MCP_STDIO ({where}) is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"MCP_STDIO ({where}) must be a JSON list of servers")
    servers = [_stdio_server(n, raw, origin) for n, raw in enumerate(data)]
    return {s.name: s for s in servers}


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


def env_project_servers(cwd: Path | None = None,
                        settings: Any = None) -> dict[str, ServerConfig]:
    """The servers of ``MCP_STDIO`` when it comes from the project's ``.env`` (the
    original AutoAgent's usual place for it), each marked trusted or not like a
    ``.mcp.json``'s: the ``.env`` file's path and hash are what the user trusts."""
    stdio, from_project = stdio_servers(settings)
    if not from_project or not stdio:
        return {}
    from autoagent_plugins.mcp.project_trust import read_project_file, trust_state

    read = read_project_file((cwd or Path.cwd()) / ".env")
    state = trust_state(read) if read is not None else "untrusted"
    for server in stdio.values():
        server.origin = str(read.path) if read is not None else server.origin
        server.trusted, server.trust = state == "trusted", state
    return stdio


def parse_env_file(project: ProjectFile) -> dict[str, ServerConfig]:
    """The ``MCP_STDIO`` servers a project's ``.env`` names (parsed, not started, trust
    not checked): what ``autoagent mcp trust .env`` shows before recording the file."""
    from autoagent_core.dotenv_file import dotenv_values_quiet

    text = project.data.decode("utf-8", errors="replace")
    raw_text = (dotenv_values_quiet(text=text).get("MCP_STDIO") or "").strip()
    if not raw_text:
        return {}
    return _parse_stdio(raw_text, str(project.path), str(project.path))


def _untrusted_warning(cwd: Path | None, names: tuple[str, ...],
                       warn: Callable[[str], None]) -> None:
    from autoagent_plugins.mcp.project_trust import (
        read_project_file,
        trust_state,
        untrusted_message,
    )

    for name in names:
        read = read_project_file((cwd or Path.cwd()) / name)
        if read is not None and trust_state(read) != "trusted":
            warn(untrusted_message(read, trust_state(read)))


def all_servers(cwd: Path | None = None, include_untrusted: bool = False,
                warn: Callable[[str], None] | None = None,
                settings: Any = None) -> dict[str, ServerConfig]:
    """Every configured server by name; the user's own (config file, ``MCP_STDIO`` from the
    environment or the user config) win over a project's (``.mcp.json``, ``MCP_STDIO`` from
    its ``.env``). The servers of an untrusted (or changed) project file are left out with
    one warning line saying how to trust it, unless ``include_untrusted`` (``mcp list``)."""
    say = warn or _warn_line
    stdio, from_project = stdio_servers(settings)
    user = {**({} if from_project else stdio), **user_servers()}
    project: dict[str, ServerConfig] = {}
    readers: tuple[tuple[str, Callable[[], dict[str, ServerConfig]]], ...] = (
        (PROJECT_FILE, lambda: project_servers(cwd)),
        (".env", lambda: env_project_servers(cwd, settings)))
    for label, read in readers:
        try:
            found = read()
        except ConfigError as exc:  # a broken project file costs its own servers only
            if include_untrusted:  # `mcp list`: the broken file is the answer
                raise
            say(f"{exc} (its MCP servers are not started)")
            continue
        if not include_untrusted and any(not s.trusted for s in found.values()):
            _untrusted_warning(cwd, (label,), say)
            continue
        project.update(found)
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
