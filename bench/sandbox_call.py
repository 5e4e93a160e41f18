"""Benchmark: one sandboxed tool call in strict and open mode vs ``python -I -c pass``.

The reference is the bare cost of starting the same interpreter (``python -I -c pass``,
a minimal environment, no sandbox); each call goes through bubblewrap with every mount and
namespace of its mode. A ``none``-mode call (the same child without bubblewrap) shows
what the child itself costs. The figures are medians of several runs, interleaved
(reference, none, open, strict, reference, ...) so that machine load hits all of them
alike, and the ratio of each mode to the reference (the target: at most 3x).

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


if __name__ == "__main__":
    main()
