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
