"""Benchmark: ``autoagent tools list`` on a library of 1,000 tools vs ``autoagent --help``.

Both commands run as real processes (``python -m autoagent_core``) in the same folder,
alternating, several times each; the figures are the medians and their ratio. The target
is a ratio of at most 1.3: listing reads the manifest and stats the files, it does not
read or import 1,000 tools.

    .venv/bin/python bench/tools_list.py [--runs 15] [--tools 1000]
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

from autoagent_plugins.fs_tools.store import FilesystemToolStore


def fill(directory: Path, count: int) -> None:
    """``count`` realistic tools, registered once (as a first listing would)."""
    directory.mkdir(parents=True)
    for i in range(count):
        (directory / f"tool_{i:04d}.py").write_text(
            f'import json\n\ndef tool_{i:04d}(path: str, limit: int = 10) -> dict:\n'
            f'    """Read the JSON file at path and return its first keys ({i})."""\n'
            f'    with open(path) as fh:\n        data = json.load(fh)\n'
            f'    return {{"keys": sorted(data)[:limit]}}\n')
    tools = FilesystemToolStore(directory, fsync=False).list_tools()
    assert len(tools) == count, len(tools)


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autoagent_core", *args], cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"autoagent {' '.join(args)} failed: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tools", type=int, default=1000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        work = Path(tmp)
        fill(work / ".permanent_tools", opts.tools)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOAGENT_")}
        env["XDG_CONFIG_HOME"] = str(work / "config")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as for a user
        timed(["--help"], work, env)  # warm the file cache
        timed(["tools", "list"], work, env)
        helps, lists = [], []
        for _ in range(opts.runs):
            helps.append(timed(["--help"], work, env))
            lists.append(timed(["tools", "list"], work, env))
    help_s, list_s = statistics.median(helps), statistics.median(lists)
    print(f"autoagent --help                       median {help_s * 1000:7.1f} ms "
          f"({opts.runs} runs)")
    print(f"autoagent tools list ({opts.tools} tools)   median {list_s * 1000:7.1f} ms "
          f"({opts.runs} runs)")
    print(f"ratio {list_s / help_s:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
