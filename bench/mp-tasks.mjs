// The multiprocessing bench's child targets (plain JavaScript: no TypeScript loader in the child).

/** Sends back every value it receives until the other end closes. */
export async function echo(conn) {
  for (;;) {
    let value;
    try {
      value = await conn.recv();
    } catch {
      conn.close();
      return;
    }
    conn.send(value);
  }
}

/**
 * `n` set+get round trips on a Manager dict from this child, after a warm-up; stores the µs per
 * set+get under 'us' in the dict itself, for the parent to read.
 */
export async function dictRoundTrips(d, n) {
  for (let i = 0; i < 200; i++) {
    await d.set('k', i);
    await d.get('k');
  }
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await d.set('k', i);
    if ((await d.get('k')) !== i) throw new Error('Manager dict: wrong value read back');
  }
  await d.set('us', ((performance.now() - t0) * 1000) / n);
}

/** Puts 0..n-1 then `null` into the parent's queue, once `go` is set. */
export async function produceItems(queue, n, go) {
  await go.wait();
  for (let i = 0; i < n; i++) await queue.put(i);
  await queue.put(null);
}

/**
 * Takes items until `null`, in batches (`getMany`); puts `{ items, sum }` into `results`. Sets
 * `ready` first, so the parent starts the clock and the producer once both are up.
 */
export async function consumeItems(queue, results, ready) {
  ready.set();
  let count = 0;
  let sum = 0;
  for (;;) {
    const batch = await queue.getMany(4096);
    let done = false;
    for (const item of batch) {
      if (item === null) {
        done = true;
        break;
      }
      count++;
      sum += item;
    }
    if (done) break;
  }
  await results.put({ items: count, sum });
}
