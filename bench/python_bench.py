"""Python's concurrent.futures / multiprocessing side of `npm run bench`.

Runs ONE repeat of one workload and prints JSON, so bench/run.mjs can alternate it with the
JavaScript systems in the same run. Pools are created and warmed before timing, as for the others.

usage: python3 bench/python_bench.py WORKLOAD WORKERS [N] [LIMIT]
"""
import asyncio
import json
import queue
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait
from multiprocessing import Pool


def inc(x):
    return x + 1


def count_primes(limit):
    count = 0
    for n in range(2, limit):
        prime = True
        d = 2
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


def warm(executor, workers):
    wait([executor.submit(inc, i) for i in range(workers * 2)])


def timed_on_executor(workers, work):
    """ms that work(executor) takes on a warm ProcessPoolExecutor (creation and warm-up not counted)."""
    with ProcessPoolExecutor(workers) as ex:
        warm(ex, workers)
        t0 = time.perf_counter()
        work(ex)
        return (time.perf_counter() - t0) * 1000


async def asyncio_lock(n, tasks=100):
    """n `async with lock` sections, from `tasks` tasks contending, each yielding once inside."""
    lock = asyncio.Lock()
    counter = 0

    async def task():
        nonlocal counter
        for _ in range(n // tasks):
            async with lock:
                counter += 1
                await asyncio.sleep(0)

    t0 = time.perf_counter()
    await asyncio.gather(*(task() for _ in range(tasks)))
    return (time.perf_counter() - t0) * 1000


def thread_lock(workers, n):
    """n acquire/release of one threading.Lock, split over `workers` threads."""
    lock = threading.Lock()
    counter = [0]

    def loop():
        for _ in range(n // workers):
            with lock:
                counter[0] += 1

    return run_threads([loop] * workers)


def thread_queue(n):
    """n items through a queue.Queue(maxsize=1024) from one thread to another."""
    q = queue.Queue(maxsize=1024)

    def produce():
        for i in range(n):
            q.put(i)

    def consume():
        for _ in range(n):
            q.get()

    return run_threads([produce, consume])


def run_threads(targets):
    """ms from starting one thread per target to joining them all."""
    threads = [threading.Thread(target=t) for t in targets]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.perf_counter() - t0) * 1000


def main():
    workload, workers = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    out = {}
    if workload == "tiny":
        out["ms"] = timed_on_executor(workers, lambda ex: wait([ex.submit(inc, i) for i in range(n)]))
    elif workload == "latency":
        with ProcessPoolExecutor(workers) as ex:
            warm(ex, workers)
            samples = []
            for i in range(n):
                t0 = time.perf_counter()
                ex.submit(inc, i).result()
                samples.append((time.perf_counter() - t0) * 1e6)
            out["us"] = samples
    elif workload == "pool-map":
        with Pool(workers) as pool:
            pool.map(inc, range(workers * 2))
            t0 = time.perf_counter()
            pool.map(inc, range(n))
            out["ms"] = (time.perf_counter() - t0) * 1000
    elif workload == "ppe-map":
        out["ms"] = timed_on_executor(workers, lambda ex: list(ex.map(inc, range(n), chunksize=1000)))
    elif workload == "cpu":
        limit = int(sys.argv[4])
        out["ms"] = timed_on_executor(workers, lambda ex: wait([ex.submit(count_primes, limit) for _ in range(n)]))
    elif workload == "startup":
        t0 = time.perf_counter()
        with ProcessPoolExecutor(workers) as ex:
            ex.submit(inc, 1).result()
            out["ms"] = (time.perf_counter() - t0) * 1000
    elif workload == "calibrate":
        # the limit for which count_primes takes about n ms here
        limit = 1000
        while True:
            t0 = time.perf_counter()
            count_primes(limit)
            if (time.perf_counter() - t0) * 1000 >= n:
                break
            limit = int(limit * 1.3)
        out["limit"] = limit
    elif workload == "asyncio-lock":
        out["ms"] = asyncio.run(asyncio_lock(n))
    elif workload == "thread-lock":
        out["ms"] = thread_lock(workers, n)
    elif workload == "thread-queue":
        out["ms"] = thread_queue(n)
    else:
        raise SystemExit(f"unknown workload {workload}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
