"""``autoagent dashboard``: a live local web view of runs, sessions, tools, agents and the
files tools wrote (Starlette + uvicorn + sse-starlette, the ``dashboard`` extra)."""
