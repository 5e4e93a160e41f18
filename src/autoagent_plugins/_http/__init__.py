"""Private helpers shared by the HTTP model backends: the client with retries, timeouts and
error mapping (client), and readers of the OpenAI-style reply shapes (reply_shapes).

May import autoagent_core and httpx (lazily); no plugin package imports another except this one.
"""
