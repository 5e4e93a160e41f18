"""``autoagent sessions ...`` through the real command line, on sessions made by the
store's own interface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autoagent_plugins.fs_sessions.store import FileSessionStore
from fixtures.sessions import make_session

OLD = "2020-01-01T00:00:00.000000Z"


@pytest.fixture
def three(store: FileSessionStore) -> FileSessionStore:
    """An old completed session, a failed one and a fresh active one."""
    old = make_session("old-done", status="completed", answer="5", task="sum a list")
    old.created_at = old.updated_at = OLD
    store.create(old)  # create keeps the given times
    store.create(make_session("mid-failed", status="failed", turns=1, task="parse a date"))
    fresh = make_session("fresh-active", turns=3, task="word count\tof a\nfile " + "x" * 200)
    store.create(fresh)
    store.save(fresh)
    return store


def test_list_in_a_pipe_is_tab_separated_newest_first(three: FileSessionStore, cli: Any) -> None:
    result = cli("sessions", "list")
    assert result.returncode == 0, result
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [f[0] for f in lines] == ["fresh-active", "mid-failed", "old-done"]
    fresh = lines[0]
    assert fresh[1:3] == ["active", "3"]
    assert fresh[4].startswith("word count of a file xxx") and len(fresh[4]) <= 60
    assert all(len(f) == 5 for f in lines)


def test_list_status_filter_json_and_rebuild(three: FileSessionStore, cli: Any,
                                             sessions_dir: Path) -> None:
    result = cli("sessions", "list", "--status", "completed", "--json")
    assert result.returncode == 0, result
    [row] = json.loads(result.stdout)
    assert row["id"] == "old-done" and row["turns"] == 2 and row["status"] == "completed"
    bad = cli("sessions", "list", "--status", "finished")
    assert bad.returncode == 2 and "active, completed, failed, interrupted" in bad.stderr
    (sessions_dir / "index.json").write_text('{"sessions": {}}')  # lost rows
    (sessions_dir / "index.journal").unlink()
    rebuilt = cli("sessions", "list", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt
    assert len(rebuilt.stdout.splitlines()) == 3
    assert "index rebuilt" in rebuilt.stderr


def test_list_with_another_sessions_dir(tmp_path: Path, cli: Any) -> None:
    other = FileSessionStore(tmp_path / "elsewhere")
    other.create(make_session("over-there"))
    result = cli("sessions", "list", "--sessions-dir", str(tmp_path / "elsewhere"))
    assert result.stdout.startswith("over-there\t"), result
    empty = cli("sessions", "list")
    assert (empty.returncode, empty.stdout) == (0, "")
    assert "no sessions" in empty.stderr


def test_show_prints_turns_actions_results_decision_and_answer(
        three: FileSessionStore, cli: Any) -> None:
    result = cli("sessions", "show", "old-done")
    assert result.returncode == 0, result
    out = result.stdout
    assert "task: sum a list" in out
    assert "turn 1" in out and "turn 2" in out
    assert "coder: I will write add() in turn 1" in out
    assert "action create_tool add" in out and "def add" not in out  # code left out
    assert 'action run_tool add {"args": {"a": 2, "b": 1}}' in out
    assert "result run_tool add ok" in out
    assert "supervisor: continue: good, now check turn 2 (tips: test edge cases)" in out
    assert out.rstrip().endswith("answer: 5")
    full = cli("sessions", "show", "old-done", "--json")
    assert json.loads(full.stdout) == three.load("old-done").to_dict()
    missing = cli("sessions", "show", "no-such")
    assert missing.returncode == 6 and "no-such" in missing.stderr
    hostile = cli("sessions", "show", "../../etc/passwd")
    assert hostile.returncode == 2 and "invalid session id" in hostile.stderr


def test_export_import_round_trip_through_files_and_stdout(
        three: FileSessionStore, cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "exports" / "old.json"
    target.parent.mkdir()
    exported = cli("sessions", "export", "old-done", "-o", str(target))
    assert exported.returncode == 0, exported
    assert not list(target.parent.glob(".*.tmp"))
    to_stdout = cli("sessions", "export", "old-done", "-o", "-")
    assert json.loads(to_stdout.stdout)["session"] == json.loads(target.read_text())["session"]
    other = str(tmp_path / "other")
    imported = cli("sessions", "import", str(target), "--sessions-dir", other)
    assert imported.returncode == 0, imported
    assert "imported session old-done" in imported.stdout
    shown = cli("sessions", "show", "old-done", "--json", "--sessions-dir", other)
    assert json.loads(shown.stdout) == three.load("old-done").to_dict()
    again = cli("sessions", "import", str(target), "--sessions-dir", other)
    assert again.returncode == 7 and "--overwrite" in again.stderr
    forced = cli("sessions", "import", str(target), "--sessions-dir", other, "--overwrite")
    assert forced.returncode == 0, forced
    piped = cli("sessions", "import", "-", "--sessions-dir", str(tmp_path / "third"),
                input=target.read_text())
    assert piped.returncode == 0, piped


@pytest.mark.parametrize(("content", "message"), [
    ("not json at all", "is not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"format": "autoagent-session", "schema_version": 1, "session": {"id": "x", '
     '"task": "t", "turns": "many"}}', "turns: expected a list, got text"),
    ('{"format": "autoagent-session", "schema_version": 1, "session": {"id": "x"}}',
     "task: missing"),
    ('{"format": "autoagent-session", "schema_version": 1, "session": {"id": "../../x", '
     '"task": "t"}}', "invalid session id"),
])
def test_import_of_an_invalid_file_says_what_is_wrong(cli: Any, tmp_path: Path,
                                                      content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = cli("sessions", "import", str(bad))
    assert result.returncode == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not Path(".sessions").exists() or not list(Path(".sessions").glob("*.json"))
    assert not (tmp_path / "x.json").exists()


def test_import_refuses_a_huge_file(cli: Any, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: costs no disk
    result = cli("sessions", "import", str(huge))
    assert result.returncode == 2, result
    assert "larger than 50 MB" in result.stderr


def test_delete_asks_in_scripts_for_yes(three: FileSessionStore, cli: Any) -> None:
    refused = cli("sessions", "delete", "mid-failed")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert three.load("mid-failed")
    done = cli("sessions", "delete", "mid-failed", "--yes")
    assert done.returncode == 0 and "deleted session mid-failed" in done.stdout
    assert [r.id for r in three.list_sessions()] == ["fresh-active", "old-done"]
    again = cli("sessions", "delete", "mid-failed", "--yes")
    assert again.returncode == 6


def test_clean_by_status_and_age(three: FileSessionStore, cli: Any) -> None:
    dry = cli("sessions", "clean", "--days", "30", "--dry-run")
    assert dry.returncode == 0, dry
    assert "would delete old-done" in dry.stdout and "fresh-active" not in dry.stdout
    assert len(three.list_sessions()) == 3
    assert cli("sessions", "clean", "--status", "failed").returncode == 2  # needs --yes
    by_status = cli("sessions", "clean", "--status", "failed", "--yes")
    assert by_status.returncode == 0, by_status
    assert "deleted mid-failed" in by_status.stdout and "1 session(s) deleted" in by_status.stdout
    by_age = cli("sessions", "clean", "--days", "30", "--yes")
    assert "deleted old-done" in by_age.stdout
    assert [r.id for r in three.list_sessions()] == ["fresh-active"]
    nothing = cli("sessions", "clean", "--status", "completed", "--days", "1", "--yes")
    assert "nothing to clean" in nothing.stdout
    unbounded = cli("sessions", "clean", "--yes")
    assert unbounded.returncode == 2 and "--status" in unbounded.stderr


def test_secrets_never_reach_sessions_or_exports(cli: Any, tmp_path: Path,
                                                 sessions_dir: Path) -> None:
    """Item 16: a canary in the environment and in the user config, present in the
    session's content, is in no saved file, export or command output."""
    env_canary, file_canary = "canaryENV-77c1f0e2d9", "canaryCFG-31b8a4e6f5"
    assert cli("config", "set", "cloudflare_auth_token", file_canary).returncode == 0
    env = {"CLOUDFLARE_AUTH_TOKEN": env_canary}
    script = (
        "from autoagent_core.config import load_settings\n"
        "from autoagent_core.layers import open_session_store\n"
        "from fixtures.sessions import make_session\n"
        "store = open_session_store(load_settings())\n"
        f"s = make_session('canary', task='token {env_canary} {file_canary}',"
        f" answer='{env_canary}')\n"
        f"s.turns[0].messages.append({{'agent': 'coder', 'role': 'assistant',"
        f" 'content': 'Authorization: Bearer {file_canary}'}})\n"
        "store.create(s)\nstore.save(s)\n"
    )
    import os
    import subprocess
    import sys

    full_env = {**os.environ, **env,
                "PYTHONPATH": str(Path(__file__).parent)}
    made = subprocess.run([sys.executable, "-c", script], env=full_env, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    out_file = tmp_path / "export.json"
    outputs = [cli("sessions", "export", "canary", "-o", str(out_file), env=env),
               cli("sessions", "export", "canary", env=env),
               cli("sessions", "show", "canary", env=env),
               cli("sessions", "show", "canary", "--json", env=env),
               cli("sessions", "list", "--json", env=env)]
    assert all(o.returncode == 0 for o in outputs), outputs
    texts = [p.read_bytes().decode(errors="replace") for p in sessions_dir.rglob("*")
             if p.is_file()]
    texts += [out_file.read_text()] + [o.stdout + o.stderr for o in outputs]
    for canary in (env_canary, file_canary):
        assert not any(canary in t for t in texts), canary
    assert "[REDACTED]" in out_file.read_text()


def test_list_on_a_terminal_is_a_table(three: FileSessionStore, isolated: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "160"}
    proc = subprocess.Popen([sys.executable, "-m", "autoagent_core", "sessions", "list"],
                            stdout=slave, stderr=subprocess.PIPE, cwd=isolated, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "3 session(s)" in screen and "updated (UTC)" in screen
    assert "fresh-active" in screen and "old-done" in screen
    assert "\t" not in screen
