"""``autoagent sessions``: list, show, export, import, delete and clean saved sessions.

Imports stay inside the commands so ``autoagent --help`` does not pay for them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from autoagent_core.cli.common import is_terminal, one_line, print_json

if TYPE_CHECKING:
    from autoagent_core.types import Session, SessionStore, SessionSummary

app = typer.Typer(help="Manage saved sessions (list, show, export, import, delete, clean).",
                  no_args_is_help=True)

SESSIONS_DIR = typer.Option(None, "--sessions-dir", metavar="DIR",
                            help="Session store folder (default .sessions).")
TASK_CHARS = 60
TEXT_CHARS = 240
IMPORT_MAX_BYTES = 50 * 1024 * 1024


def _store(sessions_dir: str | None) -> SessionStore:
    from autoagent_core.cli.common import settings
    from autoagent_core.layers import open_session_store

    return open_session_store(settings(sessions_dir=sessions_dir))


def _check_status(status: str | None) -> None:
    from autoagent_core.errors import UsageError
    from autoagent_core.types import SESSION_STATUSES

    if status is not None and status not in SESSION_STATUSES:
        raise UsageError(f"unknown status '{status}': choose one of {', '.join(SESSION_STATUSES)}")


def shorten(text: Any, limit: int = TEXT_CHARS) -> str:
    """One line of at most ``limit`` characters."""
    return one_line(text, limit)


def _when(stamp: str) -> str:
    """``2026-11-25T21:15:30.123Z`` -> ``2026-11-25 21:15`` (UTC)."""
    return stamp[:16].replace("T", " ") if len(stamp) >= 16 else stamp


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


# --------------------------------------------------------------------------- list


def _print_summaries(rows: list[SessionSummary], title: str) -> None:
    if is_terminal():
        from rich.table import Table
        from rich.text import Text

        from autoagent_core.cli.common import console

        table = Table("id", "status", "task", "turns", "updated (UTC)", title=title)
        for s in rows:
            table.add_row(s.id, s.status, Text(shorten(s.task, TASK_CHARS)), str(s.turns),
                          _when(s.updated_at))
        console().print(table)
        return
    out = sys.stdout
    lines = [f"{s.id}\t{s.status}\t{s.turns}\t{s.updated_at}\t{shorten(s.task, TASK_CHARS)}\n"
             for s in rows]
    out.write("".join(lines))


@app.command("list")
def list_(
    status: str = typer.Option(None, "--status", help="Only sessions with this status "
                               "(active, completed, failed, interrupted)."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list on stdout."),
    rebuild: bool = typer.Option(False, "--rebuild",
                                 help="Rebuild the index from the session files first."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """Saved sessions, most recently updated first.

    In a pipe: one tab-separated line per session: id, status, turns, updated, task.
    """
    _check_status(status)
    store = _store(sessions_dir)
    if rebuild:
        aside = store.rebuild_index()
        _stderr(f"index rebuilt; {len(aside)} corrupt file(s) set aside"
                + (f": {', '.join(aside)}" if aside else ""))
    rows = store.list_sessions(status=status)
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if not rows:
        _stderr("no sessions" + (f" with status '{status}'" if status else ""))
        return
    _print_summaries(rows, f"{len(rows)} session(s)")


# --------------------------------------------------------------------------- show


def _format_action(action: dict[str, Any]) -> str:
    kind = str(action.get("type", "?"))
    rest = {k: v for k, v in action.items() if k != "type"}
    name = rest.pop("name", None)
    if kind == "create_tool":
        rest.pop("code", None)
    head = f"{kind} {name}" if name else kind
    if kind == "final_answer":
        return f"{head}: {shorten(rest.get('answer', ''), 160)}"
    if not rest:
        return head
    import json

    return f"{head} {shorten(json.dumps(rest, ensure_ascii=False), 160)}"


def _format_result(result: dict[str, Any]) -> str:
    import json

    rest = dict(result)
    parts = [rest.pop(key) for key in ("action", "type", "name")
             if isinstance(rest.get(key), str)]
    if "ok" in rest:
        parts.append("ok" if rest.pop("ok") else "failed")
    label = " ".join(parts)
    body = shorten(json.dumps(rest, ensure_ascii=False, default=str), 200) if rest else ""
    return f"{label}: {body}" if label and body else label or body


def _format_decision(decision: dict[str, Any]) -> str:
    verdict = str(decision.get("decision", "?"))
    note = decision.get("feedback") or decision.get("answer") or ""
    tips = decision.get("tips")
    text = verdict + (f": {shorten(note, 200)}" if note else "")
    if isinstance(tips, list) and tips:
        text += " (tips: " + shorten("; ".join(str(t) for t in tips), 160) + ")"
    return text


def _telemetry_lines(session: Session) -> list[tuple[str, str]]:
    """The original AutoAgent's tool telemetry (``custom_data.tool_stats``), best first."""
    custom = session.original.get("custom_data")
    stats = custom.get("tool_stats") if isinstance(custom, dict) else None
    if not isinstance(stats, dict) or not stats:
        return []
    from autoagent_core.tools.telemetry import stats_line

    ranked = sorted(stats.items(), key=lambda kv: -float(
        (kv[1] or {}).get("score") or 0) if isinstance(kv[1], dict) else 0)
    return [("tool telemetry:", "")] + [(f"  {stats_line(name, s)}", "dim")
                                        for name, s in ranked if isinstance(s, dict)]


def session_lines(session: Session) -> list[tuple[str, str]]:
    """The human view of a session as ``(text, rich style)`` lines."""
    lines: list[tuple[str, str]] = [
        (f"session {session.id}  status {session.status}  turns {session.turn_count}  "
         f"updated {_when(session.updated_at)} UTC", "bold"),
    ]
    if session.backend or session.model:
        lines.append((f"backend {session.backend or '?'}  model {session.model or '?'}", "dim"))
    usage = session.usage
    if usage.total_tokens:
        lines.append((f"tokens {usage.prompt_tokens} in, {usage.completion_tokens} out", "dim"))
    lines.append((f"task: {session.task}", ""))
    for instruction in session.instructions:
        lines.append((f"instruction: {shorten(instruction)}", ""))
    for turn in session.turns:
        lines.append(("", ""))
        lines.append((f"turn {turn.index}", "bold cyan"))
        for msg in turn.messages:
            if msg.get("role") in ("system", "user"):
                continue  # the prompts: long and the same every turn
            who = msg.get("agent") or msg.get("role") or "?"
            lines.append((f"  {who}: {shorten(msg.get('content', ''))}", ""))
        for action in turn.actions:
            lines.append((f"  action {_format_action(action)}", "yellow"))
        for result in turn.results:
            lines.append((f"  result {_format_result(result)}", "green"))
        if turn.decision:
            lines.append((f"  supervisor: {_format_decision(turn.decision)}", "magenta"))
    if session.tools_created:
        names = ", ".join(str(t.get("name", "?")) for t in session.tools_created)
        lines.append((f"tools created: {names}", ""))
    if session.agents_created:
        lines.append((f"agents created: {', '.join(session.agents_created)}", ""))
    lines += _telemetry_lines(session)
    lines.append(("", ""))
    lines.append((f"answer: {session.answer}" if session.answer is not None
                  else "answer: (none yet)", "bold"))
    return lines


@app.command("show")
def show(
    session_id: str = typer.Argument(..., metavar="ID", help="Session id."),
    as_json: bool = typer.Option(False, "--json", help="The full session as JSON."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """The task, each turn (messages, actions, results, the Supervisor's decision) and
    the answer."""
    session = _store(sessions_dir).load(session_id)
    if as_json:
        print_json(session.to_dict())
        return
    from autoagent_core.terminal_text import safe_text

    lines = [(safe_text(text), style) for text, style in session_lines(session)]
    if is_terminal():
        from rich.text import Text

        from autoagent_core.cli.common import console

        con = console()
        for text, style in lines:
            con.print(Text(text, style=style))
        return
    sys.stdout.write("".join(text + "\n" for text, _ in lines))


# --------------------------------------------------------------------------- export / import


@app.command("export")
def export(
    session_id: str = typer.Argument(..., metavar="ID", help="Session id."),
    output: str = typer.Option("-", "-o", "--output", metavar="FILE",
                               help="Write here (atomically); '-' is stdout."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """Write one self-contained JSON file that 'sessions import' reads back."""
    import json
    from pathlib import Path

    data = _store(sessions_dir).export(session_id)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output == "-":
        sys.stdout.write(text)
        return
    from autoagent_core.atomic import atomic_write_bytes, refuse_foreign_target

    path = Path(output).expanduser()
    refuse_foreign_target(path)  # a planted link or another user's file: exit 8
    atomic_write_bytes(path, text.encode("utf-8", "backslashreplace"))
    print(f"exported session {session_id} to {path}")


@app.command("import")
def import_(
    file: str = typer.Argument(..., metavar="FILE", help="An export ('-' reads stdin)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace a session with the same id."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """Validate an exported session and add it to the store (exit 2 if the file is
    invalid, 7 if the id exists and --overwrite is not given)."""
    data = read_json_capped(file)
    session = _store(sessions_dir).import_(data, overwrite=overwrite)
    print(f"imported session {session.id} ({session.turn_count} turns, {session.status})")


def read_json_capped(path: str, cap: int = IMPORT_MAX_BYTES) -> Any:
    """Read a JSON file given by the user (``-`` is stdin), refusing one larger than
    ``cap`` bytes before parsing it; every problem is a :class:`UsageError`."""

    from autoagent_core.errors import UsageError

    if path == "-":
        raw = sys.stdin.buffer.read(cap + 1)
        name = "stdin"
    else:
        name = path
        try:
            import os
            import stat

            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            with open(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise UsageError(f"{name} is not a regular file")
                raw = fh.read(cap + 1)
        except FileNotFoundError:
            raise UsageError(f"{name}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{name} is a directory, not a session file") from None
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(raw) > cap:
        raise UsageError(f"{name} is larger than {cap // (1024 * 1024)} MB; "
                         "refusing to import it")
    from autoagent_core.protocol import json_scan

    try:
        return json_scan.loads(raw)
    except json_scan.JsonScanError as exc:
        raise UsageError(f"{name} is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- delete / clean


@app.command("delete")
def delete(
    session_id: str = typer.Argument(..., metavar="ID", help="Session id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (needed in scripts)."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """Delete one session (refused while a run has it open)."""
    from autoagent_core.cli.common import confirm_or_abort

    store = _store(sessions_dir)
    session = store.load(session_id)  # not found -> exit 6 before asking
    confirm_or_abort(f"Delete session {session_id} ({shorten(session.task, 60)})?", yes)
    store.delete(session_id)
    print(f"deleted session {session_id}")


def _older_than(days: float) -> str:
    import datetime as dt

    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return cutoff.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@app.command("clean")
def clean(
    status: str = typer.Option(None, "--status", help="Delete sessions with this status."),
    days: float = typer.Option(None, "--days", min=0,
                               help="Delete sessions not updated for this many days."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only print what would go."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask (needed in scripts)."),
    sessions_dir: str = SESSIONS_DIR,
) -> None:
    """Delete many sessions at once, e.g. '--status completed' or '--days 30' (both:
    sessions that match both). Prints each session it deletes."""
    from autoagent_core.cli.common import confirm_or_abort
    from autoagent_core.errors import ConflictError, NotFoundError, UsageError

    _check_status(status)
    if status is None and days is None:
        raise UsageError("say what to clean: --status S, --days N, or both")
    store = _store(sessions_dir)
    victims = store.list_sessions(status=status)
    if days is not None:
        cutoff = _older_than(days)
        victims = [s for s in victims if s.updated_at < cutoff]
    if not victims:
        print("nothing to clean")
        return
    if dry_run:
        for s in victims:
            print(f"would delete {s.id}\t{s.status}\t{s.updated_at}\t{shorten(s.task, TASK_CHARS)}")
        print(f"{len(victims)} session(s) would be deleted (dry run)")
        return
    confirm_or_abort(f"Delete {len(victims)} session(s)?", yes)
    deleted = 0
    for s in victims:
        try:
            store.delete(s.id)
        except ConflictError:
            print(f"skipped {s.id}: open in a run")
            continue
        except NotFoundError:
            continue
        deleted += 1
        print(f"deleted {s.id}\t{s.status}\t{s.updated_at}\t{shorten(s.task, TASK_CHARS)}")
    print(f"{deleted} session(s) deleted")
