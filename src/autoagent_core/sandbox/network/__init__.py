"""Open mode's network: the tool has no network namespace of its own but a loopback, and
reaches the world only through autoagent's filtering proxy (README, "Open mode's network").

* :mod:`.addresses`: what may be reached (public addresses; the rest by ``--allow-net``);
* :mod:`.proxy`: the proxy, in the process that runs the calls, one Unix socket per call,
  speaking :mod:`.protocols` (SOCKS5, HTTP) and connecting through :mod:`.upstream`;
* :mod:`.inside`: the bridge and the ``socket`` patch, run by the sandbox child.

:func:`start_call_network` is what the launcher calls for an open-mode call;
:func:`explain_refusals` adds the refusals of a call to its error.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autoagent_core.errors import SandboxError

if TYPE_CHECKING:
    from autoagent_core.config import Settings
    from autoagent_core.sandbox.network.proxy import CallProxy
    from autoagent_core.types import ToolResult

SOCKET_NAME = "net.sock"


@functools.cache
def inside_code() -> Any:
    """:mod:`.inside` compiled, for the request of an open-mode call."""
    path = Path(__file__).with_name("inside.py")
    return compile(path.read_bytes(), str(path), "exec", dont_inherit=True)


def start_call_network(settings: Settings, control: Path) -> tuple[CallProxy, dict[str, Any]]:
    """The proxy of one open-mode call (listening in ``control``, which the sandbox binds)
    and the request entry that tells the child where it is. ConfigError on a bad
    ``allow_net`` entry; SandboxError when the proxy cannot listen."""
    from autoagent_core.sandbox.network.addresses import policy_for
    from autoagent_core.sandbox.network.proxy import CallProxy

    policy = policy_for(list(settings.allow_net))
    path = control / SOCKET_NAME
    try:
        proxy = CallProxy(str(path), policy)
    except OSError as exc:
        raise SandboxError(f"the open sandbox cannot be enforced: its network proxy cannot "
                           f"listen on {path}: {exc.strerror or exc}") from None
    return proxy, {"socket": str(path), "code": inside_code()}


def explain_refusals(result: ToolResult, proxy: CallProxy) -> None:
    """A failed call that met a refusal: its error is a ``network`` error whose first
    suggestion names the destination and the ``--allow-net`` that grants it."""
    refusals = proxy.policy.refusals
    if result.ok or not refusals or not isinstance(result.error, dict):
        return
    error = result.error
    if error.get("class") in ("exception", "value", "type", "attribute", "key"):
        error["class"] = "network"
    if error.get("class") != "network":
        return
    tips = [str(t) for t in error.get("suggestions") or []]
    error["suggestions"] = [*refusals[:3], *(t for t in tips if t not in refusals)]
    error["refused_network"] = refusals[:10]
