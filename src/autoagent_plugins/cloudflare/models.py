"""What the backend knows of Workers AI models before any request: the model's
capabilities (JSON mode, function calling) and parameter ranges from ``models.json``, and
the checks of the model id, the token and the account id.

The checks run when the backend is built, so a bad value stops the command with one line
and exit 3 before anything is sent (a token with a trailing newline used to reach httpx
and come back as a "broken connection"; such a token is never printed).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autoagent_core.errors import ConfigError

# Model ids as the catalog spells them: "@cf/<author>/<name>" or "@hf/<author>/<name>"
# (cloudflare-docs src/content/workers-ai-models/*.json, field "name").
MODEL_ID = re.compile(r"^@(?:cf|hf)/[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._:-]*)+$")
# API tokens are printable ASCII without spaces; anything else (a newline or a space left
# by copy and paste) would be refused by the HTTP layer or by the service.
TOKEN = re.compile(r"^[\x21-\x7e]+$")
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class ModelInfo:
    """One model's capabilities and declared parameter ranges."""

    model: str
    json_mode: bool
    function_calling: bool
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


@functools.cache
def _catalog() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(__file__).with_name("models.json")).read_text(encoding="utf-8"))
    return data


def model_info(model: str) -> ModelInfo:
    """What ``models.json`` says of ``model`` (unknown models: no JSON mode, no function
    calling, the classic schema's ranges)."""
    data = _catalog()
    ranges = data["ranges"].get(model, data["ranges"]["default"])
    return ModelInfo(
        model=model,
        json_mode=model in data["json_mode"],
        function_calling=model in data["function_calling"],
        ranges={k: (float(v[0]), float(v[1])) for k, v in ranges.items()},
    )


def shown(value: str, limit: int = 60) -> str:
    """A user-supplied value for an error line: control characters escaped, shortened."""
    text = value.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_model(model: str) -> str:
    """``model`` when it is a Workers AI model id; :class:`ConfigError` otherwise."""
    if not MODEL_ID.match(model):
        raise ConfigError(
            f"'{shown(model)}' is not a Workers AI model id: use '@cf/<author>/<model>' or "
            "'@hf/<author>/<model>' (for example @cf/openai/gpt-oss-120b) with --model or "
            "CF_MODEL")
    return model


def check_token(token: str) -> str:
    """``token`` when it has the shape of an API token; :class:`ConfigError` (which never
    shows the token) otherwise."""
    if not TOKEN.match(token):
        what = "a space" if " " in token else (
            "a line break" if "\n" in token or "\r" in token else
            "a tab or control character" if any(ord(c) < 0x20 or c == "\x7f" for c in token)
            else "a character outside printable ASCII")
        raise ConfigError(
            f"CLOUDFLARE_AUTH_TOKEN contains {what}: set it to the token alone (no quotes, "
            "spaces or line breaks)")
    return token


def check_account(account_id: str) -> str:
    """``account_id`` when it can go into the URL path; :class:`ConfigError` otherwise."""
    if not ACCOUNT_ID.match(account_id):
        raise ConfigError(
            f"CLOUDFLARE_ACCOUNT_ID '{shown(account_id)}' is not an account id: use the 32 "
            "hexadecimal characters shown in the Cloudflare dashboard")
    return account_id


def check_temperature(info: ModelInfo, temperature: float) -> float:
    """``temperature`` when the model's schema allows it; :class:`ConfigError` otherwise
    (the service refuses values outside the declared range with a 400)."""
    low, high = info.ranges.get("temperature", (0.0, float("inf")))
    if not low <= temperature <= high:
        raise ConfigError(
            f"temperature={temperature:g} is outside the range {low:g}-{high:g} that "
            f"{info.model} accepts: set --temperature or AUTOAGENT_TEMPERATURE within it")
    return temperature


def clamp(info: ModelInfo, name: str, value: float) -> float:
    """``value`` moved into the model's declared range for ``name`` (unchanged when the
    range is not known)."""
    low, high = info.ranges.get(name, (float("-inf"), float("inf")))
    return min(max(value, low), high)
