"""The ``autoagent`` command line (Typer). Built in :func:`main`; one module per group."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from autoagent_core.cli.app import build_app
    from autoagent_core.redact_streams import install

    install()

    build_app()(prog_name="autoagent")
