"""A small BM25 ranking over tool and agent names and descriptions.

With a large library, only the tools (and agents) most relevant to the task are listed in
an agent's prompt, so the prompt stays bounded however many tools exist. Names count
twice (``sum_list`` matters more than a word in a description); names are split at
underscores, hyphens and camelCase so ``parseCsvFile`` matches "parse a csv file".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were",
    "will", "with", "what", "which", "who", "how", "do", "does", "please", "then",
})
K1 = 1.5
B = 0.75
RELATIVE_CUTOFF = 0.3
"""Items scoring below this fraction of the best match are left out: a tool sharing one
common word with the task ("list") is noise next to one matching its substance."""


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens, splitting identifiers; a light plural stem (``files`` ->
    ``file``) so singular and plural forms meet."""
    out = []
    for raw in _WORD_RE.findall(text):
        word = raw.lower()
        if word in _STOP:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


class BM25Index:
    """BM25 over short documents; built once per prompt (cheap: linear in the library)."""

    def __init__(self, documents: Sequence[list[str]]) -> None:
        self.docs = [Counter(d) for d in documents]
        self.lengths = [len(d) for d in documents]
        self.avg_len = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        terms = [t for t in set(query) if t in self.idf]
        out = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            score = 0.0
            norm = K1 * (1 - B + B * length / self.avg_len) if self.avg_len else K1
            for term in terms:
                freq = doc.get(term, 0)
                if freq:
                    score += self.idf[term] * freq * (K1 + 1) / (freq + norm)
            out.append(score)
        return out


def rank(items: Sequence[T], query: str, limit: int,
         text_of: Callable[[T], tuple[str, str]]) -> list[T]:
    """The ``limit`` items most relevant to ``query``, best first.

    ``text_of(item)`` gives ``(name, description)``. When the items fit within ``limit``
    they are all returned in their order; otherwise only items that share a word with the
    query, and score at least ``RELATIVE_CUTOFF`` of the best, are returned, so unrelated
    tools never fill the prompt.
    """
    if len(items) <= limit:
        return list(items)
    docs = []
    for item in items:
        name, description = text_of(item)
        name_tokens = tokenize(name)
        docs.append(name_tokens * 2 + tokenize(description))
    scores = BM25Index(docs).scores(tokenize(query))
    order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
    cutoff = max(scores, default=0.0) * RELATIVE_CUTOFF
    return [items[i] for i in order[:limit] if scores[i] > 0 and scores[i] >= cutoff]


FIT_THRESHOLD = 0.4
"""A tool fits a task (and may be reused for it) when :func:`fit_score` is at least this.
Measured by ``bench/reuse_fit.py`` on 31 tools the offline model wrote for the tasks of
``bench/offline_tasks.json``: 43 of 62 right (tool, task) pairs reach it, 8 of 1,488 wrong
ones do (tools the model misnamed); 0.6 keeps 35 right and 4 wrong. A tool offered wrongly
still has to agree with freshly sampled bodies before its answer counts."""


TYPE_WORDS = frozenset({
    "number", "numeric", "integer", "int", "float", "decimal", "list", "array", "string",
    "str", "text", "value", "result", "given", "input", "output",
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
})
"""Words that name a value's type or a literal rather than what a tool does: the fit check
compares parameter types with the task's literals on its own, so these would count twice
(``add_numbers`` is not a fit for "sum the numbers from 1 to 100" for sharing "number")."""


def _content(text: str) -> set[str]:
    return {t for t in tokenize(text)
            if len(t) > 1 and not t.isdigit() and t not in TYPE_WORDS}


def fit_score(task: str, name: str, description: str, params: Sequence[str] = ()) -> float:
    """How well a tool's words match a task, from 0 to 1: the share of the tool's name
    words found in the task, averaged with the share of all its words (name, description,
    parameters) found there. Unlike :func:`rank`, an absolute score: one tool in a small
    library is not a match just because it is the only one."""
    wanted = _content(task)
    named = _content(name)
    words = named | _content(description) | set().union(*(_content(p) for p in params))
    if not words or not named:
        return 0.0
    return (len(named & wanted) / len(named) + len(words & wanted) / len(words)) / 2
