"""The plugin manager: entry points of group ``autoagent``, loaded tolerantly.

* ``AUTOAGENT_DISABLE_PLUGINS=a,b`` blocks plugins (by entry point or distribution name)
  before they are imported.
* A plugin that fails to import, raises at import, or has a bad hook signature prints one
  warning line naming it; every command keeps working without it.
* Layers are chosen by name (:func:`select`); a missing name or a name claimed by two
  plugins is a :class:`~autoagent_core.errors.PluginError`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from autoagent_core.errors import PluginError
from autoagent_core.hookspecs import LAYER_HOOKS, PROJECT, AutoagentSpec
from autoagent_core.types import Provider

ENTRY_POINT_GROUP = "autoagent"
DISABLE_ENV = "AUTOAGENT_DISABLE_PLUGINS"


@dataclass
class PluginInfo:
    """What ``autoagent plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    status: str = "loaded"  # loaded | failed | disabled
    error: str | None = None
    hooks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
        }


def warn(message: str) -> None:
    """One warning line on stderr."""
    from autoagent_core.terminal_text import safe_text

    print(f"autoagent: warning: {safe_text(message)}", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PluginManager:
    """Wraps :class:`pluggy.PluginManager` with tolerant loading and name selection."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(AutoagentSpec)
        self.infos: dict[str, PluginInfo] = {}
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ loading
    def load_entry_points(self) -> None:
        from autoagent_core.entry_points import entry_points

        disabled = {
            n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()
        }
        seen: set[str] = set()
        for ep in entry_points(ENTRY_POINT_GROUP):
            dist_name, version = ep.distribution, ep.version
            if ep.name in seen:
                continue  # the same distribution found twice on sys.path
            seen.add(ep.name)
            info = PluginInfo(ep.name, dist_name, version)
            self.infos[ep.name] = info
            if ep.name in disabled or dist_name in disabled:
                info.status = "disabled"
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must not break us
                self._fail(info, f"could not be imported: {_one_line(exc)}")
                continue
            self.register(plugin, ep.name, info)

    def register(self, plugin: Any, name: str, info: PluginInfo | None = None) -> None:
        """Register a plugin object (module or instance) under ``name``."""
        if info is None:
            info = self.infos.setdefault(name, PluginInfo(name, "(registered)", "-"))
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy.PluginValidationError and friends
            self._fail(info, f"was not registered: {_one_line(exc)}")
            return
        info.status = "loaded"
        info.hooks = sorted(
            h.name for h in (self.pm.get_hookcallers(plugin) or [])
        )

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.status = "failed"
        info.error = message
        self._warn_once(info.name, f"plugin '{info.name}' ({info.distribution}) {message}")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warn(message)

    # ------------------------------------------------------------------ layers
    def providers(self, layer: str) -> list[tuple[str, Provider]]:
        """Every ``(plugin name, Provider)`` for a layer. A hook implementation that raises
        or returns something else is reported once and skipped."""
        hook_name = LAYER_HOOKS[layer]
        caller = getattr(self.pm.hook, hook_name)
        found: list[tuple[str, Provider]] = []
        for impl in reversed(caller.get_hookimpls()):
            try:
                result = impl.function()
                items = list(result or [])
                for item in items:
                    if not isinstance(item, Provider):
                        raise TypeError(f"{hook_name} returned {type(item).__name__}, "
                                        "not Provider")
            except Exception as exc:
                info = self.infos.get(impl.plugin_name)
                if info is not None:
                    info.status = "failed"
                    info.error = f"{hook_name} raised {_one_line(exc)}"
                self._warn_once(
                    f"{impl.plugin_name}:{hook_name}",
                    f"plugin '{impl.plugin_name}' failed in {hook_name}: {_one_line(exc)}",
                )
                continue
            found.extend((impl.plugin_name, item) for item in items)
        return found

    def names(self, layer: str) -> list[str]:
        return sorted({p.name for _, p in self.providers(layer)})

    def select(self, layer: str, name: str) -> Provider:
        """The provider of ``layer`` called ``name``, or a clear :class:`PluginError`."""
        matches = [(plugin, p) for plugin, p in self.providers(layer) if p.name == name]
        label = layer.replace("_", " ")
        if not matches:
            installed = ", ".join(self.names(layer)) or "none"
            raise PluginError(
                f"no {label} named '{name}' can be found (installed: {installed}); "
                "is the plugin installed?"
            )
        if len(matches) > 1:
            owners = ", ".join(sorted(plugin for plugin, _ in matches))
            raise PluginError(f"two plugins claim the {label} '{name}': {owners}")
        return matches[0][1]

    def register_commands(self, app: Any) -> None:
        for impl in reversed(self.pm.hook.autoagent_register_commands.get_hookimpls()):
            try:
                impl.function(app=app) if "app" in impl.argnames else impl.function()
            except Exception as exc:
                self._warn_once(
                    f"{impl.plugin_name}:commands",
                    f"plugin '{impl.plugin_name}' failed to register commands: "
                    f"{_one_line(exc)}",
                )


_MANAGER: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, loaded on first use."""
    global _MANAGER
    if _MANAGER is None:
        manager = PluginManager()
        manager.load_entry_points()
        _MANAGER = manager
    return _MANAGER


def plugins_loaded() -> bool:
    """Whether the process's plugin manager has finished loading (code that runs while a
    plugin's warning is printed must not start loading them again)."""
    return _MANAGER is not None


def reset_plugin_manager() -> None:
    """Forget the loaded plugins (tests use a fresh manager each)."""
    global _MANAGER
    _MANAGER = None
