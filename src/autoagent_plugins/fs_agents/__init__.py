"""The `filesystem` agent registry: `.agents/` (manifest.json, <agent>.json).

plugin.py declares the provider; store.py is the registry. May import autoagent_core.
"""
