"""``--record FILE``: write the replies of a run as a script the ``scripted`` backend replays.

:class:`RecordingBackend` wraps any backend. After each reply it rewrites the file
atomically (a reader, or a run that crashes a moment later, sees the previous or the new
complete script, never half of one) with ``{"agent": ..., "text": ...}`` items in the
order the replies arrived, so ``--script FILE`` replays the run exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from autoagent_core.atomic import atomic_write_json

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import Completion, CompletionOptions, LLMBackend, Message


class RecordingBackend:
    """An :class:`~autoagent_core.types.LLMBackend` that records every reply of ``inner``.

    The file is written once when the wrapper is made (an empty script), so a path that
    cannot be written stops the run before the first request rather than after it.
    """

    def __init__(self, inner: LLMBackend, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.items: list[dict[str, str]] = []
        self.name = inner.name
        self.model = inner.model
        offered = getattr(inner, "protocols", None)
        if callable(offered):  # the run chooses its protocol from the wrapped backend
            self.protocols = offered
        self._write()

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        from autoagent_core.redact import redactor_for

        completion = self.inner.complete(messages, options)
        # the script is a file in the user's folder: a secret in a reply is masked there
        self.items.append({"agent": options.agent,
                           "text": redactor_for().text(completion.text)})
        self._write()
        return completion

    def close(self) -> None:
        self.inner.close()

    def _write(self) -> None:
        atomic_write_json(self.path, self.items)


def record_if_asked(backend: LLMBackend, settings: Settings) -> LLMBackend:
    """Wrap ``backend`` in a :class:`RecordingBackend` when the ``record`` setting names a
    file; otherwise return it unchanged."""
    if not settings.record:
        return backend
    return RecordingBackend(backend, Path(settings.record).expanduser())
