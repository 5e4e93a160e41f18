"""What secrets cost: every printed line passes the redactor, which now also holds the secret
store's values, and every task is scanned before a run starts.

Prints medians over the rounds, each against a reference measured in the same run:

* one line through ``redactor_for()`` with N secrets in the file store, against the same
  with an empty store (what the store's values add: a stat of its file and a longer
  pattern), and a prebuilt ``Redactor`` (the substitution alone);
* ``find_secrets`` on each task of the original AutoAgent's sessions (keys included),
  against ``json.dumps`` of the same task (a floor: one pass over the text);
* ``autoagent secrets scan`` over a copy of the original's folders (wall time).

    .venv/bin/python bench/secret_store.py [--secrets 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# the original AutoAgent's folders, beside the checkout (shared/fixtures/original-autoagent)
FIXTURE = Path(os.environ.get("AUTOAGENT_ORIGINAL_FIXTURES") or Path(__file__).resolve()
               .parents[2] / "shared" / "fixtures" / "original-autoagent")
LINE = ("turn 3: run_tool fetch_news({'query': 'inteligencia artificial', 'limit': 10}) -> "
        "ok in 0.41 s, 10 results written to noticias.json\n")


def _median_us(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autoagent-bench-secrets-"))
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    os.chdir(work)
    try:
        _redaction(options.secrets, options.rounds)
        _detection(options.rounds)
        _scan(work, options.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _redaction(count: int, rounds: int) -> None:
    import secrets as random_secrets

    from autoagent_core.plugins import get_plugin_manager
    from autoagent_core.redact import Redactor, redactor_for
    from autoagent_core.secrets.store import forget_cache, open_secret_store

    get_plugin_manager()
    store = open_secret_store()
    plain = Redactor(["cfCANARY-token-0123456789"])
    bare = statistics.median(_median_us(lambda: plain.text(LINE), 2000) for _ in range(rounds))
    empty = statistics.median(_median_us(lambda: redactor_for().text(LINE), 2000)
                              for _ in range(rounds))
    for n in range(count):
        store.set(f"SERVICE_{n}_API_KEY", "sk_" + random_secrets.token_hex(24))
    forget_cache()
    full = statistics.median(_median_us(lambda: redactor_for().text(LINE), 2000)
                             for _ in range(rounds))
    print(f"one printed line through redactor_for(): {full:.1f} us with {count} stored "
          f"secrets vs {empty:.1f} us with an empty store ({full / empty:.2f}x); the "
          f"pattern alone: {bare:.1f} us")


def _tasks() -> list[str]:
    tasks = []
    for path in sorted((FIXTURE / ".sessions").glob("2*.json")):
        tasks.append(json.loads(path.read_text())["metadata"]["task"])
    return tasks


def _detection(rounds: int) -> None:
    from autoagent_core.secrets.detect import find_secrets

    tasks = _tasks()
    if not tasks:
        print("find_secrets: the fixture folder is absent")
        return

    def scan_all() -> None:
        for task in tasks:
            find_secrets(task)

    def dump_all() -> None:
        for task in tasks:
            json.dumps(task)

    found = statistics.median(_median_us(scan_all, 20) for _ in range(rounds)) / len(tasks)
    floor = statistics.median(_median_us(dump_all, 20) for _ in range(rounds)) / len(tasks)
    print(f"scanning a task ({len(tasks)} of the original's): {found:.1f} us per task vs "
          f"{floor:.1f} us for json.dumps of it ({found / floor:.1f}x)")


def _scan(work: Path, rounds: int) -> None:
    if not FIXTURE.is_dir():
        return
    copy = work / "original"
    for name in (".permanent_tools", ".agents", ".sessions", ".runs"):
        shutil.copytree(FIXTURE / name, copy / name)
    size = sum(p.stat().st_size for p in copy.rglob("*") if p.is_file())
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autoagent_core", "secrets", "scan"], cwd=copy,
                       capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    startup = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "autoagent_core", "secrets", "list"], cwd=copy,
                       capture_output=True, check=False)
        startup.append(time.perf_counter() - start)
    print(f"secrets scan of the original's folders ({size / 1e6:.1f} MB): "
          f"{statistics.median(times):.2f} s vs {statistics.median(startup):.2f} s for "
          f"'secrets list' (start-up)")


if __name__ == "__main__":
    main()
