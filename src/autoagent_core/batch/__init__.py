"""Batches of tasks: a JSONL of tasks in, a JSONL of results out, one run per task.

* :mod:`.tasks` reads and checks TASKS.jsonl (every bad line refused before any work);
* :mod:`.results` appends one flushed line per finished task and tells which ids are done;
* :mod:`.one_task` runs one task in the current process (what every executor calls);
* :mod:`.library` packs the library for remote workers and merges what they learned back;
* :mod:`.runner` drives an executor (the ``autoagent_executors`` hook) and the progress view.
"""
