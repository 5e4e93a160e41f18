"""Plugin: the ``local`` batch executor, ``-j N`` worker processes on this machine."""
