"""The `filesystem` session store: `.sessions/` (index.json, index.journal, <id>.json).

plugin.py declares the provider; store.py is the store, index.py the index and its journal,
codec.py and schema.py read and validate session files. May import autoagent_core.
"""
