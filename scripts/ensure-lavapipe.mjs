#!/usr/bin/env node
// Before `npm test` and in CI: the GPU tests run the real WebGPU code path on lavapipe, Mesa's
// software Vulkan driver. Dawn (the `webgpu` package) refuses bookworm's Mesa 22 lavapipe (it
// lacks the shaderUniform*ArrayDynamicIndexing features Dawn requires) but accepts Mesa 25 from
// bookworm-backports. Installs that when it is missing and this user may (root, Debian bookworm,
// apt-get present); otherwise says how, and the GPU tests skip their device part saying why.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The oldest Mesa whose lavapipe Dawn accepts (measured: 22.3.6 refused, 25.0.7 works). */
const MIN_MESA_MAJOR = 23;
const DEBIAN_SOURCES = '/etc/apt/sources.list.d/debian.sources';
const BACKPORTS_SOURCES = '/etc/apt/sources.list.d/skein-bookworm-backports.sources';

function installedVersion(pkg) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own field syntax, not a template
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg], { encoding: 'utf8' });
  if (query.status !== 0 || !query.stdout.startsWith('install ok installed')) return undefined;
  return query.stdout.split(' ').at(-1);
}

function lavapipeReady() {
  const mesa = installedVersion('mesa-vulkan-drivers');
  return (
    mesa !== undefined && Number.parseInt(mesa, 10) >= MIN_MESA_MAJOR && installedVersion('libvulkan1') !== undefined
  );
}

function isBookworm() {
  try {
    return /^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

/** A deb822 source for bookworm-backports with the mirror and key of the machine's main source. */
function backportsSource() {
  const main = readFileSync(DEBIAN_SOURCES, 'utf8').split(/\n\s*\n/)[0] ?? '';
  const uris = /^URIs:.*$/m.exec(main)?.[0];
  const signedBy = /^Signed-By:.*$/m.exec(main)?.[0];
  if (!uris || !signedBy) throw new Error(`${DEBIAN_SOURCES} has no URIs:/Signed-By: lines to copy`);
  return `Types: deb\n${uris}\nSuites: bookworm-backports\nComponents: main\n${signedBy}\n`;
}

const has = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
const HOW =
  'add bookworm-backports to apt and run `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`';

if (process.platform === 'linux' && !lavapipeReady()) {
  if (process.getuid?.() === 0 && has('apt-get') && isBookworm() && existsSync(DEBIAN_SOURCES)) {
    process.stderr.write('installing Mesa lavapipe from bookworm-backports (for the GPU tests)...\n');
    try {
      if (!existsSync(BACKPORTS_SOURCES)) writeFileSync(BACKPORTS_SOURCES, backportsSource());
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync(
        'apt-get',
        [
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          '-t',
          'bookworm-backports',
          'mesa-vulkan-drivers',
          'libvulkan1',
        ],
        { stdio: 'inherit', env },
      );
    } catch (error) {
      // The GPU tests then skip their device part, saying why; nothing else needs the driver.
      process.stderr.write(`could not install lavapipe (${error.message}): ${HOW}\n`);
    }
  } else {
    process.stderr.write(
      `a Vulkan driver Dawn accepts is missing (the GPU tests will skip their device part): ${HOW}\n`,
    );
  }
}
