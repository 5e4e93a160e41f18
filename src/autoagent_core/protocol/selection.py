"""Which protocol a reply is asked in, per run: native tools, JSON mode or text.

The ``protocol`` setting (``--protocol``) is ``auto`` or one protocol forced:

* ``tools``: the actions are offered as native tools and the tool calls of the reply
  become actions (:mod:`autoagent_core.protocol.tool_calls`);
* ``json``: the reply is constrained to the action schema (JSON mode);
* ``text``: neither; the reply is read with the tolerant JSON reader.

``auto`` takes the best protocol the backend says its model supports (``protocols()``
on the backend, best first; a backend without it is asked in JSON mode, then text).
When the service refuses one (a :class:`~autoagent_core.errors.FormatRefusedError`) or
a reply in it cannot be used (backends with ``protocols()`` only), the run falls back to
the next for the rest of the run; the loop logs it as a ``format_error`` event and
counts it as a format retry.

A forced protocol is never left: a refusal that asking again cannot change stops the
run with :class:`~autoagent_core.errors.ProtocolRefusedError` (exit 4, the session kept
as interrupted), a passing one ("JSON Mode couldn't be met") is asked again the same
way while format retries remain. ``tools`` applies to replies made of actions (the
Coder, consulted agents); the Supervisor, which answers a decision, is then asked in the
best of the other protocols.
"""

from __future__ import annotations

from typing import Any

from autoagent_core.errors import ConfigError, FormatRefusedError, ProtocolRefusedError

PROTOCOLS: tuple[str, ...] = ("tools", "json", "text")
"""Every protocol, most to least structured (the order ``auto`` falls back in)."""
DEFAULT_PROTOCOLS: tuple[str, ...] = ("json", "text")
"""What a backend without ``protocols()`` is asked in (its ``json_schema`` handling)."""


def backend_protocols(backend: Any) -> tuple[str, ...]:
    """The protocols ``backend`` supports for its model, best first (``text`` last)."""
    offered = getattr(backend, "protocols", None)
    listed = tuple(offered()) if callable(offered) else DEFAULT_PROTOCOLS
    ordered = tuple(p for p in PROTOCOLS if p in listed and p != "text")
    return (*ordered, "text")


def backend_sends(backend: Any) -> tuple[str, ...]:
    """The protocols ``backend`` can send at all: every one for a backend that knows
    protocols (it has ``protocols()``), JSON mode and text for the others."""
    return PROTOCOLS if callable(getattr(backend, "protocols", None)) else DEFAULT_PROTOCOLS


def offers_tools(schema: dict[str, Any] | None) -> bool:
    """True when replies of ``schema`` are actions that can be offered as tools."""
    from autoagent_core.protocol.tool_calls import tools_for

    return tools_for(schema) is not None


class ProtocolChoice:
    """The protocol of each request of one run, and its fallbacks."""

    def __init__(self, setting: str, supported: tuple[str, ...],
                 sendable: tuple[str, ...] = PROTOCOLS, backend: str = "backend") -> None:
        self.forced: str | None = None if setting == "auto" else setting
        self.live: list[str] = list(supported)
        self.supported = supported
        self.sendable = sendable
        self.backend = backend

    def pick(self, schema: dict[str, Any] | None) -> str:
        """The protocol to ask a reply of ``schema`` in; :class:`ConfigError` when the
        protocol forced is one the backend cannot send."""
        if self.forced is not None and (self.forced != "tools" or offers_tools(schema)):
            if self.forced not in self.sendable:
                raise ConfigError(
                    f"the {self.backend} backend cannot send the '{self.forced}' protocol "
                    f"that the protocol setting forces: use --protocol "
                    f"{' or '.join(self.sendable)}, or auto")
            return self.forced
        for protocol in self.live:
            if protocol == "tools" and not offers_tools(schema):
                continue
            return protocol
        return "text"

    def after_refusal(self, protocol: str, schema: dict[str, Any] | None,
                      error: FormatRefusedError, retries_left: int) -> str:
        """The protocol to ask again in after the service refused ``protocol``; raises
        :class:`ProtocolRefusedError` when a forced protocol cannot be met."""
        if self.forced == protocol:
            if error.permanent or retries_left <= 0:
                raise ProtocolRefusedError(
                    f"{error.message}; the protocol setting forces '{protocol}' "
                    f"(--protocol {protocol}), so autoagent does not fall back: use "
                    "--protocol auto to fall back to the next protocol")
            return protocol
        return self.drop(protocol, schema)

    def after_unusable_reply(self, protocol: str, schema: dict[str, Any] | None) -> str:
        """The protocol to ask again in after a reply in ``protocol`` could not be used:
        the next one under ``auto``, the same when it is forced or already text, and for
        a backend that knows no protocols (its JSON mode, such as the local model's
        grammar, is what keeps a small model's replies in shape)."""
        if self.forced == protocol or protocol == "text" or self.sendable != PROTOCOLS:
            return protocol
        return self.drop(protocol, schema)

    def drop(self, protocol: str, schema: dict[str, Any] | None) -> str:
        """Stop using ``protocol`` for the rest of the run; the next one for ``schema``."""
        if protocol in self.live and protocol != "text":
            self.live.remove(protocol)
        return self.pick(schema)
