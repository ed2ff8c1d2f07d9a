// A Dask-style pipeline, as in Dask's delayed tutorial:
//
//   parts = [delayed(summarise)(delayed(clean)(delayed(load)(f))) for f in files]
//   report = delayed(combine)(parts)
//   report.compute()
//
// Building the graph runs nothing; compute() runs each file's load → clean → summarise chain as
// one task in a worker (the rows stay there: only each file's small summary comes back), the
// files in parallel, then combine. The steps live in a module, so workers import them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compute, delayed } from 'skein';
import { clean, combine, load, summarise } from './dask-pipeline-tasks.ts';

// Four small files of readings (with a few bad rows, as real files have).
const dir = mkdtempSync(join(tmpdir(), 'skein-pipeline-'));
const cities = ['Lisbon', 'Oslo', 'Quito'];
const files = [0, 1, 2, 3].map((day) => {
  const lines = ['city,celsius'];
  for (let i = 0; i < 1000; i++) {
    const city = cities[(i + day) % cities.length] as string;
    lines.push(i % 97 === 0 ? `${city},n/a` : `${city},${(((i * 7 + day * 13) % 300) / 10).toFixed(1)}`);
  }
  const file = join(dir, `day-${day}.csv`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
});

try {
  const parts = files.map((file) => delayed(summarise)(delayed(clean)(delayed(load)(file))));
  const report = delayed(combine)(parts);
  console.log(`graph: ${parts.length * 3 + 1} nodes, nothing run yet (state ${report.state})`);
  const [lines] = await compute(report, { progress: false });
  for (const line of lines) console.log(line);
  console.log(`after compute: ${report.state}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
