"""The default timeline recorders and the ``autoagent runs`` commands.

Recorders (each ``factory(settings, run_dir)``, selected by the ``recorders`` setting):

* ``jsonl``: ``events.jsonl``, one JSON object per event, written as it happens;
* ``markdown``: ``timeline.md``, the run turn by turn;
* ``html``: ``timeline.html``, one self-contained, script-free page;
* ``transcript``: ``transcript.json``, every message exchanged with the model, per agent.

This module is imported on every CLI start, so it imports nothing heavy: the recorder
classes live in ``timeline_*`` modules loaded when a run builds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Provider


def _jsonl(settings: Any, run_dir: Path) -> Any:
    from autoagent_plugins.timeline.jsonl import JsonlRecorder

    return JsonlRecorder(settings, run_dir)


def _markdown(settings: Any, run_dir: Path) -> Any:
    from autoagent_plugins.timeline.markdown import MarkdownRecorder

    return MarkdownRecorder(settings, run_dir)


def _html(settings: Any, run_dir: Path) -> Any:
    from autoagent_plugins.timeline.html import HtmlRecorder

    return HtmlRecorder(settings, run_dir)


def _transcript(settings: Any, run_dir: Path) -> Any:
    from autoagent_plugins.timeline.transcript import TranscriptRecorder

    return TranscriptRecorder(settings, run_dir)


@hookimpl
def autoagent_timeline_recorders() -> list[Provider]:
    return [
        Provider("jsonl", _jsonl, "events.jsonl: every event as one JSON line, as it happens"),
        Provider("markdown", _markdown, "timeline.md: the run turn by turn"),
        Provider("html", _html, "timeline.html: a self-contained page to read in a browser"),
        Provider("transcript", _transcript,
                 "transcript.json: every message exchanged with the model, per agent"),
    ]


@hookimpl
def autoagent_register_commands(app: Any) -> None:
    from autoagent_plugins.timeline import undo_cli  # noqa: F401 - adds ``runs undo``
    from autoagent_plugins.timeline.cli import runs_app

    app.add_typer(runs_app, name="runs")
