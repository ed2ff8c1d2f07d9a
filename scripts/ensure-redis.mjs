#!/usr/bin/env node
// Before `npm test`: the distributed tests need Debian's redis-server (they start their own, on
// a free loopback port). Installs it when missing and this user may (root, apt-get present);
// otherwise says how, and the distributed tests fail saying the same.
import { execFileSync, spawnSync } from 'node:child_process';

const has = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
if (!has('redis-server')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    process.stderr.write('installing redis-server (for the distributed tests)...\n');
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', 'redis-server'], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    process.stderr.write(
      'redis-server is missing: install it (apt-get install redis-server) for the distributed tests\n',
    );
  }
}
