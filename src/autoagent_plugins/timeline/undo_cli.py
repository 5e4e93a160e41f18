"""``autoagent runs undo``: put back the files a run's tools wrote to the working directory
(open mode's staged writes; the journal is kept by :mod:`autoagent_core.sandbox.staging.undo`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from autoagent_plugins.timeline.cli import LOG_DIR_HELP, _settings, runs_app


@runs_app.command("undo")
def undo_command(
    run: str = typer.Argument(..., help="Run folder name, session id, or the name 'tools "
                                        "run' printed for a call outside a run."),
    log_dir: Path = typer.Option(None, "--log-dir", help=LOG_DIR_HELP),
) -> None:
    """Put the working directory back as it was before the run's tools wrote to it.

    Each file the run wrote is removed (or its earlier content restored, or a file it
    deleted put back) only where it still holds what the run wrote; a file changed since
    is left alone and named. Exit 1 when any file was left alone."""
    from autoagent_core.errors import NotFoundError
    from autoagent_core.sandbox.staging.undo import find_undo_folder, read_journal, undo

    settings = _settings(log_dir)
    folder = find_undo_folder(settings.path("log_dir"), run)
    if not read_journal(folder):
        raise NotFoundError(f"run '{run}' wrote nothing to the working directory: nothing "
                            "to undo")
    report = undo(folder)
    if report.already:
        print(f"autoagent: run '{run}' was already undone", file=sys.stderr)
        return
    for line in report.done:
        print(line)
    for line in report.refused:
        print(f"autoagent: not undone: {line}", file=sys.stderr)
    if report.refused:
        raise typer.Exit(1)

