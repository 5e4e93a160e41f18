"""Start-up time: `autoagent --help` and `autoagent plugins --json` against a minimal
two-command Typer app run by the same interpreter.

Prints the median of N runs of each (milliseconds) and the ratios. Usage:
    python bench/startup.py [--runs 15]
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

MINIMAL_APP = '''
import typer

app = typer.Typer()


@app.command()
def hello(name: str) -> None:
    """Say hello."""
    print(f"hello {name}")


@app.command()
def bye(name: str) -> None:
    """Say bye."""
    print(f"bye {name}")


app()
'''


def bench_env() -> dict[str, str]:
    """The environment of every measured command: bytecode caching on, as for a user (an
    inherited PYTHONDONTWRITEBYTECODE would make every start compile autoagent's sources,
    while the reference's Typer comes precompiled from its wheel)."""
    env = dict(os.environ, COLUMNS="100")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def median_ms(cmd: list[str], runs: int, cwd: str) -> float:
    times = []
    env = bench_env()
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = Path(sys.executable).parent / "autoagent"
    autoagent = [str(exe)] if exe.exists() else [sys.executable, "-m", "autoagent_core"]
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "minimal_app.py"
        app.write_text(MINIMAL_APP)
        minimal = [sys.executable, str(app), "--help"]
        # warm the page cache and .pyc files once
        for cmd in (minimal, [*autoagent, "--help"]):
            subprocess.run(cmd, cwd=tmp, env=bench_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        # interleave the measurements so machine noise hits all of them alike
        rounds = 3
        per = max(1, args.runs // rounds)
        results: dict[str, list[float]] = {"minimal": [], "help": [], "plugins": []}
        for _ in range(rounds):
            results["minimal"].append(median_ms(minimal, per, tmp))
            results["help"].append(median_ms([*autoagent, "--help"], per, tmp))
            results["plugins"].append(median_ms([*autoagent, "plugins", "--json"], per, tmp))
    base = statistics.median(results["minimal"])
    help_ms = statistics.median(results["help"])
    plugins_ms = statistics.median(results["plugins"])
    print(f"runs per command: {per * rounds}")
    print(f"minimal Typer app --help : {base:7.1f} ms")
    print(f"autoagent --help         : {help_ms:7.1f} ms  ratio {help_ms / base:.2f}x"
          " (target <= 1.2x)")
    print(f"autoagent plugins --json : {plugins_ms:7.1f} ms  ratio {plugins_ms / base:.2f}x")


if __name__ == "__main__":
    main()
