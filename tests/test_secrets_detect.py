"""What counts as a key in a task: every common shape found and named from the words around
it; no false positive on the original's tasks without keys, UUIDs, hex digests, base64
audio or ElevenLabs voice ids."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoagent_core.secrets.detect import find_secrets
from autoagent_core.secrets.task import protect_text
from autoagent_plugins.file_secrets.store import FileSecretStore
from fixtures.original import ORIGINAL_DIR
from support.secret_keys import fake_keys, task_with_keys

FIXTURE = ORIGINAL_DIR


def test_each_shape_is_found_and_named() -> None:
    keys = fake_keys()
    found = {f.value: f.name for f in find_secrets(task_with_keys(keys))}
    assert found == {v: n for n, v in keys.items()}


def _hex(seed: str, n: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


@pytest.mark.parametrize(("text", "name"), [
    ("aqui tienes una api key de serpapi y puedes usar python: " + _hex("a", 64),
     "SERPAPI_KEY"),
    ("sk_" + _hex("b", 48) + " esta es mi api key de elevenlabs, haz un hola mundo",
     "ELEVENLABS_API_KEY"),
    ("hazme un poema con elevenlabs y reproducelo, esta es mi api key:sk_" + _hex("c", 48),
     "ELEVENLABS_API_KEY"),
    ("la clave es Xk29fLq8Zm3Rw7Tn5Vb1Hc4Jd6Gs0Pa2", "SECRET"),
    ("password: Xk29fLq8Zm3Rw7Tn5Vb1Hc4Jd6Gs0Pa2", "SECRET"),
    ("use the key sk-" + "Ab3Cd5Ef7Gh9" * 4, "OPENAI_API_KEY"),
    ("export AWS creds AKIA" + "Q2W3E4R5T6Y7U8I9", "AWS_ACCESS_KEY_ID"),
])
def test_named_from_the_words_around(text: str, name: str) -> None:
    found = find_secrets(text)
    assert len(found) == 1, found
    assert found[0].name == (name if name != "SECRET" else "")


def test_a_task_becomes_names_and_the_store_keeps_the_values(tmp_path: Path) -> None:
    store = FileSecretStore(tmp_path)
    keys = fake_keys()
    text = task_with_keys(keys) + "\ny otra vez la de serpapi: " + keys["SERPAPI_KEY"]
    protected = protect_text(text, store)
    assert protected.stored == sorted(keys)
    assert all(v not in protected.text for v in keys.values())
    assert protected.text.count("$SERPAPI_KEY") == 2
    assert {n: store.get(n) for n in store.names()} == keys
    # a second key for the same service gets its own name; a known one keeps its name
    other = hashlib.sha256(b"other").hexdigest()
    again = protect_text(f"otra api key de serpapi: {other} y {keys['SERPAPI_KEY']}", store)
    assert again.stored == ["SERPAPI_KEY_2"]
    assert again.text == "otra api key de serpapi: $SERPAPI_KEY_2 y $SERPAPI_KEY"
    unnamed = protect_text("mi token es Zq81Lm2Xc7Vb4Nn0Kd5Hs9Gf3Jp6Ta1W", store)
    assert unnamed.names == ["SECRET_1"]


@pytest.mark.skipif(not FIXTURE.is_dir(), reason="the fixture folder is absent")
def test_the_original_tasks_without_keys_are_left_alone() -> None:
    with_keys = without = 0
    for path in (FIXTURE / ".sessions").glob("2*.json"):
        task = json.loads(path.read_text())["metadata"]["task"]
        found = find_secrets(task)
        if "sk_" in task or any(len(w) == 64 for w in task.replace(":", " ").split()):
            with_keys += 1
            assert found, task
            assert all(f.value.startswith("sk_") or len(f.value) == 64 for f in found)
        else:
            without += 1
            assert found == [], task
    assert with_keys >= 10 and without >= 20


def test_no_false_positives_on_ids_digests_and_audio() -> None:
    audio = base64.b64encode(os.urandom(6000)).decode()
    texts = [
        f"session {uuid.uuid4()} and api key field id {uuid.uuid4()}",
        f"md5 {hashlib.md5(b'x').hexdigest()} sha256 {hashlib.sha256(b'x').hexdigest()}",
        f'{{"audio_base64": "{audio}", "api_key": "$ELEVENLABS_API_KEY"}}',
        'voice_id = "21m00Tcm4TlvDq8ikWAM"  # ElevenLabs voice, beside api_key',
        "def generate_and_play_poem_v2(args): api_key = args['api_key']",
        ".runs/2025-10-25_21-06-21/events.jsonl holds the token usage",
        '{"sha256": "' + hashlib.sha256(b"code").hexdigest() + '", "version": 3}',
    ]
    for text in texts:
        assert find_secrets(text) == [], text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["haz", "un", "scraping", "de", "quotes", "json", "the",
                                 "audio", "file", "digest", "id", "hash", "poema"]),
                min_size=0, max_size=12),
       st.binary(min_size=1, max_size=64))
def test_digests_and_uuids_in_any_sentence_without_key_words(words: list[str],
                                                            data: bytes) -> None:
    sentence = " ".join([*words, hashlib.md5(data).hexdigest(),
                         hashlib.sha256(data).hexdigest(), str(uuid.UUID(bytes=
                                                                         hashlib.md5(data).digest()))])
    assert find_secrets(sentence) == []


PIECES = [*"aZ09_-+/=.:'\" \n{}ñ", "api key ", "token ", "sk_", "sk-", "ghp_", "eyJ", "AKIA",
          "Xk29fLq8Zm3Rw7Tn5Vb1", "7f3a9b2c4d5e6f70"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=120).map("".join))
def test_any_text_gives_only_spans_of_itself(text: str) -> None:
    for finding in find_secrets(text):
        assert text[finding.start:finding.end] == finding.value
        assert finding.name == "" or finding.name.replace("_", "").isalnum()


def test_a_literal_becomes_an_environment_read_and_a_declaration() -> None:
    from autoagent_core.secrets.fix import embedded, rewrite_code
    from autoagent_core.tools.script_metadata import read_metadata

    key = "sk_" + hashlib.sha256(b"tts").hexdigest()[:48]
    code = (f"def tts(args):\n    api = '{key}'\n"
            f"    auth = f\"xi {key}\"\n    return api\n")
    new = rewrite_code(code, {key: "ELEVENLABS_API_KEY"})
    assert key not in new
    assert "api = os.environ[\"ELEVENLABS_API_KEY\"]" in new
    assert "import os\n" in new
    assert read_metadata(new).secrets == ["ELEVENLABS_API_KEY"]
    compile(new, "tts", "exec")
    assert embedded(code, {key: "ELEVENLABS_API_KEY"}) == ["ELEVENLABS_API_KEY"]
    assert embedded(f"x = '{key}'\n", {key: "K"}) == []
