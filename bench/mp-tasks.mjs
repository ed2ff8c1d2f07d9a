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
