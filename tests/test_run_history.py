"""Long runs fit a model's context: the Coder's conversation is rebuilt from the session
with the recent turns in full, older ones summarised, and long texts cut."""

from __future__ import annotations

import itertools

from autoagent_core.loop.prompts import HISTORY_FULL_TURNS, coder_messages, supervisor_review
from autoagent_core.types import Session, Turn


def _session(turns: int, big: int = 50_000) -> Session:
    session = Session(id="long", task="Crunch the data")
    for i in range(1, turns + 1):
        turn = Turn(index=i)
        turn.messages.append({"agent": "coder", "role": "assistant", "content": "x" * big})
        turn.actions.append({"agent": "coder", "type": "run_tool", "name": "crunch",
                             "args": {"n": i}})
        turn.results.append({"agent": "coder", "index": 0, "type": "run_tool",
                             "name": "crunch", "ok": False,
                             "action": {"type": "run_tool", "name": "crunch", "args": {"n": i}},
                             "error": {"class": "type", "message": "m" * big,
                                       "traceback": "t" * big, "suggestions": ["check args"]},
                             "stderr": "e" * big})
        turn.decision = {"decision": "continue", "feedback": f"try again {i}", "tips": ["t"]}
        session.turns.append(turn)
    return session


def _size(session: Session) -> int:
    return sum(len(m.content) for m in coder_messages(session, "system", 5))


def test_recent_turns_in_full_older_summarised() -> None:
    messages = coder_messages(_session(12), "system", 5)
    assert [m.role for m in messages[:2]] == ["system", "user"]
    assert "Earlier turns (summary)" in messages[1].content
    assert "- turn 1: coder: run_tool crunch failed (type)" in messages[1].content
    assistants = [m for m in messages if m.role == "assistant"]
    assert len(assistants) == HISTORY_FULL_TURNS
    roles = [m.role for m in messages[1:]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # roles alternate
    assert messages[-1].role == "user" and "You have 5 turns left" in messages[-1].content


def test_history_stays_bounded_however_long_the_run() -> None:
    small, large, huge = _size(_session(10)), _size(_session(40)), _size(_session(400))
    assert small < 120_000
    assert large - small < 30 * 300
    assert abs(huge - large) < 500  # beyond the summary cap only the turn numbers grow


def test_supervisor_review_is_bounded() -> None:
    session = _session(30)
    review = supervisor_review(session, session.turns[-1], "thinking", 3)
    assert len(review) < 20_000
    assert "Decide now" in review
