"""Keep a small local model's replies finite, and its JSON replies complete.

A 135M-parameter model asked for a JSON object tends to repeat a phrase inside a string
until ``max_tokens``, and the text then does not parse. Three measures, in order:

1. :func:`strict_json_gbnf`: a llama.cpp grammar from the JSON schema whose strings may not
   hold raw control characters (the stock grammar allows a raw newline, which
   ``json.loads`` refuses).
2. :class:`ReplyWatcher`: follows the reply token by token. When the reply starts to repeat
   itself, or the token budget is nearly spent, it pushes the model to close: inside a JSON
   string it favours the closing quote, outside it favours ``}`` and ``]`` (the grammar
   still decides what is valid). A plain-text reply that repeats itself is stopped.
3. :func:`close_json`: if the reply still ends mid-object, close the open string and
   containers so it parses.

No llama_cpp import here: the watcher sees token ids and bytes only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from autoagent_core.errors import FormatRefusedError
from autoagent_core.protocol.json_scan import JsonScanner, close_json

__all__ = ["JsonScanner", "ReplyWatcher", "checked_gbnf", "close_json", "grammar_parses",
           "repeats_itself", "strict_json_gbnf"]

LOOP_MIN_SPAN = 120
"""Bytes of repeated tail needed before a reply counts as looping."""
LOOP_MAX_PERIOD = 160
"""Longest repeated unit looked for, in bytes."""
CLOSING_BIAS = 60.0
"""Added to the logits of closing tokens under pressure: enough to win over any other
token the grammar allows."""

_STOCK_CHAR_RULE = 'char ::= [^"\\\\]'
_STRICT_CHAR_RULE = 'char ::= [^"\\\\\\x7F\\x00-\\x1F]'


def strict_json_gbnf(schema: dict[str, Any]) -> str:
    """A GBNF grammar for ``schema`` that only admits JSON ``json.loads`` accepts.

    A schema the converter cannot handle falls back to "any JSON object".
    """
    from llama_cpp import llama_grammar

    try:
        gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    except Exception:  # the converter raises bare exceptions on unsupported schemas
        gbnf = llama_grammar.json_schema_to_gbnf(json.dumps({"type": "object"}))
    lines = [
        _STRICT_CHAR_RULE + line[len(_STOCK_CHAR_RULE):]
        if line.startswith(_STOCK_CHAR_RULE) else line
        for line in gbnf.splitlines()
    ]
    return "\n".join(lines) + "\n"


def grammar_parses(vocab: Any, gbnf: str) -> bool:
    """True when llama.cpp's own parser takes ``gbnf``. For a grammar it refuses it makes no
    sampler, and a request built on that grammar crashes the process; asking first turns
    such a schema into an error the caller can handle."""
    import llama_cpp

    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def checked_gbnf(vocab: Any, schema: dict[str, Any], checked: dict[str, bool]) -> str:
    """:func:`strict_json_gbnf` once llama.cpp's parser has taken it (``checked`` remembers
    each grammar's answer, so the parser is asked once per grammar); a refused one is a
    permanent :class:`FormatRefusedError`, not a crash."""
    gbnf = strict_json_gbnf(schema)
    if gbnf not in checked:
        checked[gbnf] = grammar_parses(vocab, gbnf)
    if not checked[gbnf]:
        raise FormatRefusedError("the local model's grammar parser refused the JSON schema "
                                 "of this request", permanent=True)
    return gbnf


def repeats_itself(tail: bytes, min_span: int = LOOP_MIN_SPAN,
                   max_period: int = LOOP_MAX_PERIOD) -> bool:
    """True when the end of ``tail`` is one unit repeated over at least ``min_span`` bytes
    (and at least three times)."""
    size = len(tail)
    for period in range(1, max_period + 1):
        span = max(3 * period, min_span)
        if span > size:
            break
        window = tail[-span:]
        if window[period:] == window[:-period]:
            return True
    return False


class ReplyWatcher:
    """A llama.cpp logits processor (and stopping criterion) watching one reply.

    ``token_bytes(id)`` gives a token's bytes; ``quote_ids`` are the tokens that begin with
    a quote, ``closer_ids`` those that begin with ``}`` or ``]``. It counts the tokens
    sampled (``sampled``), so usage is known for a streamed reply too.
    """

    def __init__(self, prompt_tokens: int, budget: int, token_bytes: Callable[[int], bytes],
                 json_mode: bool, quote_ids: Sequence[int] = (),
                 closer_ids: Sequence[int] = (), reserve: int = 48) -> None:
        self.prompt_tokens = prompt_tokens
        self.budget = budget
        self.reserve = min(reserve, max(1, budget // 4))
        self.token_bytes = token_bytes
        self.json_mode = json_mode
        self.quote_ids = list(quote_ids)
        self.closer_ids = list(closer_ids)
        self.scanner = JsonScanner()
        self.tail = b""
        self.seen = 0
        self.sampled = 0
        self.pressure = False
        self.looped = False

    def _follow(self, input_ids: Sequence[int]) -> None:
        new = input_ids[self.prompt_tokens + self.seen:]
        if len(new) == 0:
            return
        data = b"".join(self.token_bytes(int(t)) for t in new)
        self.seen += len(new)
        self.scanner.feed(data)
        self.tail = (self.tail + data)[-4 * LOOP_MAX_PERIOD:]
        if not self.looped and repeats_itself(self.tail):
            self.looped = True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Called before each token is sampled (llama.cpp's logits processor)."""
        self._follow(input_ids)
        self.sampled += 1
        if self.json_mode and not self.pressure and (
            self.looped or self.sampled > self.budget - self.reserve
        ):
            self.pressure = True
        if self.pressure:
            favoured = self.quote_ids if self.scanner.in_string else self.closer_ids
            for token in favoured:
                scores[token] += CLOSING_BIAS
        return scores

    def should_stop(self, input_ids: Any, logits: Any) -> bool:
        """Stopping criterion: a plain-text reply that repeats itself ends there."""
        self._follow(input_ids)
        return not self.json_mode and self.looped
