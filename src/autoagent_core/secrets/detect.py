"""Finding key-shaped values in text, and naming them from the words around them.

Two kinds of findings:

* **known shapes**, found anywhere: OpenAI/Anthropic ``sk-...``, ``sk_...`` keys
  (ElevenLabs, Stripe), GitHub ``ghp_``/``gho_``/``github_pat_``, AWS ``AKIA``/``ASIA`` access
  key ids, Google ``AIza...``, Slack ``xox?-``, Hugging Face ``hf_``, JWTs;
* **high-entropy tokens beside a key word** (key, token, password, secret, api, auth,
  bearer, and the Spanish clave, llave, contraseña) within the same line: this is how a
  64-hex SerpAPI key or any other service's key is caught, while the same digest without
  such a word is left alone.

Never flagged: UUIDs, tokens shorter than 24 or longer than 128 characters (base64 audio,
images), identifiers whose parts are words or plain numbers (``generate_tts_v2``,
``2025-10-25_21-06-21``), and anything with too little entropy.

Why not ``detect-secrets``: its keyword and high-entropy plugins work on lines of source files
and flag every hex digest and base64 blob (the false positives this module must avoid), it
knows neither ElevenLabs nor SerpAPI keys, it keeps global settings state, and it brings
``requests`` and ``PyYAML`` along. The known-shape patterns here follow its plugins and
gitleaks' rules.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# (kind, pattern, the name the shape implies, or "" to name it from the context)
_EDGE_L = r"(?<![A-Za-z0-9_+/-])"
_EDGE_R = r"(?![A-Za-z0-9_+/=-])"
SHAPES: list[tuple[str, re.Pattern[str], str]] = [
    (kind, re.compile(_EDGE_L + pattern + _EDGE_R), name) for kind, pattern, name in [
        ("jwt", r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", ""),
        ("anthropic", r"sk-ant-[A-Za-z0-9_-]{20,}", "ANTHROPIC_API_KEY"),
        ("openai", r"sk-[A-Za-z0-9_-]{20,}", "OPENAI_API_KEY"),
        ("sk_", r"sk_(?:live_|test_)?[A-Za-z0-9]{24,}", ""),
        ("github", r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{40,255})",
         "GITHUB_TOKEN"),
        ("aws", r"(?:AKIA|ASIA)[0-9A-Z]{16}", "AWS_ACCESS_KEY_ID"),
        ("google", r"AIza[0-9A-Za-z_-]{35}", "GOOGLE_API_KEY"),
        ("slack", r"xox[abposr]-[A-Za-z0-9-]{10,}", "SLACK_TOKEN"),
        ("huggingface", r"hf_[A-Za-z0-9]{30,}", "HUGGINGFACE_TOKEN"),
    ]
]
_TOKEN_RE = re.compile(_EDGE_L + r"[A-Za-z0-9_+/.-]{16,}={0,2}" + _EDGE_R)
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{12}$")
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_TOKEN = 24  # shorter ids beside a key word (ElevenLabs voice ids: 20) are no keys
MAX_TOKEN = 128
CONTEXT_CHARS = 100

KEY_WORDS = {
    "key": "KEY", "keys": "KEY", "apikey": "KEY", "api": "KEY", "clave": "KEY",
    "llave": "KEY", "token": "TOKEN", "tokens": "TOKEN", "bearer": "TOKEN", "auth": "TOKEN",
    "password": "PASSWORD", "passwd": "PASSWORD", "pwd": "PASSWORD",
    "contraseña": "PASSWORD", "contrasena": "PASSWORD", "secret": "SECRET",
    "secreto": "SECRET", "credential": "KEY", "credentials": "KEY",
}
# words that connect a key word to the service it belongs to ("api key de serpapi")
_CONNECTORS = {"de", "del", "of", "for", "from", "para", "la", "el", "the", "my", "mi",
               "your", "tu", "su", "a", "an", "una", "un", "to", "en", "in", "on"}
_NOT_SERVICES = _CONNECTORS | {
    "es", "esta", "este", "esto", "eso", "is", "this", "that", "here", "aqui", "aquí",
    "tienes", "tiene", "con", "y", "and", "use", "usa", "usar", "puedes", "python", "mia",
    "mía", "mio", "mío", "are", "it", "its", "with", "por", "que", "new", "nueva", "nuevo",
    "args", "value", "valor", "code", "código", "codigo", "env", "environ", "os", "str",
    "string", "none", "null", "true", "false", "name", "nombre", "access", "private",
    "public", "secret", "test", "live", "otra", "otro", "another", "other", "prod", "real",
    "valid", "válida", "valida", "ok",
    "error", "get", "set", "http", "https", "www", "com", "json", "headers", "header",
}
# services worth naming a key after when the sentence does not say "key of X" plainly
KNOWN_SERVICES = (
    "openai", "anthropic", "elevenlabs", "serpapi", "github", "gitlab", "aws", "google",
    "gemini", "cloudflare", "notion", "slack", "stripe", "twilio", "sendgrid", "huggingface",
    "mistral", "groq", "deepseek", "replicate", "cohere", "pinecone", "supabase", "firebase",
    "telegram", "discord", "spotify", "twitter", "openweathermap", "openweather", "newsapi",
    "mapbox", "airtable", "perplexity", "tavily", "brave", "azure", "heroku", "vercel",
    "dropbox", "shopify", "mailgun", "jira", "trello", "algolia", "sentry", "datadog",
)


@dataclass(frozen=True)
class Finding:
    """One key-shaped value at ``text[start:end]``; ``name`` is the suggested secret name
    (``""`` when nothing around it says, so the caller numbers it ``SECRET_N``)."""

    value: str
    start: int
    end: int
    kind: str
    name: str


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(token: str) -> bool:
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or _UUID_RE.match(token):
        return False
    longest = max(re.split(r"[_./-]", token), key=len)
    letters = sum(ch.isalpha() for ch in longest)
    digits = sum(ch.isdigit() for ch in longest)
    return (len(longest) >= 16 and letters >= 2 and digits >= 2
            and entropy(token) >= 3.0)


def _line_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The text before and after a span, at most CONTEXT_CHARS each, within its line (a
    JSON-escaped ``\\n`` ends a line too)."""
    before = text[max(0, start - CONTEXT_CHARS):start]
    after = text[end:end + CONTEXT_CHARS]
    before = re.split(r"\n|\\n", before)[-1]
    after = re.split(r"\n|\\n", after)[0]
    return before, after


def _words(text: str) -> list[str]:
    out: list[str] = []
    # other values in the line are no words ("ghp_aB3d..." would give "ghp", "a", "B", ...)
    text = _TOKEN_RE.sub(lambda m: " " if _looks_random(m.group(0)) or
                         any(p.fullmatch(m.group(0)) for _, p, _ in SHAPES) else m.group(0),
                         text)
    for word in _WORD_RE.findall(text):
        # camelCase and snake_case parts: apiKey -> api, key
        out += [w.lower() for w in re.findall(r"[A-Z]?[^\W\dA-Z_]+|[A-Z]+(?![a-z])", word)
                or [word]]
    return out


def key_word_near(text: str, start: int, end: int) -> str | None:
    """The class (KEY, TOKEN, PASSWORD, SECRET) of the key word closest to the span within
    its line, or None."""
    before, after = _line_around(text, start, end)
    for word in [*reversed(_words(before)), *_words(after)]:
        if word in KEY_WORDS:
            return KEY_WORDS[word]
    return None


_OF = {"de", "del", "of", "for", "from", "para"}


def _joined(words: list[str], i: int, step: int, needs_connector: bool) -> str | None:
    """The word joined to the key word at ``i`` in direction ``step`` (over connectors and
    other key words), when it can name a service; with ``needs_connector``, only after
    "de"/"of"/"for"/... ."""
    j = i + step
    connected = False
    while 0 <= j < len(words) and (words[j] in _CONNECTORS or words[j] in KEY_WORDS):
        connected = connected or words[j] in _OF
        j += step
    if not 0 <= j < len(words) or (needs_connector and not connected):
        return None
    candidate = words[j]
    if candidate != "\0" and len(candidate) >= 3 and candidate not in _NOT_SERVICES \
            and candidate.isascii():
        return candidate
    return None


def _service(before: list[str], after: list[str]) -> str | None:
    """The service a key belongs to: a word joined to a key word ("elevenlabs api key",
    "api key de serpapi"), else a known service's name in the line."""
    words = [*before, "\0", *after]  # \0: where the value is
    here = len(before)
    near = sorted((i for i, w in enumerate(words) if w in KEY_WORDS and abs(i - here) <= 10),
                  key=lambda i: abs(i - here))
    for i in near[:2]:  # the key word closest to the value, and the one joined to it
        # "key of X" / "clave de X" first, then "X key" / "X api key"
        for step, needs_connector in ((1, True), (-1, False), (1, False)):
            candidate = _joined(words, i, step, needs_connector)
            if candidate is not None:
                return candidate
    if not near:
        return None
    nearest = [*reversed(before), *after]
    for word in nearest:
        for service in KNOWN_SERVICES:
            if word == service or (len(word) > len(service) and word.startswith(service)):
                return service
    return None


def service_in(text: str) -> str | None:
    """The first known service named anywhere in ``text`` (a tool's code, a file)."""
    for word in _words(text):
        for service in KNOWN_SERVICES:
            if word == service or (len(word) > len(service) and word.startswith(service)):
                return service
    return None


def name_for(service: str, kind: str = "KEY") -> str:
    """``ELEVENLABS_API_KEY``, ``SERPAPI_KEY``, ``GITHUB_TOKEN``, ..."""
    upper = re.sub(r"[^A-Z0-9]+", "_", service.upper()).strip("_")
    if kind == "KEY":
        return f"{upper}_KEY" if upper.endswith("API") else f"{upper}_API_KEY"
    return f"{upper}_{kind}"


def suggest_name(text: str, start: int, end: int, implied: str = "") -> str:
    """``SERVICE_API_KEY`` (``SERVICE_KEY`` when the service's name ends in "api"),
    ``SERVICE_TOKEN``, ``SERVICE_PASSWORD`` when the words around name a service; else the
    name the shape implies (``GITHUB_TOKEN``); else ``""``."""
    if implied and implied != "OPENAI_API_KEY":
        return implied  # the shape is the service's own (ghp_, AKIA, AIza, ...)
    before, after = _line_around(text, start, end)
    service = _service(_words(before), _words(after))
    if service is None:
        return implied
    return name_for(service, key_word_near(text, start, end) or "KEY")


def find_secrets(text: str) -> list[Finding]:
    """Every key-shaped value in ``text``, in order, without overlaps."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for kind, pattern, implied in SHAPES:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind in ("openai", "anthropic", "sk_") and not _shape_is_random(value):
                continue
            if not free(match.start(), match.end()):
                continue
            name = suggest_name(text, match.start(), match.end(), implied)
            found.append(Finding(value, match.start(), match.end(), kind, name))
            taken.append((match.start(), match.end()))
    for match in _TOKEN_RE.finditer(text):
        token = match.group(0).rstrip(".")
        start, end = match.start(), match.start() + len(token)
        if not free(start, end) or not _looks_random(token):
            continue
        if key_word_near(text, start, end) is None:
            continue
        found.append(Finding(token, start, end, "keyword", suggest_name(text, start, end)))
        taken.append((start, end))
    return sorted(found, key=lambda f: f.start)


def _shape_is_random(value: str) -> bool:
    """``sk-``/``sk_`` followed by random text, not by words (``sk-learn-...`` prose)."""
    body = value.split("-", 1)[-1] if value.startswith("sk-") else value[3:]
    return sum(ch.isdigit() for ch in body) >= 2 and entropy(body) >= 3.0
