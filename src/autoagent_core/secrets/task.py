"""A task is scanned for keys before anything is saved or sent.

:func:`protect_text` finds every key-shaped value (:mod:`.detect`) and every value already
in the secret store, keeps each new one in the store under a name taken from the words
around it (``SERPAPI_KEY``, ``ELEVENLABS_API_KEY``, else ``SECRET_1``), and returns the text
with each value replaced by ``$NAME``. :func:`protect_task` does that for a task given on
the command line, in a batch or as a follow-up instruction, and says so on stderr in one
line. The model, the session, the timeline and every export then hold only the name; a tool
that declares the name gets the value (:mod:`.inject`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autoagent_core.secrets.detect import find_secrets

MIN_KNOWN = 6  # a kept value shorter than this is not looked for in text (too common)

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.secrets.store import SecretStore


@dataclass
class Protected:
    """The text with its secrets replaced, and the names used (new ones in ``stored``)."""

    text: str
    names: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)


def _free_name(wanted: str, value: str, taken: dict[str, str]) -> str:
    """``wanted`` when it is free or already holds ``value``; else ``wanted_2``, ...;
    ``SECRET_N`` (the first free N) when nothing suggested a name."""
    if not wanted:
        n = 1
        while f"SECRET_{n}" in taken and taken[f"SECRET_{n}"] != value:
            n += 1
        return f"SECRET_{n}"
    if taken.get(wanted, value) == value:
        return wanted
    n = 2
    while f"{wanted}_{n}" in taken and taken[f"{wanted}_{n}"] != value:
        n += 1
    return f"{wanted}_{n}"


def assign_names(values: dict[str, str], known: dict[str, str]) -> dict[str, str]:
    """``value -> name`` for each found ``value -> suggested name``: a value already kept
    keeps its name; a new one gets the suggestion, numbered when taken."""
    by_value = {v: n for n, v in known.items()}
    taken = dict(known)
    out: dict[str, str] = {}
    for value, wanted in values.items():
        name = by_value.get(value) or _free_name(wanted, value, taken)
        taken[name] = value
        out[value] = name
    return out


def protect_text(text: str, store: SecretStore) -> Protected:
    """``text`` with every key (found or already stored) replaced by ``$NAME``; new keys
    are kept in ``store``."""
    known = {n: v for n in store.names() if (v := store.get(n))}
    found: dict[str, str] = {}
    for finding in find_secrets(text):
        if not found.get(finding.value):
            found[finding.value] = finding.name
    for name, value in known.items():
        if len(value) >= MIN_KNOWN and value in text and value not in found:
            found[value] = name
    if not found:
        return Protected(text)
    names = assign_names(found, known)
    out = Protected(text)
    for value in sorted(names, key=len, reverse=True):
        name = names[value]
        if known.get(name) != value:
            store.set(name, value)
            out.stored.append(name)
        out.text = out.text.replace(value, f"${name}")
        if name not in out.names:
            out.names.append(name)
    out.names.sort()
    out.stored.sort()
    return out


def announce(protected: Protected, what: str = "the task") -> None:
    """The one stderr line that says which secrets a text held."""
    if not protected.names:
        return
    listed = ", ".join(protected.names)
    kept = (f"kept in the secret store as {', '.join(protected.stored)}"
            if protected.stored else "already in the secret store")
    print(f"autoagent: {what} held {len(protected.names)} secret(s), {kept}; it now says "
          f"{', '.join('$' + n for n in protected.names)} instead (tools that declare "
          f"{listed} get the value; see 'autoagent secrets list')", file=sys.stderr)


def protect_task(text: str | None, settings: Settings | None = None,
                 what: str = "the task") -> str | None:
    """The task with its secrets replaced (and stored), after one line on stderr."""
    if not text:
        return text
    from autoagent_core.secrets.store import forget_cache, open_secret_store

    if not find_secrets(text) and not _holds_known(text):
        return text
    protected = protect_text(text, open_secret_store(settings))
    forget_cache()
    announce(protected, what)
    return protected.text


def _holds_known(text: str) -> bool:
    from autoagent_core.secrets.store import known_secrets

    return any(value in text for value in known_secrets().values() if len(value) >= MIN_KNOWN)
