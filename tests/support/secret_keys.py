"""Fake API keys of the shapes users paste into tasks, made from a seeded generator (each
test run gets the same keys, none of them real)."""

from __future__ import annotations

import base64
import json
import random
import string

ALNUM = string.ascii_letters + string.digits


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_keys(seed: int = 25) -> dict[str, str]:
    """``NAME -> value`` for the name autoagent gives each key in :func:`task_with_keys`."""
    rng = random.Random(seed)

    def pick(chars: str, n: int) -> str:
        return "".join(rng.choice(chars) for _ in range(n))

    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": pick(string.digits, 10), "role": "service"}).encode())
    signature = _b64url(bytes(rng.randrange(256) for _ in range(32)))
    return {
        "OPENAI_API_KEY": "sk-proj-" + pick(ALNUM, 48),
        "ELEVENLABS_API_KEY": "sk_" + pick("0123456789abcdef", 48),
        "SERPAPI_KEY": pick("0123456789abcdef", 64),
        "GITHUB_TOKEN": "ghp_" + pick(ALNUM, 36),
        "AWS_ACCESS_KEY_ID": "AKIA" + pick(string.ascii_uppercase + string.digits, 16),
        "SUPABASE_TOKEN": f"{header}.{payload}.{signature}",
    }


def task_with_keys(keys: dict[str, str]) -> str:
    """A task in the words the original's users wrote, one key per line."""
    return (
        "Comprueba que mis claves funcionan.\n"
        f"my openai api key: {keys['OPENAI_API_KEY']}\n"
        f"esta es mi api key de elevenlabs: {keys['ELEVENLABS_API_KEY']}\n"
        f"aqui tienes una api key de serpapi y puedes usar python: {keys['SERPAPI_KEY']}\n"
        f"github token {keys['GITHUB_TOKEN']}\n"
        f"aws access key {keys['AWS_ACCESS_KEY_ID']}\n"
        f"and the supabase token is {keys['SUPABASE_TOKEN']}\n"
    )
