"""``autoagent run``: (in progress)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(task: str = typer.Argument(None, help="The task.")) -> None:
        """Solve a task with the Coder and the Supervisor."""
        raise typer.Exit(2)
