"""The guided strategy: a Coder turn as narrow constrained steps, for small models.

A model of a few hundred million parameters cannot write the free action protocol (a
thought, a list of actions, code, a name and arguments in one object). Here each request
asks for one small thing under a JSON schema the backend enforces while decoding
(:mod:`autoagent_core.loop.guided_steps`):

1. reuse a tool of the library, or make a new one (asked only when tools are listed);
2. the new tool's name, description and typed parameters;
3. its body, one Python expression (several candidates sampled, fixed seeds);
4. the call's arguments, each one of the task's literals of its type (sampled too).

Every pair of body and arguments runs in the sandbox; the value most candidates agree on
wins, and that tool is saved through the store (a version) and run like any Coder action.
A library tool is offered for reuse only when it fits the task (:mod:`.guided_checks`).
The Supervisor keeps its role, and ``done`` means checked: the loop checks the facts that
need no model (a tool ran, it returned a value of the kind of answer the model says the task
asks for, and an independent computation gave the same value: the Supervisor's own
expression over the task's values, or a second tool designed independently, with its own
sampled signature, bodies and call: :mod:`.guided_verify`), then asks the model one
constrained question, yes or no. A "no", a failure or a disagreeing check makes the next
turn fix the same tool under the same name (a new version; the Coder hears that a check
disagreed, never the check's value); on the last turn a disagreeing check ends the run
failed with the value as the session's ``candidate``.
Sessions, events and timelines are those of the free strategy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import FormatRefusedError
from autoagent_core.loop import guided_checks as checks
from autoagent_core.loop import guided_steps as steps
from autoagent_core.loop import guided_syntax as syntax
from autoagent_core.loop import guided_verify as verify
from autoagent_core.loop.prompts import clip, render_tools
from autoagent_core.protocol.actions import SupervisorReply
from autoagent_core.retrieval import FIT_THRESHOLD, fit_score
from autoagent_core.types import CompletionOptions, Message, Turn, utc_now

if TYPE_CHECKING:
    from autoagent_core.loop.engine import RunLoop
    from autoagent_core.types import ToolSpec

SEED = 20240601
"""Base seed of the sampled candidates: the same task gives the same run."""
SAMPLE_TEMPERATURE = 0.8
TASK_MAX_CHARS = 2000
"""The task as the steps quote it: the prompts stay far below any model's context."""
STEP_TOKENS = {"choose": 24, "signature": 120, "body": 96, "arguments": 160, "judge": 12,
               "kind": 16, "direct": 96}


def uses_guided(settings: Any, backend: Any) -> bool:
    """``strategy`` guided or free as set; ``auto``: guided for the local backend's default
    model (no ``local_model_path``, no GGUF named by ``--model``), free otherwise."""
    if settings.strategy != "auto":
        return bool(settings.strategy == "guided")
    named = settings.local_model_path or str(settings.model).lower().endswith(".gguf")
    return bool(backend.name == "local" and not named)


class GuidedTurn:
    """One guided turn of ``loop``'s session (the Coder's steps, then the Supervisor's)."""

    def __init__(self, loop: RunLoop) -> None:
        self.loop = loop
        self.session = loop.session
        self.kind = ""
        """The kind of value the task asks for, as the Supervisor's model says."""

    # ------------------------------------------------------------------ requests
    def ask(self, agent: str, step: str, messages: Sequence[Message], schema: dict[str, Any],
            turn: Turn, sample: int = 0) -> dict[str, Any] | None:
        """One constrained request; ``sample`` 0 is greedy, later ones are sampled with a
        fixed seed. None when the reply is not a JSON object."""
        loop = self.loop
        on_text = None
        if loop.on_text is not None and sample == 0:
            sink = loop.on_text

            def on_text(chunk: str) -> None:
                sink(agent, chunk)

        options = CompletionOptions(
            max_tokens=STEP_TOKENS[step], json_schema=schema, on_text=on_text, agent=agent,
            temperature=0.0 if sample == 0 else SAMPLE_TEMPERATURE,
            seed=SEED + 97 * turn.index + sample)
        loop.bus.emit("model_request", agent=agent, turn=turn.index, step=step,
                      sample=sample, messages=[m.to_dict() for m in messages])
        sent = loop.redacted(messages)  # no secret value leaves for the model
        try:
            completion = loop.backend.complete(sent, options)
        except FormatRefusedError as exc:
            loop.bus.emit("format_refused", agent=agent, turn=turn.index, step=step,
                          error=str(exc))
            options.json_schema = None
            completion = loop.backend.complete(sent, options)
        turn.usage = turn.usage + completion.usage
        loop.bus.emit("model_reply", agent=agent, turn=turn.index, step=step, sample=sample,
                      text=completion.text, usage=completion.usage.to_dict(),
                      latency_s=completion.latency_s, model=completion.model)
        turn.messages.append({"agent": agent, "role": "user", "step": step,
                              "content": messages[-1].content})
        turn.messages.append({"agent": agent, "role": "assistant", "step": step,
                              "content": completion.text})
        try:
            value = json.loads(completion.text)
        except ValueError:
            self.loop.bus.emit("format_error", agent=agent, turn=turn.index,
                               error="not a JSON object", text=completion.text)
            return None
        return value if isinstance(value, dict) else None

    def samples(self, agent: str, step: str, messages: Sequence[Message],
                schema: dict[str, Any], turn: Turn, distinct: bool = True,
                first: int = 0, count: int | None = None) -> list[dict[str, Any]]:
        """Up to ``guided_samples`` replies (``count`` when given), the greedy one first
        (sample numbers from ``first``); repeated replies dropped when ``distinct``."""
        found: list[dict[str, Any]] = []
        number = self.loop.settings.guided_samples if count is None else count
        for sample in range(first, first + number):
            reply = self.ask(agent, step, messages, schema, turn, sample)
            if reply is not None and not (distinct and reply in found):
                found.append(reply)
        return found

    # ------------------------------------------------------------------ the turn
    def run(self, turns_left: int, instruction: str | None) -> SupervisorReply:
        session = self.session
        turn = Turn(index=len(session.turns) + 1)
        if instruction:
            turn.messages.append({"agent": "user", "role": "user", "content": instruction,
                                  "kind": "instruction"})
        task = clip(instruction or (session.instructions[-1] if session.instructions
                                    else session.task), TASK_MAX_CHARS)
        fixing = self._tool_to_fix()
        session.turns.append(turn)
        self.loop.bus.emit("turn_started", turn=turn.index, strategy="guided")
        self.kind = self._answer_kind(task, turn)
        run = self._coder(task, turn, fixing)
        decision = self._supervise(task, turn, run, final=turns_left <= 1)
        if decision.decision == "done":
            session.candidate = None
        turn.decision = decision.to_dict()
        turn.finished_at = utc_now()
        self.loop.bus.emit("supervisor_decision", turn=turn.index, decision=decision.decision,
                           feedback=decision.feedback, tips=decision.tips,
                           answer=decision.answer)
        return decision

    def _answer_kind(self, task: str, turn: Turn) -> str:
        """The Supervisor's narrow question: what kind of value answers the task."""
        reply = self.ask("supervisor", "kind", checks.kind_messages(task), checks.KIND_SCHEMA,
                         turn)
        kind = str((reply or {}).get("kind", ""))
        return kind if kind in checks.KINDS else ""

    def _tool_to_fix(self) -> str | None:
        """The tool of the previous turn when that turn did not end the task."""
        if not self.session.turns:
            return None
        last = self.session.turns[-1]
        if (last.decision or {}).get("decision") != "continue":
            return None
        for result in reversed(last.results):
            if result.get("type") == "create_tool" or result.get("type") == "run_tool":
                return str(result.get("name"))
        return None

    def _coder(self, task: str, turn: Turn, fixing: str | None) -> dict[str, Any] | None:
        """The Coder's steps; returns the result entry of the tool run that was kept, with
        ``agreement`` (:class:`~.guided_checks.Candidates`) added."""
        loop = self.loop
        if fixing:
            return self._fix(task, turn, fixing)
        listed = self._listed_tools(task)
        if listed:
            names = [t.name for t in listed]
            reply = self.ask("coder", "choose",
                             steps.choose_messages(task, render_tools(listed, len(listed))),
                             steps.choose_schema(names), turn)
            chosen = str((reply or {}).get("tool", "new"))
            if chosen in names:
                spec = next(t for t in listed if t.name == chosen)
                params = steps.params_of_schema(spec.parameters)
                return self._call_existing(task, turn, chosen, params)
        first = 0 if turn.index == 1 else 1  # a later turn's greedy reply would repeat
        name, description, params = self.signature(task, turn, first)
        if not name or not params:
            loop.bus.emit("action_failed", agent="coder", turn=turn.index, type="signature",
                          name=name or None, error={"message": "no usable signature"})
            return None
        return self._write_and_run(task, turn, name, description, params)

    def signature(self, task: str, turn: Turn, first: int,
                  unlike: Sequence[tuple[str, list[tuple[str, str]]]] = (),
                  ) -> tuple[str, str, list[tuple[str, str]]]:
        """The first usable signature of ``guided_samples`` samples numbered from ``first``
        (one whose name and parameters differ from each of ``unlike``), or empty."""
        messages, schema = steps.signature_messages(task), steps.signature_schema(task)
        for sample in range(first, first + self.loop.settings.guided_samples):
            reply = self.ask("coder", "signature", messages, schema, turn, sample)
            if reply is None or not steps.usable_signature(reply, task):
                continue  # never an unusable one: its call would invent the task's values
            name, description, params = steps.parse_signature(reply)
            if checks.params_fit_task(params, task) and (name, params) not in unlike:
                return name, description, params
        return "", "", []

    def _listed_tools(self, task: str) -> list[ToolSpec]:
        """The library tools that fit the task, best first (at most 5): the tools this
        session made, and tools whose words score at least ``FIT_THRESHOLD`` against the
        task and whose parameter types the task's literals fill. Others are never offered:
        a small library is not a reason to reuse an unrelated tool."""
        mine = {str(t.get("name")) for t in self.session.tools_created}
        scored = []
        for tool in self.loop.tools.list_tools():
            params = steps.params_of_schema(tool.parameters)
            if not params or not checks.params_fit_task(params, task):
                continue
            score = 1.0 if tool.name in mine else fit_score(
                task, tool.name, tool.description, [p for p, _ in params])
            if score >= FIT_THRESHOLD:
                scored.append((score, tool))
        scored.sort(key=lambda pair: -pair[0])
        listed = [tool for _, tool in scored][:min(5, self.loop.settings.prompt_tools_limit)]
        self.loop.bus.emit("tools_offered", turn=len(self.session.turns),
                           tools=[t.name for t in listed], threshold=FIT_THRESHOLD)
        return listed

    def _fix(self, task: str, turn: Turn, name: str) -> dict[str, Any] | None:
        from autoagent_core.errors import NotFoundError, UsageError

        try:
            tool = self.loop.tools.get(name)
        except (NotFoundError, UsageError):
            return None
        params = steps.params_of_schema(tool.spec.parameters)
        previous = self.session.turns[-2] if len(self.session.turns) > 1 else None
        tried = steps.returned_expression(tool.code)
        problem = str(((previous.decision or {}).get("feedback")) if previous else "")
        return self._write_and_run(task, turn, name, tool.spec.description, params,
                                   tried=tried, problem=problem or "it did not answer the task")

    def arguments(self, task: str, turn: Turn, signature: str, params: list[tuple[str, str]],
                  count: int | None = None) -> list[dict[str, Any]]:
        """Sampled calls (``count`` samples, default ``guided_samples``) that give every
        parameter a value, and no value to two parameters when the task gives enough."""
        schema = steps.arguments_schema(params, task)
        wanted = {p for p, _ in params}
        return [a for a in self.samples("coder", "arguments",
                                        steps.arguments_messages(task, signature), schema, turn,
                                        count=count)
                if set(a) == wanted and steps.uses_each_value(a, params, task)]

    def bodies(self, task: str, turn: Turn, name: str, description: str,
               params: list[tuple[str, str]], tried: str = "",
               problem: str = "") -> list[str]:
        """The sampled bodies as tool code, one per sample (repeats kept: each sample is
        an independent draw); bodies that do not parse, leave a parameter unused, read a
        name nothing defines or repeat the ``tried`` expression a check refuted are
        dropped."""
        signature = steps.python_signature(name, params)
        schema = syntax.body_schema(params, steps.task_numbers(task))
        bodies = self.samples("coder", "body",
                              steps.body_messages(task, signature, tried, problem),
                              schema, turn, distinct=False)
        codes = [steps.tool_code(name, description, params, str(b.get("expression", "")))
                 for b in bodies]
        return [c for c in codes if c and steps.returned_expression(c) != tried]

    def run_code(self, turn: Turn, name: str, code: str, args: dict[str, Any]) -> Any:
        """One candidate run in the sandbox; its value, or None when it failed."""
        from autoagent_core.sandbox.launcher import run_tool as sandbox_run

        result = sandbox_run(code, name, args, self.loop.settings,
                             undo_dir=self.loop.executor.undo_dir)
        self.loop.bus.emit("candidate_run", turn=turn.index, name=name, args=args,
                           ok=result.ok, result=result.result, error=result.error)
        return result.result if result.ok else None

    def _write_and_run(self, task: str, turn: Turn, name: str, description: str,
                       params: list[tuple[str, str]], tried: str = "",
                       problem: str = "") -> dict[str, Any] | None:
        codes = self.bodies(task, turn, name, description, params, tried, problem)
        if not codes:
            self.loop.bus.emit("action_failed", agent="coder", turn=turn.index,
                               type="create_tool", name=name,
                               error={"message": "no expression that parses and uses "
                                                 "every parameter"})
            return None
        signature = steps.python_signature(name, params)
        calls = self.arguments(task, turn, signature, params) or [{}]
        ran: dict[tuple[str, str], Any] = {}
        for code in dict.fromkeys(codes):
            for args in calls:
                ran[(code, steps.result_key(args))] = self.run_code(turn, name, code, args)
        # the kind of answer the task asks for narrows the vote when a value fits it
        pairs = [(code, args, ran[(code, steps.result_key(args))])
                 for code in dict.fromkeys(codes) for args in calls
                 if ran[(code, steps.result_key(args))] is not None]
        fitting = [p for p in pairs if checks.value_fits(self.kind, p[2])] or pairs
        best = steps.vote([p[2] for p in fitting])
        code, args = (fitting[best][0], fitting[best][1]) if best is not None else (
            codes[0], calls[0])
        results = self.loop.executor.execute(
            [{"type": "create_tool", "name": name, "description": description, "code": code},
             {"type": "run_tool", "name": name, "args": args}], "coder", turn, depth=0)
        run = results[-1] if results[0].get("ok") else results[0]
        agreement = checks.Candidates()
        for sampled in codes:  # every sample, repeats included, with the chosen arguments
            value = ran.get((sampled, steps.result_key(args)))
            if value is not None:
                agreement.add(value)
        return self._checked(task, turn, run, agreement, name, params)

    def _call_existing(self, task: str, turn: Turn, name: str,
                       params: list[tuple[str, str]]) -> dict[str, Any]:
        """A library tool, run with the task's values; its result goes through the same
        checks as a new tool's: an independent check must agree."""
        calls = self.arguments(task, turn, steps.python_signature(name, params), params)
        args: dict[str, Any] = calls[0] if calls else {}
        action = {"type": "run_tool", "name": name, "args": args}
        run = self.loop.executor.execute([action], "coder", turn, depth=0)[-1]
        return self._checked(task, turn, run, checks.Candidates(), name, params)

    def _checked(self, task: str, turn: Turn, run: dict[str, Any], agreement: checks.Candidates,
                 name: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        """The run entry with its agreement: the values of the independent checks, asked
        for when the kept run gave a value of the kind the task asks for (a value of
        another kind fails without them)."""
        value = run.get("result") if run.get("type") == "run_tool" and run.get("ok") else None
        if value is not None and value != "" and value != []:
            if agreement.support(value) == 0:
                agreement.add(value)  # the kept run itself is one sample
            if checks.value_fits(self.kind, value):
                agreement.second = verify.independent_values(self, task, turn, value,
                                                             agreement, name, params)
            self.loop.bus.emit("answer_checked", turn=turn.index, name=name, value=value,
                               support=agreement.support(value),
                               others=agreement.others(value)[:5],
                               second=agreement.second[:5], kind=self.kind,
                               agreed=agreement.agreed(value))
        return {**run, "agreement": agreement}

    # ------------------------------------------------------------------ the Supervisor
    def _supervise(self, task: str, turn: Turn, run: dict[str, Any] | None,
                   final: bool) -> SupervisorReply:
        """The Supervisor's decision. A check that disagrees ends the run failed on its last
        turn; before that, the next turn writes the same tool again, told that a check did
        not confirm its value (the unverified value stays the candidate; the check's values
        are in the ``answer_checked`` event, never in what the Coder reads)."""
        decision = verify.decide(self, task, turn, run)
        if decision.decision == "fail" and not final:
            # the Coder hears that a check disagreed, never the check's value (the tips)
            return SupervisorReply(thought=decision.thought, decision="continue",
                                   feedback=(decision.tips or [decision.feedback])[0])
        return decision
