"""The ``scripted`` backend: replays a file of replies, so runs are reproducible without a model.

The file (the ``script`` setting, ``--script FILE``) holds a JSON list. Each item is either
a string (the raw reply text, for whichever agent asks) or an object
``{"agent": "coder" | "supervisor" | "<agent name>", "text": "..."}``. Replies are consumed
in order; a reply meant for another agent, or running out of replies, is a
:class:`~autoagent_core.errors.ScriptError` that says which reply and which agents.
``--record FILE`` on a real run writes such a file (:mod:`autoagent_core.recording`).

The file is read and checked when the backend is opened, so a bad file stops a run before
it starts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import ScriptError, UsageError
from autoagent_core.types import Completion, CompletionOptions, Message, Usage

if TYPE_CHECKING:
    from autoagent_core.config import Settings

MODEL_NAME = "scripted"
SCRIPT_MAX_DEPTH = 8
"""A script is a list of strings or small objects: deeper nesting is refused."""
STREAM_CHUNKS = 3
"""How many pieces ``on_text`` receives for one reply (a stream in miniature)."""


@dataclass(frozen=True)
class ScriptedReply:
    """One reply of a script. ``agent`` is ``None`` when any agent may receive it."""

    text: str
    agent: str | None = None

    def to_item(self) -> str | dict[str, str]:
        """The reply as an item of a script file."""
        return self.text if self.agent is None else {"agent": self.agent, "text": self.text}


def parse_script(data: Any, source: str = "the script") -> list[ScriptedReply]:
    """Check the shape of a parsed script file and return its replies.

    Raises :class:`UsageError` naming the first bad item.
    """
    if not isinstance(data, list):
        raise UsageError(
            f"{source} must hold a JSON list of replies (strings or "
            f'{{"agent": ..., "text": ...}} objects), not a JSON {_json_kind(data)}'
        )
    replies: list[ScriptedReply] = []
    for number, item in enumerate(data, start=1):
        if isinstance(item, str):
            replies.append(ScriptedReply(item))
            continue
        if not isinstance(item, dict):
            raise UsageError(
                f"{source}: reply {number} must be a string or an object with 'agent' and "
                f"'text', not a JSON {_json_kind(item)}"
            )
        unknown = sorted(set(item) - {"agent", "text"})
        if unknown:
            raise UsageError(f"{source}: reply {number} has unknown keys: {', '.join(unknown)}")
        text = item.get("text")
        if not isinstance(text, str):
            raise UsageError(f"{source}: reply {number} needs a 'text' string")
        agent = item.get("agent")
        if agent is not None and (not isinstance(agent, str) or not agent.strip()):
            raise UsageError(f"{source}: reply {number} has an empty or non-string 'agent'")
        replies.append(ScriptedReply(text, agent))
    return replies


def load_script(path: Path) -> list[ScriptedReply]:
    """Read and check a script file; every problem is a :class:`UsageError` saying what."""
    import stat

    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UsageError(f"the script file {path} is not a regular file")
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"the script file {path} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"the script file {path} is a directory") from None
    except UnicodeDecodeError:
        raise UsageError(f"the script file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read the script file {path}: {exc.strerror or exc}") from None
    from autoagent_core.protocol import json_scan

    try:
        data = json_scan.loads(raw, max_depth=SCRIPT_MAX_DEPTH)
    except json_scan.JsonScanError as exc:
        raise UsageError(f"the script file {path} is not valid JSON: {exc}") from None
    return parse_script(data, f"the script file {path}")


def approx_tokens(text: str) -> int:
    """A rough token count (words), so usage figures of a replayed run are not zero."""
    return len(text.split())


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean",
            int: "number", float: "number"}.get(type(value), "null")


def _chunks(text: str, count: int) -> list[str]:
    """Split ``text`` into at most ``count`` pieces that join back to it exactly."""
    if not text:
        return []
    size = max(1, -(-len(text) // count))
    return [text[i:i + size] for i in range(0, len(text), size)]


class ScriptedBackend:
    """Replays :class:`ScriptedReply` items in order, checking which agent asks."""

    name = "scripted"
    model = MODEL_NAME

    def __init__(self, replies: Sequence[ScriptedReply], source: str = "the script") -> None:
        self.replies = list(replies)
        self.source = source
        self.position = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> ScriptedBackend:
        """Open the file named by the ``script`` setting."""
        if not settings.script:
            raise UsageError(
                "the scripted backend needs a script file: pass --script FILE "
                "(or set AUTOAGENT_SCRIPT)"
            )
        path = Path(settings.script).expanduser()
        return cls(load_script(path), source=f"the script {path}")

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        started = time.perf_counter()
        number = self.position + 1
        if self.position >= len(self.replies):
            raise ScriptError(
                f"{self.source} ran out of replies: agent '{options.agent}' asked for reply "
                f"{number} but the script has {len(self.replies)}"
            )
        reply = self.replies[self.position]
        if reply.agent is not None and reply.agent != options.agent:
            raise ScriptError(
                f"{self.source}: reply {number} is for agent '{reply.agent}' but agent "
                f"'{options.agent}' is asking"
            )
        self.position += 1
        if options.on_text is not None:
            for piece in _chunks(reply.text, STREAM_CHUNKS):
                options.on_text(piece)
        usage = Usage(
            prompt_tokens=sum(approx_tokens(m.content) for m in messages),
            completion_tokens=approx_tokens(reply.text),
        )
        return Completion(
            text=reply.text,
            usage=usage,
            model=MODEL_NAME,
            finish_reason="stop",
            latency_s=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Nothing to release."""

