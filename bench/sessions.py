"""Benchmark of the filesystem session store.

1. ``autoagent sessions list`` on a store of 10,000 sessions against ``autoagent --help``
   (the reference, measured in the same run): medians of several runs and their ratio;
   the target is at most 1.5x. Measured twice: with a freshly compacted index, and with
   a journal just below the size that triggers a compaction (the slowest case).
2. One per-turn save (session file + index row, with fsync) of a session of 10 turns and
   of 500 turns, in a store of 10 sessions and in one of 10,000: the time should follow
   the session's size, not the store's.

    .venv/bin/python bench/sessions.py [--runs 15] [--saves 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autoagent_core.types import Session, Turn, Usage, utc_now
from autoagent_plugins.fs_sessions.schema import index_row
from autoagent_plugins.fs_sessions.store import FileSessionStore

CODE = "def word_count(path):\n    with open(path) as fh:\n        return len(fh.read().split())\n"


def turn(index: int) -> Turn:
    """A turn of realistic size (about 2 KB): prompts, replies, a tool, a decision."""
    return Turn(
        index=index,
        messages=[
            {"agent": "coder", "role": "assistant",
             "content": f"Turn {index}: I will write word_count and run it. " * 8},
            {"agent": "supervisor", "role": "assistant",
             "content": '{"decision": "continue", "feedback": "check empty files"}'},
        ],
        actions=[{"type": "create_tool", "name": "word_count", "code": CODE * 4},
                 {"type": "run_tool", "name": "word_count", "args": {"path": "a.txt"}}],
        results=[{"action": "run_tool", "name": "word_count", "ok": True, "result": index}],
        decision={"decision": "continue", "feedback": "check empty files", "tips": ["strip"]},
        usage=Usage(900, 150), finished_at=utc_now(),
    )


def session(sid: str, turns: int) -> Session:
    return Session(id=sid, task=f"count the words of file {sid} and report them",
                   status="completed", backend="cloudflare", model="@cf/openai/gpt-oss-120b",
                   turns=[turn(i + 1) for i in range(turns)], answer="42")


def fill(directory: Path, count: int, turns: int = 2) -> FileSessionStore:
    """A store of ``count`` sessions, written quickly (no fsync, one index write)."""
    store = FileSessionStore(directory, fsync=False)
    directory.mkdir(parents=True, exist_ok=True)
    rows = {}
    for n in range(count):
        s = session(f"20260101-{n // 3600:02d}{n // 60 % 60:02d}{n % 60:02d}-{n:06x}", turns)
        data, raw = store._encode(s)
        store._write(store.path_of(s.id), raw, exclusive=False)
        rows[s.id] = index_row(data)
    store.index.replace_all(rows)
    return FileSessionStore(directory)  # as users get it: with fsync


def fill_journal(store: FileSessionStore) -> int:
    """Append rows to the journal until just below the compaction threshold."""
    threshold = store.index._compact_threshold()
    journal = store.index.journal_path
    ids = [s.id for s in store.list_sessions()]
    size, n = 0, 0
    with open(journal, "ab") as fh:
        import json

        while True:
            row = {"task": "count the words", "status": "active", "turns": 3,
                   "created_at": utc_now(), "updated_at": utc_now(), "model": ""}
            line = (json.dumps({"id": ids[n % len(ids)], "row": row},
                               separators=(",", ":")) + "\n").encode()
            if size + len(line) >= threshold - 1:
                break
            fh.write(line)
            size += len(line)
            n += 1
    return n


def time_command(args: list[str], cwd: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autoagent_core", *args], cwd=cwd,
                              capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"autoagent {' '.join(args)} failed: {proc.stderr.decode()}")
    return times


def bench_list(root: Path, runs: int) -> None:
    work = root / "list"
    store = fill(work / ".sessions", 10_000)
    lines = subprocess.run([sys.executable, "-m", "autoagent_core", "sessions", "list"],
                           cwd=work, capture_output=True, text=True, check=True).stdout
    assert len(lines.splitlines()) == 10_000, "sessions list did not print 10,000 rows"
    for label in ("compacted index", "index + full journal"):
        if label != "compacted index":
            rows = fill_journal(store)
            label += f" ({rows} rows)"
        helps, lists = [], []
        for _ in range(runs):  # interleaved, so both see the same machine load
            helps += time_command(["--help"], work, 1)
            lists += time_command(["sessions", "list"], work, 1)
        h, ls = statistics.median(helps), statistics.median(lists)
        print(f"sessions list, 10,000 sessions, {label}: median {ls * 1000:.0f} ms; "
              f"autoagent --help: median {h * 1000:.0f} ms; ratio {ls / h:.2f}x "
              f"(target <= 1.5x; {runs} runs each)")


def bench_save(root: Path, saves: int) -> None:
    for store_size in (10, 10_000):
        directory = root / f"store{store_size}" / ".sessions"
        store = fill(directory, store_size) if store_size > 10 else fill(directory, 10)
        for turns in (10, 500):
            s = session(f"bench-{turns}", turns)
            store.create(s)
            times = []
            for _ in range(saves if turns == 10 else max(5, saves // 3)):
                s.turns[-1].finished_at = utc_now()
                start = time.perf_counter()
                store.save(s)
                times.append(time.perf_counter() - start)
            size = store.path_of(s.id).stat().st_size
            print(f"save, session of {turns} turns ({size / 1024:.0f} KiB), store of "
                  f"{store_size:,} sessions: median {statistics.median(times) * 1000:.2f} ms, "
                  f"max {max(times) * 1000:.2f} ms ({len(times)} saves)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command")
    parser.add_argument("--saves", type=int, default=30, help="saves per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autoagent-bench-") as tmp:
        root = Path(tmp)
        os.environ.pop("AUTOAGENT_SESSIONS_DIR", None)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as for a user
        bench_list(root, max(10, args.runs))
        bench_save(root, args.saves)


if __name__ == "__main__":
    main()
