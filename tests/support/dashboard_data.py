"""Test data for the dashboard: run folders with events of either shape, files a tool
wrote (with the ``workdir``/``files`` fields open mode adds to the events), tools with
versions, and a big session index."""

from __future__ import annotations

import json
import struct
import time
import wave
from pathlib import Path
from typing import Any

from support.counting_server import PNG_1X1


class RunWriter:
    """Appends autoagent-shaped events to ``<log_dir>/<folder>/events.jsonl``."""

    def __init__(self, log_dir: Path, folder: str, workdir: Path | None = None) -> None:
        self.dir = log_dir / folder
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "events.jsonl"
        self.seq = 0
        self.workdir = workdir

    def emit(self, kind: str, **data: Any) -> None:
        self.seq += 1
        line = json.dumps({"seq": self.seq, "ts": time.time(), "kind": kind, "data": data})
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def start(self, task: str, session_id: str = "s-1") -> RunWriter:
        extra = {"workdir": str(self.workdir)} if self.workdir is not None else {}
        self.emit("run_started", task=task, session_id=session_id, backend="scripted",
                  model="scripted", **extra)
        self.emit("turn_started", turn=1)
        return self

    def tool_run(self, name: str, result: Any, files: list[dict[str, Any]] | None = None,
                 ok: bool = True) -> None:
        self.emit("tool_run", name=name, version=1, args={}, ok=ok, result=result,
                  error=None if ok else {"class": "runtime", "message": str(result)},
                  duration_s=0.01, stdout="", stderr="", files=files or [])

    def finish(self, answer: str = "done") -> None:
        self.emit("supervisor_decision", turn=1, decision="done", feedback="good",
                  tips=["keep it short"], answer=answer)
        self.emit("run_finished", status="completed", answer=answer, turns=1,
                  usage={"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})


def wav_bytes(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short silent WAV file (every browser plays WAV)."""
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(struct.pack("<h", 0) * int(seconds * rate))
    return buffer.getvalue()


def write_media_run(log_dir: Path, workdir: Path, folder: str = "2026-12-07_10-00-00") -> Path:
    """A run whose tool wrote an image, an audio file, an HTML page and a JSON file."""
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    files = {"out/chart.png": PNG_1X1, "out/speech.wav": wav_bytes(),
             "out/page.html": b"<h1>report</h1>", "out/data.json": b'{"quotes": [1, 2]}'}
    for rel, data in files.items():
        (workdir / rel).write_bytes(data)
    run = RunWriter(log_dir, folder, workdir).start("make a chart and read it aloud")
    run.tool_run("make_media", {"ok": True}, files=[
        {"path": rel, "bytes": len(data), "change": "new"} for rel, data in files.items()])
    run.finish()
    return run.dir


def write_big_run(log_dir: Path, events: int, folder: str = "2026-12-07_11-00-00") -> Path:
    """A run of ``events`` events, shaped like a real one (replies, tool runs)."""
    run = RunWriter(log_dir, folder).start("a long task")
    for n in range(events - 4):
        if n % 3 == 0:
            run.emit("model_reply", agent="coder", turn=1 + n // 30,
                     text=json.dumps({"thought": f"step {n}", "actions": []}) + " x" * 200)
        elif n % 3 == 1:
            run.tool_run(f"tool_{n % 7}", {"value": n, "text": "y" * 300})
        else:
            run.emit("supervisor_decision", turn=1 + n // 30, decision="continue",
                     feedback=f"try again {n}", tips=["a tip"])
    run.finish()
    return run.dir


def write_session_index(sessions_dir: Path, count: int) -> None:
    """An index of ``count`` sessions (the rows only: listing must not open the files)."""
    sessions_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(count):
        sid = f"20261207-{n:06d}-abcdef"
        status = ("completed", "active", "failed")[n % 3]
        row = {"task": f"task number {n}", "status": status, "turns": n % 10,
               "created_at": f"2026-12-07T10:{n // 600 % 60:02d}:{n // 10 % 60:02d}Z",
               "updated_at": f"2026-12-07T10:{n // 600 % 60:02d}:{n // 10 % 60:02d}.{n:06d}Z",
               "model": "scripted"}
        rows.append(f"  {json.dumps(sid)}: {json.dumps(row)}")
    text = '{\n "schema_version": 1,\n "sessions": {\n' + ",\n".join(rows) + "\n }\n}\n"
    (sessions_dir / "index.json").write_text(text, encoding="utf-8")
