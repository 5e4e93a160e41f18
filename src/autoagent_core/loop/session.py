"""Starting a run: which session it works on, and opening the layers around the loop.

* A task without ``--session-id`` starts a new session with a generated id.
* ``--session-id ID TASK`` starts session ``ID`` if it does not exist; if it exists, TASK
  is a follow-up instruction and the session continues with its whole history (also a
  completed or failed one).
* ``--session-id ID`` alone, or ``--resume [--session-id ID]``, continues an ``active`` or
  ``interrupted`` session from its last saved turn; ``--resume`` without an id picks the
  most recently updated unfinished session.
* The turn limit (``-m``) counts the turns of this run, so a resumed or continued session
  gets a fresh budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autoagent_core import layers
from autoagent_core.errors import AutoagentError, NotFoundError, UsageError
from autoagent_core.loop.engine import OnText, RunLoop, RunOutcome
from autoagent_core.loop.prompts import instruction_of
from autoagent_core.names import validate_session_id
from autoagent_core.types import Event, Session

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import SessionStore

UNFINISHED = ("active", "interrupted")


@dataclass
class RunRequest:
    """What the user asked for on the command line."""

    task: str | None = None
    session_id: str | None = None
    resume: bool = False


@dataclass
class SessionPlan:
    """The session a run works on. ``instruction``: a follow-up that starts this run;
    ``resumed``: the session existed before."""

    session: Session
    instruction: str | None
    resumed: bool
    new: bool
    append_instruction: bool = False


def plan_session(store: SessionStore, request: RunRequest) -> SessionPlan:
    """Decide, before any model is opened, which session the run uses (usage errors
    surface here)."""
    task = request.task.strip() if request.task and request.task.strip() else None
    if request.resume:
        if task:
            raise UsageError("--resume continues a saved session as it was; to give it a new "
                             "instruction use: autoagent run --session-id ID \"...\"")
        session = _load_resumable(store, request.session_id)
        return SessionPlan(session, pending_instruction(session), resumed=True, new=False)
    if request.session_id:
        session_id = validate_session_id(request.session_id)
        try:
            session = store.load(session_id)
        except NotFoundError:
            if task is None:
                raise UsageError(f"there is no session {session_id!r} yet: give a task to "
                                 "start it") from None
            return SessionPlan(Session(id=session_id, task=task), None, False, new=True)
        if task is not None:
            return SessionPlan(session, task, resumed=True, new=False, append_instruction=True)
        if session.status not in UNFINISHED:
            raise UsageError(f"session {session_id} is {session.status}: give a new "
                             f"instruction to continue it: autoagent run --session-id "
                             f"{session_id} \"...\"")
        return SessionPlan(session, pending_instruction(session), resumed=True, new=False)
    if task is None:
        raise UsageError("give a task: autoagent run TASK (or -q TASK, or - to read it from "
                         "standard input)")
    return SessionPlan(Session(id=store.new_id(), task=task), None, False, new=True)


def _load_resumable(store: SessionStore, session_id: str | None) -> Session:
    if session_id:
        session = store.load(validate_session_id(session_id))
        if session.status not in UNFINISHED:
            raise UsageError(f"session {session.id} is {session.status}: nothing to resume; "
                             f"continue it with a new instruction: autoagent run --session-id "
                             f"{session.id} \"...\"")
        return session
    rows = [r for r in store.list_sessions() if r.status in UNFINISHED]
    if not rows:
        raise NotFoundError("there is no active or interrupted session to resume "
                            "(autoagent sessions list shows them all)")
    return store.load(rows[0].id)


def pending_instruction(session: Session) -> str | None:
    """A follow-up instruction saved before any turn worked on it (the run that got it was
    interrupted at once): the resumed run starts with it."""
    marked = sum(1 for t in session.turns if instruction_of(t))
    return session.instructions[-1] if len(session.instructions) > marked else None


def execute_run(settings: Settings, request: RunRequest,
                listeners: Sequence[Callable[[Event], None]] = (),
                on_text: OnText | None = None) -> RunOutcome:
    """Open the layers, take the session exclusively, run the loop, close everything.

    Errors before the loop starts (usage, configuration, plugins, a busy session) are
    raised; everything after is in the returned outcome, with the session saved."""
    from autoagent_core.events import EventBus
    from autoagent_core.recording import record_if_asked
    from autoagent_core.redact import redactor_for
    from autoagent_core.rundir import new_run_dir
    from autoagent_core.secrets.task import protect_task

    # keys pasted into the task go to the secret store before anything is saved or sent
    request = RunRequest(protect_task(request.task, settings), request.session_id,
                         request.resume)
    sessions = layers.open_session_store(settings)
    plan = plan_session(sessions, request)
    tools = layers.open_tool_store(settings)
    agents = layers.open_agent_registry(settings)
    backend = record_if_asked(layers.open_backend(settings), settings)
    try:
        session = plan.session
        if plan.new:
            session.backend, session.model = backend.name, backend.model
            sessions.create(session)
        with sessions.open_exclusive(session.id):
            if not plan.new:  # reload under the lock: another run may have saved it
                session = sessions.load(session.id)
                session.backend, session.model = backend.name, backend.model
                if plan.append_instruction and plan.instruction:
                    session.instructions.append(plan.instruction)
                    session.answer = None
            offer_session = getattr(agents, "offer_session", None)
            if callable(offer_session):  # agents kept per session (the original's layout)
                offer_session(session.id)
            try:
                run_dir = new_run_dir(settings.path("log_dir"))
                session.run_dirs.append(str(run_dir))
                bus = EventBus(layers.open_recorders(settings, run_dir), redactor_for(settings))
            except AutoagentError:
                _save_as(sessions, session, "interrupted")
                raise
            bus.listeners.extend(listeners)
            try:
                loop = RunLoop(settings, backend, tools, agents, sessions, bus, session,
                               on_text=on_text)
                return loop.run(plan.instruction, resumed=plan.resumed, run_dir=Path(run_dir))
            finally:
                bus.close()
    finally:
        backend.close()


def _save_as(store: SessionStore, session: Session, status: str) -> None:
    """Save the session with ``status`` when a run cannot start after it was created."""
    if session.status == "active":
        session.status = status  # type: ignore[assignment]
    store.save(session)
