"""``autoagent agents``: list, show and delete the specialised agents the runs created."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from autoagent_core.cli.common import is_terminal, one_line, print_json

if TYPE_CHECKING:
    from autoagent_core.types import AgentRegistry

app = typer.Typer(help="Manage the specialised agents (list, show, delete).",
                  no_args_is_help=True)

AGENTS_DIR = typer.Option(None, "--agents-dir", metavar="DIR",
                          help="Agent registry folder (default .agents).")


def _registry(agents_dir: str | None) -> AgentRegistry:
    from autoagent_core.cli.common import settings
    from autoagent_core.layers import open_agent_registry

    return open_agent_registry(settings(agents_dir=agents_dir))


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="A JSON list on stdout."),
    agents_dir: str = AGENTS_DIR,
) -> None:
    """Every agent. In a pipe: one tab-separated line each: name, uses, created_by, role."""
    agents = _registry(agents_dir).list_agents()
    if as_json:
        print_json([a.to_dict() for a in agents])
        return
    if not agents:
        print("no agents", file=sys.stderr)
        return
    if is_terminal():
        from rich.table import Table
        from rich.text import Text

        from autoagent_core.cli.common import console

        table = Table("name", "role", "uses", "created by", "created (UTC)",
                      title=f"{len(agents)} agent(s)")
        for a in agents:
            table.add_row(a.name, Text(one_line(a.role, 60)), str(a.uses),
                          Text(one_line(a.created_by, 40)),
                          a.created_at[:16].replace("T", " "))
        console().print(table)
        return
    sys.stdout.write("".join(f"{a.name}\t{a.uses}\t{one_line(a.created_by, 40)}\t"
                             f"{one_line(a.role, 80)}\n"
                             for a in agents))


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Agent name."),
    as_json: bool = typer.Option(False, "--json", help="The agent as JSON."),
    agents_dir: str = AGENTS_DIR,
) -> None:
    """An agent's role, instructions and statistics."""
    agent = _registry(agents_dir).get(name)
    if as_json:
        print_json(agent.to_dict())
        return
    from autoagent_core.terminal_text import safe_text

    print(f"name: {agent.name}\nrole: {safe_text(agent.role, one_line=True)}\ncreated by: "
          f"{safe_text(agent.created_by, one_line=True)}"
          f"\ncreated at: {agent.created_at}\nuses: {agent.uses}\ninstructions:")
    for line in agent.instructions.splitlines() or [""]:
        print(f"  {safe_text(line, one_line=True)}")


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Agent name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (needed in scripts)."),
    agents_dir: str = AGENTS_DIR,
) -> None:
    """Delete an agent."""
    from autoagent_core.cli.common import confirm_or_abort

    registry = _registry(agents_dir)
    agent = registry.get(name)  # not found -> exit 6 before asking
    confirm_or_abort(f"Delete agent {agent.name} ({one_line(agent.role, 60)})?", yes)
    registry.delete(name)
    print(f"deleted agent {name}")
