"""MCP both ways: ``autoagent mcp serve`` offers the tool library to MCP clients (server),
and the MCP servers a user adds lend their tools to ``tools list/run`` and runs (client).

plugin.py stays thin (hookimpls only); the other modules import the ``mcp`` SDK (the ``mcp``
extra) and may import autoagent_core, never another plugin package.
"""
