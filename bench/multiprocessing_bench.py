"""Python's side of bench/multiprocessing.mjs: a Pipe round trip between the parent and a child,
a Manager dict set+get from a child, and numbers through a Queue from a producer process to a
consumer process."""
import json
import sys
import time
from multiprocessing import Event, Manager, Pipe, Process, Queue


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


def produce_items(queue, n, go):
    go.wait()
    for i in range(n):
        queue.put(i)
    queue.put(None)


def consume_items(queue, results, ready):
    ready.set()
    count = 0
    total = 0
    while True:
        item = queue.get()
        if item is None:
            break
        count += 1
        total += item
    results.put({"items": count, "sum": total})


def queue_between_processes(n):
    queue, results, ready, go = Queue(), Queue(), Event(), Event()
    consumer = Process(target=consume_items, args=(queue, results, ready))
    producer = Process(target=produce_items, args=(queue, n, go))
    consumer.start()
    producer.start()
    ready.wait()
    # Timed by the parent from the go to the consumer's report, as skein's is.
    t0 = time.perf_counter()
    go.set()
    outcome = results.get()
    outcome["seconds"] = time.perf_counter() - t0
    consumer.join()
    producer.join()
    return outcome


if __name__ == "__main__":
    workload, n = sys.argv[1], int(sys.argv[2])
    if workload == "pipe":
        print(json.dumps({"us": pipe_roundtrip(n)}))
    elif workload == "manager-dict":
        print(json.dumps({"us": manager_dict(n)}))
    elif workload == "queue":
        print(json.dumps(queue_between_processes(n)))
    else:
        raise SystemExit(f"unknown workload {workload}")
