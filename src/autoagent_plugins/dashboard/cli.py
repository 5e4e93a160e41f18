"""``autoagent dashboard``: start the local web view and print its URL (with the token).

Imported at every CLI start (the command is registered then), so it imports only what
``--help`` needs; the server stack is imported when the command runs."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from autoagent_core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    import socket

DEFAULT_PORT = 8501  # the original's Streamlit port
NEEDED = ("starlette", "uvicorn", "sse_starlette")
MISSING_HELP = ("the dashboard needs Starlette, uvicorn and sse-starlette, which are not "
                "installed: pip install 'autoagent[dashboard]'")


def _has_display() -> bool:
    if sys.platform == "darwin" or os.name == "nt":
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _bind(host: str, port: int) -> socket.socket:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = " (pass --port 0 for a free one)" if exc.errno == 98 else ""
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") \
            from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def dashboard_command(
    port: int = typer.Option(DEFAULT_PORT, "--port", min=0, max=65535,
                             help="Port to listen on (0: a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    log_dir: Path = typer.Option(None, "--log-dir", help="Run timelines folder (.runs)."),
    tools_dir: Path = typer.Option(None, "--tools-dir", help="Tool library (.permanent_tools)."),
    sessions_dir: Path = typer.Option(None, "--sessions-dir", help="Sessions (.sessions)."),
    agents_dir: Path = typer.Option(None, "--agents-dir", help="Agents (.agents)."),
) -> None:
    """A live local web view of runs, sessions, tools, agents and the files tools wrote.

    Listens on 127.0.0.1 (port 8501 by default) and prints one line with its URL, which
    holds a random token; requests without it get 401. Ctrl-C stops it.
    """
    if any(importlib.util.find_spec(name) is None for name in NEEDED):
        raise ConfigError(MISSING_HELP)
    import secrets

    from autoagent_core.cli.common import settings as load
    from autoagent_core.plugins import get_plugin_manager
    from autoagent_plugins.dashboard.app import build_app
    from autoagent_plugins.dashboard.context import DashboardContext

    settings = load(log_dir=str(log_dir) if log_dir else None,
                    tools_dir=str(tools_dir) if tools_dir else None,
                    sessions_dir=str(sessions_dir) if sessions_dir else None,
                    agents_dir=str(agents_dir) if agents_dir else None)
    pages = [p for _, p in get_plugin_manager().providers("dashboard_page")]
    token = secrets.token_urlsafe(24)
    context = DashboardContext(settings=settings, token=token, plugin_pages=pages)
    app = build_app(context)
    sock = _bind(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    address = f"http://{shown_host}:{sock.getsockname()[1]}/?token={token}"
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(f"autoagent dashboard: warning: listening on {host}: anyone who can reach it "
              "and holds the token can read your runs, sessions and tools", file=sys.stderr)
    print(f"autoagent dashboard: {address}", file=sys.stderr, flush=True)
    if not no_browser and _has_display():
        import webbrowser

        webbrowser.open(address)
    _serve(app, sock)


def _serve(app: Any, sock: socket.socket) -> None:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
