"""A third-party plugin for autoagent, installed with pip: it adds an LLM backend named
``echo`` (replies with the last user message, upper-cased) and a timeline recorder named
``counter`` (writes ``event-count.txt`` into the run folder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autoagent_core.hookspecs import hookimpl
from autoagent_core.types import Completion, Provider, Usage


class EchoBackend:
    name = "echo"

    def __init__(self, settings: Any) -> None:
        self.model = settings.model or "echo-1"

    def complete(self, messages: Any, options: Any) -> Completion:
        text = messages[-1].content.upper()
        if options.on_text is not None:
            options.on_text(text)
        return Completion(text=text, usage=Usage(len(messages), 1), model=self.model)

    def close(self) -> None:
        pass


class CountingRecorder:
    def __init__(self, settings: Any, run_dir: Path) -> None:
        self.path = Path(run_dir) / "event-count.txt"
        self.kinds: list[str] = []

    def handle(self, event: Any) -> None:
        self.kinds.append(event.kind)

    def close(self) -> None:
        self.path.write_text(json.dumps({"events": len(self.kinds), "kinds": self.kinds}))


@hookimpl
def autoagent_llm_backends() -> list[Provider]:
    return [Provider("echo", EchoBackend, "Echoes the last message, upper-cased")]


@hookimpl
def autoagent_timeline_recorders() -> list[Provider]:
    return [Provider("counter", CountingRecorder, "Counts the events of a run")]
