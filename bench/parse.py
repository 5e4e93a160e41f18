"""How long the reply parser takes on hostile replies (medians of several runs).

Worst cases of 40,000 characters (the size of a long model reply) and of 1 MB of nested
brackets; each either parses or ends in a format error. The reference is ``json.loads`` of a
valid 40,000-character reply, measured in the same run. Target: every case under 50 ms.

    python bench/parse.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from autoagent_core.protocol.actions import ProtocolFormatError, parse_agent_reply

N = 40_000
MB = 1_000_000
_SHELL = {"thought": "t", "actions": [{"type": "create_tool", "name": "f", "code": ""}]}
VALID = json.dumps({**_SHELL, "actions": [
    {**_SHELL["actions"][0], "code": "x" * (N - len(json.dumps(_SHELL)))}]})

CASES: dict[str, str] = {
    "40k '{'": "{" * N,
    "40k '{\"a\":'": '{"a":' * (N // 5),
    "40k '{}' pairs": "{}" * (N // 2),
    "40k '{' + '{}' pairs": "{" + "{}" * (N // 2 - 1),
    "40k '\\\"' in a string": '{"a": "' + '\\"' * (N // 2 - 4),
    "40k raw newlines": '{"a": "' + "x\n" * (N // 2 - 4),
    "40k trailing commas": '{"a": [1,],}' * (N // 12),
    "40k prose + '{\"'": '"{"' + " word" * (N // 5 - 1),
    "40k valid reply": VALID,
    "1 MB '{'": "{" * MB,
    "1 MB '['": "[" * MB,
    "1 MB '[{'": "[{" * (MB // 2),
    "1 MB '[' ... ']'": "[" * (MB // 2) + "]" * (MB // 2),
    "1 MB '{\"a\":'": '{"a":' * (MB // 5),
}


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def parse(text: str) -> str:
    try:
        parse_agent_reply(text)
    except ProtocolFormatError as exc:
        return f"format error: {str(exc)[:50]}"
    return "parsed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    reference = median_ms(lambda: json.loads(VALID), args.runs)
    print(f"reference: json.loads of a valid 40,000-char reply: {reference:.3f} ms")
    print(f"{'case':28} {'chars':>9} {'median ms':>10} {'x ref':>8}  outcome")
    worst = 0.0
    for name, text in CASES.items():
        outcome = parse(text)
        ms = median_ms(lambda text=text: parse(text), args.runs)
        worst = max(worst, ms)
        print(f"{name:28} {len(text):>9,} {ms:>10.2f} {ms / reference:>8.1f}  {outcome}")
    print(f"slowest: {worst:.2f} ms (target: under 50 ms) -> {'ok' if worst < 50 else 'SLOW'}")


if __name__ == "__main__":
    main()
