/** The package as npm ships it: what `npm pack` holds, its entry points, its published types. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  scripts: Record<string, string>;
  license: string;
};

describe('npm pack', () => {
  it('ships the built dist/ (library, types, CLI, worker bundle), README and LICENSE, and no sources or tests', () => {
    // --ignore-scripts: list what is there now (`npm test` has just built it) instead of rebuilding
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(pack.status, 0, pack.stderr);
    const files = new Set((JSON.parse(pack.stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/pool/worker-entry.cjs',
    ]) {
      assert.ok(files.has(path), `npm pack lacks ${path}`);
    }
    assert.ok(![...files].some((path) => /^(src|test|bench|tools)\//.test(path)), [...files].join('\n'));
  });

  it('builds on prepare, so that an install from git or a clone has dist/', () => {
    assert.match(manifest.scripts.prepare ?? '', /npm run build/);
  });

  it('has a LICENSE matching package.json', () => {
    assert.equal(manifest.license, 'MIT');
    assert.match(readFileSync(`${root}LICENSE`, 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} the skein authors/);
  });
});

describe('package.json exports', () => {
  it('gives every entry point types and a default condition (so require() finds it), built in dist/', () => {
    assert.ok(manifest.exports['.'], 'no "." export');
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (subpath === './package.json') continue;
      assert.ok(typeof target === 'object' && target.types && target.default, `${subpath}: ${JSON.stringify(target)}`);
      const source = target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts');
      // An entry whose source is still being written (a planned subpath) is not built yet.
      if (subpath !== '.' && !existsSync(`${root}${source}`)) continue;
      assert.ok(existsSync(`${root}${target.default.slice(2)}`), `${subpath}: ${target.default} was not built`);
      assert.ok(existsSync(`${root}${target.types.slice(2)}`), `${subpath}: ${target.types} was not built`);
    }
  });

  it("lets a CommonJS file require('skein') and run a pool (Node >= 20.19)", (t) => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major === 20 && minor < 19) {
      t.skip(`Node ${process.version} cannot require an ES module (20.19 can); use import('skein') there`);
      return;
    }
    const run = spawnSync(process.execPath, [`${root}test/fixtures/require-skein.cjs`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '[1,4,9,16]');
  });
});

describe('published types', () => {
  it("strip Future's @internal executor-side methods, which the code still has", () => {
    const types = readFileSync(`${root}dist/futures/base.d.ts`, 'utf8');
    const code = readFileSync(`${root}dist/futures/base.js`, 'utf8');
    assert.match(types, /\bresult\(timeoutMs\?: number\): Promise<T>;/);
    for (const internal of ['setRunningOrNotifyCancel', 'setResult', 'setException', 'setCancelled']) {
      assert.doesNotMatch(types, new RegExp(`^\\s+${internal}\\(`, 'm'), `${internal} is in the published types`);
      assert.match(code, new RegExp(`^\\s+${internal}\\(`, 'm'), `${internal} is missing from the code`);
    }
  });
});
