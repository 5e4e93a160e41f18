"""Redaction: secrets never reach a log, a session, a timeline, an export or an error line.

:class:`Redactor` replaces secret values and the credentials of ``Authorization`` headers
with ``[REDACTED]``; it walks JSON values recursively. :func:`redactor_for` returns the
process's redactor, built from every source of every secret setting (option, environment,
``.env`` even when shadowed, the user config file), every environment or ``.env``
variable whose name looks secret (:func:`is_secret_env_name`) and every value of the secret
store (:func:`autoagent_core.secrets.store.known_secrets`), rebuilt only when a source
changes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "[REDACTED]"
_AUTH_RE = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?\s*)(bearer\s+|basic\s+)?[^\s\"',}]+"
)
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")
MIN_SECRET_LEN = 4  # a value of a setting marked secret
MIN_NAMED_SECRET_LEN = 6  # a value of a variable that is secret by its name only

# words of a variable name (split at "_", "-", "." and case changes) that make it secret
_SECRET_WORDS = frozenset({
    "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE",
    "CREDENTIAL", "CREDENTIALS", "APIKEY", "KEY", "PRIVATEKEY", "AUTHTOKEN", "PAT",
})
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")

_remembered: set[str] = set()  # secret values given on the command line


class Redactor:
    """Replaces known secret values and Authorization credentials in text and JSON."""

    def __init__(self, secrets: Iterable[str] = (),
                 named: Mapping[str, str] | None = None) -> None:
        """``secrets``: values masked as ``[REDACTED]``; ``named``: ``NAME -> value``,
        masked as ``[REDACTED:NAME]``."""
        self._named = {n: v for n, v in (named or {}).items()
                       if v and len(v) >= MIN_SECRET_LEN}
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        values |= set(self._named.values())
        self._masks = {v: f"[REDACTED:{n}]" for n, v in self._named.items()}
        # the JSON-escaped form too, so a secret with a quote or backslash is caught in JSON
        for value in list(values):
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]
            values.add(escaped)
            if value in self._masks:
                self._masks.setdefault(escaped, self._masks[value])
        self._secrets = sorted(values, key=len, reverse=True)
        self._re = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values this redactor masks (longest first)."""
        return tuple(self._secrets)

    @property
    def named(self) -> dict[str, str]:
        """The ``NAME -> value`` pairs masked with their name."""
        return dict(self._named)

    def add(self, *secrets: str) -> None:
        self.__init__([*self._secrets, *secrets], self._named)  # type: ignore[misc]

    def text(self, value: str) -> str:
        if self._re is not None:
            masks = self._masks
            value = self._re.sub(lambda m: masks.get(m.group(0), MASK), value)
        value = _AUTH_RE.sub(lambda m: m.group(1) + (m.group(2) or "") + MASK, value)
        return _BEARER_RE.sub("Bearer " + MASK, value)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


def is_secret_env_name(name: str) -> bool:
    """Whether a variable's value is treated as a secret by its name alone:
    one of its words is TOKEN, SECRET, PASSWORD, PASSWD, PASSPHRASE, CREDENTIAL(S), KEY,
    APIKEY or PAT (``MY_SERVICE_API_KEY``, ``GITHUB_TOKEN``, ``DB_PASSWORD``, ``apiKey``)."""
    return any(w.upper() in _SECRET_WORDS for w in _WORD_RE.findall(name))


def remember_secret(value: str) -> None:
    """Add a value (a secret setting given as an option) to the process's redactor."""
    if value:
        _remembered.add(value)


_cache: tuple[Any, Redactor] | None = None


def _stat_key(path: Any) -> Any:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_mtime_ns, st.st_size)


def redactor_for(settings: Any = None, extra: Iterable[str] = ()) -> Redactor:
    """The process's redactor (plus ``extra`` values), rebuilt only when a source changed."""
    global _cache
    from autoagent_core.config import config_path
    from autoagent_core.secrets.store import known_secrets

    named = tuple(sorted((k, v) for k, v in os.environ.items() if is_secret_env_name(k)))
    own = tuple(settings.secret_values()) if settings is not None else ()
    dotenv = os.path.join(os.getcwd(), ".env")
    stored = known_secrets()
    key = (named, own, tuple(sorted(_remembered)), tuple(extra),
           _stat_key(dotenv), _stat_key(config_path()), _secret_env_values(),
           tuple(sorted(stored.items())))
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    values = [v for _, v in named if len(v) >= MIN_NAMED_SECRET_LEN]
    values += [*own, *_remembered, *extra, *key[6]]
    values += _dotenv_secrets(dotenv) + _config_file_secrets()
    redactor = Redactor(values, stored)
    _cache = (key, redactor)
    return redactor


def _secret_setting_names() -> tuple[set[str], set[str]]:
    """(keys of the secret settings, every variable name that sets one)."""
    from autoagent_core.config import env_names, setting_fields

    fields = [f for f in setting_fields() if f.metadata["secret"]]
    return {f.name for f in fields}, {n for f in fields for n in env_names(f)}


def _secret_env_values() -> tuple[str, ...]:
    """Every environment value of a secret setting's variables (also the shadowed ones)."""
    _, names = _secret_setting_names()
    return tuple(sorted(v for n in names if (v := os.environ.get(n, ""))))


def _dotenv_secrets(path: str) -> list[str]:
    """``.env`` values of secret settings (also when the environment overrides them: the
    file's value is still the user's secret) and of secret-named variables."""
    if not os.path.isfile(path):
        return []
    from autoagent_core.dotenv_file import dotenv_values_quiet

    _, names = _secret_setting_names()
    out = []
    for k, v in dotenv_values_quiet(path).items():
        if not v:
            continue
        if k in names or (is_secret_env_name(k) and len(v) >= MIN_NAMED_SECRET_LEN):
            out.append(v)
    return out


def _config_file_secrets() -> list[str]:
    """Secret values written in the user config file, also when overridden for this run."""
    from autoagent_core.config import read_config_file
    from autoagent_core.errors import ConfigError

    try:
        data = read_config_file()
    except ConfigError:
        return []
    keys, _ = _secret_setting_names()
    values = [str(v) for k, v in data.items() if k in keys and isinstance(v, str) and v]
    # the environment given to MCP servers (autoagent mcp add --env KEY=VALUE) is secret
    servers = data.get("mcp_servers")
    for server in servers.values() if isinstance(servers, dict) else ():
        env = server.get("env") if isinstance(server, dict) else None
        if isinstance(env, dict):
            values += [str(v) for v in env.values() if isinstance(v, str) and v]
    return values
