"""The filesystem session store through its own interface, on real files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from autoagent_core.errors import (
    ConflictError,
    InvalidNameError,
    NotFoundError,
    StorageError,
    UsageError,
)
from autoagent_core.layers import open_session_store
from autoagent_core.types import Session
from autoagent_plugins.fs_sessions.index import JOURNAL_NAME
from autoagent_plugins.fs_sessions.store import FileSessionStore
from fixtures.sessions import make_session

ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def test_new_ids_are_short_sortable_and_unique(store: FileSessionStore) -> None:
    ids = [store.new_id() for _ in range(500)]
    assert len(set(ids)) == 500
    assert all(ID_RE.match(i) for i in ids)
    assert sorted(ids, key=lambda i: i[:15]) == ids  # time-ordered prefix


def test_create_load_save_list(store: FileSessionStore) -> None:
    session = make_session(store.new_id(), turns=1)
    store.create(session)
    assert store.load(session.id) == session
    with pytest.raises(ConflictError, match=session.id):
        store.create(session)
    session.turns.append(make_session("x", turns=2).turns[1])
    session.status = "completed"
    session.answer = "5"
    before = session.updated_at
    store.save(session)
    assert session.updated_at >= before
    loaded = store.load(session.id)
    assert loaded == session and len(loaded.turns) == 2
    [row] = store.list_sessions()
    assert (row.id, row.status, row.turns, row.task) == (session.id, "completed", 2, "add 2 and 3")
    assert store.list_sessions(status="active") == []
    on_disk = json.loads(store.path_of(session.id).read_text())
    assert on_disk["schema_version"] == 1


def test_list_is_most_recently_updated_first(store: FileSessionStore) -> None:
    sessions = [make_session(f"s{i}") for i in range(4)]
    for s in sessions:
        store.create(s)
    store.save(sessions[1])  # now the most recent
    assert [r.id for r in store.list_sessions()][:1] == ["s1"]
    assert {r.id for r in store.list_sessions()} == {"s0", "s1", "s2", "s3"}


def test_load_missing_and_delete(store: FileSessionStore) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        store.load("nope")
    store.create(make_session("gone"))
    store.delete("gone")
    with pytest.raises(NotFoundError):
        store.load("gone")
    with pytest.raises(NotFoundError):
        store.delete("gone")
    assert store.list_sessions() == []


def test_open_exclusive_refuses_a_second_holder(store: FileSessionStore) -> None:
    store.create(make_session("busy"))
    with store.open_exclusive("busy"):
        with pytest.raises(ConflictError, match=r"busy.*open in another run"), \
                store.open_exclusive("busy"):
            pass
        with pytest.raises(ConflictError, match="busy"):
            store.delete("busy")
    with store.open_exclusive("busy"):  # released
        pass
    store.delete("busy")


def test_save_appends_to_the_journal_instead_of_rewriting_the_index(
        sessions_dir: Path) -> None:
    store = FileSessionStore(sessions_dir, compact_bytes=64 * 1024)
    rows = {f"old{i:05d}": {"task": "t", "status": "completed", "turns": 1,
                            "created_at": "2020-01-01T00:00:00.000000Z",
                            "updated_at": "2020-01-01T00:00:00.000000Z", "model": ""}
            for i in range(3000)}
    store.index.replace_all(rows)
    index = sessions_dir / "index.json"
    before = index.stat()
    session = make_session("fresh")
    store.create(session)
    for _ in range(5):
        store.save(session)
    after = index.stat()
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    journal = (sessions_dir / JOURNAL_NAME).read_text().splitlines()
    assert len(journal) == 6  # one line per create/save
    listed = store.list_sessions()
    assert len(listed) == 3001 and listed[0].id == "fresh"


def test_journal_is_compacted_into_the_index(sessions_dir: Path) -> None:
    store = FileSessionStore(sessions_dir, compact_bytes=2048, fsync=False)
    for i in range(60):
        store.create(make_session(f"c{i:02d}", turns=0))
    store.delete("c00")
    journal = (sessions_dir / JOURNAL_NAME).stat().st_size
    assert journal < 2048 + 400  # folded in as it grew
    index = json.loads((sessions_dir / "index.json").read_text())
    assert len(index["sessions"]) >= 45
    ids = {r.id for r in store.list_sessions()}
    assert ids == {f"c{i:02d}" for i in range(1, 60)}
    store.index.compact()
    index = json.loads((sessions_dir / "index.json").read_text())
    assert set(index["sessions"]) == ids  # the original's shape: {"sessions": {id: row}}


def test_a_half_written_journal_line_is_skipped_and_the_next_row_survives(
        store: FileSessionStore, sessions_dir: Path) -> None:
    store.create(make_session("a"))
    with open(sessions_dir / JOURNAL_NAME, "ab") as fh:
        fh.write(b'{"id":"b","row":{"task":"half')  # a writer killed mid-line
    store.create(make_session("c"))
    assert {r.id for r in store.list_sessions()} == {"a", "c"}


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_shape"])
def test_corrupt_session_file_is_reported_and_set_aside(
        store: FileSessionStore, sessions_dir: Path, damage: str) -> None:
    store.create(make_session("good"))
    store.create(make_session("bad", turns=3))
    path = sessions_dir / "bad.json"
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    else:
        path.write_text(json.dumps({"id": "bad", "task": "t", "turns": "many"}))
    with pytest.raises(StorageError, match=r"bad\.json.*set aside as bad\.json\.corrupt-"):
        store.load("bad")
    assert not path.exists()
    assert len(list(sessions_dir.glob("bad.json.corrupt-*"))) == 1
    assert [r.id for r in store.list_sessions()] == ["good"]
    assert store.load("good").id == "good"
    with pytest.raises(NotFoundError):
        store.load("bad")


def test_rebuild_index_from_files_sets_corrupt_ones_aside(
        store: FileSessionStore, sessions_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for sid in ("r1", "r2", "r3"):
        store.create(make_session(sid, turns=2))
    (sessions_dir / "r2.json").write_text('{"id": "r2", "task": ')
    (sessions_dir / "index.json").unlink(missing_ok=True)
    (sessions_dir / JOURNAL_NAME).unlink()
    assert store.rebuild_index() == ["r2.json"]
    assert "r2.json" in capsys.readouterr().err
    rows = {r.id: r for r in store.list_sessions()}
    assert set(rows) == {"r1", "r3"} and rows["r1"].turns == 2


def test_corrupt_index_is_set_aside_and_rebuilt(
        store: FileSessionStore, sessions_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store.create(make_session("k1"))
    store.create(make_session("k2"))
    store.index.compact()
    (sessions_dir / "index.json").write_text("{ truncated")
    assert {r.id for r in store.list_sessions()} == {"k1", "k2"}
    assert "index.json" in capsys.readouterr().err
    assert list(sessions_dir.glob("index.json.corrupt-*"))


def test_original_autoagent_layout_loads(sessions_dir: Path) -> None:
    """A .sessions/ folder written by the original AutoAgent: index rows without turns,
    status 'error', session files with metadata + transcript."""
    sessions_dir.mkdir()
    (sessions_dir / "index.json").write_text(json.dumps({"sessions": {
        "mi_calculadora": {"path": "C:\\x\\mi_calculadora.json", "task": "crear calculadora",
                           "created_at": "2025-10-25T18:57:49.1Z",
                           "updated_at": "2025-10-25T19:01:00.5Z", "status": "error",
                           "model": "@cf/openai/gpt-oss-120b", "tags": []}}}))
    (sessions_dir / "mi_calculadora.json").write_text(json.dumps({
        "metadata": {"session_id": "mi_calculadora", "task": "crear calculadora",
                     "created_at": "2025-10-25T18:57:49.1Z",
                     "updated_at": "2025-10-25T19:01:00.5Z", "total_turns": 2,
                     "status": "error", "model": "@cf/openai/gpt-oss-120b", "tags": []},
        "transcript": [{"role": "user", "content": "crear calculadora"},
                       {"role": "assistant", "content": "ok"}],
        "tools_used": ["add"], "custom_data": {}}))
    store = FileSessionStore(sessions_dir)
    [row] = store.list_sessions()
    assert (row.id, row.status) == ("mi_calculadora", "failed")
    session = store.load("mi_calculadora")
    assert session.task == "crear calculadora" and session.status == "failed"
    assert [m["content"] for m in session.turns[0].messages] == ["crear calculadora", "ok"]
    assert session.tools_used == [{"name": "add"}]
    session.status = "active"
    store.save(session)  # upgraded in place to the current layout
    assert json.loads((sessions_dir / "mi_calculadora.json").read_text())["schema_version"] == 1


def test_older_files_with_fewer_fields_load(sessions_dir: Path) -> None:
    sessions_dir.mkdir()
    (sessions_dir / "old.json").write_text(json.dumps(
        {"id": "old", "task": "t", "turns": [{"messages": []}]}))
    store = FileSessionStore(sessions_dir)
    session = store.load("old")
    assert session.turns[0].index == 1 and session.status == "active"
    assert [r.id for r in store.list_sessions()] == ["old"]  # indexed on first use


HOSTILE = ["../x", "../../x", "/etc/passwd", "a/b", "a\\b", "..", "", "a\x00b", "x" * 300,
           "ѕession", ".hidden", "a b"]


@pytest.mark.parametrize("bad", HOSTILE)
def test_hostile_ids_are_refused_before_touching_files(
        store: FileSessionStore, isolated: Path, bad: str) -> None:
    before = sorted(p.name for p in isolated.parent.rglob("*"))
    for call in (store.load, store.delete, lambda i: store.create(make_session(i)),
                 lambda i: store.save(make_session(i)), lambda i: store.open_exclusive(i)):
        with pytest.raises(InvalidNameError):
            call(bad)
    assert sorted(p.name for p in isolated.parent.rglob("*")) == before


def test_symlinks_out_of_the_store_are_refused(store: FileSessionStore,
                                               sessions_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(make_session("evil").to_dict()))
    sessions_dir.mkdir()
    (sessions_dir / "evil.json").symlink_to(outside)
    with pytest.raises(InvalidNameError, match="symlink"):
        store.load("evil")
    with pytest.raises(InvalidNameError):
        store.save(make_session("evil", task="overwrite"))
    assert json.loads(outside.read_text())["task"] == "add 2 and 3"


def test_export_then_import_reproduces_the_session(store: FileSessionStore,
                                                   tmp_path: Path) -> None:
    original = make_session("trip", turns=3, status="completed", answer="5")
    original.instructions = ["use integers"]
    original.run_dirs = [".runs/2026-01-01_00-00-00"]
    store.create(original)
    exported = store.export("trip")
    assert exported["format"] == "autoagent-session" and exported["schema_version"] == 1
    json.dumps(exported)  # one self-contained JSON object
    other = FileSessionStore(tmp_path / "other")
    imported = other.import_(json.loads(json.dumps(exported)))
    assert imported == original
    assert other.load("trip") == store.load("trip") == original
    assert [r.to_dict() for r in other.list_sessions()] == [
        r.to_dict() for r in store.list_sessions()]


def test_import_refuses_existing_id_unless_overwrite(store: FileSessionStore) -> None:
    store.create(make_session("dup", task="first"))
    exported = store.export("dup")
    exported["session"]["task"] = "second"
    with pytest.raises(ConflictError, match=r"dup.*already exists"):
        store.import_(exported)
    assert store.load("dup").task == "first"
    store.import_(exported, overwrite=True)
    assert store.load("dup").task == "second"
    with store.open_exclusive("dup"), pytest.raises(ConflictError):
        store.import_(exported, overwrite=True)  # never under a running session


def _export_of(session: dict) -> dict:
    return {"format": "autoagent-session", "schema_version": 1, "session": session}


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s.update(turns="many"), "turns: expected a list, got text"),
    (lambda s: s.update(task=5), "task: expected text, got a number"),
    (lambda s: s.pop("task"), "task: missing"),
    (lambda s: s.update(status="weird"), "status: expected one of"),
    (lambda s: s["turns"][0].update(messages=["hi"]), r"turns\[0\]\.messages\[0\]"),
    (lambda s: s["turns"][0].update(usage={"prompt_tokens": -1}), "negative"),
    (lambda s: s.update(answer=["a"]), "answer: expected text or null"),
    (lambda s: s.update(schema_version=99), "newer than this autoagent"),
    (lambda s: s.update(id=7), "id: expected text"),
])
def test_import_validates_every_field(store: FileSessionStore, change: object,
                                      message: str) -> None:
    data = make_session("v").to_dict()
    change(data)  # type: ignore[operator]
    with pytest.raises(UsageError, match=message):
        store.import_(_export_of(data))
    assert not (store.directory / "v.json").exists()


@pytest.mark.parametrize("bad", ["../../x", "/tmp/x", "a/b", ".."])
def test_import_never_writes_outside(store: FileSessionStore, tmp_path: Path, bad: str) -> None:
    data = make_session("placeholder").to_dict()
    data["id"] = bad
    with pytest.raises(InvalidNameError):
        store.import_(_export_of(data))
    assert not (tmp_path / "x").exists() and not Path("/tmp/x.json").exists()


def test_import_rejects_other_formats(store: FileSessionStore) -> None:
    with pytest.raises(UsageError, match="format"):
        store.import_({"format": "something-else", "session": {}})
    with pytest.raises(UsageError, match="JSON object"):
        store.import_([1, 2])  # type: ignore[arg-type]


def test_stale_temp_files_are_cleaned_and_live_ones_kept(
        store: FileSessionStore, sessions_dir: Path) -> None:
    store.create(make_session("t"))
    dead = sessions_dir / ".t.json.99999999.deadbeef.tmp"
    live = sessions_dir / f".t.json.{os.getpid()}.cafebabe.tmp"
    dead.write_text("half")
    live.write_text("half")
    with store.open_exclusive("t"):
        pass
    assert not dead.exists() and live.exists()


def test_store_redacts_secrets_before_writing(monkeypatch: pytest.MonkeyPatch,
                                              sessions_dir: Path, tmp_path: Path) -> None:
    env_canary = "cfcanary-ENV-4f1d9a7b2c"
    file_canary = "cfcanary-FILE-9e8d7c6b5a"
    config = tmp_path / "config" / "autoagent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'cloudflare_auth_token = "{file_canary}"\n')
    monkeypatch.setenv("CLOUDFLARE_AUTH_TOKEN", env_canary)
    from autoagent_core.config import load_settings

    store = open_session_store(load_settings())
    both = f"{env_canary} and {file_canary}"
    session = make_session("leak", task=f"use token {both}", answer=both)
    session.turns[0].messages.append({"agent": "coder", "role": "assistant", "content": both})
    session.turns[0].results.append({"ok": False, "error": {"message": f"401 {both}"}})
    session.turns[0].decision = {"decision": "fail", "feedback": both}
    store.create(session)
    store.save(session)
    exported = json.dumps(store.export("leak"))
    store.index.compact()
    texts = [p.read_text(errors="replace") for p in sessions_dir.rglob("*") if p.is_file()]
    for canary in (env_canary, file_canary):
        assert canary not in exported
        assert not any(canary in t for t in texts)
    assert "[REDACTED]" in store.load("leak").task


def test_the_plugin_provides_the_filesystem_store(sessions_dir: Path) -> None:
    from autoagent_core.config import load_settings

    store = open_session_store(load_settings())
    assert isinstance(store, FileSessionStore)
    assert store.directory == Path(".sessions")
    store.create(Session(id="via-plugin", task="t"))
    assert (sessions_dir / "via-plugin.json").exists()


@pytest.mark.parametrize("secret", ['quote"and\\slash-7f3a', "tab\tand\nline-9b2c",
                                    "plain-token-4e5d6c"])
def test_secrets_are_masked_wherever_they_sit(sessions_dir: Path, secret: str) -> None:
    """Secrets that JSON escapes, in values, keys and headers, never reach the file."""
    from autoagent_core.redact import Redactor

    store = FileSessionStore(sessions_dir, redactor=Redactor([secret]))
    session = make_session("masked")
    session.turns[0].results.append({secret: "as a key", "value": f"x{secret}y"})
    session.turns[1].messages.append(
        {"agent": "coder", "role": "tool", "content": "Authorization: Bearer sk-abcdef123456"})
    store.create(session)
    raw = (sessions_dir / "masked.json").read_text()
    data = json.loads(raw)
    assert secret not in json.dumps(data) and secret not in raw
    assert json.dumps(secret)[1:-1] not in raw
    assert "sk-abcdef123456" not in raw
    clean = make_session("clean")
    store.create(clean)  # nothing to mask: written as is
    assert store.load("clean") == clean
