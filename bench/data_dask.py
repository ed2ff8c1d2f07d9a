"""Dask DataFrame's side of the data rows of `npm run bench` (bench/data.mjs).

Runs ONE query once on the threaded scheduler with WORKERS threads (Dask DataFrame's default
scheduler) and prints JSON: the time of read_csv().groupby().sum().compute() and the peak RSS of
this process (the whole process tree: the threaded scheduler starts no child process).

usage: python3 bench/data_dask.py PATH QUERY WORKERS BLOCKSIZE     (QUERY: one-key | two-keys)
"""
import json
import resource
import sys
import time

import dask
import dask.dataframe as dd

path, query, workers, blocksize = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
keys = ["id1"] if query == "one-key" else ["id1", "id2"]
with dask.config.set(scheduler="threads", num_workers=workers):
    t0 = time.perf_counter()
    df = dd.read_csv(path, blocksize=blocksize, dtype={"id1": "object", "id2": "object", "v1": "int64", "v3": "float64"})
    result = df.groupby(keys)[["v1"]].sum().compute()
    ms = (time.perf_counter() - t0) * 1000
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"ms": ms, "groups": len(result), "total": int(result["v1"].sum()), "maxRssKb": rss}))
