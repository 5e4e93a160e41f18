"""Benchmark: what the process-tree limiter adds to a trivial sandboxed call.

A call of ``def one(): return 1`` in open mode, with each limiter (the cgroup where this
machine can make one, the /proc watchdog) and, as the reference measured in the same run,
with no tree limiter at all (the rlimits of each process only). Runs alternate between the
variants so a change in the machine's load hits them alike; the figures are medians.

    .venv/bin/python bench/tree_limits.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from autoagent_core.config import Settings
from autoagent_core.sandbox import launcher
from autoagent_core.sandbox.cgroup import cgroup_limiter
from autoagent_core.sandbox.tree_limits import Caps

CODE = "def one():\n    return 1\n"


class NoTreeLimits:
    """The reference: no limit on the tree, nothing polled, nothing to release."""

    kind = "none"
    hit: str | None = None
    interval = 0.05
    gated = False

    def child_limits(self) -> dict[str, int]:
        return {}

    def attach(self, pid: int) -> None:
        pass

    def poll(self) -> str | None:
        return None

    def close(self) -> str | None:
        return None

    def message(self) -> str:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    real_factory = launcher.tree_limiter
    variants: dict[str, Callable[[], None]] = {}

    def variant(limiter: str | None) -> Callable[[], None]:
        settings = Settings(tool_limiter=limiter or "auto")

        def call() -> None:
            launcher.tree_limiter = (  # type: ignore[assignment]
                real_factory if limiter else lambda *a, **k: NoTreeLimits())
            try:
                result = launcher.run_tool(CODE, "one", {}, settings)
            finally:
                launcher.tree_limiter = real_factory
            assert result.ok and result.result == 1, result
        return call

    variants["no tree limiter"] = variant(None)
    probe, reason = cgroup_limiter(Caps(Settings(), 2))
    if probe is not None:
        probe.close()
        variants[f"{probe.kind}"] = variant("cgroup")
    else:
        print(f"cgroup not measured: {reason}")
    variants["watchdog"] = variant("watchdog")
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        fn()  # warm up
    for _ in range(opts.runs):
        for name, fn in variants.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    reference = statistics.median(samples["no tree limiter"]) * 1000
    for name, values in samples.items():
        ms = statistics.median(values) * 1000
        print(f"{name:18} median {ms:6.1f} ms  ratio {ms / reference:.2f}x "
              f"({opts.runs} runs)")


if __name__ == "__main__":
    main()
