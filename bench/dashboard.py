"""Speed of ``autoagent dashboard`` in headless Chromium (Playwright, Debian's chromium).

* live: the time from an event appended to ``events.jsonl`` to its row being in the open
  run page's DOM (a MutationObserver in the page stamps each row's arrival; the writer
  stamps the write; same machine, same clock). Median of 50; target under 250 ms.
* first load of a run of 1,000 events (realistic ones: prompts, replies, tool code and
  results, written by the real ``jsonl`` recorder), and of the Sessions page with 10,000
  sessions in the index: navigation start to the load event. Median of ``--runs``;
  target under 1 s each.

Usage::

    python bench/dashboard.py [--runs 7] [--screenshot docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from autoagent_core.config import load_settings
from autoagent_core.events import EventBus
from autoagent_core.layers import open_recorders
from autoagent_core.redact import redactor_for
from support.dashboard_data import RunWriter, write_media_run, write_session_index
from support.timeline_events import emit_events

CHROMIUM = "/usr/bin/chromium"
URL_RE = re.compile(r"(http://127\.0\.0\.1:\d+)/\?token=([\w-]+)")
OBSERVER = """() => {
  window.__seen = {};
  const body = document.querySelector('#events tbody');
  new MutationObserver(records => {
    const now = performance.timeOrigin + performance.now();
    for (const r of records) for (const row of r.addedNodes) {
      const cell = row.querySelector && row.querySelector('td.summary');
      if (cell) window.__seen[cell.textContent] = now;
    }
  }).observe(body, {childList: true});
}"""


def start_dashboard(work: Path) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen([sys.executable, "-m", "autoagent_core", "dashboard", "--port",
                             "0", "--no-browser"], cwd=work, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        match = URL_RE.search(line)
        if match:
            # keep reading the request log so the server never blocks on a full pipe
            import threading

            threading.Thread(target=lambda: [None for _ in proc.stderr or []],
                             daemon=True).start()
            return proc, match.group(1), match.group(2)
    raise SystemExit("the dashboard printed no URL")


def write_realistic_run(log_dir: Path, count: int) -> str:
    folder = log_dir / "2026-12-07_11-00-00"
    folder.mkdir(parents=True)
    settings = load_settings({"log_dir": str(log_dir), "recorders": ["jsonl"]})
    bus = EventBus(open_recorders(settings, folder), redactor=redactor_for(settings))
    emit_events(bus, count)
    bus.close()
    return folder.name


def live_latency(page: Any, base: str, log_dir: Path, samples: int) -> list[float]:
    run = RunWriter(log_dir, "2026-12-07_12-00-00").start("live")
    page.goto(f"{base}/runs/{run.dir.name}")
    page.wait_for_function("document.getElementById('live-status') !== null")
    page.evaluate(OBSERVER)
    page.wait_for_timeout(500)  # the stream is open
    out = []
    for n in range(samples):
        marker = f"marker {n} {time.time()}"
        written = time.time() * 1000
        run.emit("final_answer", agent="coder", answer=marker)
        page.wait_for_function("m => window.__seen[m] !== undefined", arg=marker,
                               polling=10, timeout=10_000)
        out.append(page.evaluate("m => window.__seen[m]", marker) - written)
        page.wait_for_timeout(30)
    return out


def load_time(page: Any, url: str) -> float:
    page.goto(url, wait_until="load")
    timing = page.evaluate("() => { const t = performance.getEntriesByType('navigation')[0];"
                           " return t.loadEventEnd - t.startTime; }")
    return float(timing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        log_dir = work / ".runs"
        big = write_realistic_run(log_dir, 1000)
        size = (log_dir / big / "events.jsonl").stat().st_size
        write_session_index(work / ".sessions", 10_000)
        write_media_run(log_dir, work, "2026-12-07_10-00-00")
        proc, base, token = start_dashboard(work)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True,
                    args=["--no-sandbox", "--disable-gpu", "--mute-audio"])
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{base}/?token={token}")
                run_loads = [load_time(page, f"{base}/runs/{big}") for _ in range(args.runs)]
                rows = page.locator("#events tbody tr").count()
                session_loads = [load_time(page, f"{base}/sessions") for _ in range(args.runs)]
                latencies = live_latency(page, base, log_dir, args.samples)
                if args.screenshot:
                    page.goto(f"{base}/runs/{big}?view=conversation")
                    page.goto(f"{base}/runs/2026-12-07_10-00-00")
                    page.set_viewport_size({"width": 1100, "height": 640})
                    page.screenshot(path=str(args.screenshot))
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(10)
    print(json.dumps({"cpus": os.cpu_count()}))
    print(f"event written -> row in the page's DOM: median {statistics.median(latencies):.0f} ms"
          f" (p90 {sorted(latencies)[int(len(latencies) * 0.9)]:.0f} ms, {len(latencies)} "
          "events; target < 250 ms)")
    print(f"first load of a run of 1,000 events ({size / 1e6:.1f} MB of events.jsonl, "
          f"{rows} rows): median {statistics.median(run_loads):.0f} ms (target < 1000 ms)")
    print(f"first load of the Sessions page, 10,000 sessions in the index: median "
          f"{statistics.median(session_loads):.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
