"""The event stream of a run: every enabled recorder receives every event.

Events pass through the :class:`~autoagent_core.redact.Redactor` before any recorder sees
them, so no recorder can write a secret. A recorder that raises is reported once on
stderr and disabled for the rest of the run; the run goes on.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any

from autoagent_core.redact import Redactor
from autoagent_core.types import Event, TimelineRecorder


def _print_warning(message: str) -> None:
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)



class EventBus:
    """Fans events out to recorders (and optional in-process listeners such as the live
    terminal view)."""

    def __init__(
        self,
        recorders: list[tuple[str, TimelineRecorder]] | None = None,
        redactor: Redactor | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.recorders = list(recorders or [])
        self.redactor = redactor or Redactor()
        self.listeners: list[Callable[[Event], None]] = []
        self._seq = 0
        self._closed = False
        self._warn = warn or _print_warning

    def emit(self, kind: str, /, **data: Any) -> Event:
        """Redact, number and deliver one event. (``kind`` is positional-only, so the
        ``error`` event can carry a ``kind`` field.)"""
        self._seq += 1
        event = Event(kind=kind, data=self.redactor(data), ts=time.time(), seq=self._seq)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception as exc:  # a display problem must not stop the run
                self.listeners.remove(listener)
                self._warn(f"event listener disabled: {type(exc).__name__}: {exc}")
        for name, recorder in list(self.recorders):
            try:
                recorder.handle(event)
            except Exception as exc:
                self._disable(name, recorder, exc)
        return event

    def _disable(self, name: str, recorder: TimelineRecorder, exc: Exception) -> None:
        self.recorders = [(n, r) for n, r in self.recorders if r is not recorder]
        message = self.redactor.text(f"{type(exc).__name__}: {exc}")
        self._warn(f"timeline recorder '{name}' failed and is disabled for this run: {message}")
        with contextlib.suppress(Exception):
            recorder.close()

    def close(self) -> None:
        """Close every recorder once (Markdown, HTML and transcript are written here)."""
        if self._closed:
            return
        self._closed = True
        for name, recorder in list(self.recorders):
            try:
                recorder.close()
            except Exception as exc:
                message = self.redactor.text(f"{type(exc).__name__}: {exc}")
                self._warn(f"timeline recorder '{name}' failed while closing: {message}")
