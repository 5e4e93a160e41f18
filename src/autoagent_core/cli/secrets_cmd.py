"""``autoagent secrets``: keep API keys out of tasks, tools, sessions and outputs.

``set NAME`` reads the value from a hidden prompt on a terminal or from standard input
(never from the command line, where the shell history and ``ps`` would keep it); ``list``
shows names, where they are kept and which tools declare each; ``rm NAME`` forgets one;
``scan [--fix]`` finds key-shaped values in the tool library, sessions and runs.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from autoagent_core.cli import common
from autoagent_core.errors import NotFoundError, UsageError

app = typer.Typer(help="Secrets (API keys) that declared tools receive as environment "
                       "variables; never shown, logged or sent to a model.",
                  no_args_is_help=True)


def _store(settings: Any) -> Any:
    from autoagent_core.secrets.store import open_secret_store

    return open_secret_store(settings)


@app.command("set")
def set_secret(name: str = typer.Argument(..., help="The name, like SERPAPI_KEY.")) -> None:
    """Keep a secret: the value is read from a hidden prompt, or from standard input."""
    from autoagent_core.secrets.store import validate_secret_name

    validate_secret_name(name)
    if sys.stdin.isatty():
        value = typer.prompt(f"Value of {name}", hide_input=True)
    else:
        value = sys.stdin.read()
    value = value.strip("\r\n")
    if not value.strip():
        raise UsageError(f"no value for {name}: type it at the prompt or pipe it on "
                         "standard input (echo \"$KEY\" | autoagent secrets set NAME)")
    if "\n" in value:
        raise UsageError("a secret is one line: the value read holds a line break")
    store = _store(common.settings())
    store.set(name, value)
    print(f"kept {name} in {store.location()}", file=sys.stderr)


@app.command("list")
def list_secrets(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Names, where each is kept, and which tools declare it (never a value)."""
    settings = common.settings()
    store = _store(settings)
    kept = store.names()
    declared = _declarations(settings)
    rows: list[dict[str, Any]] = [
        {"name": n, "kept_in": store.location() if n in kept else None,
         "declared_by": declared.get(n, [])}
        for n in sorted(set(kept) | set(declared))]
    if as_json:
        common.print_json({"store": store.name, "location": store.location(),
                           "secrets": rows})
        return
    if not rows:
        print(f"no secrets ({store.location()}); keep one with: autoagent secrets set NAME",
              file=sys.stderr)
        return
    for row in rows:
        where = row["kept_in"] or "MISSING (autoagent secrets set " + row["name"] + ")"
        tools = ", ".join(row["declared_by"]) or "no tool"
        print(f"{row['name']}\t{where}\tdeclared by: {tools}")


def _declarations(settings: Any) -> dict[str, list[str]]:
    """Secret name -> the tools of the library whose code declares it."""
    from autoagent_core.errors import AutoagentError
    from autoagent_core.layers import open_tool_store
    from autoagent_core.tools.script_metadata import read_metadata

    out: dict[str, list[str]] = {}
    try:
        store = open_tool_store(settings)
        specs = store.list_tools()
    except AutoagentError:
        return out
    for spec in specs:
        try:
            names = read_metadata(store.get(spec.name).code).secrets
        except AutoagentError:
            continue
        for name in names:
            out.setdefault(name, []).append(spec.name)
    return out


@app.command("rm")
def remove_secret(name: str = typer.Argument(..., help="The secret's name.")) -> None:
    """Forget a secret."""
    store = _store(common.settings())
    if not store.delete(name):
        raise NotFoundError(f"there is no secret {name!r} (autoagent secrets list)")
    print(f"removed {name} from {store.location()}", file=sys.stderr)


@app.command("scan")
def scan(
    fix: bool = typer.Option(False, "--fix", help="Move each value into the secret store "
                             "and put its name where it was."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    tools_dir: str = typer.Option(None, "--tools-dir", help="Tool library folder."),
    sessions_dir: str = typer.Option(None, "--sessions-dir", help="Session folder."),
    log_dir: str = typer.Option(None, "--log-dir", help="Run timelines folder."),
) -> None:
    """Find keys in the tool library, sessions and runs; --fix moves them into the store.

    Each place is a file and a field, never the value. Exit 1 when keys are found and not
    fixed, 0 when there are none or --fix moved them."""
    from autoagent_core.secrets.scan import scan_folders

    settings = common.settings(tools_dir=tools_dir, sessions_dir=sessions_dir,
                               log_dir=log_dir)
    report = scan_folders(settings)
    if fix and report.places:
        from autoagent_core.secrets.fix import fix_folders

        fixed = fix_folders(settings, report, _store(settings))
        if as_json:
            common.print_json(fixed.to_json())
        else:
            for line in fixed.lines():
                print(line)
        return
    if as_json:
        common.print_json(report.to_json())
    else:
        for line in report.lines():
            print(line)
    if report.places:
        raise typer.Exit(1)
