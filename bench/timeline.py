"""Per-event cost of recording a run with the four default recorders.

Events that look like a real run (prompts, replies, tool code, results) go through a
real :class:`~autoagent_core.events.EventBus` into ``jsonl``, ``markdown``, ``html`` and
``transcript``, and the bus is closed (the Markdown, HTML and transcript are written
then), in a fresh run folder each time. Runs of 10 and of 1,000 events; target: flat,
under a millisecond per event. The reference is the same stream through a bus with no
recorder (the bus's own redaction), measured in the same run.

Every figure is the median of ``--runs`` runs. Usage::

    python bench/timeline.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from autoagent_core.config import load_settings
from autoagent_core.events import EventBus
from autoagent_core.layers import open_recorders
from autoagent_core.redact import redactor_for
from autoagent_core.rundir import new_run_dir
from support.timeline_events import emit_events

SIZES = (10, 1000)


def one_run(count: int, base: Path, recorders: bool) -> float:
    """Seconds per event of one run of ``count`` events, close included (each run in a
    log folder of its own, as runs seconds apart would be)."""
    base.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(dir=base)) / ".runs"
    settings = load_settings({"log_dir": str(log_dir)})
    start = time.perf_counter()
    run_dir = new_run_dir(log_dir)
    bus = EventBus(open_recorders(settings, run_dir) if recorders else [],
                   redactor=redactor_for(settings))
    emit_events(bus, count)
    bus.close()
    elapsed = time.perf_counter() - start
    if recorders:
        assert len((run_dir / "events.jsonl").read_bytes().splitlines()) == count
    return elapsed / count


def fsync_cost(directory: Path, runs: int) -> float:
    """Median seconds of appending a line to a new file and fsyncing it (what the end of
    a run costs on this disk)."""
    times = []
    for n in range(runs):
        path = directory / f"fsync-{n}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, b'{"kind": "run_finished"}\n' * 10)
            start = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - start)
        finally:
            os.close(fd)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / ".runs"
        one_run(10, log_dir, True)  # warm up: imports, CSS read
        print(f"timeline recording, median of {args.runs} runs, per event (close included)")
        print(f"{'events':>7} {'4 recorders':>13} {'bus only':>10} {'ratio':>7}")
        per_event = {}
        for count in SIZES:
            with_rec, bus_only = [], []
            for _ in range(args.runs):  # interleaved, so a busy neighbour slows both alike
                with_rec.append(one_run(count, log_dir, True))
                bus_only.append(one_run(count, log_dir, False))
            ours, ref = statistics.median(with_rec), statistics.median(bus_only)
            per_event[count] = ours
            print(f"{count:>7} {ours * 1e6:>10.0f} us {ref * 1e6:>7.0f} us {ours / ref:>6.1f}x")
        fsync_s = fsync_cost(Path(tmp), args.runs)
        print(f"one fsync of a new file on this disk: {fsync_s * 1e3:.1f} ms "
              "(events.jsonl is fsynced once at the end of a run)")
        flat = per_event[SIZES[-1]] / per_event[SIZES[0]]
        print(f"flatness: {SIZES[-1]} events cost {flat:.2f}x per event what {SIZES[0]} do "
              f"(target: about 1 or less); under 1 ms per event: "
              f"{'yes' if max(per_event.values()) < 1e-3 else 'NO'}")


if __name__ == "__main__":
    main()
