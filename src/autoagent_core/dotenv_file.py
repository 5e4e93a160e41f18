"""A project's ``.env`` read quietly: python-dotenv reports a line it cannot parse through
:mod:`logging`, whose last-resort handler writes to stderr, which autoagent redacts with
the secrets of that same ``.env`` (so a bad line re-entered the parser without end). Here
the parser's logging is off, and each unparsable line is said once per process by the CLI
(:func:`bad_lines`), in one line that names the file and the line."""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from pathlib import Path

_logger_silenced = False


def _silence() -> None:
    global _logger_silenced
    if not _logger_silenced:
        logging.getLogger("dotenv").disabled = True
        logging.getLogger("dotenv.main").disabled = True
        _logger_silenced = True


def dotenv_values_quiet(path: Path | str | None = None,
                        text: str | None = None) -> Mapping[str, str | None]:
    """``dotenv_values`` of a file (or of ``text``) without its logging."""
    from dotenv import dotenv_values

    _silence()
    if text is not None:
        return dotenv_values(stream=io.StringIO(text))
    return dotenv_values(path)


def bad_lines(path: Path) -> list[int]:
    """The numbers of the lines of ``path`` that are not ``KEY=VALUE`` (nor blank or a
    comment); empty when the file cannot be read."""
    from dotenv.parser import parse_stream

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
