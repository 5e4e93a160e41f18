"""The events of the guided strategy's checks as one line each, for the timelines
(``timeline.md``, ``timeline.html``): which library tools were offered, each candidate the
sandbox ran (the tool's sampled bodies, the Supervisor's expressions, the second tool), the
verdict on the kept value, and a grammar the backend refused."""

from __future__ import annotations

from typing import Any

KINDS = ("tools_offered", "candidate_run", "answer_checked", "format_refused")
WIDTH = 160
"""Characters of a value shown in a line."""


def _shown(value: Any) -> str:
    # imported when a line is rendered: the timelines import this module on every run
    from autoagent_core.loop.guided_checks import shown

    return shown(value, WIDTH)


def _call(data: dict[str, Any]) -> str:
    args = data.get("args")
    shown = ", ".join(f"{k}={_shown(v)}" for k, v in args.items()) if isinstance(
        args, dict) else ""
    return f"{data.get('name')}({shown})"


def summary(kind: str, data: dict[str, Any]) -> str | None:
    """One line saying what happened, or None for a kind that is not a guided check."""
    if kind == "tools_offered":
        tools = ", ".join(str(t) for t in data.get("tools") or [])
        return (f"library tools that fit the task: {tools}" if tools else
                f"no library tool fits the task (fit score under {data.get('threshold')})")
    if kind == "candidate_run":
        if data.get("ok"):
            return f"candidate {_call(data)} returned {_shown(data.get('result'))}"
        return f"candidate {_call(data)} failed: {_shown(data.get('error') or '')}"
    if kind == "answer_checked":
        verdict = "agreed" if data.get("agreed") else "not confirmed"
        return (f"check of {data.get('name')}: {_shown(data.get('value'))} {verdict} "
                f"(kind asked: {data.get('kind') or '-'}; the tool's samples: "
                f"{data.get('support')} with it, others {_shown(data.get('others') or [])}; "
                f"independent checks computed {_shown(data.get('second') or [])})")
    if kind == "format_refused":
        return (f"the backend refused the {data.get('step')} step's grammar "
                f"({_shown(data.get('error') or '')}); asked again without it")
    return None
