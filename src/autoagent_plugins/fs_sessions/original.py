"""The original AutoAgent's session shape, read and written beside autoagent's own.

The original writes ``{"metadata": {8 keys}, "transcript": [{role, content}],
"tools_used": [names], "custom_data": {...}}``. Its transcript holds no task; a Coder step
is an ``assistant`` message prefixed ``[Coder]`` (a proposed answer follows ``Propuesta de
respuesta:``), the Supervisor's feedback a ``user`` message prefixed ``[Supervisor]`` (a
reason, then ``Acciones requeridas:`` and numbered tips), a specialised agent's reply
``[Agente Especializado: NAME]`` or ``[Agente: NAME]``. Here those messages become
autoagent turns, and every save writes the four keys back (``metadata`` with exactly its
eight fields: the original builds a dataclass from it and rejects any other key), so the
original can still load and resume the file.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from autoagent_core.types import Turn

if TYPE_CHECKING:
    from autoagent_core.types import Session

ORIGINAL_KEYS = ("metadata", "transcript", "tools_used", "custom_data")
METADATA_KEYS = ("session_id", "task", "created_at", "updated_at", "total_turns", "status",
                 "model", "tags")
TRANSCRIPT_ENTRY_CHARS = 4000
_AGENT_RE = re.compile(r"^\[(?:Agente Especializado|Agente): ([^\]]+)\]\s*")
_TIP_RE = re.compile(r"^\s*\d+[.)]\s+(.*\S)")
_ANSWER_MARK = "Propuesta de respuesta:"
_TIPS_MARK = "Acciones requeridas:"


def _decision(text: str) -> dict[str, Any]:
    """The Supervisor's reason and tips, as autoagent's decision."""
    reason, _, rest = text.partition(_TIPS_MARK)
    tips = [m.group(1) for line in rest.splitlines() if (m := _TIP_RE.match(line))]
    return {"decision": "continue", "feedback": reason.strip(),
            "tips": tips, "original": True}


def _answer(coder_text: str) -> str | None:
    _, mark, answer = coder_text.partition(_ANSWER_MARK)
    return answer.strip() or None if mark else None


def turns_from_transcript(transcript: list[dict[str, Any]], started_at: str,
                          completed: bool) -> tuple[list[Turn], str | None]:
    """The transcript's turns (one per Coder step) and the last proposed answer."""
    turns: list[Turn] = []
    answer: str | None = None

    def new_turn() -> Turn:
        turn = Turn(index=len(turns) + 1, started_at=started_at, finished_at=started_at)
        turns.append(turn)
        return turn

    current: Turn | None = None
    for msg in transcript:
        content = str(msg.get("content", ""))
        if content.startswith("[Coder]"):
            text = content[len("[Coder]"):].strip()
            current = new_turn()
            current.messages.append({"agent": "coder", "role": "assistant", "content": text,
                                     "kind": "original"})
            answer = _answer(text) or answer
        elif content.startswith("[Supervisor]"):
            if current is None or current.decision is not None:
                current = new_turn()
            current.decision = _decision(content[len("[Supervisor]"):].strip())
        elif (match := _AGENT_RE.match(content)) is not None:
            current = current or new_turn()
            current.messages.append({"agent": match.group(1), "role": "assistant",
                                     "content": content[match.end():], "kind": "original"})
        else:  # "[Contexto]" (the tool ranking it showed) and anything else: kept as said
            current = current or new_turn()
            current.messages.append({"agent": "context", "role": "system",
                                     "content": content, "kind": "original"})
    if completed and turns:
        last = turns[-1]
        if answer is None:  # accepted without a proposal: the last step is the result
            answer = next((str(m["content"]) for m in reversed(last.messages)
                           if m.get("agent") == "coder"), None)
        if last.decision is None:
            last.decision = {"decision": "done", "answer": answer, "original": True}
        else:
            last.decision["decision"] = "done"
    return turns, answer


# --------------------------------------------------------------------------- writing


def _transcript_entry(turn: Turn) -> list[dict[str, str]]:
    """A turn autoagent ran, in the original's transcript form."""
    out: list[dict[str, str]] = []
    for msg in turn.messages:
        if msg.get("role") == "assistant" and msg.get("agent") == "coder":
            out.append({"role": "assistant",
                        "content": "[Coder] " + str(msg.get("content", ""))})
    out = out[-1:]  # the reply that was used
    for result in turn.results:
        if result.get("agent") == "coder" and result.get("type") == "ask_agent":
            name = (result.get("action") or {}).get("name", "?")
            out.append({"role": "assistant", "content": f"[Agente Especializado: {name}] "
                        + str(result.get("message") or result.get("result") or "")})
    decision = turn.decision or {}
    if decision.get("feedback") or decision.get("tips"):
        text = "[Supervisor] " + str(decision.get("feedback") or decision.get("decision", ""))
        tips = [str(t) for t in decision.get("tips") or []][:6]
        if tips:
            text += f"\n\n{_TIPS_MARK}\n" + "\n".join(f"  {n}. {t}"
                                                       for n, t in enumerate(tips, 1))
        out.append({"role": "user", "content": text})
    for entry in out:
        if len(entry["content"]) > TRANSCRIPT_ENTRY_CHARS:
            entry["content"] = entry["content"][:TRANSCRIPT_ENTRY_CHARS] + "..."
    return out


def original_document(session: Session) -> dict[str, Any]:
    """The original's four keys for ``session``: what was read, brought up to date."""
    kept = session.original
    meta = kept.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    tags = meta.get("tags") if isinstance(meta.get("tags"), list) else []
    metadata = {
        "session_id": session.id, "task": session.task, "created_at": session.created_at,
        "updated_at": session.updated_at, "total_turns": session.turn_count,
        "status": "completed" if session.status == "completed" else "active",
        "model": session.model or meta.get("model") or "", "tags": tags,
    }
    transcript = list(kept.get("transcript") or [])
    for turn in session.turns[session.original_turns:]:
        transcript += _transcript_entry(turn)
    names = [str(t) for t in kept.get("tools_used") or [] if isinstance(t, str)]
    for use in session.tools_used:
        name = use.get("name")
        if isinstance(name, str) and name not in names:
            names.append(name)
    custom = kept.get("custom_data")
    custom = custom if isinstance(custom, dict) else {}
    return {"metadata": metadata, "transcript": transcript, "tools_used": names,
            "custom_data": custom}


def kept_original(data: dict[str, Any]) -> dict[str, Any]:
    """The original's keys of a session document, as read (for ``Session.original``)."""
    return {k: data[k] for k in ORIGINAL_KEYS if k in data}
