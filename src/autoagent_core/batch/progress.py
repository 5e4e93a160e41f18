"""What a batch shows while it runs, on stderr: a rich progress bar on a terminal (done of
total, failures, tokens, elapsed time, ETA), else one plain line per finished task."""

from __future__ import annotations

import sys
import time
from typing import Any

from autoagent_core.cli.common import one_line


class BatchProgress:
    """Counts results and shows them (``terminal``: the rich bar, else plain lines)."""

    def __init__(self, total: int, skipped: int, terminal: bool) -> None:
        self.total, self.skipped = total, skipped
        self.done = self.failed = self.interrupted = self.tokens = 0
        self.started = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        if terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed · {task.fields[tokens]} tokens"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task("batch", total=total, failed=0, tokens=0)

    def __enter__(self) -> BatchProgress:
        if self._bar is not None:
            self._bar.start()
        elif self.skipped:
            print(f"batch: {self.skipped} task(s) already done in the results, "
                  f"{self.total} to run", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, row: dict[str, Any]) -> None:
        self.done += 1
        status = row.get("status")
        if status == "failed":
            self.failed += 1
        elif status == "interrupted":
            self.interrupted += 1
        self.tokens += int((row.get("usage") or {}).get("total_tokens") or 0)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, failed=self.failed,
                             tokens=self.tokens)
            return
        error = f": {one_line(row['error'], 120)}" if row.get("error") and \
            status != "completed" else ""
        print(f"[{self.done}/{self.total}] {row.get('id')} {status} "
              f"turns={row.get('turns')} {row.get('duration_s')}s "
              f"session={row.get('session_id')}{error}", file=sys.stderr, flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started
