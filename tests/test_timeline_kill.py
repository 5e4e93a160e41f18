"""A run killed with ``kill -9`` leaves every event it emitted in ``events.jsonl``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

EMITTER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from autoagent_core.config import load_settings
    from autoagent_core.events import EventBus
    from autoagent_core.layers import open_recorders

    settings = load_settings()
    bus = EventBus(open_recorders(settings, Path(sys.argv[1])))
    bus.emit("run_started", task="endless", session_id="killme")
    for n in range(1, 1_000_000):
        event = bus.emit("tool_run", name="t", ok=True, result="x" * (n % 500), n=n)
        print(event.seq, flush=True)
""")


def test_kill_9_leaves_every_event_up_to_the_kill(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    script = tmp_path / "emitter.py"
    script.write_text(EMITTER, encoding="utf-8")
    env = {**os.environ, "AUTOAGENT_RECORDERS": "jsonl,markdown,html,transcript"}
    proc = subprocess.Popen([sys.executable, str(script), str(run_dir)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    reported = 0
    deadline = time.monotonic() + 60
    try:
        while reported < 300 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            reported = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert reported >= 300, "the emitter did not get going"
    lines = (run_dir / "events.jsonl").read_bytes().splitlines()
    events = [json.loads(line) for line in lines]  # every line is whole
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= reported
    assert events[0]["kind"] == "run_started"
    # the recorders that write at close never ran: no half-written files either
    assert sorted(p.name for p in run_dir.iterdir()) == ["events.jsonl"]
