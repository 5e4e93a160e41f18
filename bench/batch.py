"""Throughput of ``autoagent batch``: 20 scripted tasks, each creating a tool and calling it
once, with ``-j 1``, ``-j 2`` and ``--executor dask`` on a local cluster of 2 worker
processes (1 thread each) started here. Each round runs the real CLI in a fresh folder;
modes alternate inside a round so they see the same machine load.

Prints, per mode, the median over the rounds of tasks per second (wall time of the whole
command, start-up included), the ratio to ``-j 1`` (goal: at least 1.8x for ``-j 2`` on
2 cores), and the per-task overhead: wall time x workers / tasks minus the median time a
task's run took inside its worker (the cost of the executor: queues, Dask scheduling,
shipping and merging the library and the session).

    .venv/bin/python bench/batch.py [--tasks 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.batch_tasks import own_tool_tasks, read_results

DASK = shutil.which("dask", path=str(Path(sys.executable).parent)) or "dask"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(root: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    from distributed import Client

    address = f"tcp://127.0.0.1:{_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port",
                               address.rsplit(":", 1)[1], "--no-dashboard"], cwd=root, **quiet)]
    worker_dir = root / "worker"
    worker_dir.mkdir()
    procs.append(subprocess.Popen(
        [DASK, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
         "--no-dashboard", "--local-directory", str(worker_dir)], cwd=worker_dir,
        env={**os.environ, "HOME": str(worker_dir)}, **quiet))
    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=60)
    return address, procs


def one_batch(root: Path, tasks: int, args: list[str]) -> tuple[float, float]:
    """(wall seconds, median seconds of a task's run) of one batch in a fresh folder."""
    work = Path(tempfile.mkdtemp(dir=root))
    tasks_file = own_tool_tasks(work / "jobs", tasks)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOAGENT_")}
    env["XDG_CONFIG_HOME"] = str(work / "config")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autoagent_core", "batch", str(tasks_file),
                           "-o", str(work / "r.jsonl"), "--json", *args], cwd=work, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    summary = json.loads(proc.stdout)
    assert proc.returncode == 0 and summary["completed"] == tasks, proc.stderr
    tools = json.loads(subprocess.run([sys.executable, "-m", "autoagent_core", "tools",
                                       "list", "--json"], cwd=work, env=env,
                                      capture_output=True, text=True).stdout)
    assert len(tools) == tasks, "a tool was lost"
    run_s = statistics.median(r["duration_s"] for r in read_results(work / "r.jsonl"))
    shutil.rmtree(work, ignore_errors=True)
    return wall, run_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="autoagent-bench-batch-"))
    address, procs = start_cluster(root, 2)
    modes = {"-j 1": (["-j", "1"], 1), "-j 2": (["-j", "2"], 2),
             "dask, 2 workers": (["--executor", "dask", "--scheduler", address], 2)}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    runs: dict[str, list[float]] = {m: [] for m in modes}
    try:
        for _ in range(args.rounds):
            for mode, (flags, _workers) in modes.items():
                wall, run_s = one_batch(root, args.tasks, flags)
                walls[mode].append(wall)
                runs[mode].append(run_s)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=20)
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.tasks} scripted tasks (create a tool + one call each), median of "
          f"{args.rounds} rounds, {os.cpu_count()} CPUs")
    reference = args.tasks / statistics.median(walls["-j 1"])
    for mode, (_flags, workers) in modes.items():
        wall = statistics.median(walls[mode])
        rate = args.tasks / wall
        overhead = wall * workers / args.tasks - statistics.median(runs[mode])
        print(f"  {mode:16s} {rate:6.2f} tasks/s  x{rate / reference:4.2f} vs -j 1  "
              f"wall {wall:5.2f}s  run {statistics.median(runs[mode]) * 1000:5.0f} ms/task  "
              f"overhead {overhead * 1000:5.0f} ms/task")


if __name__ == "__main__":
    main()
