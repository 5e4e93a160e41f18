"""How a run ended (:class:`RunOutcome`, what ``run --json`` prints) and the small helpers
the loop uses to finish a run. Imports the core's types only."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autoagent_core.errors import AutoagentError
from autoagent_core.types import Session, Turn


@dataclass
class RunOutcome:
    """How a run ended. ``error`` is the exception the CLI reports (None when done)."""

    session: Session
    run_dir: Path | None
    duration_s: float
    error: AutoagentError | None = None
    turns_this_run: int = 0

    @property
    def status(self) -> str:
        return self.session.status

    def to_json(self) -> dict[str, Any]:
        """What ``autoagent run --json`` prints."""
        session = self.session
        return {
            "session_id": session.id,
            "status": session.status,
            "answer": session.answer,
            "candidate": session.candidate,
            "turns": session.turn_count,
            "tools_created": session.tools_created,
            "tools_used": session.tools_used,
            "agents_created": session.agents_created,
            "usage": session.usage.to_dict(),
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "files": self.written("files"),
            "refused": self.written("refused"),
            "duration_s": round(self.duration_s, 3),
            "error": str(self.error) if self.error else None,
        }

    def written(self, key: str = "files") -> list[dict[str, Any]]:
        """The files this run's tool calls committed to the working directory (``files``)
        or were refused (``refused``), each with the tool and turn."""
        turns = self.session.turns[-self.turns_this_run:] if self.turns_this_run else []
        found = []
        for turn in turns:
            for result in turn.results:
                for item in result.get(key) or []:
                    found.append({**item, "tool": result.get("name"), "turn": turn.index})
        return found


def last_result_text(turn: Turn) -> str:
    """The last successful tool result of a turn, as text (an answer of last resort)."""
    for result in reversed(turn.results):
        if result.get("type") == "run_tool" and result.get("ok"):
            value = result.get("result")
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ""


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Ignore Ctrl-C while the final save runs, so a second Ctrl-C cannot lose it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
