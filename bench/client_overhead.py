"""Client overhead of the ``cloudflare`` backend per call, against a bare httpx POST.

Both send the same body to the same local fake Cloudflare server (tests/support) over a
kept-alive connection: the backend through ``CloudflareBackend.complete`` (building the
body, retry loop, deadline watchdog, envelope parsing), the reference through
``httpx.Client.post`` + ``response.json()``. Calls alternate between the two so both see
the same machine load. Prints the median per call in ms for several rounds, and the ratio
(target: at most 1.2x).

    .venv/bin/python bench/client_overhead.py [--calls 400] [--rounds 5] [--stream]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from autoagent_core.config import load_settings
from autoagent_core.types import CompletionOptions, Message
from autoagent_plugins.cloudflare.backend import CloudflareBackend
from support.fake_cloudflare import FakeCloudflare

REPLY = "The capital of France is Paris. " * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per round and client")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stream", action="store_true",
                        help="stream the replies (the reference reads the same event stream)")
    args = parser.parse_args()

    import httpx

    with FakeCloudflare.start() as cf:
        settings = load_settings({"backend": "cloudflare"}, environ=cf.env())
        backend = CloudflareBackend(settings)
        messages = [Message("system", "Be brief."), Message("user", "Capital of France?")]
        options = CompletionOptions(max_tokens=256, temperature=0.2,
                                    on_text=(lambda _t: None) if args.stream else None)
        request = {"messages": [m.to_dict() for m in messages], "max_tokens": 256,
                   "temperature": 0.2}
        if args.stream:
            request["stream"] = True
        body = json.dumps(request).encode()
        bare = httpx.Client(headers={"Authorization": f"Bearer {cf.token}",
                                     "Content-Type": "application/json"})

        def via_backend() -> None:
            assert backend.complete(messages, options).text

        def via_httpx() -> None:
            if args.stream:  # the same event stream, lines read and dropped
                with bare.stream("POST", backend.url, content=body) as response:
                    assert sum(1 for _ in response.iter_lines()) > 2
            else:
                assert bare.post(backend.url, content=body).json()["result"]["response"]

        ratios = []
        print(f"{'round':>5} {'backend ms':>11} {'httpx ms':>9} {'overhead ms':>12} {'ratio':>6}")
        for round_no in range(1, args.rounds + 1):
            cf.replies.extend([REPLY] * (2 * args.calls + 20))
            for _ in range(10):  # warm up both connections
                via_backend()
                via_httpx()
            times: dict[str, list[float]] = {"backend": [], "httpx": []}
            for _ in range(args.calls):
                for name, fn in (("backend", via_backend), ("httpx", via_httpx)):
                    started = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - started)
            ours = statistics.median(times["backend"]) * 1000
            ref = statistics.median(times["httpx"]) * 1000
            ratios.append(ours / ref)
            print(f"{round_no:>5} {ours:>11.3f} {ref:>9.3f} {ours - ref:>12.3f} "
                  f"{ours / ref:>5.2f}x")
            cf.replies.clear()
        backend.close()
        bare.close()
    print(f"median ratio over {args.rounds} rounds: {statistics.median(ratios):.2f}x "
          "(target <= 1.20x)")


if __name__ == "__main__":
    main()
