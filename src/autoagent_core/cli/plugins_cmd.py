"""``autoagent plugins``: every plugin, its distribution, version, hooks and layer names."""

from __future__ import annotations

from typing import Any

import typer

from autoagent_core.cli.common import console, is_terminal, print_json


def plugins_report() -> dict[str, Any]:
    from autoagent_core.hookspecs import LAYER_HOOKS
    from autoagent_core.plugins import get_plugin_manager

    manager = get_plugin_manager()
    layers: dict[str, list[dict[str, str]]] = {}
    for layer in LAYER_HOOKS:
        layers[layer] = [
            {"name": p.name, "plugin": plugin, "description": p.description}
            for plugin, p in sorted(manager.providers(layer), key=lambda x: x[1].name)
        ]
    return {
        "plugins": [info.to_dict() for info in sorted(manager.infos.values(),
                                                       key=lambda i: i.name)],
        "layers": layers,
    }


def register(app: typer.Typer) -> None:
    @app.command("plugins")
    def plugins(
        as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    ) -> None:
        """List installed plugins, the hooks they implement and the names they provide."""
        report = plugins_report()
        if as_json:
            print_json(report)
            return
        if is_terminal():
            from rich.table import Table

            table = Table("plugin", "distribution", "version", "status", "hooks")
            for p in report["plugins"]:
                hooks = ", ".join(h.removeprefix("autoagent_") for h in p["hooks"])
                table.add_row(p["name"], p["distribution"], p["version"], p["status"], hooks)
            out = console()
            out.print(table)
            layers = Table("layer", "names")
            for layer, providers in report["layers"].items():
                layers.add_row(layer, ", ".join(x["name"] for x in providers) or "-")
            out.print(layers)
            return
        for p in report["plugins"]:
            hooks = ",".join(h.removeprefix("autoagent_") for h in p["hooks"]) or "-"
            print(f"{p['name']}\t{p['distribution']}\t{p['version']}\t{p['status']}\t{hooks}")
        for layer, providers in report["layers"].items():
            print(f"{layer}: {', '.join(x['name'] for x in providers) or '-'}")
