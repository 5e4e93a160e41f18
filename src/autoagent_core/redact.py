"""Redaction: secrets never reach a log, a session, a timeline, an export or an error line.

:class:`Redactor` replaces the values of every secret setting (and any extra values it is
given) and the credentials of ``Authorization`` headers with ``[REDACTED]``. It walks JSON
values recursively, so a recorder can pass whole events through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
_AUTH_RE = re.compile(
    r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?\s*)(bearer\s+|basic\s+)?[^\s\"',}]+"
)
_BEARER_RE = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}")
MIN_SECRET_LEN = 4


class Redactor:
    """Replaces known secret values and Authorization credentials in text and JSON."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        self._secrets = sorted(values, key=len, reverse=True)
        self._re = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret values this redactor masks (longest first)."""
        return tuple(self._secrets)

    def add(self, *secrets: str) -> None:
        self.__init__([*self._secrets, *secrets])  # type: ignore[misc]

    def text(self, value: str) -> str:
        if self._re is not None:
            value = self._re.sub(MASK, value)
        value = _AUTH_RE.sub(lambda m: m.group(1) + (m.group(2) or "") + MASK, value)
        return _BEARER_RE.sub("Bearer " + MASK, value)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)) if isinstance(k, str) else k: self(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        return value


def redactor_for(settings: Any, extra: Iterable[str] = ()) -> Redactor:
    """A redactor for the secret settings, plus secret-looking environment variables."""
    import os

    values = list(settings.secret_values()) if settings is not None else []
    values += [v for k, v in os.environ.items() if is_secret_env_name(k)]
    values += _config_file_secrets()
    values += list(extra)
    return Redactor(values)


def _config_file_secrets() -> list[str]:
    """Secret values written in the user config file, also when the environment overrides
    them for this run (the file's value is still a secret of the user's)."""
    from autoagent_core.config import read_config_file, setting_fields
    from autoagent_core.errors import ConfigError

    try:
        data = read_config_file()
    except ConfigError:
        return []
    secret_keys = {f.name for f in setting_fields() if f.metadata["secret"]}
    values = [str(v) for k, v in data.items() if k in secret_keys and isinstance(v, str) and v]
    # the environment given to MCP servers (autoagent mcp add --env KEY=VALUE) is secret
    servers = data.get("mcp_servers")
    for server in servers.values() if isinstance(servers, dict) else ():
        env = server.get("env") if isinstance(server, dict) else None
        if isinstance(env, dict):
            values += [str(v) for v in env.values() if isinstance(v, str) and v]
    return values


_SECRET_NAME_RE = re.compile(
    r"(?i)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|CREDENTIAL|AUTH)"
)


def is_secret_env_name(name: str) -> bool:
    """Environment variables whose values are treated as secrets."""
    return bool(_SECRET_NAME_RE.search(name))
