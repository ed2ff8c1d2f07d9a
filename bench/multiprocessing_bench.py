"""Python's side of bench/multiprocessing.mjs: a Pipe round trip between the parent and a child."""
import json
import sys
import time
from multiprocessing import Pipe, Process


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


if __name__ == "__main__":
    workload, n = sys.argv[1], int(sys.argv[2])
    if workload == "pipe":
        print(json.dumps({"us": pipe_roundtrip(n)}))
    else:
        raise SystemExit(f"unknown workload {workload}")
