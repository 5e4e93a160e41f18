"""``autoagent tools``: (in progress)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage tools.", no_args_is_help=True)
