"""``autoagent config``: show the resolved settings, set or unset a value in the user file."""

from __future__ import annotations

import typer

from autoagent_core.cli.common import console, is_terminal, print_json

app = typer.Typer(help="Show and change settings (flag > env > .env > config file > default).",
                  no_args_is_help=True)


@app.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout.")) -> None:
    """Every setting, its value (secrets masked) and where it came from."""
    from autoagent_core.config import (
        config_path,
        display_value,
        load_settings,
        sandbox_mode,
        setting_fields,
    )
    from autoagent_core.sandbox.mechanism import describe_mode

    settings = load_settings()
    sandbox_line = describe_mode(sandbox_mode(settings))
    rows = [
        (f.name, display_value(settings, f.name), settings.sources.get(f.name, "default"))
        for f in setting_fields()
    ]
    if as_json:
        print_json({"config_file": str(config_path()), "sandbox": sandbox_line,
                    "settings": {k: {"value": v, "source": s} for k, v, s in rows}})
        return
    if is_terminal():
        from rich.table import Table

        table = Table("setting", "value", "source", title=f"config file: {config_path()}")
        for key, value, source in rows:
            table.add_row(key, str(value), source)
        console().print(table)
        console().print(sandbox_line)
        return
    print(sandbox_line)
    for key, value, source in rows:
        print(f"{key} = {value!r}  ({source})")


@app.command("set")
def set_(key: str = typer.Argument(..., help="Setting name, as in 'config show'."),
         value: str = typer.Argument(..., help="New value.")) -> None:
    """Validate a value and write it to the user config file."""
    from autoagent_core.config import _field, mask, set_config_value

    path, parsed = set_config_value(key, value)
    shown = mask(parsed) if _field(key).metadata["secret"] else repr(parsed)
    print(f"{key} = {shown} written to {path}")


@app.command("unset")
def unset(key: str = typer.Argument(..., help="Setting name.")) -> None:
    """Remove a value from the user config file (the default applies again)."""
    from autoagent_core.config import unset_config_value

    path = unset_config_value(key)
    print(f"{key} removed from {path}")


@app.command("path")
def path() -> None:
    """Print the path of the user config file."""
    from autoagent_core.config import config_path

    print(config_path())
