"""Dask's and joblib's side of the graph rows of `npm run bench` (bench/graph.mjs).

Runs ONE repeat of one workload and prints JSON {"seconds": ...}: only the timed part (the graph
is built before the clock starts, as on the JavaScript side).

usage: python3 bench/graph_bench.py WORKLOAD N [CACHE_DIR]
  wide    N tiny inc tasks and one total over them, dask.threaded.get (the threaded scheduler)
  chain   a chain of N inc tasks, the same scheduler
  joblib  joblib.Parallel(n_jobs=2)(delayed(inc)(i) for i in range(N)), default backend (loky)
  memory  N calls of a joblib.Memory-cached function, all hits on a small value
"""
import json
import sys
import time


def inc(x):
    return x + 1


def total(values):
    return sum(values)


def main():
    workload, n = sys.argv[1], int(sys.argv[2])
    if workload in ("wide", "chain"):
        # Plain task dicts, run by the threaded scheduler itself: dask.delayed would build the
        # chain in quadratic time (each call copies the graph's layers), which is not scheduling.
        from dask.threaded import get

        if workload == "wide":
            dsk = {("inc", i): (inc, i) for i in range(n)}
            dsk["total"] = (total, [("inc", i) for i in range(n)])
            target = "total"
        else:
            dsk = {("inc", 0): (inc, 0)}
            for i in range(1, n):
                dsk[("inc", i)] = (inc, ("inc", i - 1))
            target = ("inc", n - 1)
        started = time.perf_counter()
        get(dsk, target, num_workers=2)
    elif workload == "joblib":
        from joblib import Parallel, delayed

        Parallel(n_jobs=2)(delayed(inc)(i) for i in range(10))  # start the workers first
        started = time.perf_counter()
        Parallel(n_jobs=2)(delayed(inc)(i) for i in range(n))
    elif workload == "memory":
        from joblib import Memory

        cached = Memory(sys.argv[3], verbose=0).cache(inc)
        cached(1)
        started = time.perf_counter()
        for _ in range(n):
            cached(1)
    else:
        raise SystemExit(f"unknown workload {workload}")
    print(json.dumps({"seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
