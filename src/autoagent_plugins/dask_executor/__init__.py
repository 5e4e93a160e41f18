"""Plugin: the ``dask`` batch executor, each task on a worker of an existing Dask cluster."""
