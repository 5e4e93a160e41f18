"""The `scripted` model backend: replays a JSON file of replies, and `--record` writes one.

plugin.py declares the provider; backend.py reads and checks the script. May import autoagent_core.
"""
