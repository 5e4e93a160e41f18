"""The messages each agent receives: system prompts from ``prompts/*.md``, and the history
of a session rendered so that it stays bounded.

The conversation is rebuilt from the saved session every turn, so a resumed run sees
exactly what an uninterrupted one would. Older turns are collapsed into one summary line
each and long results, code and replies are cut, so long runs fit a model's context.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from string import Template
from typing import Any

from autoagent_core.retrieval import rank
from autoagent_core.types import AgentSpec, Message, Session, ToolSpec, Turn

HISTORY_FULL_TURNS = 4  # the most recent turns shown in full; older ones are summarised
# when a model's context is too small for that, the request is rebuilt with fewer
HISTORY_SHRINK_STEPS = (HISTORY_FULL_TURNS, 1, 0)
SUMMARY_MAX_TURNS = 20  # summary lines kept for older turns (the oldest are left out)
RESULT_MAX_CHARS = 3000
CODE_MAX_CHARS = 4000
REPLY_MAX_CHARS = 8000
OUTPUT_MAX_CHARS = 1000


@cache
def load_prompt(name: str) -> str:
    """A prompt template shipped as package data (``loop/templates/<name>.md``)."""
    template = resources.files("autoagent_core.loop").joinpath("templates", f"{name}.md")
    return template.read_text("utf-8")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters cut]"


def as_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


# --------------------------------------------------------------------------- listings


def relevant_tools(tools: list[ToolSpec], query: str, limit: int,
                   preferred: set[str], scores: dict[str, float] | None = None
                   ) -> list[ToolSpec]:
    """At most ``limit`` tools: those this session made or used first, then the most
    relevant to ``query`` (BM25 over names and descriptions); each group ordered by the
    tools' telemetry score (the original AutoAgent's ranking), best first."""
    scores = scores or {}
    first = [t for t in tools if t.name in preferred][:limit]
    rest = [t for t in tools if t.name not in preferred]
    picked = rank(rest, query, limit - len(first), lambda t: (t.name, t.description))
    by_score = lambda t: -scores.get(t.name, 0.0)  # noqa: E731 - stable: ties keep order
    return sorted(first, key=by_score) + sorted(picked, key=by_score)


def render_tools(listed: list[ToolSpec], total: int,
                 scores: dict[str, float] | None = None) -> str:
    if not listed:
        return ("(none yet: create the tools you need)" if total == 0 else
                f"({total} tools in the library, none matches this task: create what you need)")
    scores = scores or {}
    lines = [f"- {t.signature()}{f' [v{t.version}]' if t.version > 1 else ''}"
             f"{f' [score {scores[t.name]:.2f}]' if t.name in scores else ''}: "
             f"{t.description or '(no description)'}" for t in listed]
    if total > len(listed):
        lines.append(f"({total - len(listed)} more tools not listed: no match for this task)")
    return "\n".join(lines)


def relevant_agents(agents: list[AgentSpec], query: str, limit: int) -> list[AgentSpec]:
    return rank(agents, query, limit, lambda a: (a.name, a.role))


def render_agents(listed: list[AgentSpec], total: int) -> str:
    if not listed:
        return "(none yet: create one with create_agent when a sub-problem needs a specialist)"
    lines = [f"- {a.name}: {a.role}" for a in listed]
    if total > len(listed):
        lines.append(f"({total - len(listed)} more agents are not listed)")
    return "\n".join(lines)


def coder_system(tools_text: str, agents_text: str) -> str:
    return Template(load_prompt("coder")).safe_substitute(
        actions=load_prompt("actions"), tools=tools_text, agents=agents_text) + \
        secrets_text()


def agent_system(spec: AgentSpec, tools_text: str, agents_text: str) -> str:
    return Template(load_prompt("agent")).safe_substitute(
        name=spec.name, role=spec.role, instructions=spec.instructions,
        actions=load_prompt("actions"), tools=tools_text, agents=agents_text) + \
        secrets_text()


def secrets_text() -> str:
    """The secrets section of a prompt: the names the user keeps (never a value) and how a
    tool gets one; empty when there are none."""
    from autoagent_core.secrets.store import known_secrets

    names = sorted(known_secrets())
    if not names:
        return ""
    return ("\n\n## Secrets\nThe user keeps these secrets: " + ", ".join(names) + ". A $NAME "
            "in the task stands for one. Never write a key into code or arguments: the tool "
            "reads it with os.environ[\"NAME\"] and declares it at the top of its code:\n"
            "# /// script\n# [tool.autoagent]\n# secrets = [\"NAME\"]\n# ///\n")


def supervisor_system(agents_text: str) -> str:
    return Template(load_prompt("supervisor")).safe_substitute(agents=agents_text)


# --------------------------------------------------------------------------- results


def describe_action(action: dict[str, Any]) -> str:
    """One line naming an action, e.g. ``run_tool sum_list {"numbers": [1, 2]}``."""
    kind = action.get("type", "?")
    if kind == "run_tool":
        return f"run_tool {action.get('name')} {clip(as_json(action.get('args', {})), 300)}"
    if kind == "final_answer":
        return f"final_answer {clip(str(action.get('answer', '')), 300)}"
    if kind == "ask_agent":
        return f"ask_agent {action.get('name')}: {clip(str(action.get('message', '')), 300)}"
    return f"{kind} {action.get('name', '')}".strip()


def describe_result(result: dict[str, Any], limit: int = RESULT_MAX_CHARS) -> str:
    """What an action produced, as the agents read it (bounded), with the files a tool
    run wrote to the working directory and the writes refused."""
    text = _describe_result(result, limit)
    if result.get("files") or result.get("refused"):
        from autoagent_core.sandbox.staging.report import file_lines

        lines = file_lines(result.get("files") or [], result.get("refused") or [])
        text += "\nworking directory: " + "; ".join(lines)
    return text


def _describe_result(result: dict[str, Any], limit: int) -> str:
    if result.get("ok"):
        kind = result.get("type")
        if kind == "run_tool":
            text = f"ok, result: {clip(as_json(result.get('result')), limit)}"
            if result.get("stdout"):
                text += f"\nstdout: {clip(str(result['stdout']), OUTPUT_MAX_CHARS)}"
            return text
        return f"ok: {clip(str(result.get('message', '')), limit)}"
    error = result.get("error") or {}
    text = f"FAILED ({error.get('class', 'error')}): {clip(str(error.get('message', '')), limit)}"
    if error.get("traceback"):
        text += f"\ntraceback (tail):\n{clip(str(error['traceback']), limit)}"
    if result.get("stderr"):
        text += f"\nstderr: {clip(str(result['stderr']), OUTPUT_MAX_CHARS)}"
    suggestions = error.get("suggestions") or []
    if suggestions:
        text += "\nsuggestions:\n" + "\n".join(f"- {s}" for s in suggestions)
    return text


def render_results(turn: Turn, agent: str) -> str:
    """The results of ``agent``'s actions in ``turn``, numbered."""
    lines = []
    for n, result in enumerate((r for r in turn.results if r.get("agent") == agent), start=1):
        lines.append(f"{n}. {describe_action(result.get('action', {}))}\n"
                     f"   -> {describe_result(result)}")
    return "\n".join(lines) if lines else "(no action was executed)"


def render_decision(decision: dict[str, Any] | None) -> str:
    if decision is None:
        return "The turn ended before the Supervisor decided (the run was interrupted)."
    text = f"Supervisor: {decision.get('decision', 'continue')}."
    if decision.get("feedback"):
        text += f"\nFeedback: {decision['feedback']}"
    tips = decision.get("tips") or []
    if tips:
        text += "\nTips:\n" + "\n".join(f"- {t}" for t in tips)
    return text


def summarize_turn(turn: Turn) -> str:
    """One line for a turn that is no longer shown in full."""
    parts = []
    for result in turn.results:
        action = result.get("action", {})
        status = "ok" if result.get("ok") else \
            f"failed ({(result.get('error') or {}).get('class', 'error')})"
        parts.append(f"{result.get('agent')}: {action.get('type')} {action.get('name', '')}"
                     .rstrip() + f" {status}")
    decision = turn.decision or {}
    feedback = clip(str(decision.get("feedback", "")), 200)
    reply = original_reply(turn) if not parts else None
    if reply:  # a turn of the original AutoAgent: what its Coder said is the record
        parts.append(f"you said: {clip(' '.join(reply.split()), 300)}")
    actions = "; ".join(parts) if parts else "no usable action"
    return (f"- turn {turn.index}: {actions}; supervisor: {decision.get('decision', 'none')}"
            + (f" ({feedback})" if feedback else ""))


# --------------------------------------------------------------------------- histories


def instruction_of(turn: Turn) -> str | None:
    """The follow-up instruction that started this turn, if any."""
    for message in turn.messages:
        if message.get("kind") == "instruction":
            return str(message.get("content", ""))
    return None


def original_reply(turn: Turn) -> str | None:
    """What the original AutoAgent's Coder (and agents) said in a turn rebuilt from its
    transcript; None for autoagent's own turns."""
    parts = [str(m.get("content", "")) if m.get("agent") == "coder"
             else f"[{m.get('agent')}] {m.get('content', '')}" for m in turn.messages
             if m.get("kind") == "original" and m.get("agent") != "context"]
    return "\n\n".join(parts) or None


def coder_reply_text(turn: Turn, agent: str = "coder") -> str | None:
    """The agent's last reply in a turn (the one that was used)."""
    replies = [m for m in turn.messages
               if m.get("agent") == agent and m.get("role") == "assistant"]
    return str(replies[-1]["content"]) if replies else None


def task_intro(session: Session) -> str:
    return f"Task: {session.task}"


def coder_messages(session: Session, system: str, max_turns_left: int,
                   pending_instruction: str | None = None,
                   full_turns: int = HISTORY_FULL_TURNS) -> list[Message]:
    """The Coder's conversation for its next reply, rebuilt from the saved session: the
    last ``full_turns`` turns in full, older ones as summary lines."""
    turns = session.turns
    split = len(turns) - full_turns
    old, recent = turns[:max(split, 0)], turns[max(split, 0):]
    intro = task_intro(session)
    if old:
        shown = old[-SUMMARY_MAX_TURNS:]
        skipped = len(old) - len(shown)
        intro += "\n\nEarlier turns (summary):\n"
        if skipped:
            intro += f"({skipped} earlier turns left out)\n"
        intro += "\n".join(summarize_turn(t) for t in shown)
        for turn in old:
            if instruction_of(turn):
                intro += f"\nNew instruction from the user at turn {turn.index}: " \
                         f"{instruction_of(turn)}"
    messages = [Message("system", system), Message("user", intro)]
    for turn in recent:
        instruction = instruction_of(turn)
        if instruction and turn is not turns[0]:
            _add_user(messages, f"New instruction from the user: {instruction}")
        original = original_reply(turn)
        reply = original or coder_reply_text(turn)
        if reply is None:
            _add_user(messages, f"(turn {turn.index}: you gave no usable reply)")
        else:
            messages.append(Message("assistant", clip(reply, REPLY_MAX_CHARS)))
        body = f"Results of your actions (turn {turn.index}):\n{render_results(turn, 'coder')}"
        if original and not turn.results:
            body = (f"(turn {turn.index} was run by the original AutoAgent: the tool used, "
                    "its arguments and its result are in your message above)")
        consulted = render_results(turn, "supervisor")
        if any(r.get("agent") == "supervisor" for r in turn.results):
            body += f"\n\nThe Supervisor consulted agents:\n{consulted}"
        body += "\n\n" + render_decision(turn.decision)
        _add_user(messages, body)
    if pending_instruction:
        label = "New instruction from the user" if turns else "Instruction"
        _add_user(messages, f"{label}: {pending_instruction}")
    note = ("This is your last turn: finish the task now." if max_turns_left <= 1 else
            f"You have {max_turns_left} turns left.")
    _add_user(messages, f"{note} Reply with one JSON object.")
    return messages


def _add_user(messages: list[Message], text: str) -> None:
    """Append a user message, merging with a preceding one so roles alternate."""
    if messages and messages[-1].role == "user":
        messages[-1] = Message("user", f"{messages[-1].content}\n\n{text}")
    else:
        messages.append(Message("user", text))


def supervisor_review(session: Session, turn: Turn, coder_thought: str,
                      max_turns_left: int) -> str:
    """What the Supervisor reads after the Coder's turn."""
    parts = [task_intro(session)]
    if session.instructions:
        parts.append("Follow-up instructions from the user (the latest is current):\n"
                     + "\n".join(f"- {i}" for i in session.instructions))
    earlier = [t for t in session.turns if t is not turn][-10:]
    if earlier:
        parts.append("Earlier turns:\n" + "\n".join(summarize_turn(t) for t in earlier))
    reply = coder_reply_text(turn)
    lines = [f"Turn {turn.index}: the Coder's actions and their results."]
    if coder_thought:
        lines.append(f"Coder's thought: {clip(coder_thought, 1000)}")
    coder_results = [r for r in turn.results if r.get("agent") == "coder"]
    for n, result in enumerate(coder_results, start=1):
        action = result.get("action", {})
        lines.append(f"{n}. {describe_action(action)}")
        if action.get("type") == "create_tool":
            index = result.get("index", -1)
            full = turn.actions[index] if 0 <= index < len(turn.actions) else action
            code = clip(str(full.get("code", "")), CODE_MAX_CHARS)
            lines.append(f"```python\n{code}\n```")
        lines.append(f"   -> {describe_result(result)}")
    if not coder_results:
        lines.append("(the Coder gave no usable reply" +
                     (f"; its last text: {clip(reply, 1000)})" if reply else ")"))
    parts.append("\n".join(lines))
    parts.append("This is the last turn: decide done or fail." if max_turns_left <= 1 else
                 "Decide now: continue, done or fail.")
    return "\n\n".join(parts)


def agent_result_message(results: list[dict[str, Any]], steps_left: int) -> str:
    """Results of a specialised agent's step, as it reads them before its next reply."""
    lines = [f"{n}. {describe_action(r.get('action', {}))}\n   -> {describe_result(r)}"
             for n, r in enumerate(results, start=1)]
    note = ("Give your final_answer now." if steps_left <= 1 else
            "Continue, or give your final_answer.")
    return "Results of your actions:\n" + "\n".join(lines) + f"\n\n{note}"


def retrieval_query(session: Session, instruction: str | None) -> str:
    """What retrieval ranks tools and agents against: the task, the instructions and the
    latest feedback."""
    parts = [session.task, *session.instructions]
    if instruction:
        parts.append(instruction)
    if session.turns and session.turns[-1].decision:
        last = session.turns[-1].decision or {}
        parts += [str(last.get("feedback", "")), *map(str, last.get("tips") or [])]
    return "\n".join(parts)
