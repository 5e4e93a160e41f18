"""The `filesystem` tool store: `.permanent_tools/` (manifest.json, <name>.py, .versions/).

plugin.py declares the provider; store.py is the store; manifest.py reads and writes the
manifest under a lock. May import autoagent_core.
"""
