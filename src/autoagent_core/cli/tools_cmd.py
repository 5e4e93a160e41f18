"""``autoagent tools``: list, show, run, history, rollback and delete the persisted tools.

Human output (tables, highlighted code) on a terminal; in a pipe, plain text or JSON.
``tools run`` prints the tool's JSON result on stdout and records the run in the store's
statistics; a failing tool exits 1 with its classified error on stderr (class, message,
traceback tail, suggestions), and ``--args`` that is not a JSON object exits 2.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from autoagent_core.cli.common import is_terminal, one_line, print_json
from autoagent_core.terminal_text import json_text, safe_text

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.types import ToolResult, ToolSpec, ToolStore

app = typer.Typer(help="Manage the tool library (list, show, run, history, rollback, delete).",
                  no_args_is_help=True)

TOOLS_DIR = typer.Option(None, "--tools-dir", metavar="DIR",
                         help="Tool library folder (default .permanent_tools; TOOL_STORE_DIR).")
SANDBOX = typer.Option(None, "--sandbox", metavar="strict|open|none",
                       help="open: network, files in the working directory, subprocesses "
                            "(DANGEROUS_TOOLS=1, default); strict: no network, reads only the "
                            "system, writes only the scratch folder; none: no sandbox.")
ALLOW_READ = typer.Option(None, "--allow-read", metavar="PATH",
                          help="Let tools read PATH in strict mode (repeatable).")
ALLOW_WRITE = typer.Option(None, "--allow-write", metavar="PATH",
                           help="Let tools write PATH (repeatable).")
ALLOW_NET = typer.Option(None, "--allow-net", metavar="HOST[:PORT]",
                         help="Let tools in open mode reach HOST (a name, an address or a "
                              "network) on this machine or a private network; public "
                              "addresses need no grant (repeatable).")


def _settings(tools_dir: str | None, sandbox: str | None = None,
              allow_read: list[str] | None = None,
              allow_write: list[str] | None = None,
              allow_net: list[str] | None = None) -> Settings:
    from autoagent_core.cli.common import sandbox_overrides, settings

    return settings(tools_dir=tools_dir,
                    **sandbox_overrides(sandbox, allow_read, allow_write, allow_net))


def _store(settings: Settings) -> ToolStore:
    from autoagent_core.layers import open_tool_store

    return open_tool_store(settings)


@app.command("list")
def list_(
    as_json: bool = typer.Option(False, "--json", help="A JSON list of the manifest entries."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """Every tool. In a pipe: one tab-separated line each: name, version, signature, runs,
    description."""
    settings = _settings(tools_dir)
    tools = _store(settings).list_tools()
    from autoagent_core.tools.external import ExternalTools
    from autoagent_core.tools.telemetry import fill_from_sessions

    fill_from_sessions(tools, settings.path("sessions_dir"))

    external = ExternalTools(settings)
    try:
        others = external.list_tools()
    finally:
        external.close()
    if as_json:
        print_json([{**t.to_dict(), "source": "library"} for t in tools]
                   + [{**e.spec.to_dict(), "source": e.source} for e in others])
        return
    tools = tools + [e.spec for e in others]
    if not tools:
        print("no tools", file=sys.stderr)
        return
    if is_terminal():
        from rich.table import Table
        from rich.text import Text

        from autoagent_core.cli.common import console

        table = Table("name", "version", "signature", "runs", "description",
                      title=f"{len(tools)} tool(s)")
        for t in tools:  # Text, not markup: a name or docstring cannot style or link
            runs = f"{t.runs}" + (f" ({t.failures} failed)" if t.failures else "")
            if t.tool_stats:  # the original AutoAgent's telemetry
                runs += f", score {float(t.tool_stats.get('score') or 0):.2f}"
            table.add_row(Text(safe_text(t.name, one_line=True)), f"v{t.version}",
                          Text(safe_text(t.signature(), one_line=True)), runs,
                          Text(one_line(t.description, 70)))
        console().print(table)
        return
    sys.stdout.write("".join(
        f"{safe_text(t.name, one_line=True)}\tv{t.version}\t"
        f"{safe_text(t.signature(), one_line=True)}\t{t.runs}\t{one_line(t.description, 70)}\n"
        for t in tools))


@app.command("show")
def show(
    name: str = typer.Argument(..., help="Tool name."),
    version: int = typer.Option(None, "--version", "-v", min=1, help="An earlier version."),
    as_json: bool = typer.Option(False, "--json", help="Spec and code as one JSON object."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """A tool's code (highlighted on a terminal, plain in a pipe) and its spec."""
    from autoagent_core.errors import UsageError
    from autoagent_core.tools.script_metadata import read_metadata
    from autoagent_core.tools.telemetry import fill_from_sessions

    settings = _settings(tools_dir)
    tool = _store(settings).get(name, version)
    fill_from_sessions([tool.spec], settings.path("sessions_dir"))
    try:
        declared = read_metadata(tool.code).dependencies
    except UsageError:
        declared = []
    if as_json:
        print_json({**tool.spec.to_dict(), "code": tool.code, "dependencies": declared})
        return
    if not is_terminal():  # the exact code, for a file or a pipe
        sys.stdout.write(tool.code if tool.code.endswith("\n") else tool.code + "\n")
        return
    from rich.syntax import Syntax
    from rich.text import Text

    from autoagent_core.cli.common import console

    spec = tool.spec
    out = console()
    heading = Text(safe_text(spec.signature(), one_line=True), style="bold")
    heading.append(f"  v{spec.version}  updated {spec.updated_at[:19].replace('T', ' ')} "
                   f"UTC  runs {spec.runs} (failed {spec.failures})")
    out.print(heading)
    if spec.description:
        out.print(Text(safe_text(spec.description)))
    if declared:
        out.print(Text(safe_text(f"dependencies (PEP 723): {', '.join(declared)}")))
    if spec.tool_stats:
        from autoagent_core.tools.telemetry import stats_line

        out.print(Text(safe_text(f"telemetry: {stats_line(spec.name, spec.tool_stats)}")))
    out.print(Syntax(safe_text(tool.code), "python", line_numbers=True))


def _print_failure(name: str, result: ToolResult) -> None:
    error = result.error or {}
    lines = [f"autoagent: tool '{name}' failed: [{error.get('class', 'exception')}] "
             f"{safe_text(str(error.get('message', '')), one_line=True)}"]
    if error.get("traceback"):
        lines += ["traceback (tail):", *("  " + safe_text(ln, one_line=True)
                                         for ln in str(error["traceback"]).splitlines())]
    lines += [f"suggestion: {safe_text(str(tip), one_line=True)}"
              for tip in error.get("suggestions", [])]
    print("\n".join(lines), file=sys.stderr)


def _echo_output(result: ToolResult) -> None:
    """What the tool printed goes to stderr, so stdout stays one JSON document."""
    for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            note = " (truncated)" if result.truncated else ""
            text = safe_text(text)  # what a tool prints never drives the terminal
            sys.stderr.write(f"--- tool {label}{note}\n{text}")
            if not text.endswith("\n"):
                sys.stderr.write("\n")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="Tool name."),
    args: str = typer.Option("{}", "--args", "-a", metavar="JSON",
                             help="Keyword arguments as a JSON object."),
    as_json: bool = typer.Option(False, "--json",
                                 help="The whole outcome (ok, result, error, output, "
                                      "duration) as JSON."),
    sandbox: str = SANDBOX,
    allow_read: list[str] = ALLOW_READ,
    allow_write: list[str] = ALLOW_WRITE,
    allow_net: list[str] = ALLOW_NET,
    tools_dir: str = TOOLS_DIR,
) -> None:
    """Run a tool in the sandbox; its JSON result goes to stdout. Exit 1 when it fails."""
    from autoagent_core.cli.common import parse_json_arg
    from autoagent_core.errors import UsageError
    from autoagent_core.sandbox.library_call import run_library_tool

    parsed: Any = parse_json_arg(args, "--args")
    if not isinstance(parsed, dict):
        raise UsageError(f"--args must be a JSON object such as '{{\"x\": 1}}', "
                         f"not {type(parsed).__name__}")
    settings = _settings(tools_dir, sandbox, allow_read, allow_write, allow_net)
    if "." in name or ":" in name:  # a tool of a source (an MCP server's: SERVER.TOOL)
        result = _run_external(name, parsed, settings)
    else:
        from autoagent_core.deps.cli import stderr_notify
        from autoagent_core.sandbox.staging.undo import tool_call_folder

        undo = tool_call_folder(settings.path("log_dir"))
        _, result = run_library_tool(_store(settings), name, parsed, settings, caller="cli",
                                     notify=stderr_notify, undo_dir=undo / "undo")
        _echo_files(result, undo.name)
    if as_json:
        print_json(result.to_dict())
    else:
        _echo_output(result)
        if result.ok:
            sys.stdout.write(json_text(result.result) + "\n")
    if not result.ok:
        _print_failure(name, result)
        raise typer.Exit(1)


@app.command("deps")
def deps(
    name: str = typer.Argument(..., help="Tool name."),
    version: int = typer.Option(None, "--version", "-v", min=1, help="An earlier version."),
    install: bool = typer.Option(False, "--install",
                                 help="Install the declared packages now (as locked)."),
    as_json: bool = typer.Option(False, "--json", help="The report as one JSON object."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """The PyPI packages a tool declares (PEP 723) and the versions locked for it."""
    from autoagent_core.deps.cli import describe, install_now, render

    settings = _settings(tools_dir)
    store = _store(settings)
    if install:
        problem = install_now(store, settings, name, version)
        if problem is not None:
            print(f"autoagent: {problem}", file=sys.stderr)
            raise typer.Exit(1)
    report = describe(store, settings, name, version)
    if as_json:
        print_json(report)
    else:
        sys.stdout.write(render(report))


def _echo_files(result: ToolResult, undo_name: str) -> None:
    """Open mode's commit on stderr: ``wrote quotes.json (12 KB, new)``, each refusal, and
    how to undo it."""
    from autoagent_core.sandbox.staging.report import file_lines

    for line in file_lines(result.files, result.refused):
        print(f"autoagent: {safe_text(line, one_line=True)}", file=sys.stderr)
    if result.files:
        print(f"autoagent: undo with: autoagent runs undo {undo_name}", file=sys.stderr)


def _run_external(name: str, args: dict[str, Any], settings: Settings) -> ToolResult:
    from autoagent_core.errors import NotFoundError
    from autoagent_core.tools.external import ExternalTools

    external = ExternalTools(settings)
    try:
        source = external.owner(name)
        if source is None:
            raise NotFoundError(f"no tool '{name}': no tool source (such as an MCP server "
                                "added with 'autoagent mcp add') provides it")
        return source.call(name, args)
    finally:
        external.close()


def _history_rows(specs: list[ToolSpec], current: int | None) -> list[tuple[str, ...]]:
    return [(f"v{s.version}" + (" *" if s.version == current else ""),
             s.updated_at[:19].replace("T", " "), s.sha256[:12], one_line(s.description, 50))
            for s in specs]


@app.command("history")
def history(
    name: str = typer.Argument(..., help="Tool name."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list, oldest first."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """Every version of a tool, oldest first (* marks the current one)."""
    from autoagent_core.errors import AutoagentError

    store = _store(_settings(tools_dir))
    specs = store.history(name)
    if as_json:
        print_json([s.to_dict() for s in specs])
        return
    try:
        current: int | None = store.get(name).spec.version
    except AutoagentError:  # the current file is gone: history only
        current = None
    rows = _history_rows(specs, current)
    if is_terminal():
        from rich.table import Table

        from autoagent_core.cli.common import console

        table = Table("version", "saved (UTC)", "sha256", "description", title=name)
        for row in rows:
            table.add_row(*row)
        console().print(table)
        return
    sys.stdout.write("".join("\t".join(row) + "\n" for row in rows))


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="Tool name."),
    version: int = typer.Argument(..., min=1, help="The version to make current again."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """Make an earlier version current again (saved as a new version)."""
    spec = _store(_settings(tools_dir)).rollback(name, version)
    print(f"tool '{name}' is now v{spec.version} (the code of v{version})")


@app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Tool name."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (required in scripts)."),
    tools_dir: str = TOOLS_DIR,
) -> None:
    """Delete a tool with its whole history."""
    from autoagent_core.cli.common import confirm_or_abort
    from autoagent_core.names import validate_tool_name

    validate_tool_name(name)
    store = _store(_settings(tools_dir))
    store.history(name)  # NotFoundError before asking about a tool that does not exist
    confirm_or_abort(f"Delete tool '{name}' and all its versions?", yes)
    store.delete(name)
    print(f"deleted tool '{name}'", file=sys.stderr)
