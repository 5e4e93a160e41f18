"""Timeline recorders (jsonl, markdown, html, transcript) and the `runs` commands.

plugin.py declares the recorders and commands; base.py and model.py are shared by the
recorders; cli.py and runs.py implement `autoagent runs`. May import autoagent_core.
"""
