// Ported from seed article 001 ("Python uses the ThreadPoolExecutor for running threads ... to
// read data from multiple URLs at once"). The article's URLs are stood in for by a local server
// that answers after 200 ms, so the example runs anywhere and shows the overlap: 8 downloads on
// 4 workers take about 2 × 200 ms, not 8 × 200 ms.
//
// In Node an event loop alone would overlap all 8 (see `skein demo`); a thread pool is the tool
// when each download is followed by CPU work (parsing, hashing) that should not block the loop.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { asCompleted, ThreadPoolExecutor } from 'skein';

async function download(url: string): Promise<{ url: string; bytes: number }> {
  const response = await fetch(url);
  const body = await response.arrayBuffer();
  return { url, bytes: body.byteLength };
}

let inFlight = 0;
let mostAtOnce = 0;
const server = createServer((request, response) => {
  mostAtOnce = Math.max(mostAtOnce, ++inFlight);
  setTimeout(() => {
    inFlight--;
    response.end(`page ${request.url} `.repeat(100));
  }, 200);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const urls = Array.from({ length: 8 }, (_, i) => `${base}/page/${i}`);

const started = performance.now();
{
  await using executor = new ThreadPoolExecutor({ maxWorkers: 4 });
  const futures = urls.map((url) => executor.submit(download, url));
  for await (const future of asCompleted(futures)) {
    const { url, bytes } = await future;
    console.log(`${url.slice(base.length)}: ${bytes} bytes`);
  }
}
console.log(`downloaded ${urls.length} pages in ${Math.round(performance.now() - started)} ms`);
console.log(`the server saw at most ${mostAtOnce} requests at once`);
server.close();
