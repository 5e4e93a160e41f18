"""Builds the Typer app: core command groups, then the commands plugins register."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from autoagent_core import __version__
from autoagent_core.errors import AutoagentError

HELP = (
    "autoagent: a Coder agent writes small Python tools, runs and fixes them until a task "
    "is solved; a Supervisor agent judges each result and steers. Tools, agents, sessions "
    "and run timelines persist on disk.\n\n"
    "Exit codes: 0 done, 1 task failed or turn limit, 2 usage, 3 configuration, 4 backend, "
    "5 plugin, 6 not found, 7 conflict, 8 storage, 9 sandbox, 130 interrupted."
)


def report_error(exc: AutoagentError) -> None:
    """One clear line on stderr, secrets redacted."""
    from autoagent_core.redact import redactor_for

    try:
        from autoagent_core.config import load_settings

        settings: Any = load_settings()
    except AutoagentError:
        settings = None
    from autoagent_core.terminal_text import safe_text

    message = safe_text(redactor_for(settings).text(str(exc)), one_line=True)
    print(f"autoagent: error: {message}", file=sys.stderr)


class AutoagentGroup(TyperGroup):
    """Turns the project's exceptions into one line on stderr and their exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except AutoagentError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("autoagent: interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # the reader of a pipe went away (autoagent ... | head): not an error of ours
            sys.stderr.close()
            raise typer.Exit(0) from None


def _version_callback(value: bool) -> None:
    if value:
        print(f"autoagent {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="autoagent",
        help=HELP,
        cls=AutoagentGroup,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version_callback, is_eager=True,
            help="Print the version and exit.",
        ),
    ) -> None:
        """autoagent command line."""

    from autoagent_core.cli import (
        agents_cmd,
        ask_cmd,
        batch_cmd,
        config_cmd,
        plugins_cmd,
        run_cmd,
        secrets_cmd,
        sessions_cmd,
        tools_cmd,
    )

    run_cmd.register(app)
    ask_cmd.register(app)
    batch_cmd.register(app)
    app.add_typer(sessions_cmd.app, name="sessions")
    app.add_typer(tools_cmd.app, name="tools")
    app.add_typer(agents_cmd.app, name="agents")
    plugins_cmd.register(app)
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(secrets_cmd.app, name="secrets")

    from autoagent_core.plugins import get_plugin_manager

    get_plugin_manager().register_commands(app)
    return app
