"""``autoagent agents``: (in progress)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage agents.", no_args_is_help=True)
