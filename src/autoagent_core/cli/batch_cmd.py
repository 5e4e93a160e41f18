"""``autoagent batch TASKS.jsonl``: one run per task, in parallel processes or on a Dask
cluster, results appended to RESULTS.jsonl as each task finishes (see
:mod:`autoagent_core.batch`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from autoagent_core.cli import common
from autoagent_core.errors import UsageError


def register(app: typer.Typer) -> None:
    """Add ``batch`` to the app."""

    @app.command("batch")
    def batch(
        tasks: Path = typer.Argument(..., metavar="TASKS.jsonl",
                                     help='One {"id": ..., "task": ...} object a line.'),
        output: Path = typer.Option(None, "-o", "--output", metavar="RESULTS.jsonl",
                                    help="Results file (default: TASKS.results.jsonl)."),
        jobs: int = typer.Option(1, "-j", "--jobs", min=1, help="Tasks run in parallel."),
        executor: str = typer.Option("local", "--executor",
                                     help="local (processes here), dask, or a plugin's."),
        scheduler: str = typer.Option(None, "--scheduler", envvar="DASK_SCHEDULER_ADDRESS",
                                      help="Dask scheduler address (tcp://host:8786)."),
        retry_failed: bool = typer.Option(False, "--retry-failed",
                                          help="Run again the tasks whose result is failed."),
        env_from_host: list[str] = typer.Option(
            [], "--env-from-host", metavar="NAME",
            help="Pass this environment variable to every task (repeatable)."),
        max_turns: int = typer.Option(None, "-m", "--max-turns", min=1,
                                      help="Turn limit of each task (default 10)."),
        backend: str = typer.Option(None, "--backend",
                                    help="cloudflare, openai, local, scripted or auto."),
        model: str = typer.Option(None, "--model", help="Model of the backend."),
        script: str = typer.Option(None, "--script",
                                   help="Replay replies from FILE (the scripted backend)."),
        tools_dir: str = typer.Option(None, "--tools-dir", help="Tool library folder."),
        agents_dir: str = typer.Option(None, "--agents-dir", help="Agent registry folder."),
        sessions_dir: str = typer.Option(None, "--sessions-dir", help="Session folder."),
        log_dir: str = typer.Option(None, "--log-dir", help="Run timelines folder."),
        sandbox: str = typer.Option(None, "--sandbox",
                                    help="strict (no network, confined writes) or open."),
        allow_net: list[str] = typer.Option(None, "--allow-net", metavar="HOST[:PORT]",
                                            help="Let tools in open mode reach HOST on this "
                                                 "machine or a private network (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON summary at the end."),
    ) -> None:
        """Run every task of TASKS.jsonl, each as one run with its own session.

        A file with bad lines is refused whole, every bad line named, before any task runs. Rerunning with the same RESULTS skips the ids done. Exit codes: 0 all completed, 1 some failed, 2 usage, 3 configuration, 5 plugin, 130 Ctrl-C (tasks in flight written as interrupted).
        """  # noqa: E501 - one paragraph in --help
        from autoagent_core.batch.runner import BatchRequest, run_batch

        overrides: dict[str, Any] = {
            "max_turns": max_turns, "backend": backend, "model": model,
            "tools_dir": _absolute(tools_dir), "agents_dir": _absolute(agents_dir),
            "sessions_dir": _absolute(sessions_dir), "log_dir": _absolute(log_dir),
            "allow_net": common.checked_allow_net(allow_net),
        }
        if script is not None:
            overrides.update(backend="scripted", script=_absolute(script))
        if sandbox is not None:
            if sandbox not in ("strict", "open"):
                raise UsageError(f"--sandbox must be strict or open, not {sandbox!r}")
            overrides["dangerous_tools"] = sandbox == "open"
        if executor == "dask" and not scheduler:
            raise UsageError("--executor dask needs --scheduler tcp://HOST:PORT (or "
                             "DASK_SCHEDULER_ADDRESS)")
        results = output or tasks.with_name(tasks.name.removesuffix(".jsonl") +
                                            ".results.jsonl")
        request = BatchRequest(
            tasks, results, executor, jobs, scheduler, retry_failed,
            {k: v for k, v in overrides.items() if v is not None}, list(env_from_host),
            terminal=sys.stderr.isatty() and not as_json)
        outcome = run_batch(request)
        if as_json:
            common.print_json(outcome.to_json())
        elif outcome.interrupted:
            print("autoagent: interrupted; rerun the same command to continue the batch",
                  file=sys.stderr)
        if outcome.exit_code:
            raise typer.Exit(outcome.exit_code)


def _absolute(path: str | None) -> str | None:
    """Store folders and scripts as absolute paths: workers may run elsewhere."""
    return None if path is None else os.path.abspath(os.path.expanduser(path))
