"""Benchmark: one sandboxed tool call in strict and open mode vs ``python -I -c pass``.

The reference is the bare cost of starting the same interpreter (``python -I -c pass``,
a minimal environment, no sandbox); each call goes through bubblewrap with every mount and
namespace of its mode. A ``none``-mode call (the same child without bubblewrap) shows
what the child itself costs. The figures are medians of several runs, interleaved
(reference, none, open, strict, reference, ...) so that machine load hits all of them
alike, and the ratio of each mode to the reference (the target: at most 3x).

A second case writes 100 small files into the working directory: in open mode they are
staged in the overlay and committed after the call (checks, undo journal), in ``none`` mode
written directly; the ratio open/none has a target of at most 2x. Each run writes into a
fresh folder.

    .venv/bin/python bench/sandbox_call.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from autoagent_core.config import Settings
from autoagent_core.sandbox.launcher import run_tool, unavailable_reason
from autoagent_core.sandbox.mechanism import mechanism_status

CODE = "def one():\n    return 1\n"
TARGET_RATIO = 3.0
WRITE_CODE = ("import os\ndef write_files(n: int):\n    os.makedirs('out', exist_ok=True)\n"
              "    for i in range(n):\n"
              "        with open(f'out/{i}.json', 'w') as fh:\n"
              "            fh.write('{\"i\": %d}' % i)\n    return n\n")
WRITE_TARGET = 2.0


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autoagent-bench-"))
    os.chdir(work)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

    def reference() -> None:
        subprocess.run([sys.executable, "-I", "-c", "pass"], env=env, check=True,
                       stdin=subprocess.DEVNULL)

    measured: dict[str, Callable[[], None]] = {"python -I -c pass": reference}
    # the default tree limiter (auto: a cgroup where one can be made), and the watchdog
    for mode, limiter in (("none", "auto"), ("open", "auto"), ("strict", "auto"),
                          ("open", "watchdog"), ("strict", "watchdog")):
        reason = None if mode == "none" else unavailable_reason(mode)
        if reason:
            print(f"{mode} mode not measured: {reason}")
            continue
        settings = Settings(sandbox=mode, tool_limiter=limiter,
                            tools_dir=str(work / ".permanent_tools"))

        def call(settings: Settings = settings) -> None:
            result = run_tool(CODE, "one", {}, settings)
            assert result.ok and result.result == 1, result

        label = f"{mode} call of one()" if limiter == "auto" else f"{mode}, {limiter}"
        measured[label] = call
    samples: dict[str, list[float]] = {label: [] for label in measured}
    for fn in measured.values():
        fn()  # warm the caches and the probe
    for _ in range(opts.runs):
        for label, fn in measured.items():
            samples[label].append(timed(fn))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    ref = medians["python -I -c pass"]
    _, mechanism = mechanism_status()
    from autoagent_core.sandbox.tree_limits import tree_limiter

    default = tree_limiter(Settings(), own_processes=1, marker_entry="BENCH=1")
    kind = default.kind
    default.close()
    print(f"mechanism: {mechanism}; tree limiter (auto): {kind}; {opts.runs} interleaved "
          f"runs each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for label, value in medians.items():
        ratio = value / ref
        verdict = f"  ratio {ratio:.2f}x (no sandbox: the child's own cost)" \
            if label.startswith("none") else "" if label.startswith("python") else (
            f"  ratio {ratio:.2f}x ({'within' if ratio <= TARGET_RATIO else 'OVER'} "
            f"the {TARGET_RATIO:g}x target)")
        print(f"{label:<22} median {value:6.1f} ms{verdict}")
    write_files(work, opts.runs)


def write_files(work: Path, runs: int) -> None:
    """The call that writes 100 small files, in ``none`` and in ``open`` mode, each run in
    a fresh working directory (so every file is new and committed)."""
    modes = ["none"] + ([] if unavailable_reason("open") else ["open"])
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for n in range(runs + 1):
        for mode in modes:
            folder = work / f"w-{mode}-{n}"
            folder.mkdir()
            os.chdir(folder)
            settings = Settings(sandbox=mode, tools_dir=str(folder / ".permanent_tools"))
            start = time.perf_counter()
            # none runs in the scratch folder: make it the same folder
            result = run_tool(WRITE_CODE, "write_files", {"n": 100}, settings,
                              workdir=folder if mode == "none" else None,
                              undo_dir=folder / ".runs" / "undo")
            elapsed = (time.perf_counter() - start) * 1000
            assert result.ok and len(os.listdir(folder / "out")) == 100, result
            assert mode == "none" or len(result.files) == 100, result.refused[:3]
            if n:  # the first round warms the caches
                samples[mode].append(elapsed)
    medians = {mode: statistics.median(values) for mode, values in samples.items()}
    print(f"{'none, 100 files':<22} median {medians['none']:6.1f} ms")
    if "open" in medians:
        ratio = medians["open"] / medians["none"]
        print(f"{'open, 100 files':<22} median {medians['open']:6.1f} ms  ratio {ratio:.2f}x "
              f"to none ({'within' if ratio <= WRITE_TARGET else 'OVER'} the "
              f"{WRITE_TARGET:g}x target)")


if __name__ == "__main__":
    main()
