// Starts the real server for the integration tests, as tests/server/harness.c does: a temporary
// data directory, a generated YAML configuration with a free loopback port and one API key given
// by its SHA-256 (docs/config.md), `hypervisor serve --config FILE`, then wait for /health.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

/** The server binary: HV_HYPERVISOR_BIN, else the default build directory's. */
export const HYPERVISOR_BIN = process.env.HV_HYPERVISOR_BIN || join(repo, 'build/src/cli/hypervisor');
/** The compiled tests/server/wat modules: HV_TEST_WASM_DIR, else the default build's. */
export const TEST_WASM_DIR = process.env.HV_TEST_WASM_DIR || join(repo, 'build/tests/server/wasm');

/** The WASI example commands (examples/wasi, built into BUILD/examples/wasi): HV_EXAMPLES_WASI_DIR. */
export const EXAMPLES_WASI_DIR = process.env.HV_EXAMPLES_WASI_DIR || join(repo, 'build/examples/wasi');

/** @param {string} name e.g. "add" */
export function testModule(name) {
  return new Uint8Array(readFileSync(join(TEST_WASM_DIR, `${name}.wasm`)));
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => res(port));
    });
  });
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {{maxBodyBytes?: number, wasi?: boolean, playground?: boolean, playgroundDir?: string}} [options]
 *   wasi: `wasm.wasi: stdio`; playground: `server.playground: true`; playgroundDir: server.playground_dir
 * @returns {Promise<{url: string, apiKey: string, dir: string, output: () => string, stop: () => Promise<number|null>}>}
 */
export async function startServer({ maxBodyBytes = 16 * 1024 * 1024, wasi = false, playground = false, playgroundDir } = {}) {
  for (const [what, p] of [['HV_HYPERVISOR_BIN', HYPERVISOR_BIN], ['HV_TEST_WASM_DIR', TEST_WASM_DIR]])
    if (!existsSync(p)) throw new Error(`${what}: ${p} does not exist (build the C project first)`);
  const dir = mkdtempSync(join(tmpdir(), 'hv-js-test-'));
  const port = await freePort();
  const apiKey = `hvk_${randomBytes(32).toString('hex')}`;
  const hash = createHash('sha256').update(apiKey).digest('hex');
  const config = join(dir, 'config.yaml');
  writeFileSync(config, [
    'server:',
    '  host: "127.0.0.1"',
    `  port: ${port}`,
    '  workers: 2',
    `  max_body_bytes: ${maxBodyBytes}`,
    ...(playground ? ['  playground: true'] : []),
    ...(playgroundDir ? [`  playground_dir: "${playgroundDir}"`] : []),
    'wasm:',
    '  max_execution_time_seconds: 10',
    ...(wasi ? ['  wasi: stdio'] : []),
    'crypto:',
    `  key_dir: "${dir}/data/keys"`,
    'storage:',
    '  backend: sqlite',
    `  path: "${dir}/data/audit.db"`,
    // High enough that the tests never meet the rate limit.
    'rate_limit:',
    '  requests_per_second: 1000',
    '  burst: 1000',
    'logging:',
    '  level: info',
    `  file: "${dir}/server.log"`,
    'auth:',
    '  api_keys:',
    '    - id: js-test',
    `      sha256: "${hash}"`,
    '',
  ].join('\n'));
  const outPath = join(dir, 'stdout');
  const out = openSync(outPath, 'a');
  const env = { ...process.env };
  delete env.HYPERVISOR_LOG;
  const child = spawn(HYPERVISOR_BIN, ['serve', '--config', config], { cwd: dir, stdio: ['ignore', out, out], env });
  closeSync(out);
  /** @type {number|null|undefined} */
  let exitCode;
  const exited = new Promise((r) => child.on('exit', (code, sig) => { exitCode = code ?? (sig ? -1 : null); r(exitCode); }));
  const output = () => {
    try { return readFileSync(outPath, 'utf8') + readFileSync(join(dir, 'server.log'), 'utf8'); } catch { return ''; }
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`the server exited (${exitCode}) before it was healthy:\n${output()}`);
    try {
      const r = await fetch(`${url}/health`);
      await r.arrayBuffer();
      if (r.status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server was not healthy within 30 s:\n${output()}`);
    }
    await sleep(20);
  }
  const stop = async () => {
    if (exitCode === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
    return /** @type {number|null} */ (exitCode);
  };
  return { url, apiKey, dir, output, stop };
}
