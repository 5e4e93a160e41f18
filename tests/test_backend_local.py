"""The ``local`` backend where the offline model is not installed (the normal test
environment), and the helpers that keep a small model's JSON replies complete.

The tests that run the real model are in ``test_backend_local_model.py`` (``nox -s local``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from autoagent_core.config import Settings
from autoagent_core.errors import ConfigError
from autoagent_core.layers import open_backend
from autoagent_plugins.local_llama.grammar import (
    CLOSING_BIAS,
    JsonScanner,
    ReplyWatcher,
    close_json,
    repeats_itself,
)
from fixtures.backends import assert_clean_error

EXTRA_INSTALLED = importlib.util.find_spec("llama_cpp") is not None
needs_no_extra = pytest.mark.skipif(
    EXTRA_INSTALLED, reason="llama-cpp-python is installed here; these tests check the "
                            "messages shown without it")


@needs_no_extra
def test_the_local_backend_without_the_extra_says_how_to_install(cli: Any) -> None:
    result = cli("ask", "hello", "--backend", "local")
    assert_clean_error(result, 3, "\0", "llama-cpp-python", "scripts/setup.sh")


@needs_no_extra
def test_auto_without_credentials_or_extra_lists_every_way_to_configure(cli: Any) -> None:
    result = cli("ask", "hello", env={"AUTOAGENT_BACKEND": "auto"})
    line = assert_clean_error(result, 3, "\0", "no model backend is configured")
    for way in ("CLOUDFLARE_ACCOUNT_ID", "OPENAI_BASE_URL", "scripts/setup.sh", "--script"):
        assert way in line


@needs_no_extra
def test_open_backend_raises_a_config_error(isolated: Path) -> None:
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[local\]'"):
        open_backend(Settings(backend="local"))


# --------------------------------------------------------------------------- JSON helpers

@pytest.mark.parametrize(("cut", "closed"), [
    ('{"code": "def add(a, b):\\n    return a', '{"code": "def add(a, b):\\n    return a"}'),
    ('{"a": "x\\', '{"a": "x"}'),
    ('{"a": "caf\\u00', '{"a": "caf"}'),
    ('{"a": 1, "act', '{"a": 1, "act": null}'),
    ('{"a": 1, "b"', '{"a": 1, "b": null}'),
    ('{"a": 1,', '{"a": 1}'),
    ('{"a":', '{"a": null}'),
    ('{"a": tru', '{"a": true}'),
    ('{"a": 12.', '{"a": 12}'),
    ('{"a": [1, {"b": [2', '{"a": [1, {"b": [2]}]}'),
    ('{"a": "}"', '{"a": "}"}'),
])
def test_close_json_completes_a_reply_cut_short(cut: str, closed: str) -> None:
    assert close_json(cut) == closed
    json.loads(closed)


def test_close_json_leaves_what_it_cannot_mend() -> None:
    assert close_json("not json at all") is None
    assert close_json('{"a": 1}}') is None


def test_a_phrase_repeated_over_a_long_tail_is_a_loop() -> None:
    assert repeats_itself(b'{"code": "x = 1' + b"  Add 3 to 3.5." * 12)
    assert not repeats_itself(b"Add 3 to 3.5." * 3)  # too short to judge
    code = b"def add(a, b):\n    return a + b\n\nprint(add(1, 2))\nprint(add(2, 3))\n" * 1
    assert not repeats_itself(code * 2)


def test_the_scanner_knows_when_it_is_inside_a_string() -> None:
    scanner = JsonScanner()
    scanner.feed(b'{"a": ["x\\"}')
    assert scanner.in_string and scanner.stack == [ord("{"), ord("[")]
    scanner.feed(b'"]')
    assert not scanner.in_string and scanner.stack == [ord("{")]


VOCAB = {0: b'{"', 1: b"code", 2: b'": "', 3: b" again", 4: b'"', 5: b"}", 6: b'",'}


def watcher(budget: int, json_mode: bool = True) -> ReplyWatcher:
    return ReplyWatcher(prompt_tokens=2, budget=budget, token_bytes=VOCAB.__getitem__,
                        json_mode=json_mode, quote_ids=[4, 6], closer_ids=[5], reserve=4)


def test_a_looping_json_string_is_pushed_to_close() -> None:
    w = watcher(budget=500)
    ids = [9, 9, 0, 1, 2] + [3] * 40  # two prompt tokens, then a string repeating itself
    scores = [0.0] * len(VOCAB)
    w(ids, scores)
    assert w.pressure and w.looped
    assert scores[4] == scores[6] == CLOSING_BIAS and scores[5] == 0.0
    assert not w.should_stop(ids, None)  # JSON replies are closed, not cut


def test_outside_strings_the_closers_are_favoured_near_the_budget() -> None:
    w = watcher(budget=6)
    ids = [9, 9, 0, 1, 2, 3, 4]
    for n in range(2, len(ids) + 1):
        scores = [0.0] * len(VOCAB)
        w(ids[:n], scores)
    assert w.pressure and not w.looped
    assert scores[5] == CLOSING_BIAS and scores[4] == 0.0
    assert w.sampled == len(ids) - 1


def test_a_looping_plain_reply_is_stopped() -> None:
    w = watcher(budget=500, json_mode=False)
    assert not w.should_stop([9, 9, 3, 3], None)
    assert w.should_stop([9, 9] + [3] * 40, None)
    scores = [0.0] * len(VOCAB)
    w([9, 9] + [3] * 40, scores)
    assert scores == [0.0] * len(VOCAB)  # plain text is never pushed
