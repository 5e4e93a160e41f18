"""``autoagent sessions``: (in progress)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage sessions.", no_args_is_help=True)
