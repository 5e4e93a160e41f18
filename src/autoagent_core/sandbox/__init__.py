"""Tool execution outside the CLI process: the launcher (namespaces, limits, collection of
results) and the child program that runs one tool call (child, standard library only).

May import the contracts, config and tools/; child.py imports nothing from autoagent.
"""
