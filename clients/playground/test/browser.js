// What the Chromium tests share: the packages `npm ci` installed at build time (their directory is
// HV_PLAYGROUND_NODE_MODULES, outside this source tree) and Debian's chromium started headless.
import { createRequire } from 'node:module';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../../..');
export const modulesDir = process.env.HV_PLAYGROUND_NODE_MODULES || join(REPO, 'build/clients/playground/npm/node_modules');
/** require() from the build's node_modules (playwright-core and esbuild are CommonJS). */
export const requireBuilt = createRequire(join(modulesDir, 'noop.js'));

/** Where screenshots go: HV_ARTIFACTS_DIR (BUILD/artifacts/playground under CTest). */
export function artifactsDir() {
  const d = process.env.HV_ARTIFACTS_DIR || join(REPO, 'build/artifacts/playground');
  mkdirSync(d, { recursive: true });
  return d;
}

/** Debian's chromium, headless. Without the background-networking flags it can hang on refused
 * connections; --no-sandbox because the tests may run as root. */
export async function launchChromium() {
  const { chromium } = requireBuilt('playwright-core');
  return chromium.launch({
    executablePath: process.env.HV_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
