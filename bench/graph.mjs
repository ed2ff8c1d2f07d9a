// The graph rows of `npm run bench`: skein's delayed/compute, parallel and Memory against Dask
// (threaded scheduler) and joblib (Parallel with its default backend, Memory) in the same run.
// Dask and joblib are Debian's python3-dask and python3-joblib, on the system interpreter: the
// first of $PYTHON, python3, /usr/bin/python3 that imports both is used, and named in the row.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compute, delayed, Memory, parallel, ThreadPoolExecutor } from 'skein';
import { inc, total } from './graph-tasks.mjs';

const SCRIPT = new URL('./graph_bench.py', import.meta.url).pathname;

/** The first interpreter that has dask and joblib, or undefined (the rows then say so). */
function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-c', 'import dask, joblib'], { stdio: 'ignore' });
      const version = execFileSync(
        candidate,
        ['-c', 'import sys, dask, joblib; print(sys.version.split()[0], dask.__version__, joblib.__version__)'],
        { encoding: 'utf8' },
      )
        .trim()
        .split(' ');
      return { path: candidate, python: version[0], dask: version[1], joblib: version[2] };
    } catch {
      // not this one
    }
  }
  return undefined;
}

const python = findPython();
const MISSING =
  'Python rows skipped: no interpreter with dask and joblib (Debian: apt-get install python3-dask python3-joblib).';
/** A Python run is stopped after this long and counted as this long (a lower bound on its time). */
const PYTHON_LIMIT_S = 60;
let pythonStopped = 0;
const pythonSeconds = (...args) => {
  try {
    const out = execFileSync(python.path, [SCRIPT, ...args.map(String)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      timeout: PYTHON_LIMIT_S * 1000,
      killSignal: 'SIGKILL',
    });
    return JSON.parse(out).seconds;
  } catch (error) {
    if (error.signal !== 'SIGKILL') throw error;
    pythonStopped++;
    return PYTHON_LIMIT_S;
  }
};

/** The row's note says how many Python runs were stopped (Python's figure is then a lower bound). */
function withStops(result, stoppedBefore) {
  const stopped = pythonStopped - stoppedBefore;
  if (result && stopped > 0) {
    result.note += ` ${stopped} Python run(s) did not finish within ${PYTHON_LIMIT_S} s and were stopped, counted as ${PYTHON_LIMIT_S} s: Python's figure is a lower bound.`;
  }
  return result;
}

/** µs per node of `run`, which computes a graph of `n` nodes built by `build` (the build is not timed). */
async function perNode(n, build, run) {
  const graph = build();
  const started = performance.now();
  await run(graph);
  return ((performance.now() - started) * 1000) / n;
}

export async function graphRows({ measure }, sizes) {
  const rows = [];
  // Every row's note says how many Python runs had to be stopped in it.
  const measured = async (...args) => {
    const before = pythonStopped;
    return withStops(await measure(...args), before);
  };
  const note = python
    ? `Dask ${python.dask} and joblib ${python.joblib} on Python ${python.python} (${python.path}).`
    : MISSING;
  const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  await pool.submit(inc, 1);
  try {
    const wide = (n) => () => delayed(total)(Array.from({ length: n }, (_, i) => delayed(inc)(i)));
    const chain = (n) => () => {
      let x = delayed(inc)(0);
      for (let i = 1; i < n; i++) x = delayed(inc)(x);
      return x;
    };
    for (const [shape, n, build, what] of [
      ['wide', sizes.graphNodes, wide(sizes.graphNodes), 'tiny delayed nodes and a sum over them'],
      ['chain', sizes.graphChain, chain(sizes.graphChain), 'tiny delayed nodes in a chain'],
    ]) {
      const result = await measured(
        `Graph scheduler, ${shape}: ${n.toLocaleString('en')} ${what}, 2 threads`,
        'µs/node',
        'lower',
        [
          { name: 'skein compute', once: () => perNode(n, build, (graph) => compute(graph, { executor: pool })) },
          ...(python
            ? [
                {
                  name: 'Dask threaded scheduler (dask.threaded.get)',
                  once: async () => (pythonSeconds(shape, n) * 1e6) / n,
                },
              ]
            : []),
        ],
        `${note} Building the graph is not timed, on either side. Dask runs a plain task dict (what dask.delayed builds), given to its threaded scheduler directly: dask.delayed itself builds a chain in quadratic time here (each call copies the graph's layers; 20,000 nodes take over 30 s), which is not scheduling.`,
      );
      rows.push(result);
    }

    const calls = sizes.parallelCalls;
    rows.push(
      await measured(
        `parallel: ${calls.toLocaleString('en')} tiny calls, 2 workers`,
        'calls/s',
        'higher',
        [
          {
            name: 'skein parallel (threads)',
            once: async () => {
              const started = performance.now();
              // A generator, as joblib's `delayed(inc)(i) for i in range(n)`: calls are made as they are read.
              function* tasks() {
                for (let i = 0; i < calls; i++) yield delayed(inc)(i);
              }
              await parallel(tasks(), { backend: pool });
              return calls / ((performance.now() - started) / 1000);
            },
          },
          ...(python
            ? [
                {
                  name: 'joblib Parallel(n_jobs=2) (loky)',
                  once: async () => calls / pythonSeconds('joblib', calls),
                },
              ]
            : []),
        ],
        `${note} Both read the calls from a generator (made as they are read, included in the time); both pools' workers are started before the clock (skein: a warm ThreadPoolExecutor passed as backend; joblib: its reusable loky executor).`,
      ),
    );

    const hits = sizes.memoryHits;
    const dir = mkdtempSync(join(tmpdir(), 'skein-bench-memory-'));
    try {
      const cached = new Memory(join(dir, 'skein')).cache(inc);
      await cached(1);
      rows.push(
        await measured(
          `Memory: a cache hit on a small value (${hits.toLocaleString('en')} hits in a row)`,
          'µs/hit',
          'lower',
          [
            {
              name: 'skein Memory',
              once: async () => {
                const started = performance.now();
                for (let i = 0; i < hits; i++) await cached(1);
                return ((performance.now() - started) * 1000) / hits;
              },
            },
            ...(python
              ? [
                  {
                    name: 'joblib Memory',
                    once: async () => (pythonSeconds('memory', hits, join(dir, 'joblib')) * 1e6) / hits,
                  },
                ]
              : []),
          ],
          `${note} Each hit reads the entry file, checks it and deserialises it.`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await pool.shutdown();
  }
  return rows;
}
