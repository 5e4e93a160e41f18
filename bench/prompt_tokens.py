"""Prompt size of the Coder's first request with 10 tools in the library vs 1,000.

Builds two real tool libraries (filesystem store) of generated tools whose names and
descriptions share words with the task, runs the first turn of the real loop with the
scripted backend, and measures the Coder's request: tokens as the scripted backend
counts them (words), characters / 4 (a common estimate for BPE tokenizers) and, where the
``local`` extra is installed, real tokens of the SmolLM2 chat template. Retrieval lists at
most ``prompt_tools_limit`` tools, so the target is a ratio of at most 1.2.
Usage:

    python bench/prompt_tokens.py [--small 10] [--large 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from autoagent_core import layers
from autoagent_core.config import load_settings
from autoagent_core.events import EventBus
from autoagent_core.loop.engine import RunLoop
from autoagent_core.types import Completion, CompletionOptions, Message, Session, Usage

TASK = "Sum the numbers in the list 4, 8 and 15, then convert the total to a string"
VERBS = ["sum", "count", "parse", "convert", "filter", "sort", "merge", "average", "format",
         "validate", "split", "join", "scale", "round", "compare", "extract"]
NOUNS = ["numbers", "list", "csv_file", "json", "dates", "temperatures", "prices", "string",
         "matrix", "words", "emails", "urls", "totals", "invoices", "images", "logs"]


def build_library(tools_dir: Path, count: int) -> None:
    settings = load_settings({"tools_dir": str(tools_dir)})
    store = layers.open_tool_store(settings)
    rng = random.Random(count)
    for i in range(count):
        verb, noun = rng.choice(VERBS), rng.choice(NOUNS)
        name = f"{verb}_{noun}_{i}"
        code = f"def {name}(items, factor=1):\n    return [items, factor, {i}]\n"
        store.save(name, code, f"{verb.capitalize()} {noun.replace('_', ' ')} "
                               f"(variant {i}) and return the result")


class Capture:
    """A backend that records the first request and answers as a scripted model would."""

    name = "capture"
    model = "capture"

    def __init__(self) -> None:
        self.requests: list[list[Message]] = []

    def complete(self, messages: Sequence[Message], options: CompletionOptions) -> Completion:
        self.requests.append(list(messages))
        if options.agent == "coder":
            text = json.dumps({"thought": "", "actions": [
                {"type": "final_answer", "answer": "27"}]})
        else:
            text = json.dumps({"thought": "", "decision": "done", "answer": "27"})
        return Completion(text, Usage(sum(len(m.content.split()) for m in messages), 5),
                          "capture")

    def close(self) -> None:
        return None


def real_tokens(messages: Sequence[Message]) -> int | None:
    """Tokens of the request as the offline model sees it, or None without the extra."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return None
    import llama_cpp

    from autoagent_plugins.local_llama.backend import default_model_path

    llm = llama_cpp.Llama(str(default_model_path()), vocab_only=True, verbose=False)
    text = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in messages)
    return len(llm.tokenize(text.encode(), add_bos=False, special=True))


def measure(count: int) -> tuple[int, int, int, float, int | None]:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        started = time.perf_counter()
        build_library(Path(tmp) / ".permanent_tools", count)
        build_s = time.perf_counter() - started
        settings = load_settings({"tools_dir": str(Path(tmp) / ".permanent_tools")})
        sessions = layers.open_session_store(settings)
        session = Session(id=sessions.new_id(), task=TASK)
        sessions.create(session)
        backend = Capture()
        loop = RunLoop(settings, backend, layers.open_tool_store(settings),
                       layers.open_agent_registry(settings), sessions, EventBus([]), session)
        outcome = loop.run()
        os.chdir("/")
        assert outcome.status == "completed", outcome.error
        coder = backend.requests[0]
        words = sum(len(m.content.split()) for m in coder)
        chars = sum(len(m.content) for m in coder)
        listed = sum(1 for line in coder[0].content.splitlines()
                     if line.startswith("- ") and "(variant " in line)
        return words, chars // 4, listed, build_s, real_tokens(coder)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=1000)
    args = parser.parse_args(argv)
    small = measure(args.small)
    large = measure(args.large)
    print(f"Coder's first request (task: {TASK!r})")
    print(f"  {'tools':>6} {'words':>7} {'chars/4':>8} {'listed':>8}   library built in")
    for count, (words, approx, listed, build_s, tokens) in ((args.small, small),
                                                            (args.large, large)):
        print(f"  {count:>6} {words:>7} {approx:>8} {listed:>8}   {build_s:.1f} s"
              + (f"   {tokens} SmolLM2 tokens" if tokens is not None else ""))
    print(f"  ratio {args.large} / {args.small} tools: words {large[0] / small[0]:.2f}x, "
          f"chars/4 {large[1] / small[1]:.2f}x (target <= 1.20x)")
    if small[4] and large[4]:
        print(f"  ratio in real tokens (SmolLM2 tokenizer): {large[4] / small[4]:.2f}x")


if __name__ == "__main__":
    main()
