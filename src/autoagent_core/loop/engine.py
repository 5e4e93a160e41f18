"""The run loop: the Coder acts, the core executes, the Supervisor decides.

Each turn the Coder answers with actions (:mod:`~autoagent_core.protocol.actions`); the core
executes them (:mod:`~autoagent_core.loop.actions`); the Supervisor reads the task, the
actions and their results and decides ``continue`` (feedback and tips reach the Coder
next turn), ``done`` (the answer) or ``fail``. The session is saved after every turn and
every step is an event for the recorders.

How a run ends, and the status the session is saved with:

==========================  ==============  =========
end                         session status  exit code
==========================  ==============  =========
Supervisor says ``done``    completed       0
Supervisor says ``fail``    failed          1
turn limit reached          failed          1
backend / config error      interrupted     4 / 3
strict sandbox unavailable  interrupted     9
Ctrl-C (or SIGTERM)         interrupted     130
storage or internal error   failed          8 / 1
==========================  ==============  =========

Backend errors leave the session ``interrupted`` rather than ``failed``: they are usually
passing (rate limits, quotas, the network), and ``autoagent run --resume`` then continues
from the last saved turn with no work lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from autoagent_core.errors import (
    AutoagentError,
    BackendError,
    ConfigError,
    ContextTooLongError,
    FormatRefusedError,
    InterruptedRunError,
    SandboxError,
    TaskFailedError,
)
from autoagent_core.loop.actions import ActionExecutor
from autoagent_core.loop.guided import GuidedTurn, uses_guided
from autoagent_core.loop.outcome import RunOutcome, last_result_text, sigint_deferred
from autoagent_core.loop.prompts import (
    HISTORY_SHRINK_STEPS,
    agent_result_message,
    agent_system,
    clip,
    coder_messages,
    coder_system,
    relevant_agents,
    relevant_tools,
    render_agents,
    render_tools,
    retrieval_query,
    supervisor_review,
    supervisor_system,
)
from autoagent_core.protocol.actions import (
    AGENT_SCHEMA,
    SUPERVISOR_SCHEMA,
    AgentReply,
    ProtocolFormatError,
    SupervisorReply,
    parse_agent_reply,
    parse_supervisor_reply,
)
from autoagent_core.protocol.selection import (
    ProtocolChoice,
    backend_protocols,
    backend_sends,
)
from autoagent_core.tools.telemetry import session_scores
from autoagent_core.types import (
    AgentSpec,
    CompletionOptions,
    Message,
    Session,
    Turn,
    utc_now,
)

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.events import EventBus
    from autoagent_core.types import AgentRegistry, LLMBackend, SessionStore, ToolStore

P = TypeVar("P")
AGENT_MAX_STEPS = 5  # replies a consulted agent may take before it must answer
OnText = Callable[[str, str], None]  # (agent, streamed chunk)


class RunLoop:
    """One run over one session. Build it with the opened layers, then call :meth:`run`."""

    def __init__(self, settings: Settings, backend: LLMBackend, tools: ToolStore,
                 agents: AgentRegistry, sessions: SessionStore, bus: EventBus,
                 session: Session, on_text: OnText | None = None) -> None:
        self.settings = settings
        self.backend = backend
        self.tools = tools
        self.agents = agents
        self.sessions = sessions
        self.bus = bus
        self.session = session
        self.on_text = on_text
        self.protocols = ProtocolChoice(settings.protocol, backend_protocols(backend),
                                        backend_sends(backend), str(backend.name))
        from autoagent_core.tools.external import ExternalTools

        # tools beside the library (MCP servers'): opened at the first listing, once per
        # run, closed when the run ends
        self.external = ExternalTools(settings)
        self.executor = ActionExecutor(settings, tools, agents, bus, session, self.consult,
                                       self.external)
        self.strategy = "guided" if uses_guided(settings, backend) else "free"

    # ------------------------------------------------------------------ the run
    def run(self, instruction: str | None = None, resumed: bool = False,
            run_dir: Path | None = None) -> RunOutcome:
        """Run up to ``max_turns`` turns. ``instruction`` is a follow-up for a session
        that already has turns. Never raises the project's errors or Ctrl-C: the session
        is saved and the outcome carries the error."""
        started = time.monotonic()
        session = self.session
        session.status = "active"
        if run_dir is not None:
            self.executor.undo_dir = run_dir / "undo"
        self.bus.emit("run_started", task=session.task, session_id=session.id,
                      backend=session.backend, model=session.model, resumed=resumed,
                      instruction=instruction, strategy=self.strategy,
                      workdir=str(Path.cwd()), settings=self.settings.public_dict())
        error: AutoagentError | None = None
        done_turns = 0
        try:
            error, done_turns = self._turns(instruction)
        except KeyboardInterrupt:
            session.status = "interrupted"
            self.bus.emit("interrupted", turn=len(session.turns))
            error = InterruptedRunError(
                f"interrupted; session {session.id} is saved: continue it with "
                f"'autoagent run --resume --session-id {session.id}'")
        except (BackendError, ConfigError, SandboxError) as exc:
            session.status = "interrupted"
            self.bus.emit("error", message=str(exc), kind=type(exc).__name__)
            error = exc
        except AutoagentError as exc:
            session.status = "failed"
            self.bus.emit("error", message=str(exc), kind=type(exc).__name__)
            error = exc
        except Exception as exc:  # a bug: still save the session and say one line
            session.status = "failed"
            self.bus.emit("error", message=f"{type(exc).__name__}: {exc}", kind="internal")
            error = AutoagentError(f"internal error: {type(exc).__name__}: {exc}")
        self.external.close()  # the run's MCP servers stop here (never raises)
        with sigint_deferred():
            try:
                self.save()
            except AutoagentError as exc:
                self.bus.emit("error", message=str(exc), kind=type(exc).__name__)
                error = error or exc
        duration = time.monotonic() - started
        self.bus.emit("run_finished", status=session.status, answer=session.answer,
                      turns=session.turn_count, usage=session.usage.to_dict(),
                      duration_s=round(duration, 3))
        return RunOutcome(session, run_dir, duration, error, done_turns)

    def _turns(self, instruction: str | None) -> tuple[AutoagentError | None, int]:
        session = self.session
        limit = self.settings.max_turns
        for n in range(limit):
            decision = self.run_turn(limit - n, instruction if n == 0 else None)
            if decision.decision == "done":
                session.status = "completed"
                session.answer = decision.answer or ""
                self.bus.emit("final_answer", agent="supervisor", answer=session.answer)
                return None, n + 1
            if decision.decision == "fail":
                session.status = "failed"
                reason = decision.feedback or decision.thought or "no reason given"
                return TaskFailedError(f"the Supervisor judged the task failed: "
                                       f"{clip(reason, 300)}"), n + 1
            if n + 1 < limit:
                self.save()  # the last turn is saved by run() with the final status
        session.status = "failed"
        return TaskFailedError(
            f"turn limit reached ({limit} turns) without a final answer; give more turns "
            f"with 'autoagent run --session-id {session.id} -m N \"continue\"'"), limit

    def save(self) -> None:
        """Save the session (secrets redacted) and say so on the timeline."""
        session = self.session
        session.updated_at = utc_now()
        clean = Session.from_dict(self.bus.redactor(session.to_dict()))
        self.sessions.save(clean)
        self.bus.emit("session_saved", session_id=session.id, turn=len(session.turns))

    # ------------------------------------------------------------------ one turn
    def run_turn(self, turns_left: int, instruction: str | None) -> SupervisorReply:
        """The Coder's reply and its actions, then the Supervisor's decision."""
        if self.strategy == "guided":
            return GuidedTurn(self).run(turns_left, instruction)
        session = self.session
        turn = Turn(index=len(session.turns) + 1)
        query = retrieval_query(self.session, instruction)
        system = coder_system(self._tools_text(query), self._agents_text(query, exclude=""))
        # the same request with less history, for a model whose context is too small
        candidates = [coder_messages(session, system, turns_left, instruction, full)
                      for full in HISTORY_SHRINK_STEPS]
        messages = candidates[0]
        if instruction:
            turn.messages.append({"agent": "user", "role": "user", "content": instruction,
                                  "kind": "instruction"})
        turn.messages.append({"agent": "coder", "role": "user",
                              "content": messages[-1].content})
        session.turns.append(turn)
        self.bus.emit("turn_started", turn=turn.index)

        reply = self._ask_coder(candidates, turn)
        thought = ""
        if reply is not None:
            thought = reply.thought
            self.executor.execute(reply.actions, "coder", turn, depth=0)
        proposed = reply.final_answer() if reply is not None else None

        decision = self._supervise(turn, thought, turns_left, query)
        if decision.decision == "done" and not decision.answer:
            decision.answer = proposed or last_result_text(turn)
            if not decision.answer:
                # "done" needs an answer: with none to give, the task is not done
                decision = SupervisorReply(
                    thought=decision.thought, decision="continue",
                    feedback="The Supervisor said done, but there is no answer yet: no final "
                             "answer and no successful tool result. Run a tool whose result "
                             "answers the task, then give it with final_answer.",
                    tips=decision.tips)
        turn.decision = decision.to_dict()
        turn.finished_at = utc_now()
        self.bus.emit("supervisor_decision", turn=turn.index, decision=decision.decision,
                      feedback=decision.feedback, tips=decision.tips, answer=decision.answer)
        return decision

    def _ask_coder(self, candidates: list[list[Message]], turn: Turn) -> AgentReply | None:
        """Ask the Coder; when the request is too long for the model's context, ask again
        with the shorter history of the next candidate."""
        for number, messages in enumerate(candidates, start=1):
            try:
                reply, _text = self.ask_model("coder", messages, AGENT_SCHEMA,
                                              parse_agent_reply, turn)
                return reply
            except ContextTooLongError as exc:
                if number == len(candidates):
                    raise
                self.bus.emit("error", kind="context_too_long",
                              message=f"{exc}; asking again with a shorter history")
        return None

    def _supervise(self, turn: Turn, thought: str, turns_left: int,
                   query: str) -> SupervisorReply:
        review = supervisor_review(self.session, turn, thought, turns_left)
        system = supervisor_system(self._agents_text(query, exclude=""))
        turn.messages.append({"agent": "supervisor", "role": "user", "content": review})
        messages = [Message("system", system), Message("user", review)]
        decision, _text = self.ask_model("supervisor", messages, SUPERVISOR_SCHEMA,
                                         parse_supervisor_reply, turn)
        if decision is None:
            return SupervisorReply(
                thought="", decision="continue",
                feedback="(the Supervisor's reply could not be read) Keep working on the task "
                         "and check your results.")
        if decision.actions:
            self.executor.execute(decision.actions, "supervisor", turn, depth=0)
        return decision

    # ------------------------------------------------------------------ models
    def ask_model(self, agent: str, messages: Sequence[Message], schema: dict[str, Any],
                  parse: Callable[[str], P], turn: Turn) -> tuple[P | None, str]:
        """Ask ``agent``'s model; a reply that does not parse goes back as a format error,
        up to ``format_retries`` times. Returns the parsed reply (None when no reply could
        be used) and the last reply's text."""
        convo = list(messages)
        settings = self.settings
        on_text = None
        if self.on_text is not None:
            sink = self.on_text

            def on_text(chunk: str) -> None:
                sink(agent, chunk)

        completion = None
        protocol = self.protocols.pick(schema)
        attempts = settings.format_retries + 1
        for attempt in range(attempts):
            self.bus.emit("model_request", agent=agent, turn=turn.index,
                          messages=[m.to_dict() for m in convo], protocol=protocol)
            options = CompletionOptions(max_tokens=settings.max_tokens,
                                        temperature=settings.temperature,
                                        json_schema=None if protocol == "text" else schema,
                                        on_text=on_text, agent=agent, protocol=protocol)
            try:
                # a secret value never leaves for the model (a reply or a tool's code could
                # hold one): the request carries [REDACTED:NAME]
                completion = self.backend.complete(self.redacted(convo), options)
            except FormatRefusedError as exc:
                # the service refused this protocol: ask again in the next one (counted as
                # a format retry), or in the same one when it is forced
                following = self.protocols.after_refusal(protocol, schema, exc,
                                                         attempts - attempt - 1)
                self._protocol_event(agent, turn, str(exc), "", protocol, following,
                                     "protocol_refused")
                protocol = following
                continue
            turn.usage = turn.usage + completion.usage
            self.bus.emit("model_reply", agent=agent, turn=turn.index, text=completion.text,
                          usage=completion.usage.to_dict(), latency_s=completion.latency_s,
                          model=completion.model, protocol=protocol)
            turn.messages.append({"agent": agent, "role": "assistant",
                                  "content": completion.text})
            try:
                return parse(completion.text), completion.text
            except ProtocolFormatError as exc:
                note = (f"Your reply could not be used: {exc}. Reply again with exactly one "
                        "JSON object in the format described, and nothing else.")
                following = self.protocols.after_unusable_reply(protocol, schema)
                self._protocol_event(agent, turn, str(exc), completion.text, protocol,
                                     following, "unusable_reply")
                protocol = following
                turn.messages.append({"agent": agent, "role": "user", "content": note,
                                      "kind": "format_error"})
                convo += [Message("assistant", clip(completion.text, 4000)),
                          Message("user", note)]
        return None, completion.text if completion is not None else ""

    def redacted(self, convo: Sequence[Message]) -> list[Message]:
        """The messages as sent to the model: every secret value masked."""
        redactor = self.bus.redactor
        return [Message(m.role, redactor.text(m.content)) for m in convo]

    def _protocol_event(self, agent: str, turn: Turn, error: str, text: str, protocol: str,
                        following: str, reason: str) -> None:
        """The ``format_error`` event of a retry; it names the protocol the reply was asked
        in and the one asked next (a fallback when they differ)."""
        if following != protocol:
            error = f"{error}; falling back from {protocol} to {following} for the rest of the run"
        self.bus.emit("format_error", agent=agent, turn=turn.index, error=error, text=text,
                      reason=reason, protocol=protocol, next_protocol=following,
                      forced=self.protocols.forced is not None)

    # ------------------------------------------------------------------ agents
    def consult(self, spec: AgentSpec, message: str, depth: int, turn: Turn,
                asker: str) -> str:
        """A specialised agent works on ``message`` with the same actions; its
        ``final_answer`` is the reply."""
        steps = min(AGENT_MAX_STEPS, self.settings.max_turns)
        system = agent_system(spec, self._tools_text(message),
                              self._agents_text(message, exclude=spec.name))
        request = f"Message from {asker}: {message}"
        turn.messages.append({"agent": spec.name, "role": "user", "content": request})
        messages = [Message("system", system), Message("user", request)]
        for step in range(steps):
            reply: AgentReply | None
            reply, text = self.ask_model(spec.name, messages, AGENT_SCHEMA, parse_agent_reply,
                                         turn)
            if reply is None:
                return f"(agent {spec.name} gave no usable reply)"
            results = self.executor.execute(reply.actions, spec.name, turn, depth)
            answer = reply.final_answer()
            if answer is not None:
                return answer
            follow_up = agent_result_message(results, steps - step - 1)
            turn.messages.append({"agent": spec.name, "role": "user", "content": follow_up})
            messages += [Message("assistant", clip(text, 8000)),
                         Message("user", follow_up)]
        return f"(agent {spec.name} gave no final answer within {steps} replies)"

    # ------------------------------------------------------------------ listings
    def _tools_text(self, query: str) -> str:
        # the library and the tool sources' tools go through the same retrieval and limit
        tools = self.tools.list_tools() + [e.spec for e in self.external.list_tools()]
        mine = {str(t.get("name")) for t in self.session.tools_created} | \
               {str(t.get("name")) for t in self.session.tools_used}
        ranks = session_scores(self.session.original, tools)
        listed = relevant_tools(tools, query, self.settings.prompt_tools_limit, mine, ranks)
        return render_tools(listed, len(tools), ranks)

    def _agents_text(self, query: str, exclude: str) -> str:
        agents = [a for a in self.agents.list_agents() if a.name != exclude]
        listed = relevant_agents(agents, query, self.settings.prompt_tools_limit)
        return render_agents(listed, len(agents))
