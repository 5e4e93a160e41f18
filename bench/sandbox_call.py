"""Benchmark: one sandboxed tool call in strict and open mode vs ``python -I -c pass``.

The reference is the bare cost of starting the same interpreter (``python -I -c pass``,
a minimal environment, no sandbox); each call goes through bubblewrap with every mount and
namespace of its mode. A ``none``-mode call (the same child without bubblewrap) shows
what the child itself costs. The figures are medians of several runs, interleaved
(reference, none, open, strict, reference, ...) so that machine load hits all of them
alike, and the ratio of each mode to the reference (the target: at most 3x).

Open mode's network (:mod:`autoagent_core.sandbox.network`) is measured against the same
call without it (bubblewrap sharing the host's network, no proxy): a trivial call, and,
where a network namespace can be made (root and iproute2), an HTTP GET from the tool to a
server in that namespace on a public-looking address, through the proxy or directly.

A second case writes 100 small files into the working directory: in open mode they are
staged in the overlay and committed after the call (checks, undo journal), in ``none`` mode
written directly; the ratio open/none has a target of at most 2x. Each run writes into a
fresh folder.

    .venv/bin/python bench/sandbox_call.py [--runs 30]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autoagent_core.config import Settings
from autoagent_core.sandbox.launcher import run_tool, unavailable_reason
from autoagent_core.sandbox.mechanism import mechanism_status

CODE = "def one():\n    return 1\n"
GET = ("import urllib.request\n"
       "def get(url):\n"
       "    return len(urllib.request.urlopen(url, timeout=10).read())\n")
TARGET_RATIO = 3.0
TESTS = Path(__file__).resolve().parent.parent / "tests"
WRITE_CODE = ("import os\ndef write_files(n: int):\n    os.makedirs('out', exist_ok=True)\n"
              "    for i in range(n):\n"
              "        with open(f'out/{i}.json', 'w') as fh:\n"
              "            fh.write('{\"i\": %d}' % i)\n    return n\n")
WRITE_TARGET = 2.0


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


@contextlib.contextmanager
def without_network_mechanism() -> Iterator[None]:
    """Open mode as it was before its network: bubblewrap shares the host's network and no
    proxy is started (for comparison only)."""
    import autoagent_core.sandbox.network as network
    from autoagent_core.sandbox import confinement
    from autoagent_core.sandbox.network.addresses import Policy

    class NoProxy:
        policy = Policy()

        def close(self) -> None:
            pass

    start, command = network.start_call_network, confinement.command

    def shared(layout: Any) -> list[str]:
        args = command(layout)
        at = args.index("--unshare-all") + 1
        return [*args[:at], "--share-net", *args[at:]]

    network.start_call_network = lambda settings, control: (NoProxy(), None)  # type: ignore
    confinement.command = shared  # type: ignore[assignment]
    try:
        yield
    finally:
        network.start_call_network = start
        confinement.command = command


def network_calls(work: Path, stack: contextlib.ExitStack) -> dict[str, Callable[[], None]]:
    """Open-mode calls with and without the network mechanism: trivial, and an HTTP GET to
    a server in a network namespace made here (when one can be)."""
    settings = Settings(sandbox="open", tools_dir=str(work / ".permanent_tools"))

    def trivial() -> None:
        assert run_tool(CODE, "one", {}, settings).result == 1

    def plain(fn: Callable[[], None]) -> Callable[[], None]:
        def call() -> None:
            with without_network_mechanism():
                fn()
        return call

    calls = {"open, no net mechanism": plain(trivial)}
    sys.path.insert(0, str(TESTS))
    from support.stand_in_internet import available, stand_in_internet

    why = available()
    if why:
        print(f"HTTP GET not measured: the stand-in network {why}")
        return calls
    internet = stack.enter_context(stand_in_internet(work))
    url = f"http://{internet.public}/"

    def get() -> None:
        result = run_tool(GET, "get", {"url": url}, settings)
        assert result.ok and result.result == len("public\n"), result

    calls["open GET, proxied"] = get
    calls["open GET, no net mech."] = plain(get)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="autoagent-bench-"))
    os.chdir(work)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

    def reference() -> None:
        subprocess.run([sys.executable, "-I", "-c", "pass"], env=env, check=True,
                       stdin=subprocess.DEVNULL)

    measured: dict[str, Callable[[], None]] = {"python -I -c pass": reference}
    # the default tree limiter (auto: a cgroup where one can be made), and the watchdog
    for mode, limiter in (("none", "auto"), ("open", "auto"), ("strict", "auto"),
                          ("open", "watchdog"), ("strict", "watchdog")):
        reason = None if mode == "none" else unavailable_reason(mode)
        if reason:
            print(f"{mode} mode not measured: {reason}")
            continue
        settings = Settings(sandbox=mode, tool_limiter=limiter,
                            tools_dir=str(work / ".permanent_tools"))

        def call(settings: Settings = settings) -> None:
            result = run_tool(CODE, "one", {}, settings)
            assert result.ok and result.result == 1, result

        label = f"{mode} call of one()" if limiter == "auto" else f"{mode}, {limiter}"
        measured[label] = call
    stack = contextlib.ExitStack()
    if unavailable_reason("open") is None:
        measured.update(network_calls(work, stack))
    samples: dict[str, list[float]] = {label: [] for label in measured}
    for fn in measured.values():
        fn()  # warm the caches and the probe
    with stack:
        for _ in range(opts.runs):
            for label, fn in measured.items():
                samples[label].append(timed(fn))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    ref = medians["python -I -c pass"]
    _, mechanism = mechanism_status()
    from autoagent_core.sandbox.tree_limits import tree_limiter

    default = tree_limiter(Settings(), own_processes=1, marker_entry="BENCH=1")
    kind = default.kind
    default.close()
    print(f"mechanism: {mechanism}; tree limiter (auto): {kind}; {opts.runs} interleaved "
          f"runs each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for label, value in medians.items():
        ratio = value / ref
        verdict = f"  ratio {ratio:.2f}x (no sandbox: the child's own cost)" \
            if label.startswith("none") else "" if label.startswith("python") else (
            f"  ratio {ratio:.2f}x (an HTTP GET: no target)") if "GET" in label else (
            f"  ratio {ratio:.2f}x ({'within' if ratio <= TARGET_RATIO else 'OVER'} "
            f"the {TARGET_RATIO:g}x target)")
        print(f"{label:<22} median {value:6.1f} ms{verdict}")
    for with_it, without in (("open call of one()", "open, no net mechanism"),
                             ("open GET, proxied", "open GET, no net mech.")):
        if with_it in medians and without in medians:
            ratio = medians[with_it] / medians[without]
            print(f"network mechanism: {with_it!r} costs {ratio:.2f}x {without!r} "
                  f"({medians[with_it] - medians[without]:+.1f} ms)")
    write_files(work, opts.runs)


def write_files(work: Path, runs: int) -> None:
    """The call that writes 100 small files, in ``none`` and in ``open`` mode, each run in
    a fresh working directory (so every file is new and committed)."""
    modes = ["none"] + ([] if unavailable_reason("open") else ["open"])
    samples: dict[str, list[float]] = {mode: [] for mode in modes}
    for n in range(runs + 1):
        for mode in modes:
            folder = work / f"w-{mode}-{n}"
            folder.mkdir()
            os.chdir(folder)
            settings = Settings(sandbox=mode, tools_dir=str(folder / ".permanent_tools"))
            start = time.perf_counter()
            # none runs in the scratch folder: make it the same folder
            result = run_tool(WRITE_CODE, "write_files", {"n": 100}, settings,
                              workdir=folder if mode == "none" else None,
                              undo_dir=folder / ".runs" / "undo")
            elapsed = (time.perf_counter() - start) * 1000
            assert result.ok and len(os.listdir(folder / "out")) == 100, result
            assert mode == "none" or len(result.files) == 100, result.refused[:3]
            if n:  # the first round warms the caches
                samples[mode].append(elapsed)
    medians = {mode: statistics.median(values) for mode, values in samples.items()}
    print(f"{'none, 100 files':<22} median {medians['none']:6.1f} ms")
    if "open" in medians:
        ratio = medians["open"] / medians["none"]
        print(f"{'open, 100 files':<22} median {medians['open']:6.1f} ms  ratio {ratio:.2f}x "
              f"to none ({'within' if ratio <= WRITE_TARGET else 'OVER'} the "
              f"{WRITE_TARGET:g}x target)")


if __name__ == "__main__":
    main()
