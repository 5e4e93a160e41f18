"""Property-based fuzzing (Hypothesis) of the two readers of the most hostile text: the reply
parser and session import. Random text, random nesting, random unicode with lone surrogates:
no exception other than the documented ones, and every call bounded in time.

The slowest case and the number of examples are printed (``pytest -s``) and written to
``.hypothesis/fuzz-report-<name>.json`` under the test's working directory's parent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoagent_core.errors import ConflictError, UsageError
from autoagent_core.protocol.actions import (
    ProtocolFormatError,
    parse_agent_reply,
    parse_supervisor_reply,
)

CALL_LIMIT_S = 0.5
EXAMPLES = 400

# every character, surrogates included, and JSON's own punctuation often
chars = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
punctuation = st.sampled_from([*list('{}[]",:\\ \n'), "\\ud800", "\\udc00", "```json\n", "```"])
fragments = st.one_of(st.text(chars, max_size=20), punctuation)
noise = st.lists(fragments, max_size=60).map("".join)
nesting = st.tuples(st.sampled_from(["{", "[", '{"a":', '{"thought": "', "[{"]),
                    st.integers(0, 5000), noise).map(lambda t: t[0] * t[1] + t[2])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(chars, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(chars, max_size=8),
                                                              inner, max_size=4),
    max_leaves=30)
actions = st.fixed_dictionaries({"type": st.sampled_from(
    ["create_tool", "run_tool", "final_answer", "ask_agent", "x"])},
    optional={"name": st.text(chars, max_size=10), "answer": json_values,
              "code": st.text(chars, max_size=30), "args": json_values})
replies = st.fixed_dictionaries(
    {}, optional={"thought": json_values, "actions": st.lists(actions, max_size=3) | json_values,
                  "decision": st.sampled_from(["done", "continue", "fail", "x"]),
                  "tips": json_values, "answer": json_values})
reply_texts = st.one_of(
    noise, nesting,
    replies.map(lambda r: json.dumps(r)),
    st.tuples(noise, replies, noise).map(lambda t: f"{t[0]}```json\n{json.dumps(t[1])}\n```"
                                                   f"{t[2]}"),
)


class Slowest:
    """The slowest call seen, and how many calls were made."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0
        self.seconds = 0.0
        self.case = ""

    def time(self, text: str, seconds: float) -> None:
        self.count += 1
        if seconds > self.seconds:
            self.seconds, self.case = seconds, text

    def report(self, where: Path) -> None:
        shown = repr(self.case[:80]) + (f"... ({len(self.case)} chars)"
                                        if len(self.case) > 80 else "")
        line = (f"{self.name}: {self.count} examples, slowest {self.seconds * 1000:.1f} ms "
                f"on {shown}")
        print(line)
        where.mkdir(parents=True, exist_ok=True)
        (where / f"fuzz-report-{self.name}.json").write_text(json.dumps(
            {"examples": self.count, "slowest_ms": round(self.seconds * 1000, 2),
             "slowest_case": self.case[:2000], "slowest_case_chars": len(self.case)}))


@pytest.fixture
def slowest(request: pytest.FixtureRequest) -> Iterator[Slowest]:
    record = Slowest(request.node.name)
    yield record
    record.report(Path(request.config.rootpath) / ".hypothesis")


def no_lone_surrogates(value: Any) -> None:
    """Whatever came out of the parser can be encoded as UTF-8 (so it can be saved)."""
    json.dumps(value, ensure_ascii=False).encode("utf-8")


@pytest.mark.timeout(300)
def test_reply_parser_fuzz(slowest: Slowest) -> None:
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=reply_texts)
    def check(text: str) -> None:
        for parse in (parse_agent_reply, parse_supervisor_reply):
            started = time.perf_counter()
            try:
                reply = parse(text)
            except ProtocolFormatError as exc:
                assert len(str(exc)) < 1000
            else:
                no_lone_surrogates(reply.__dict__)
            seconds = time.perf_counter() - started
            slowest.time(text, seconds)
            assert seconds < CALL_LIMIT_S, (seconds, text[:200])

    check()


@pytest.mark.timeout(300)
def test_session_import_fuzz(slowest: Slowest, tmp_path: Path) -> None:
    from autoagent_core.cli.sessions_cmd import read_json_capped
    from autoagent_plugins.fs_sessions.store import FileSessionStore

    store = FileSessionStore(tmp_path / "sessions")
    base = {"schema_version": 1, "id": "s1", "task": "t", "status": "completed",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "turns": []}
    documents = st.one_of(
        noise.map(lambda t: t.encode("utf-8", "surrogatepass")),
        nesting.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.binary(max_size=200),
        st.dictionaries(st.sampled_from([*sorted(base), "metadata", "transcript", "format",
                                         "session"]), json_values, max_size=8)
        .map(lambda d: json.dumps({**base, **d}).encode()),
        json_values.map(lambda v: json.dumps({**base, "turns": [{"results": [v]}]}).encode()),
    )
    source = tmp_path / "import.json"

    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(raw=documents)
    def check(raw: bytes) -> None:
        source.write_bytes(raw)
        started = time.perf_counter()
        try:
            session = store.import_(read_json_capped(str(source)), overwrite=True)
        except (UsageError, ConflictError) as exc:
            assert len(str(exc)) < 1000
        else:
            loaded = store.load(session.id)  # what was written reads back
            assert loaded.id == session.id
        seconds = time.perf_counter() - started
        slowest.time(raw.decode("utf-8", "replace"), seconds)
        assert seconds < CALL_LIMIT_S * 2, (seconds, raw[:200])

    check()
