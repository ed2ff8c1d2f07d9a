/**
 * Manager proxies and Pipe Connection ends passed to pool tasks (ProcessPoolExecutor,
 * ThreadPoolExecutor, Pool on processes and on threads) and to a Thread (api.md section 3,
 * items 4 and 5): a proxy works as in a Process; an end is lent to the task for its run and
 * comes back to the caller when the task settles.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokenLockError, EOFError, Manager, Pipe, Pool, ProcessPoolExecutor, Thread, WorkerExitedError } from 'skein';
import {
  addOnes,
  dieInRecv,
  dieWithoutRecv,
  echoUntilEof,
  holdLockAndDie,
  lockedDictIncrements,
  passOn,
  pollTwice,
  receiveNested,
  receiveSome,
  sendAndClose,
  squareFromQueue,
  waitInRecv,
} from '../fixtures/mp-handle-tasks.ts';
import { BACKENDS, rejection, cloneSamples as samples } from '../helpers.ts';

describe('Manager proxies passed to pool tasks', () => {
  for (const backend of BACKENDS) {
    it(`a Value and a dict updated from many ${backend.name} tasks: exact totals (repeated)`, async () => {
      await using manager = await Manager.start();
      const pool = backend.create({ maxWorkers: 3 });
      try {
        for (let round = 0; round < 3; round++) {
          const counter = manager.Value('i', 0);
          const seen = manager.dict<string, number>();
          const futures = Array.from({ length: 12 }, (_, task) => pool.submit(addOnes, counter, seen, task, 25));
          const workers = new Set(await Promise.all(futures));
          assert.equal(await counter.get(), 12 * 25);
          assert.equal(await seen.size(), 12);
          assert.deepEqual(
            (await seen.values()).sort((a, b) => a - b),
            [...Array(12).keys()],
          );
          assert.ok(workers.size >= 1);
        }
      } finally {
        await pool.shutdown();
      }
    });

    it(`a managed Lock makes a read-modify-write right across ${backend.name} tasks (proxies nested in an object)`, async () => {
      await using manager = await Manager.start();
      const pool = backend.create({ maxWorkers: 3 });
      try {
        const handles = { lock: manager.Lock(), dict: manager.dict<string, number>() };
        await Promise.all(Array.from({ length: 3 }, () => pool.submit(lockedDictIncrements, handles, 20)));
        assert.equal(await handles.dict.get('total'), 60);
        assert.equal(await handles.lock.locked(), false);
      } finally {
        await pool.shutdown();
      }
    });

    it(`a managed Queue between the parent and ${backend.name} tasks: nothing lost or duplicated`, async () => {
      await using manager = await Manager.start();
      const pool = backend.create({ maxWorkers: 2 });
      try {
        const jobs = manager.Queue<number | null>();
        const results = manager.Queue<number>();
        const workers = [pool.submit(squareFromQueue, jobs, results), pool.submit(squareFromQueue, jobs, results)];
        for (let n = 1; n <= 200; n++) await jobs.put(n);
        await jobs.put(null);
        await jobs.put(null);
        const taken = (await Promise.all(workers)).reduce((a, b) => a + b, 0);
        assert.equal(taken, 200);
        const squares: number[] = [];
        for (let i = 0; i < 200; i++) squares.push(await results.get({ timeout: 10_000 }));
        assert.deepEqual(
          squares.sort((a, b) => a - b),
          Array.from({ length: 200 }, (_, i) => (i + 1) ** 2),
        );
        assert.equal(await results.qsize(), 0);
      } finally {
        await pool.shutdown();
      }
    });
  }

  for (const backend of BACKENDS) {
    it(`a ${backend.name} worker that dies holding a managed Lock breaks it; the pool goes on`, async () => {
      await using manager = await Manager.start();
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const lock = manager.Lock();
        assert.ok((await rejection(pool.submit(holdLockAndDie, lock))) instanceof WorkerExitedError);
        assert.ok((await rejection(lock.acquire({ timeout: 5000 }))) instanceof BrokenLockError);
        const counter = manager.Value('i', 0);
        await pool.submit(addOnes, counter, manager.dict<string, number>(), 0, 3);
        assert.equal(await counter.get(), 3);
      } finally {
        await pool.shutdown();
      }
    });
  }

  for (const kind of ['process', 'thread'] as const) {
    it(`Pool on ${kind === 'process' ? 'processes' : 'threads'}: apply, map and starmap with proxies`, async () => {
      await using manager = await Manager.start();
      await using pool = new Pool({ processes: 2, backend: kind });
      const counter = manager.Value('i', 0);
      const seen = manager.dict<string, number>();
      await pool.apply(addOnes, [counter, seen, 0, 10]);
      await pool.starmap(
        addOnes,
        Array.from({ length: 6 }, (_, i) => [counter, seen, i + 1, 10] as const),
      );
      assert.equal(await counter.get(), 70);
      assert.equal(await seen.size(), 7);
    });
  }

  it('a Thread updates a managed Value and dict', async () => {
    await using manager = await Manager.start();
    const counter = manager.Value('i', 0);
    const seen = manager.dict<string, number>();
    const threads = Array.from({ length: 3 }, (_, i) => new Thread({ target: addOnes, args: [counter, seen, i, 50] }));
    for (const t of threads) t.start();
    for (const t of threads) await t.join();
    assert.equal(await counter.get(), 150);
    assert.equal(await seen.size(), 3);
  });

  for (const backend of BACKENDS) {
    it(`a proxy received by a ${backend.name} task cannot be passed on: a clear error`, async () => {
      await using manager = await Manager.start();
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const message = await pool.submit(passOn, manager.dict());
        assert.match(message, /Manager dict proxy that this task or child was given, which cannot be passed on/);
        const [mine, theirs] = Pipe();
        assert.match(await pool.submit(passOn, theirs), /lent to this pool task, which cannot be passed on/);
        mine.close();
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });
  }

  it('initArgs cannot hold a proxy or a Connection', async () => {
    await using manager = await Manager.start();
    assert.throws(
      () => new ProcessPoolExecutor({ initializer: passOn, initArgs: [manager.dict()] }),
      /initArgs cannot hold a Pipe Connection or a Manager proxy/,
    );
  });
});

describe('Pipe Connection ends lent to pool tasks', () => {
  for (const backend of BACKENDS) {
    it(`a round trip with a ${backend.name} task: Map, Date, typed arrays, in order; EOF after close`, async () => {
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const [mine, theirs] = Pipe();
        const done = pool.submit(echoUntilEof, theirs);
        assert.throws(() => theirs.send(1), /lent to a pool task/);
        for (const value of samples()) mine.send(value);
        for (const value of samples()) assert.deepEqual(await mine.recv(), value);
        mine.close();
        assert.deepEqual(await done, { echoed: samples().length, isConnection: true });
        // Back with its owner: it saw the EOF, and closing it is ours to do.
        assert.ok((await rejection(theirs.recv())) instanceof EOFError);
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });

    it(`the end comes back when a ${backend.name} task settles, and can be lent again (repeated)`, async () => {
      const pool = backend.create({ maxWorkers: 2 });
      try {
        const [mine, theirs] = Pipe();
        for (let round = 0; round < 5; round++) {
          for (let i = 0; i < 6; i++) mine.send(round * 10 + i);
          assert.deepEqual(await pool.submit(receiveSome, theirs, 3), [round * 10, round * 10 + 1, round * 10 + 2]);
          // What the task did not ask for stayed here, in order.
          assert.equal(await theirs.recv(), round * 10 + 3);
          // At any depth of the arguments; the same end twice is one end.
          assert.deepEqual(await pool.submit(receiveNested, { ends: [theirs, theirs] }, 2), [
            round * 10 + 4,
            round * 10 + 5,
          ]);
          assert.equal(await theirs.poll(0), false);
        }
        const second = pool.submit(receiveSome, theirs, 1);
        assert.throws(() => pool.submit(receiveSome, theirs, 1), /lent to another pool task still running/);
        mine.send('last');
        assert.deepEqual(await second, ['last']);
        mine.close();
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });

    it(`a ${backend.name} task closes its end: the other end drains, then gets EOF; the end comes back closed`, async () => {
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const [mine, theirs] = Pipe();
        assert.equal(await pool.submit(sendAndClose, theirs, samples()), samples().length);
        for (const value of samples()) assert.deepEqual(await mine.recv(), value);
        assert.ok((await rejection(mine.recv())) instanceof EOFError);
        assert.equal(theirs.closed, true);
        assert.throws(() => pool.submit(sendAndClose, theirs, []), /closed Pipe Connection/);
        mine.close();
      } finally {
        await pool.shutdown();
      }
    });

    it(`poll with a timeout in a ${backend.name} task`, async () => {
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const [mine, theirs] = Pipe();
        const done = pool.submit(pollTwice, theirs);
        assert.equal(await mine.recv(), 'now send');
        mine.send('answer');
        assert.deepEqual(await done, [false, true, 'answer']);
        mine.close();
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });

    it(`a ${backend.name} worker that dies in recv fails its task only; the end comes back open, nothing lost (repeated)`, async () => {
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const [mine, theirs] = Pipe();
        for (let round = 0; round < 3; round++) {
          const dying = pool.submit(dieInRecv, theirs, 50);
          assert.ok(((await mine.recv()) as { waiting: string }).waiting);
          assert.ok((await rejection(dying)) instanceof WorkerExitedError);
          mine.send(`after ${round}`);
          assert.equal(await theirs.recv(), `after ${round}`);
          // Values that arrive while the task is not in recv are not taken by it: its death loses none.
          const quiet = pool.submit(dieWithoutRecv, theirs, 50);
          assert.equal(await mine.recv(), 'ready');
          mine.send('kept 1');
          mine.send('kept 2');
          assert.ok((await rejection(quiet)) instanceof WorkerExitedError);
          assert.equal(await theirs.recv(), 'kept 1');
          assert.equal(await theirs.recv(), 'kept 2');
        }
        // The pool goes on, and the end can be lent again.
        const echo = pool.submit(echoUntilEof, theirs);
        mine.send('still works');
        assert.equal(await mine.recv(), 'still works');
        mine.close();
        assert.deepEqual(await echo, { echoed: 1, isConnection: true });
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });
  }

  for (const backend of BACKENDS) {
    it(`a ${backend.name} task that times out in recv: the end is back at once and the task takes nothing more`, async () => {
      const pool = backend.create({ maxWorkers: 1 });
      try {
        const [mine, theirs] = Pipe();
        assert.deepEqual(await pool.submit(receiveSome, theirs, 0), []); // the worker is up: the timeout is the task's
        const waiting = pool.submitWith({ timeout: 1500 }, waitInRecv, theirs);
        const hello = mine.recv();
        hello.catch(() => {}); // if the timeout comes first (a slow start), the close below ends this recv
        assert.ok(await Promise.race([hello, rejection(waiting)]));
        assert.equal(((await rejection(waiting)) as Error).name, 'TimeoutError');
        mine.send('not for the stopped task');
        assert.equal(await theirs.recv(), 'not for the stopped task');
        mine.close();
        theirs.close();
      } finally {
        await pool.shutdown();
      }
    });
  }

  it('a process worker killed from outside mid-recv: its task fails, the end comes back, the pool goes on', async () => {
    const pool = new ProcessPoolExecutor({ maxWorkers: 1 });
    try {
      const [mine, theirs] = Pipe();
      const waiting = pool.submit(waitInRecv, theirs);
      const { pid } = (await mine.recv()) as { pid: number };
      process.kill(pid, 'SIGKILL');
      assert.ok((await rejection(waiting)) instanceof WorkerExitedError);
      mine.send('for the owner');
      assert.equal(await theirs.recv(), 'for the owner');
      const again = pool.submit(waitInRecv, theirs);
      assert.notEqual(((await mine.recv()) as { pid: number }).pid, pid);
      mine.send('for the new worker');
      assert.equal(await again, 'for the new worker');
      mine.close();
      theirs.close();
    } finally {
      await pool.shutdown();
    }
  });

  for (const kind of ['process', 'thread'] as const) {
    it(`Pool on ${kind === 'process' ? 'processes' : 'threads'}: applyAsync with an end, then it is back`, async () => {
      await using pool = new Pool({ processes: 1, backend: kind });
      const [mine, theirs] = Pipe();
      const result = pool.applyAsync(echoUntilEof, [theirs]);
      mine.send(new Date(5));
      assert.deepEqual(await mine.recv(), new Date(5));
      mine.close();
      assert.deepEqual(await result.get(), { echoed: 1, isConnection: true });
      assert.ok((await rejection(theirs.recv())) instanceof EOFError);
      theirs.close();
    });
  }

  it('a Thread uses an end, which is back after join', async () => {
    const [mine, theirs] = Pipe();
    const thread = new Thread({ target: echoUntilEof, args: [theirs] });
    thread.start();
    for (const value of samples()) mine.send(value);
    for (const value of samples()) assert.deepEqual(await mine.recv(), value);
    mine.send('one more');
    assert.equal(await mine.recv(), 'one more');
    mine.close();
    await thread.join();
    assert.ok((await rejection(theirs.recv())) instanceof EOFError);
    theirs.close();
  });
});
