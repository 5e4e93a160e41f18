"""Benchmark: one sandboxed tool call vs starting ``python -I -c pass`` the same way.

The reference is the bare cost of a Python process started as the sandbox starts its
child (``unshare --user --map-root-user --pid --fork --kill-child`` when available, the
same interpreter, a minimal environment); the figures are medians of several runs and
their ratio, for open mode and, where the machine can enforce it, strict mode.

    .venv/bin/python bench/sandbox_call.py [--runs 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from autoagent_core.config import Settings
from autoagent_core.sandbox import launcher as sandbox
from autoagent_core.sandbox.launcher import run_tool

CODE = "def one():\n    return 1\n"


def reference_argv(strict: bool) -> list[str]:
    argv = [sys.executable, "-I", "-c", "pass"]
    if sandbox._unshare_works(strict) is None:
        argv = [shutil.which("unshare") or "unshare", *sandbox.UNSHARE_ARGS,
                *(["--net"] if strict else []), *argv]
    return argv


def median_ms(fn: object, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    modes = [("open", True)]
    if sandbox.strict_available():
        modes.append(("strict", False))
    else:
        print(f"strict mode not measured: {sandbox.strict_unavailable_reason()}")
    for label, dangerous in modes:
        settings = Settings(dangerous_tools=dangerous)
        argv = reference_argv(not dangerous)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

        def reference(argv: list[str] = argv, env: dict[str, str] = env) -> None:
            subprocess.run(argv, env=env, check=True, stdin=subprocess.DEVNULL)

        def call(settings: Settings = settings) -> None:
            result = run_tool(CODE, "one", {}, settings)
            assert result.ok and result.result == 1, result

        reference()
        call()
        ref_ms = median_ms(reference, opts.runs)
        call_ms = median_ms(call, opts.runs)
        print(f"[{label}] python -I -c pass (same launch)  median {ref_ms:6.1f} ms")
        print(f"[{label}] sandboxed call of one()          median {call_ms:6.1f} ms")
        print(f"[{label}] ratio {call_ms / ref_ms:.2f}x ({opts.runs} runs each)")
    namespaces = "PID namespace (unshare)" if sandbox._unshare_works(False) is None else \
        "process group + marker sweep"
    print(f"kill strategy: {namespaces}")


if __name__ == "__main__":
    main()
