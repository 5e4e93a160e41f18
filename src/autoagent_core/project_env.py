"""What a project's ``.env`` may not do: weaken the sandbox or redirect a credential.

A ``.env`` in the working directory configures a run, but the folder is not trusted just
because autoagent runs in it (a cloned repository writes its own ``.env``). So settings
that come from ``.env``:

* never lower the sandbox mode below what the user config, the environment or the
  defaults chose (strict > open > none);
* never add grants: no setting named ``allow_*`` (``allow_read``, ``allow_write``,
  ``allow_net``, any later one) may hold more from ``.env`` than beneath it;
* never change the address a credential is sent to when that credential comes from
  another source (``OPENAI_BASE_URL`` in ``.env`` with the key in the environment);
* never choose where tool packages come from or how they are installed
  (``package_index_url``, ``deps_build_from_source``, a readier ``auto_install``): they
  are installed outside the sandbox.

Each case is a :class:`ConfigError` (exit 3) naming the setting, raised while the settings
load, so nothing runs and no request is sent.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import ConfigError

if TYPE_CHECKING:
    from autoagent_core.config import Settings

CREDENTIAL_ADDRESSES: dict[str, tuple[str, ...]] = {
    "openai_base_url": ("openai_api_key",),
    "cloudflare_api_base": ("cloudflare_auth_token",),
}
"""Address setting -> the credential settings sent to that address."""

_STRENGTH = {"none": 0, "open": 1, "strict": 2}


def _from_dotenv(settings: Settings, key: str) -> bool:
    return settings.sources.get(key, "").startswith(".env")


def _variable(settings: Settings, key: str) -> str:
    return settings.sources[key].split(" ", 1)[-1]


def _without_dotenv(settings: Settings, beneath: dict[str, Any]) -> Settings:
    """The settings as they would be without the project's ``.env``."""
    from autoagent_core.config import setting_fields

    replaced: dict[str, Any] = {}
    sources = dict(settings.sources)
    for f in setting_fields():
        if not _from_dotenv(settings, f.name):
            continue
        if f.name in beneath:
            replaced[f.name] = beneath[f.name]
            sources[f.name] = "config"
        else:
            default = (f.default_factory() if f.default_factory is not dataclasses.MISSING
                       else f.default)
            replaced[f.name] = default
            sources[f.name] = "default"
    shadow = dataclasses.replace(settings, **replaced)
    shadow.sources = sources
    return shadow


def _adds_grant(value: Any, below: Any) -> bool:
    if isinstance(value, list):
        return bool(set(map(str, value)) - set(map(str, below or [])))
    if isinstance(value, bool):
        return value and not below
    return bool(value) and value != below


def check_dotenv_cannot_weaken(settings: Settings, beneath: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` when ``.env`` weakens the sandbox, adds a grant or sends a
    credential from another source to another address. ``beneath`` holds the user config's
    value of each key that ``.env`` set."""
    if not any(s.startswith(".env") for s in settings.sources.values()):
        return
    from autoagent_core.config import sandbox_mode

    shadow = _without_dotenv(settings, beneath)
    chosen, below = sandbox_mode(settings), sandbox_mode(shadow)
    if _STRENGTH.get(chosen, 0) < _STRENGTH.get(below, 0):
        names = [_variable(settings, k) for k in ("sandbox", "dangerous_tools")
                 if _from_dotenv(settings, k)]
        raise ConfigError(f"the project's .env sets {' and '.join(names)}, which would lower "
                          f"the sandbox from {below} to {chosen}; a .env cannot weaken the "
                          "sandbox (remove it from .env, or choose the mode with --sandbox "
                          "or the user config)")
    for key in sorted(vars(settings)):
        if key.startswith("allow_") and _from_dotenv(settings, key) and _adds_grant(
                getattr(settings, key), getattr(shadow, key)):
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"the project's .env sets {_variable(settings, key)}; a .env "
                              f"cannot add sandbox grants (use {flag} or the user config)")
    _check_dependency_sources(settings, shadow)
    for address, credentials in CREDENTIAL_ADDRESSES.items():
        if not _from_dotenv(settings, address):
            continue
        if getattr(settings, address) == getattr(shadow, address):
            continue
        for credential in credentials:
            source = settings.sources.get(credential, "default")
            if getattr(settings, credential) and not source.startswith(".env"):
                where = "the user config" if source == "config" else (
                    "the command line" if source == "option" else
                    f"the environment ({source.split(' ', 1)[-1]})")
                raise ConfigError(
                    f"the project's .env sets {_variable(settings, address)}, but "
                    f"{credential} comes from {where}: a .env cannot send a credential "
                    "from elsewhere to another address (set the address in the "
                    "environment or the user config)")


_INSTALL_RANK = {"no": 0, "ask": 1, "yes": 2}


def _check_dependency_sources(settings: Settings, shadow: Settings) -> None:
    """Tool dependencies are installed outside the sandbox: a ``.env`` may not choose the
    index they come from, allow source builds (the package's own code runs as the user) or
    install more readily than the user chose."""
    from autoagent_core.deps.policy import auto_install

    changed = []
    if _from_dotenv(settings, "package_index_url") and \
            settings.package_index_url != shadow.package_index_url:
        changed.append("package_index_url")
    if _from_dotenv(settings, "deps_build_from_source") and \
            settings.deps_build_from_source and not shadow.deps_build_from_source:
        changed.append("deps_build_from_source")
    if _from_dotenv(settings, "auto_install") and _INSTALL_RANK.get(
            auto_install(settings), 0) > _INSTALL_RANK.get(auto_install(shadow), 0):
        changed.append("auto_install")
    if changed:
        names = " and ".join(_variable(settings, key) for key in changed)
        raise ConfigError(f"the project's .env sets {names}; a .env cannot choose where tool "
                          "packages come from or how they are installed (autoagent installs "
                          "them outside the sandbox): set it in the environment or the user "
                          "config")
