/**
 * The README's quick start, run as a user would: its code blocks written to files in a fresh folder
 * whose node_modules/skein is this package, then run with node. An edit that breaks the README's
 * code fails here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The README's code block whose first line is the comment `// <file>: ...`. */
function codeBlock(file: string): string {
  const block = [...readme.matchAll(/```(?:js|ts)\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((code) => code.startsWith(`// ${file}:`));
  assert.ok(block, `the README has no code block starting with "// ${file}:"`);
  return block;
}

describe('README quick start', () => {
  let project = '';
  before(() => {
    project = mkdtempSync(join(tmpdir(), 'skein-readme-'));
    writeFileSync(join(project, 'package.json'), '{ "name": "app", "version": "1.0.0", "type": "commonjs" }\n');
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(root, join(project, 'node_modules', 'skein'), 'dir');
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  const node = (file: string) =>
    spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });

  it('runs the ES module example and prints what its comments say', () => {
    writeFileSync(join(project, 'tasks.mjs'), codeBlock('tasks.mjs'));
    writeFileSync(join(project, 'main.mjs'), codeBlock('main.mjs'));
    const run = node('main.mjs');
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map(Number);
    // submit, then map in input order, then asCompleted in finishing order (usually 1e6 first, but a
    // loaded machine may start the worker with 1e6 late)
    assert.deepEqual(lines.slice(0, 4), [78498, 9592, 17984, 25997]);
    assert.deepEqual(
      lines.slice(4).sort((a, b) => a - b),
      [78498, 148933],
    );
  });

  it('runs the CommonJS example, with the task module its comment gives', (t) => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major === 20 && minor < 19) {
      t.skip(`Node ${process.version} cannot require an ES module`);
      return;
    }
    const main = codeBlock('main.cjs');
    const tasks = main.match(/\/\/ tasks\.cjs: (.*)$/m)?.[1];
    assert.ok(tasks, 'main.cjs should say what tasks.cjs holds');
    writeFileSync(join(project, 'tasks.cjs'), `${tasks}\n`);
    writeFileSync(join(project, 'main.cjs'), main);
    const run = node('main.cjs');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), '[ 1, 4, 9 ]');
  });
});
