"""``autoagent mcp``: add, list and remove the MCP servers whose tools autoagent uses."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(help="MCP servers whose tools autoagent uses (add, list, remove).",
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
    """Every configured server (environment values masked)."""
    from autoagent_core.cli.common import print_json
    from autoagent_plugins.mcp.servers_config import all_servers

    servers = all_servers()
    if as_json:
        print_json([s.public_dict() for s in servers.values()])
        return
    for s in servers.values():
        env = " ".join(f"{k}=(set, hidden)" for k in s.env)
        sys.stdout.write(f"{s.name}\t{s.transport}\t{s.target()}\t{env}\t{s.origin}\n")


@app.command("remove")
def remove(name: str = typer.Argument(..., help="Server name.")) -> None:
    """Remove a server from the user config."""
    from autoagent_plugins.mcp.servers_config import remove_server

    remove_server(name)
    print(f"removed MCP server '{name}'", file=sys.stderr)
