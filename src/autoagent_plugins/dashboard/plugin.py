"""``autoagent dashboard``, registered through the commands hook. This module is imported
on every CLI start, so it imports nothing but the hook marker: Starlette and uvicorn are
imported when the command runs."""

from __future__ import annotations

from typing import Any

from autoagent_core.hookspecs import hookimpl


@hookimpl
def autoagent_register_commands(app: Any) -> None:
    from autoagent_plugins.dashboard.cli import dashboard_command

    app.command("dashboard")(dashboard_command)
