"""Benchmark: one ``tools/call`` through a warm ``autoagent mcp serve`` (the official SDK's
client over stdio) vs ``autoagent tools run`` of the same tool as a process.

Both run the tool the same way (the sandbox, the shared library-call path, the run
history); the server saves the command's start-up. Calls alternate, many of each; the
figures are the medians and their ratio. The target is a ratio of at most 0.5.

    .venv/bin/python bench/mcp.py [--runs 30] [--sandbox open|strict]
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

import anyio

TOOL = 'def add(a: int, b: int = 2) -> int:\n    """Add two integers."""\n    return a + b\n'


def tools_run(work: Path, env: dict[str, str], sandbox: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autoagent_core", "tools", "run", "add",
                           "--args", '{"a": 40}', "--sandbox", sandbox], cwd=work, env=env,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or proc.stdout.strip() != "42":
        raise SystemExit(f"autoagent tools run failed: {proc.stderr}")
    return elapsed


async def measure(work: Path, env: dict[str, str], runs: int,
                  sandbox: str) -> tuple[list[float], list[float]]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "autoagent_core", "mcp", "serve", "--sandbox",
                                      sandbox], env=env, cwd=str(work))
    served: list[float] = []
    ran: list[float] = []
    async with Client(params, read_timeout_seconds=60) as client:
        for _ in range(3):  # warm: the server is already running for its clients
            await client.call_tool("add", {"a": 1})
        tools_run(work, env, sandbox)
        for _ in range(runs):
            start = time.perf_counter()
            result = await client.call_tool("add", {"a": 40})
            served.append(time.perf_counter() - start)
            if result.is_error or result.structured_content != {"result": 42}:
                raise SystemExit(f"tools/call failed: {result}")
            ran.append(await anyio.to_thread.run_sync(tools_run, work, env, sandbox))
    return served, ran


def main() -> None:
    # this file is named like the SDK's package: keep its folder off the import path
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sandbox", choices=("open", "strict"), default="open")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        work = Path(tmp)
        (work / ".permanent_tools").mkdir()
        (work / ".permanent_tools" / "add.py").write_text(TOOL)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOAGENT_")}
        env["XDG_CONFIG_HOME"] = str(work / "config")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        served, ran = anyio.run(measure, work, env, opts.runs, opts.sandbox)
    mcp_ms = statistics.median(served) * 1000
    cli_ms = statistics.median(ran) * 1000
    print(f"tools/call via mcp serve (warm, SDK client): median {mcp_ms:.1f} ms "
          f"(min {min(served) * 1000:.1f}, max {max(served) * 1000:.1f}; {len(served)} calls)")
    print(f"autoagent tools run (a process per call):    median {cli_ms:.1f} ms "
          f"(min {min(ran) * 1000:.1f}, max {max(ran) * 1000:.1f}; {len(ran)} calls)")
    ratio = mcp_ms / cli_ms
    print(f"ratio mcp/tools run: {ratio:.2f}x (goal <= 0.5x): {'ok' if ratio <= 0.5 else 'MISSED'}"
          f" [sandbox {opts.sandbox}]")


if __name__ == "__main__":
    main()
