"""``autoagent runs``: list the runs kept in the log folder and show one's timeline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

runs_app = typer.Typer(help="List runs and show their timelines (.runs/ by default).",
                       no_args_is_help=True)

LOG_DIR_HELP = "Run timelines folder (default .runs; setting log_dir)."
TASK_WIDTH = 60


def _settings(log_dir: Path | None) -> Any:
    from autoagent_core.cli.common import settings

    return settings(log_dir=str(log_dir) if log_dir is not None else None)


def _short(text: str, width: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[:width - 3] + "..."


@runs_app.command("list")
def list_command(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON list."),
    log_dir: Path = typer.Option(None, "--log-dir", help=LOG_DIR_HELP),
) -> None:
    """List runs, most recent first: folder, start time, task, status, turns."""
    from autoagent_core.cli.common import console, is_terminal, print_json
    from autoagent_core.redact import redactor_for
    from autoagent_plugins.timeline.runs import list_runs

    settings = _settings(log_dir)
    directory = settings.path("log_dir")
    redactor = redactor_for(settings)
    runs = list_runs(directory)
    for info in runs:
        info.task = redactor.text(info.task)
    if json_output:
        print_json([info.to_dict() for info in runs])
        return
    if not runs:
        print(f"No runs in {directory}.", file=sys.stderr)
        return
    if is_terminal():
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False)
        for column in ("Folder", "Started", "Status", "Turns", "Task"):
            table.add_column(column, justify="right" if column == "Turns" else "left",
                             overflow="ellipsis", no_wrap=column != "Task")
        for info in runs:
            table.add_row(info.folder, info.started, info.status, str(info.turns),
                          _short(info.task, 200))
        console().print(table)
        return
    rows = [("FOLDER", "STARTED", "STATUS", "TURNS", "TASK")]
    rows += [(i.folder, i.started or "-", i.status, str(i.turns), _short(i.task, TASK_WIDTH))
             for i in runs]
    widths = [max(len(row[n]) for row in rows) for n in range(4)]
    for row in rows:
        cells = [row[n].ljust(widths[n]) for n in range(4)]
        print("  ".join([*cells, row[4]]).rstrip())


@runs_app.command("show")
def show_command(
    run: str = typer.Argument(..., help="Run folder name (see 'runs list') or session id."),
    html: bool = typer.Option(False, "--html", help="Print the path of timeline.html."),
    log_dir: Path = typer.Option(None, "--log-dir", help=LOG_DIR_HELP),
) -> None:
    """Print a run's timeline (Markdown), or with --html the path of its HTML page."""
    from autoagent_plugins.timeline.runs import find_run, html_path, markdown_of

    settings = _settings(log_dir)
    folder = find_run(settings.path("log_dir"), run)
    if html:
        print(html_path(folder, settings).resolve())
        return
    sys.stdout.write(markdown_of(folder, settings))
