"""The ``local`` backend against raw llama-cpp-python, on the same model and prompts.

1. Generation speed: tokens per second of a reply through the backend vs
   ``Llama.create_chat_completion`` on the same loaded model (target: at least 0.9x).
2. Prompt cache: the prompt time of a second turn that shares a ~1,000-token prefix with
   the first, with the backend's cache vs without it (target: at most 0.3x). Measured for
   one agent asking twice, and for two agents taking turns (Coder, Supervisor, Coder).

Every figure is the median of ``--runs`` runs. Needs the ``local`` extra
(``scripts/setup.sh``). Usage::

    python bench/local_llm.py [--runs 5] [--tokens 96]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from autoagent_core.types import CompletionOptions, Message
from autoagent_plugins.local_llama.backend import LocalLlamaBackend, default_model_path

RULES = " ".join(
    f"Rule {i}: a tool is one small typed Python function with a docstring, tested on an "
    "example before it is saved."
    for i in range(40)
)
GENERATE_PROMPT = [
    Message("system", "You are a helpful assistant."),
    Message("user", "Write a long story about a robot who learns to paint. Use many "
                    "paragraphs."),
]


def median(fn: Callable[[], float], runs: int) -> float:
    return statistics.median(fn() for _ in range(runs))


def tokens_per_second(backend: LocalLlamaBackend, runs: int, tokens: int) -> tuple[float, float]:
    """(backend, raw) tokens per second, the prompt evaluated afresh each time."""
    llm = backend.llm
    dicts: list[dict[str, str]] = [m.to_dict() for m in GENERATE_PROMPT]

    def raw() -> float:
        llm.reset()
        start = time.perf_counter()
        reply = llm.create_chat_completion(dicts,  # type: ignore[arg-type]
                                           max_tokens=tokens, temperature=0.2)
        elapsed = time.perf_counter() - start
        return int(reply["usage"]["completion_tokens"]) / elapsed  # type: ignore[index]

    def ours() -> float:
        llm.reset()
        start = time.perf_counter()
        reply = backend.complete(GENERATE_PROMPT,
                                 CompletionOptions(max_tokens=tokens, temperature=0.2))
        return reply.usage.completion_tokens / (time.perf_counter() - start)

    raw()  # warm up
    ours_tps, raw_tps = [], []
    for _ in range(runs):  # interleaved, so a busy neighbour slows both alike
        raw_tps.append(raw())
        ours_tps.append(ours())
    return statistics.median(ours_tps), statistics.median(raw_tps)


def second_turn_prompt_time(backend: LocalLlamaBackend, runs: int,
                            alternate: bool) -> float:
    """Median seconds to evaluate the second Coder turn (reply capped at one token)."""
    coder = [Message("system", "You are the Coder. " + RULES),
             Message("user", "Task: add two numbers.")]
    supervisor = [Message("system", "You are the Supervisor. " + RULES),
                  Message("user", "The Coder proposes a tool. Decide.")]
    one = CompletionOptions(max_tokens=1, temperature=0.2)

    def run() -> float:
        first = backend.complete(coder, CompletionOptions(max_tokens=16, temperature=0.2))
        if alternate:
            backend.complete(supervisor, one)
        second = [*coder, Message("assistant", first.text),
                  Message("user", "The tool works. What next?")]
        start = time.perf_counter()
        backend.complete(second, one)
        return time.perf_counter() - start

    return median(run, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=96)
    args = parser.parse_args()
    path = default_model_path()
    backend = LocalLlamaBackend(path)
    print(f"model {backend.model}, {backend.threads} threads, medians of {args.runs} runs")
    try:
        ours, raw = tokens_per_second(backend, args.runs, args.tokens)
        print(f"generation: local backend {ours:.1f} tok/s, raw llama-cpp-python "
              f"{raw:.1f} tok/s, ratio {ours / raw:.2f}x (target >= 0.9x)")
        prefix = len(backend.llm.tokenize(("You are the Coder. " + RULES).encode()))
        for alternate in (False, True):
            backend.reuse_prompt_cache = True
            cached = second_turn_prompt_time(backend, args.runs, alternate)
            backend.reuse_prompt_cache = False
            fresh = second_turn_prompt_time(backend, args.runs, alternate)
            label = "Coder, Supervisor, Coder" if alternate else "Coder, Coder"
            print(f"second turn ({label}; shared prefix {prefix} tokens, prompt "
                  f"{backend.last_prompt_tokens} tokens): cached {cached * 1000:.0f} ms, "
                  f"uncached {fresh * 1000:.0f} ms, ratio {cached / fresh:.2f}x "
                  "(target <= 0.3x)")
    finally:
        backend.close()


if __name__ == "__main__":
    main()
