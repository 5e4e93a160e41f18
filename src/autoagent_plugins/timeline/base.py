"""What the file-writing recorders share: write-time redaction and the end-of-run write.

The end-of-run files (``timeline.md``, ``timeline.html``, ``transcript.json``) are
derived from the events, which ``events.jsonl`` keeps (and fsyncs at the end of the
run). They are written atomically (temp file, ``os.replace``), so a reader or a crash
never sees half a file, but without an fsync of their own: three fsyncs would cost more
than recording a short run, and ``autoagent runs show`` rebuilds a missing page from
``events.jsonl``.

Events reach recorders already redacted by the EventBus; each recorder redacts again
with :func:`~autoagent_core.redact.redactor_for` before anything touches a file (defence
in depth: a recorder driven by another caller, or a secret the bus did not know, still
never reaches the disk).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autoagent_core.atomic import atomic_write_bytes
from autoagent_core.redact import Redactor, redactor_for
from autoagent_core.types import Event
from autoagent_plugins.timeline.model import scrub


def make_redactor(settings: Any) -> Redactor:
    return redactor_for(settings)


def event_dict(event: Any) -> dict[str, Any]:
    """An event as a dict, whether it is an :class:`Event` or already a dict."""
    if isinstance(event, Event):
        return event.to_dict()
    if isinstance(event, dict):
        return event
    return {"kind": str(getattr(event, "kind", "unknown")),
            "data": getattr(event, "data", {}), "ts": getattr(event, "ts", None),
            "seq": getattr(event, "seq", 0)}


class BufferedRecorder:
    """Keeps the (redacted) events of the run and writes one file at :meth:`close`,
    atomically, also when the run failed or was interrupted."""

    filename = ""

    def __init__(self, settings: Any, run_dir: Path) -> None:
        self.settings = settings
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.redactor = make_redactor(settings)
        self.events: list[dict[str, Any]] = []
        self.closed = False

    @property
    def path(self) -> Path:
        return self.run_dir / self.filename

    def handle(self, event: Event) -> None:
        if self.closed:
            return
        data = event_dict(event)
        if self.wants(str(data.get("kind", ""))):
            self.events.append(data)

    def wants(self, kind: str) -> bool:
        """Whether an event of this kind is kept (all by default)."""
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        events = scrub(self.redactor, self.events)
        text = self.redactor.text(self.render(events))
        atomic_write_bytes(self.path, text.encode("utf-8", "backslashreplace"), fsync=False)

    def render(self, events: list[dict[str, Any]]) -> str:
        raise NotImplementedError
