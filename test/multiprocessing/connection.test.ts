/** `Pipe` and `Connection` (api.md section 3): in one process, and between the parent and a Process child. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokenPipeError, Connection, EOFError, Pipe, Process } from 'skein';
import { lendToOwnPool } from '../fixtures/mp-handle-tasks.ts';
import { echo, runForever, sendNumbers } from '../fixtures/mp-tasks.ts';
import { sendThenPoll } from '../fixtures/mp-trial-tasks.ts';
import { BACKENDS, rejection, cloneSamples as samples, sleep } from '../helpers.ts';

describe('Pipe', () => {
  describe('in one process', () => {
    it('sends Map, Date, typed arrays and more both ways, in order, as copies', async () => {
      const [a, b] = Pipe();
      assert.ok(a instanceof Connection);
      for (const value of samples()) a.send(value);
      for (const value of samples()) assert.deepEqual(await b.recv(), value);
      const original = { n: 1 };
      b.send(original);
      const copy = await a.recv();
      assert.deepEqual(copy, original);
      assert.notEqual(copy, original);
      a.close();
      b.close();
    });

    it('recv drains what was sent, then rejects with EOFError once the other end is closed', async () => {
      const [a, b] = Pipe();
      a.send(1);
      a.send(2);
      a.close();
      assert.equal(await b.recv(), 1);
      assert.equal(await b.recv(), 2);
      assert.ok((await rejection(b.recv())) instanceof EOFError);
      assert.ok((await rejection(b.recv())) instanceof EOFError);
      assert.throws(() => b.send(3), BrokenPipeError);
      b.close();
      await assert.rejects(b.recv(), /closed Connection/);
      assert.throws(() => a.send(1), /closed Connection/);
    });

    it('a waiting recv is woken by a send and by the close of the other end', async () => {
      const [a, b] = Pipe();
      const first = b.recv();
      setTimeout(() => a.send('late'), 30);
      assert.equal(await first, 'late');
      const second = b.recv();
      setTimeout(() => a.close(), 30);
      assert.ok((await rejection(second)) instanceof EOFError);
    });

    it('poll: at once by default, or waits up to timeoutMs; true at EOF', async () => {
      const [a, b] = Pipe();
      assert.equal(await b.poll(), false);
      assert.equal(await b.poll(30), false);
      setTimeout(() => a.send('x'), 30);
      assert.equal(await b.poll(10_000), true);
      assert.equal(await b.recv(), 'x');
      a.close();
      assert.equal(await b.poll(10_000), true);
      await assert.rejects(b.poll(-1), /poll\(timeoutMs\): expected a number of milliseconds >= 0/);
    });

    it('duplex: false gives a receiving end and a sending end', async () => {
      const [reader, writer] = Pipe({ duplex: false });
      assert.deepEqual(
        [reader.readable, reader.writable, writer.readable, writer.writable],
        [true, false, false, true],
      );
      writer.send(5);
      assert.equal(await reader.recv(), 5);
      assert.throws(() => reader.send(1), /only receives/);
      await assert.rejects(writer.recv(), /only sends/);
      assert.throws(() => Pipe(3 as never), /expected an options object/);
    });

    it('a value that cannot be cloned is refused in the caller, and the pipe still works', async () => {
      const [a, b] = Pipe();
      assert.throws(
        () => a.send({ callback: () => 1 }),
        (error: Error) =>
          error instanceof TypeError &&
          /^send\(value\): value\.callback is a function \(function callback\), which cannot be cloned\. Values cross by structured clone: pass plain data/.test(
            error.message,
          ),
      );
      a.send('after');
      assert.equal(await b.recv(), 'after');
    });
  });

  describe('with a Process', () => {
    it('round trips values to a child and back; EOF travels both ways; the child exits 0', async () => {
      const [mine, theirs] = Pipe();
      const child = new Process({ target: echo, args: [theirs] });
      child.start();
      assert.throws(() => theirs.send(1), /passed to a Process, which owns it now/);
      for (const value of samples()) {
        mine.send(value);
        assert.deepEqual(await mine.recv(), value);
      }
      for (let i = 0; i < 500; i++) mine.send(i);
      for (let i = 0; i < 500; i++) assert.equal(await mine.recv(), i);
      mine.close(); // the child's recv gets EOF, it closes its end and returns
      await child.join();
      assert.equal(child.exitCode, 0);
    });

    it('what a child sent just before exiting is all received, then EOF', async () => {
      const [mine, theirs] = Pipe({ duplex: false });
      const child = new Process({ target: sendNumbers, args: [theirs, 1000] });
      child.start();
      const received: unknown[] = [];
      for (;;) {
        try {
          received.push(await mine.recv());
        } catch (error) {
          assert.ok(error instanceof EOFError, String(error));
          break;
        }
      }
      assert.deepEqual(
        received,
        Array.from({ length: 1000 }, (_, i) => i),
      );
      await child.join();
    });

    it('a child killed while the parent waits in recv: EOFError, no hang', async () => {
      const [mine, theirs] = Pipe();
      const child = new Process({ target: runForever, args: [theirs] as never });
      child.start();
      const waiting = mine.recv();
      setTimeout(() => child.kill(), 100);
      assert.ok((await rejection(waiting)) instanceof EOFError);
      assert.throws(() => mine.send('to nobody'), BrokenPipeError);
      await child.join();
      assert.equal(child.exitCode, -9);
    });

    it('values an end had received before it was passed reach the child first, in order', async () => {
      const [mine, theirs] = Pipe();
      mine.send('early');
      mine.send(new Map([[1, new Date(0)]]));
      assert.equal(await theirs.poll(5000), true);
      await sleep(50); // both have arrived: theirs holds them, read by nobody
      const child = new Process({ target: echo, args: [theirs] });
      child.start();
      mine.send('late');
      assert.equal(await mine.recv(), 'early');
      assert.deepEqual(await mine.recv(), new Map([[1, new Date(0)]]));
      assert.equal(await mine.recv(), 'late');
      mine.close();
      await child.join();
      assert.equal(child.exitCode, 0);
    });

    it('an end passed while values are still in flight to it is relayed: nothing lost or reordered', async () => {
      const [mine, theirs] = Pipe();
      for (let i = 0; i < 100; i++) mine.send(i); // posted, not yet received by theirs
      const child = new Process({ target: echo, args: [theirs] });
      child.start();
      for (let i = 100; i < 200; i++) mine.send(i);
      for (let i = 0; i < 200; i++) assert.equal(await mine.recv(), i);
      mine.close();
      await child.join();
      assert.equal(child.exitCode, 0);
    });

    it('large values (past the read buffer and the socket buffer) and bursts of small ones', async () => {
      const [mine, theirs] = Pipe();
      const child = new Process({ target: echo, args: [theirs] });
      child.start();
      const big = Float64Array.from({ length: 1_000_000 }, (_, i) => i / 3); // 8 MB
      mine.send(big);
      mine.send('after the big one');
      for (let i = 0; i < 20_000; i++) mine.send(i); // one tick: written together
      const back = await mine.recv();
      assert.ok(back instanceof Float64Array && back.length === big.length);
      assert.ok(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(big.buffer)));
      assert.equal(await mine.recv(), 'after the big one');
      for (let i = 0; i < 20_000; i++) assert.equal(await mine.recv(), i);
      mine.close();
      await child.join();
      assert.equal(child.exitCode, 0);
    });

    it('an end that was closed or already handed over cannot be passed', () => {
      const [a, b] = Pipe();
      a.close();
      assert.throws(() => new Process({ target: echo, args: [a] }).start(), /closed Connection/);
      const first = new Process({ target: echo, args: [b] });
      first.start();
      assert.throws(() => new Process({ target: echo, args: [b] }).start(), /passed to a Process/);
      first.kill();
    });
  });

  describe('passed to a pool task', () => {
    for (const backend of BACKENDS) {
      it(`is lent to a ${backend.name} task: a Process cannot take it meanwhile, and it is back when the task settles`, async () => {
        const [mine, theirs] = Pipe();
        const pool = backend.create({ maxWorkers: 1 });
        try {
          const waiting = theirs.recv(); // a recv waiting here when the end is lent rejects at once
          const echoing = pool.submit(echo, theirs);
          await assert.rejects(waiting, /lent to a pool task/);
          assert.throws(() => new Process({ target: echo, args: [theirs] }).start(), /lent to a pool task/);
          assert.throws(() => theirs.close(), /lent to a pool task/);
          assert.throws(() => pool.submit(echo, theirs), /lent to another pool task still running/);
          mine.send('echoed by the task');
          assert.equal(await mine.recv(), 'echoed by the task');
          mine.close();
          await echoing;
        } finally {
          await pool.shutdown();
        }
        // Back here, closed: echo closed it when it saw the EOF.
        assert.equal(theirs.closed, true);
        await assert.rejects(theirs.recv(), /closed Connection/);
      });
    }

    it('an end given to a Process can be lent by the child to its own pool task', async () => {
      const [mine, theirs] = Pipe();
      const child = new Process({ target: lendToOwnPool, args: [theirs] });
      child.start();
      mine.send('via the grandchild worker');
      assert.equal(await mine.recv(), 'via the grandchild worker');
      mine.close();
      await child.join();
      assert.equal(child.exitCode, 0);
    });
  });

  describe('poll right after send (issue 11: Python says True)', () => {
    it('poll on the other end is true right after send in the same thread (Python: True)', async () => {
      const [a, b] = Pipe();
      assert.equal(await a.poll(), false);
      b.send(1);
      assert.equal(await a.poll(), true);
      assert.equal(await a.poll(0), true);
      assert.equal(await a.recv(), 1);
      assert.equal(await a.poll(), false);
      const [r, w] = Pipe({ duplex: false });
      w.close();
      assert.equal(await r.poll(), true, 'an EOF just sent counts too');
      a.close();
      b.close();
    });

    for (const backend of BACKENDS) {
      it(`poll is true right after send with both ends lent to a ${backend.name} task`, async () => {
        await using pool = backend.create({ maxWorkers: 1 });
        const [a, b] = Pipe();
        assert.deepEqual(await pool.submit(sendThenPoll, a, b), [false, true, 1, false]);
        a.close();
        b.close();
      });
    }
  });
});
