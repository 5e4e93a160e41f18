"""RELIABILITY items 10-13 for sessions, with real processes: kill -9 during saves,
parallel writers, a session opened by two runs, temp files of killed writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autoagent_core import atomic
from autoagent_core.types import Session
from autoagent_plugins.fs_sessions.store import FileSessionStore
from fixtures.sessions import make_turn

WORKER = Path(__file__).parent / "support" / "session_worker.py"
FIXED = "2026-01-01T00:00:00.000000Z"
IDS = ("alpha", "beta", "gamma")


def version(sid: str, v: int) -> Session:
    """Version ``v`` of a session: its size and turns vary with ``v``."""
    turns = []
    for i in range(v % 5 + 1):
        turn = make_turn(i + 1, content=f"v{v} " + "x" * (2000 * (v % 13)))
        turn.started_at = FIXED
        turns.append(turn)
    return Session(id=sid, task=f"task of {sid}", created_at=FIXED, updated_at=FIXED,
                   turns=turns, answer=f"v{v}")


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if k != "updated_at"}
    if isinstance(out.get("metadata"), dict):  # the original AutoAgent's copy of it
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "updated_at"}
    return out


def _saver(directory: Path, first_version: int) -> None:
    """Child process: save new versions of every session until killed."""
    store = FileSessionStore(directory, compact_bytes=4096)
    v = first_version
    while True:
        for sid in IDS:
            store.save(version(sid, v))
        v += 1


def _check_files(store: FileSessionStore, directory: Path) -> None:
    for sid in IDS:
        data = json.loads((directory / f"{sid}.json").read_bytes())  # must parse
        v = int(data["answer"][1:])
        assert comparable(data) == comparable(store._serialise(version(sid, v))), sid


def test_kill_9_during_saves_leaves_every_file_whole(sessions_dir: Path) -> None:
    """Item 10 (and 12, 13): hundreds of kill -9 at random moments of saving."""
    store = FileSessionStore(sessions_dir, compact_bytes=4096)
    for sid in IDS:
        store.create(version(sid, 0))
    rng = random.Random(1234)
    leftovers = 0
    rounds, deadline = 0, time.monotonic() + 60
    while rounds < 300 and time.monotonic() < deadline:
        rounds += 1
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                _saver(sessions_dir, rounds * 1_000_000)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.015))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _check_files(store, sessions_dir)
        leftovers += len(list(sessions_dir.glob(".*.tmp")))
        atomic.clean_stale_temps(sessions_dir)
    assert rounds >= 200, f"only {rounds} rounds in the time limit"
    assert leftovers > 0, "no kill landed inside a write: the test proves nothing"
    assert not list(sessions_dir.glob(".*.tmp"))  # killed writers' temps are cleaned
    rows = {r.id: r for r in store.list_sessions()}
    assert set(rows) == set(IDS)
    assert all(1 <= r.turns <= 5 for r in rows.values())
    assert store.rebuild_index() == []
    for sid in IDS:
        assert store.list_sessions()[0].turns >= 1
        assert {r.id: r.turns for r in store.list_sessions()}[sid] == len(store.load(sid).turns)


def _run_worker(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_eight_processes_create_400_sessions_and_none_is_lost(
        sessions_dir: Path, tmp_path: Path) -> None:
    """Item 11: 8 processes x 50 sessions (create + 2 saves each), at the same time."""
    start = tmp_path / "go"
    workers = [_run_worker("create", str(sessions_dir), "50", str(start)) for _ in range(8)]
    time.sleep(0.3)
    start.write_text("go")
    ids: list[str] = []
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        ids += out.split()
    assert len(ids) == 400 and len(set(ids)) == 400
    rows = FileSessionStore(sessions_dir).list_sessions()
    assert {r.id for r in rows} == set(ids)
    assert all(r.status == "completed" and r.turns == 2 for r in rows)
    assert len(list(sessions_dir.glob("*.json"))) - 1 <= 401  # sessions + index


def test_a_session_opened_by_two_processes(sessions_dir: Path, cli: Any) -> None:
    """The second run refuses with a clear message naming the session; kill -9 of the
    first frees it, because the OS drops the flock of a dead process."""
    FileSessionStore(sessions_dir).create(Session(id="shared-run", task="t"))
    holder = _run_worker("hold", str(sessions_dir), "shared-run", stdin=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, str(WORKER), "try", str(sessions_dir),
                                 "shared-run"], capture_output=True, text=True, timeout=60)
        assert second.returncode == 7
        assert "session 'shared-run' is open in another run" in second.stdout
        assert f"pid {holder.pid}" in second.stdout
        refused = cli("sessions", "delete", "shared-run", "--yes")
        assert refused.returncode == 7, refused
        assert "shared-run" in refused.stderr and "Traceback" not in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=30)
    third = subprocess.run([sys.executable, str(WORKER), "try", str(sessions_dir),
                            "shared-run"], capture_output=True, text=True, timeout=60)
    assert (third.returncode, third.stdout.strip()) == (0, "opened")


@pytest.mark.parametrize("with_index", [True, False])
def test_list_keeps_working_next_to_a_corrupt_file(sessions_dir: Path, cli: Any,
                                                   with_index: bool) -> None:
    """Item 13 through the CLI: a truncated file is named, set aside; the rest works."""
    store = FileSessionStore(sessions_dir)
    store.create(version("fine", 3))
    store.create(version("broken", 7))
    raw = (sessions_dir / "broken.json").read_bytes()
    (sessions_dir / "broken.json").write_bytes(raw[:100])
    if not with_index:
        (sessions_dir / "index.json").unlink(missing_ok=True)
        (sessions_dir / "index.journal").unlink()
    shown = cli("sessions", "show", "broken")
    if with_index:
        assert shown.returncode == 8, shown
        assert "broken.json" in shown.stderr and "set aside" in shown.stderr
    listed = cli("sessions", "list")
    assert listed.returncode == 0, listed
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["fine"]
    assert cli("sessions", "show", "fine").returncode == 0
    assert list(sessions_dir.glob("broken.json.corrupt-*"))
