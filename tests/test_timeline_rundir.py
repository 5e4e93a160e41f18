"""Run folders: ``.runs/YYYY-MM-DD_HH-MM-SS`` with ``-2``, ``-3`` for the same second."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from autoagent_core.rundir import new_run_dir, run_dir_sort_key


def test_runs_started_in_the_same_second_get_suffixes(tmp_path: Path) -> None:
    now = time.mktime((2025, 3, 4, 5, 6, 7, 0, 0, -1))
    made = [new_run_dir(tmp_path / ".runs", now=now) for _ in range(11)]
    names = [p.name for p in made]
    assert names[:3] == ["2025-03-04_05-06-07", "2025-03-04_05-06-07-2",
                         "2025-03-04_05-06-07-3"]
    assert names[-1] == "2025-03-04_05-06-07-11"
    assert all(p.is_dir() and not any(p.iterdir()) for p in made)
    shuffled = sorted(names, reverse=True)
    assert sorted(shuffled, key=run_dir_sort_key) == names


def test_concurrent_processes_never_share_a_folder(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    code = ("import sys, time; from pathlib import Path; "
            "from autoagent_core.rundir import new_run_dir; "
            "print(new_run_dir(Path(sys.argv[1]), now=1700000000.0).name)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(log_dir)],
                              stdout=subprocess.PIPE, text=True) for _ in range(6)]
    names = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(names)) == 6
    assert sorted(p.name for p in log_dir.iterdir()) == sorted(names)
