"""The `openai` model backend: any OpenAI-compatible chat-completions server.

plugin.py declares the provider; backend.py is the client, imported when the backend is opened.
May import autoagent_core and _http.
"""
