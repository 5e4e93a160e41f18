"""The `local` model backend: a GGUF model through llama-cpp-python, offline.

plugin.py declares the provider; backend.py loads the model lazily; grammar.py turns the reply
schema into a llama.cpp grammar and watches replies as they stream. May import autoagent_core.
"""
