"""``autoagent mcp``: serve the tool library to MCP clients; add, list, remove and inspect
the MCP servers whose tools autoagent uses. The SDK is imported only inside the commands."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="MCP both ways: serve the tool library; the MCP servers whose tools "
                       "autoagent uses (add, list, tools, remove).",
                  no_args_is_help=True)


@app.command("add", context_settings={"allow_extra_args": True,
                                      "ignore_unknown_options": True})
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Server name: its tools become NAME.TOOL."),
    url: str = typer.Option("", "--url", help="Streamable HTTP endpoint of the server."),
    env: list[str] = typer.Option([], "--env", metavar="KEY=VALUE",
                                  help="Environment for the server (stored as a secret)."),
) -> None:
    """Add a server: 'autoagent mcp add NAME -- COMMAND [ARGS...]' or '--url URL'."""
    from autoagent_core.errors import UsageError
    from autoagent_plugins.mcp.servers_config import ServerConfig, add_server

    command = list(ctx.args)
    if bool(url) == bool(command):
        raise UsageError("give either '-- COMMAND [ARGS...]' or '--url URL'")
    pairs = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env must be KEY=VALUE, not {item!r}")
        pairs[key] = value
    server = ServerConfig(name, command[0] if command else "", command[1:], pairs, url)
    path = add_server(server)
    print(f"added MCP server '{name}' to {path}", file=sys.stderr)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="A JSON list.")) -> None:
    """Every configured server (environment values masked); a project's servers are shown
    as trusted or untrusted."""
    from autoagent_core.cli.common import print_json
    from autoagent_core.terminal_text import safe_text
    from autoagent_plugins.mcp.servers_config import all_servers

    servers = all_servers(include_untrusted=True)
    if as_json:
        print_json([s.public_dict() for s in servers.values()])
        return
    for s in servers.values():
        env = " ".join(f"{safe_text(k)}=(set, hidden)" for k in s.env)
        sys.stdout.write(f"{s.name}\t{s.transport}\t{safe_text(s.target())}\t{env}\t"
                         f"{safe_text(s.origin)}\t{s.trust}\n")


@app.command("trust")
def trust(file: str = typer.Argument(".mcp.json", help="The project's MCP file (default: "
                                                         "the working directory's).")) -> None:
    """Trust a project's .mcp.json (or the MCP_STDIO servers of its .env): shows the
    servers it will start and records the file's path and hash in the user config. A later
    change to the file untrusts it again."""
    from pathlib import Path

    from autoagent_core.errors import NotFoundError
    from autoagent_core.terminal_text import safe_text
    from autoagent_plugins.mcp.project_trust import read_project_file, record_trust
    from autoagent_plugins.mcp.servers_config import parse_env_file, parse_project

    project = read_project_file(Path(file))
    if project is None:
        raise NotFoundError(f"no such file: {file}")
    # a project's .env holds the original AutoAgent's MCP_STDIO servers
    parse = parse_env_file if project.path.name.startswith(".env") else parse_project
    servers = parse(project)
    for s in servers.values():
        sys.stdout.write(f"{s.name}\t{s.transport}\t{safe_text(s.target())}\n")
    config = record_trust(project)
    print(f"trusted {project.path} ({len(servers)} server(s), sha256 "
          f"{project.sha256[:12]}) in {config}", file=sys.stderr)


@app.command("remove")
def remove(name: str = typer.Argument(..., help="Server name.")) -> None:
    """Remove a server from the user config."""
    from autoagent_plugins.mcp.servers_config import remove_server

    remove_server(name)
    print(f"removed MCP server '{name}'", file=sys.stderr)


@app.command("tools")
def tools(
    name: str = typer.Argument(..., help="Server name (see 'autoagent mcp list')."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list (name, description, "
                                                      "input schema)."),
) -> None:
    """The tools of one configured server: starts it, lists its tools, stops it."""
    from autoagent_core.cli.common import one_line, print_json, settings
    from autoagent_core.errors import AutoagentError, ConfigError, NotFoundError
    from autoagent_plugins.mcp.client import McpToolSource
    from autoagent_plugins.mcp.servers_config import all_servers

    servers = all_servers(include_untrusted=True)
    if name in servers and not servers[name].trusted:
        from pathlib import Path

        from autoagent_plugins.mcp.project_trust import (
            read_project_file,
            trust_state,
            untrusted_message,
        )

        read = read_project_file(Path(servers[name].origin))
        if read is not None:
            raise ConfigError(untrusted_message(read, trust_state(read)))
    if name not in servers:
        raise NotFoundError(f"no MCP server named '{name}' (see 'autoagent mcp list')")
    failures: list[str] = []
    source = McpToolSource(settings(), {name: servers[name]}, warn=failures.append)
    try:
        found = source.tools_of(name)
    finally:
        source.close()
    if failures:
        raise AutoagentError(failures[0].replace(" (its tools are left out)", ""))
    if as_json:
        print_json([{"name": f"{name}.{t.name}", "description": t.description or "",
                     "input_schema": t.input_schema} for t in found])
        return
    if not found:
        print(f"MCP server '{name}' has no tools", file=sys.stderr)
    for t in found:
        sys.stdout.write(f"{name}.{one_line(t.name, 80)}\t{one_line(t.description or '', 90)}\n")


@app.command("serve")
def serve(
    tools_dir: str = typer.Option(None, "--tools-dir", metavar="DIR",
                                  help="Tool library folder (default .permanent_tools)."),
    sandbox: str = typer.Option(None, "--sandbox", metavar="strict|open",
                                help="How calls run, as for 'tools run' (default: the "
                                     "settings, DANGEROUS_TOOLS)."),
    http: str = typer.Option(None, "--http", metavar="HOST:PORT",
                             help="Streamable HTTP on HOST:PORT (host 127.0.0.1 when only "
                                  "a port is given) instead of stdio."),
    token_file: str = typer.Option(None, "--token-file", metavar="FILE",
                                   help="With --http: the Bearer token clients must send, "
                                        "read from FILE (created, mode 0600, when missing; "
                                        "default: mcp-serve-token in the config folder)."),
    allow_remote: bool = typer.Option(False, "--allow-remote",
                                      help="With --http: allow a bind beyond loopback."),
    allow_net: list[str] = typer.Option(None, "--allow-net", metavar="HOST[:PORT]",
                                        help="Let tools in open mode reach HOST on this "
                                             "machine or a private network (repeatable)."),
) -> None:
    """Serve the tool library as an MCP server (stdio by default).

    Every tool is listed with its description and an input schema from its signature;
    calls run in the sandbox like 'tools run' and are recorded in the tool's run history
    as caller mcp:<client name>. Clients are notified when the library changes.
    """
    from autoagent_core.cli.tools_cmd import _settings as tool_settings
    from autoagent_core.layers import open_tool_store
    from autoagent_plugins.mcp.server import parse_http
    from autoagent_plugins.mcp.server import serve as run_server

    token = ""
    if http is not None:
        from pathlib import Path

        from autoagent_core.redact import remember_secret
        from autoagent_plugins.mcp.http_auth import (
            check_bind,
            default_token_path,
            load_or_create_token,
        )

        host, _ = parse_http(http)  # a usage error before anything starts
        check_bind(host, allow_remote)
        path = Path(token_file).expanduser() if token_file else default_token_path()
        token, created = load_or_create_token(path)
        remember_secret(token)
        print(f"autoagent: clients must send the token in an Authorization Bearer header; "
              f"the token is "
              f"{'new, ' if created else ''}in {path}", file=sys.stderr, flush=True)
    elif token_file or allow_remote:
        from autoagent_core.errors import UsageError

        raise UsageError("--token-file and --allow-remote go with --http")
    chosen = tool_settings(tools_dir, sandbox, allow_net=allow_net)
    run_server(chosen, open_tool_store(chosen), http, token)
