"""Redacting stdout and stderr: every byte a command prints passes the process's redactor.

:func:`install` wraps ``sys.stdout`` and ``sys.stderr`` once, at start-up. Text is held
until a newline or a flush so a secret split over two writes is still caught.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any, TextIO


class RedactingStream(io.TextIOBase):
    """A text stream that redacts whole lines before they reach ``target``."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._target.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._target.errors

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._pending += text
        cut = self._pending.rfind("\n")
        if cut >= 0:
            self._emit(self._pending[: cut + 1])
            self._pending = self._pending[cut + 1:]
        return len(text)

    def flush(self) -> None:
        # also at exit: a reader that went away (``autoagent ... | head``) is no error here
        try:
            if self._pending:
                pending, self._pending = self._pending, ""
                self._emit(pending)
            self._target.flush()
        except BrokenPipeError:
            self._discard()

    def _emit(self, text: str) -> None:
        from autoagent_core.redact import redactor_for

        try:
            self._target.write(redactor_for(_settings()).text(text))
        except BrokenPipeError:
            self._discard()
            raise  # the command stops; the CLI exits 0 (see cli.app)

    def _discard(self) -> None:
        """Send whatever is still written to /dev/null: the reader is gone."""
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._target.fileno())
            os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":  # writes to the bytes underneath would bypass the redactor
            raise AttributeError(name)
        return getattr(self._target, name)


def _settings() -> Any:
    return None  # the redactor's own sources cover the secret settings


def install() -> None:
    """Wrap stdout and stderr (once)."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
