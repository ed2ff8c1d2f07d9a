"""Python's side of bench/multiprocessing.mjs: a Pipe round trip between the parent and a child,
and a Manager dict set+get from a child."""
import json
import sys
import time
from multiprocessing import Manager, Pipe, Process


def echo(conn):
    # A None ends it: with fork, the child also holds a copy of the parent's end, so it would
    # never see EOF (the classic Pipe gotcha).
    while True:
        value = conn.recv()
        if value is None:
            break
        conn.send(value)


def pipe_roundtrip(n):
    mine, theirs = Pipe()
    child = Process(target=echo, args=(theirs,))
    child.start()
    theirs.close()
    for i in range(500):
        mine.send(i)
        mine.recv()
    t0 = time.perf_counter()
    for i in range(n):
        mine.send(i)
        mine.recv()
    total = (time.perf_counter() - t0) * 1e6
    mine.send(None)
    mine.close()
    child.join()
    return total / n


def dict_round_trips(d, n):
    for i in range(200):
        d["k"] = i
        d["k"]
    t0 = time.perf_counter()
    for i in range(n):
        d["k"] = i
        if d["k"] != i:
            raise RuntimeError("Manager dict: wrong value read back")
    d["us"] = (time.perf_counter() - t0) * 1e6 / n


def manager_dict(n):
    with Manager() as manager:
        d = manager.dict()
        child = Process(target=dict_round_trips, args=(d, n))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"Manager dict: the child exited with {child.exitcode}")
        return d["us"]


if __name__ == "__main__":
    workload, n = sys.argv[1], int(sys.argv[2])
    if workload == "pipe":
        print(json.dumps({"us": pipe_roundtrip(n)}))
    elif workload == "manager-dict":
        print(json.dumps({"us": manager_dict(n)}))
    else:
        raise SystemExit(f"unknown workload {workload}")
