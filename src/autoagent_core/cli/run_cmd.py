"""``autoagent run``: solve a task with the Coder and the Supervisor.

Output: on a terminal a live view (turn, agent speaking, streamed text, each action and
result); in a pipe, progress as plain lines on stderr and the answer alone on stdout, so
``autoagent run "..." > answer.txt`` keeps just the answer; with ``--json`` one JSON
object on stdout. Errors are one line on stderr with the documented exit code, after the
session was saved.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

import typer

from autoagent_core.cli import common
from autoagent_core.errors import UsageError


def register(app: typer.Typer) -> None:
    """Add ``run`` to the app."""

    @app.command("run")
    def run(
        task_arg: str = typer.Argument(None, metavar="TASK",
                                       help="The task ('-' reads it from standard input)."),
        task_opt: str = typer.Option(None, "-q", "--task", help="The task (instead of TASK)."),
        session_id: str = typer.Option(None, "--session-id",
                                       help="Name the new session, or continue this one "
                                            "(TASK is then a new instruction)."),
        resume: bool = typer.Option(False, "--resume",
                                    help="Continue an active or interrupted session from its "
                                         "last saved turn (default: the most recent one)."),
        max_turns: int = typer.Option(None, "-m", "--max-turns", min=1,
                                      help="Turn limit of this run (default 10)."),
        backend: str = typer.Option(None, "--backend",
                                    help="cloudflare, openai, local, scripted or auto."),
        model: str = typer.Option(None, "--model", help="Model of the backend."),
        script: str = typer.Option(None, "--script",
                                   help="Replay replies from FILE (the scripted backend)."),
        record: str = typer.Option(None, "--record",
                                   help="Write this run's replies to FILE (a script)."),
        tools_dir: str = typer.Option(None, "--tools-dir", help="Tool library folder."),
        agents_dir: str = typer.Option(None, "--agents-dir", help="Agent registry folder."),
        sessions_dir: str = typer.Option(None, "--sessions-dir", help="Session folder."),
        log_dir: str = typer.Option(None, "--log-dir", help="Run timelines folder."),
        sandbox: str = typer.Option(None, "--sandbox",
                                    help="strict (no network, reads only the system, writes "
                                         "only scratch), open (default) or none."),
        allow_read: list[str] = typer.Option(None, "--allow-read", metavar="PATH",
                                             help="Let tools read PATH in strict mode."),
        allow_write: list[str] = typer.Option(None, "--allow-write", metavar="PATH",
                                              help="Let tools write PATH."),
        allow_net: list[str] = typer.Option(None, "--allow-net", metavar="HOST[:PORT]",
                                            help="Let tools in open mode reach HOST (a name, "
                                                 "an address or a network) on this machine "
                                                 "or a private network (repeatable)."),
        protocol: str = typer.Option(None, "--protocol",
                                     help="tools, json or text: force how replies are asked "
                                          "for (default auto: native tools, else JSON mode, "
                                          "else text, falling back when refused)."),
        strategy: str = typer.Option(None, "--strategy",
                                     help="guided (narrow constrained steps, for small "
                                          "models), free (the action protocol) or auto."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Solve a task: the Coder writes and runs tools, the Supervisor decides.

        Exit codes: 0 done, 1 failed or turn limit, 2 usage, 3 configuration, 4 backend (the session is kept as interrupted: --resume continues it), 9 the sandbox cannot be enforced here, 130 Ctrl-C (interrupted, resumable).
        """  # noqa: E501 - one paragraph in --help
        task = _read_task(task_arg, task_opt)
        overrides: dict[str, Any] = {
            "max_turns": max_turns, "backend": backend, "model": model,
            "tools_dir": tools_dir, "agents_dir": agents_dir, "sessions_dir": sessions_dir,
            "log_dir": log_dir, "record": record, "strategy": strategy,
        }
        if protocol is not None:
            if protocol not in ("auto", "tools", "json", "text"):
                raise UsageError(f"--protocol must be tools, json, text or auto, not {protocol!r}")
            overrides["protocol"] = protocol
        if script is not None:
            overrides.update(backend="scripted", script=script)
        overrides.update(common.sandbox_overrides(sandbox, allow_read, allow_write,
                                                  allow_net))
        settings = common.settings(**overrides)
        if task is None and session_id is None and not resume:
            task = _default_task(settings)
        _execute(settings, task, session_id, resume, as_json)


def _default_task(settings: Any) -> str | None:
    """The task when none is given: ``AGENT_TASK`` (the original AutoAgent's setting),
    else, on a terminal, asked for; else None (the run then says a task is needed)."""
    if settings.agent_task.strip():
        return str(settings.agent_task)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    try:
        print("Task: ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
    except (OSError, UnicodeDecodeError):
        return None
    return answer.strip() or None


def _read_task(task_arg: str | None, task_opt: str | None) -> str | None:
    if task_arg is not None and task_opt is not None:
        raise UsageError("give the task once: as TASK or with -q/--task, not both")
    task = task_opt if task_opt is not None else task_arg
    if task == "-":
        task = sys.stdin.read()
        if not task.strip():
            raise UsageError("the task read from standard input is empty")
    return task


def _execute(settings: Any, task: str | None, session_id: str | None, resume: bool,
             as_json: bool) -> None:
    from autoagent_core.cli.live_view import make_view
    from autoagent_core.loop.session import RunRequest, execute_run
    from autoagent_core.redact import redactor_for

    redactor = redactor_for(settings)
    view = make_view(json_mode=as_json, terminal=common.is_terminal(), redactor=redactor,
                     max_turns=settings.max_turns)
    previous = _sigterm_as_interrupt()
    try:
        with view:
            outcome = execute_run(settings, RunRequest(task, session_id, resume),
                                  listeners=[view.on_event],
                                  on_text=view.on_text if view.streams else None)
            view.finish(outcome)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        common.print_json(redactor(outcome.to_json()))
    elif outcome.session.status == "completed" and not view.shows_answer:
        from autoagent_core.terminal_text import safe_text

        sys.stdout.write(safe_text(redactor.text(outcome.session.answer or "")) + "\n")
    if outcome.error is not None:
        raise outcome.error


def _sigterm_as_interrupt() -> Any:
    """SIGTERM ends a run like Ctrl-C does: the session is saved as interrupted."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)
