"""The `cloudflare` model backend: Cloudflare Workers AI over its native /ai/run endpoint.

plugin.py declares the provider (imported at start-up, so it stays thin); backend.py is the
client, imported when the backend is opened. May import autoagent_core and _http.
"""
