"""A real MCP server (the official SDK's MCPServer, stdio) with 200 warehouse tools and
one temperature converter: what retrieval must keep out of, and pick for, a prompt."""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver import MCPServer

app = MCPServer("many")
THINGS = ["pallet", "crate", "forklift", "shelf", "dock", "invoice", "shipment", "order"]


def _metric(offset: int) -> Callable[[int], int]:
    def metric(count: int) -> int:
        return count + offset

    return metric


for number in range(200):
    thing = THINGS[number % len(THINGS)]
    app.add_tool(_metric(number), name=f"{thing}_metric_{number:03d}",
                 description=f"Warehouse {thing} inventory metric number {number}")


def celsius_to_fahrenheit(celsius: float) -> float:
    return celsius * 9 / 5 + 32


app.add_tool(celsius_to_fahrenheit, description="Convert a temperature from Celsius degrees "
                                                 "to Fahrenheit degrees")

if __name__ == "__main__":
    app.run()
