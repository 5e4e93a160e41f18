"""Where to set the reuse threshold: how tools the offline model wrote score against tasks.

Reads the tools left by ``bench/offline_suite.py --mode fresh --keep DIR`` (one folder per
task, ``DIR/fresh/<task id>/.permanent_tools/manifest.json``), and scores every tool with
:func:`autoagent_core.retrieval.fit_score` against every task of ``offline_tasks.json`` and
its rewording in ``reuse_tasks.json`` (other words, other values). A pair is *right* when
the tool was made for that task (its original text or its rewording), *wrong* otherwise.
For each threshold it prints how many right pairs would be offered for reuse and how many
wrong ones, and the scores of the closest wrong pairs. Usage::

    python bench/reuse_fit.py DIR/fresh [DIR2/fresh ...]

Measured on the 31 tools SmolLM2-135M wrote in two fresh-folder runs of the suite (README,
"The offline model"): at 0.4, 43 of 62 right pairs and 8 of 1,488 wrong pairs are offered;
the wrong ones are tools the model misnamed (``count_word_s`` made for counting letters).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from autoagent_core.retrieval import FIT_THRESHOLD, fit_score

HERE = Path(__file__).resolve().parent
THRESHOLDS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def tools_by_task(folder: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for manifest in sorted(folder.glob("*/.permanent_tools/manifest.json")):
        tools = json.loads(manifest.read_text()).get("tools") or {}
        found[manifest.parent.parent.name] = list(tools.values())
    return found


def score(task: str, tool: dict[str, Any]) -> float:
    params = list((tool.get("parameters") or {}).get("properties") or {})
    return fit_score(task, str(tool.get("name")), str(tool.get("description") or ""), params)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+",
                        help="fresh-mode folders kept by the suite (several runs may be given)")
    args = parser.parse_args()
    tasks = {t["id"]: t["task"] for t in
             json.loads((HERE / "offline_tasks.json").read_text())["tasks"]}
    reworded = json.loads((HERE / "reuse_tasks.json").read_text())["reworded"]
    made = [(origin, tools) for folder in args.folders
            for origin, tools in tools_by_task(folder).items()]
    right: list[tuple[float, str, str]] = []
    wrong: list[tuple[float, str, str]] = []
    for origin, tools in made:
        for tool in tools:
            for task_id in tasks:
                for text in (tasks[task_id], reworded.get(task_id, "")):
                    if not text:
                        continue
                    entry = (score(text, tool), str(tool.get("name")), text)
                    (right if task_id == origin else wrong).append(entry)
    print(f"{sum(len(tools) for _, tools in made)} tools from {len(made)} task runs; "
          f"{len(right)} right pairs, {len(wrong)} wrong pairs")
    print(f"{'threshold':>9} | right offered | wrong offered")
    for threshold in THRESHOLDS:
        r = sum(s >= threshold for s, _, _ in right)
        w = sum(s >= threshold for s, _, _ in wrong)
        mark = "  <- FIT_THRESHOLD" if threshold == FIT_THRESHOLD else ""
        print(f"{threshold:>9.2f} | {r:>5}/{len(right):<7} | {w:>5}/{len(wrong)}{mark}")
    print("\nclosest wrong pairs:")
    for s, name, text in sorted(wrong, reverse=True)[:8]:
        print(f"  {s:.2f}  {name:<28} {text[:60]}")
    print("\nright pairs below the threshold:")
    for s, name, text in sorted(right):
        if s < FIT_THRESHOLD:
            print(f"  {s:.2f}  {name:<28} {text[:60]}")


if __name__ == "__main__":
    main()
