// The playground (docs/playground.md) against a real server with `server.playground: true`:
//   - how its files are served: types, Content-Security-Policy, nosniff, no way out of the
//     directory (raw paths, sent as written), off unless configured, server.playground_dir;
//   - in headless Chromium, as a person would use it: WebAssembly text typed and compiled in the
//     page, an export picked, arguments entered, run; a success with the commitments checked, a
//     trap, a timeout, gas running out, a string round trip, a .wasm file chosen. Each leaves a
//     screenshot in HV_ARTIFACTS_DIR.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, TEST_WASM_DIR } from '../../js/test/server.js';
import { REPO, artifactsDir, launchChromium } from './browser.js';

/** The built files (BUILD/clients/playground/dist): HV_PLAYGROUND_DIST. */
const DIST = process.env.HV_PLAYGROUND_DIST || join(REPO, 'build/clients/playground/dist');

/** GET with the path exactly as written (fetch would resolve "..": the server must see it). */
function rawGet(/** @type {string} */ base, /** @type {string} */ path) {
  const u = new URL(base);
  return new Promise((res, rej) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (r) => {
      const chunks = /** @type {Buffer[]} */ ([]);
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', rej);
    req.end();
  });
}

const TRAVERSALS = [
  '/playground/../config.yaml', '/playground/..%2fconfig.yaml', '/playground/%2e%2e%2fconfig.yaml',
  '/playground/..%2Fconfig.yaml', '/playground/%2e%2e/config.yaml', '/playground//etc/passwd',
  '/playground/.%2e/config.yaml', '/playground/..', '/playground/.hidden.js', '/playground/%2fetc%2fpasswd',
  '/playground/config.yaml', '/playground/nosuch.js', '/playground/', '/playground', '/index.html/',
];

describe('serving the playground', () => {
  /** @type {any} */ let on;
  /** @type {any} */ let off;
  before(async () => {
    [on, off] = await Promise.all([startServer({ playground: true }), startServer()]);
    writeFileSync(join(on.dir, 'secret.js'), 'the server\'s own files must stay out of reach');
  });
  after(async () => {
    for (const s of [on, off]) if (s) assert.equal(await s.stop(), 0);
  });

  it('/ is the page, with a strict CSP and nosniff; its assets have their types', async () => {
    const page = /** @type {any} */ (await rawGet(on.url, '/'));
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const csp = page.headers['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|\*|data:/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    const html = page.body.toString();
    assert.match(html, /<script type="module" src="\/playground\/app.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<script type="module">|style=/, 'no inline script or style');
    const js = /** @type {any} */ (await rawGet(on.url, '/playground/app.js'));
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.headers['content-security-policy'], csp);
    assert.ok(js.body.length > 100_000, 'the bundle holds the client, @hpke/core and wabt');
    const css = /** @type {any} */ (await rawGet(on.url, '/playground/app.css'));
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    // The API keeps its answers: the page's CSP goes only with the page's files.
    const health = /** @type {any} */ (await rawGet(on.url, '/health'));
    assert.equal(health.status, 200);
    assert.equal(health.headers['content-security-policy'], undefined);
  });

  it('no path leaves the directory or names a file it has not', async () => {
    for (const p of TRAVERSALS) {
      const r = /** @type {any} */ (await rawGet(on.url, p));
      assert.equal(r.status, 404, `${p} answered ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /must stay out of reach|root:/, p);
      assert.equal(JSON.parse(r.body.toString()).error_code, 'NOT_FOUND', p);
    }
  });

  it('is off unless the configuration file turns it on', async () => {
    for (const p of ['/', '/playground/app.js', '/playground/index.html']) {
      const r = /** @type {any} */ (await rawGet(off.url, p));
      assert.equal(r.status, 404, p);
      assert.equal(JSON.parse(r.body.toString()).error_code, 'NOT_FOUND');
    }
  });

  it('server.playground_dir: the files of an installed directory, no symlink followed', async () => {
    const dir = join(on.dir, 'installed');
    mkdirSync(dir);
    cpSync(DIST, dir, { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'from the installed directory\n');
    symlinkSync(join(on.dir, 'secret.js'), join(dir, 'linked.js'));
    mkdirSync(join(dir, 'sub.js'));
    const s = await startServer({ playground: true, playgroundDir: dir });
    try {
      const notes = /** @type {any} */ (await rawGet(s.url, '/playground/notes.txt'));
      assert.equal(notes.status, 200);
      assert.equal(notes.body.toString(), 'from the installed directory\n');
      assert.equal(notes.headers['content-type'], 'text/plain; charset=utf-8');
      const page = /** @type {any} */ (await rawGet(s.url, '/'));
      assert.equal(page.status, 200);
      assert.deepEqual(page.body, readFileSync(join(DIST, 'index.html')));
      for (const p of ['/playground/linked.js', '/playground/sub.js', ...TRAVERSALS]) {
        const r = /** @type {any} */ (await rawGet(s.url, p));
        assert.equal(r.status, 404, `${p} answered ${r.status}`);
        assert.doesNotMatch(r.body.toString(), /must stay out of reach/, p);
      }
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe('the playground in headless Chromium', () => {
  /** @type {any} */ let server;
  /** @type {any} */ let browser;
  /** @type {any} */ let page;
  /** @type {string[]} */ const problems = [];
  const shots = artifactsDir();

  before(async () => {
    server = await startServer({ playground: true });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    page.on('pageerror', (/** @type {Error} */ e) => problems.push(`page error: ${e.message}`));
    page.on('console', (/** @type {any} */ m) => {
      // The browser logs every 4xx it fetched (the error runs, /favicon.ico); anything else, a CSP
      // violation above all, is a finding.
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 10_000 });
  });

  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0, 'the server stopped cleanly');
  });

  /** Types the text, compiles it in the page and picks the export. */
  async function program(/** @type {string|null} */ wat, /** @type {string} */ fn) {
    await page.check('[data-testid=source-wat]');
    if (wat !== null) await page.fill('[data-testid=wat]', wat);
    await page.click('[data-testid=load]');
    await page.waitForSelector('[data-testid=program-status].ok', { timeout: 15_000 });
    await page.selectOption('[data-testid=export]', fn);
  }

  /** Fills the argument rows: [type, text] each. */
  async function args(/** @type {Array<[string, string]>} */ list) {
    const rows = page.locator('[data-testid=args] .arg');
    while (await rows.count() > list.length) await rows.last().getByRole('button').click();
    while (await rows.count() < list.length) await page.click('[data-testid=add-arg]');
    for (let i = 0; i < list.length; i++) {
      await rows.nth(i).locator('select').selectOption(list[i][0]);
      await rows.nth(i).locator('input[type=text]').fill(list[i][1]);
    }
  }

  async function run(/** @type {{gas?: string, timeout?: string, results?: string}} */ o = {}) {
    await page.fill('[data-testid=gas]', o.gas ?? '');
    await page.fill('[data-testid=timeout]', o.timeout ?? '');
    await page.selectOption('[data-testid=results]', o.results ?? '');
    await page.fill('[data-testid=api-key]', server.apiKey);
    await page.click('[data-testid=run]');
    await page.waitForSelector('[data-testid=commitments], [data-testid=error]', { timeout: 20_000 });
  }

  async function shot(/** @type {string} */ name) {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  }

  const text = (/** @type {string} */ id) => page.locator(`[data-testid=${id}]`).innerText();

  it('a successful run: WAT typed and compiled in the page, add 40 2, commitments checked', async () => {
    await program(null, 'add'); // the page's own example text
    assert.equal(await page.locator('[data-testid=args] .arg').count(), 2, 'two i32 parameters read from the module');
    await args([['i32', '40'], ['i32', '2']]);
    await run();
    assert.equal(await text('results-value'), 'i32 42');
    assert.match(await text('commitments'), /^commitments checked/);
    const summary = JSON.parse(await text('summary'));
    assert.equal(summary.status, 'success');
    assert.ok(summary.gas_used > 0);
    const href = await page.locator('[data-testid=verify-link]').getAttribute('href');
    assert.match(href, /^\/v1\/verify\/[0-9a-f-]{36}$/);
    const record = await (await fetch(server.url + href)).json();
    assert.equal(record.status, 'success');
    await shot('success');
    assert.deepEqual(problems, []);
  });

  it('a trap: EXECUTION_TRAP, its sealed detail opened in the page', async () => {
    await program(null, 'boom');
    await args([]);
    await run();
    const err = await text('error');
    assert.match(err, /^EXECUTION_TRAP \(HTTP 422\)/);
    assert.match(err, /sealed detail: .*boom.*unreachable/);
    await shot('trap');
  });

  it('a timeout: an endless loop with a 1 s limit is EXECUTION_TIMEOUT; with a small gas limit GAS_EXHAUSTED', async () => {
    await program(null, 'spin');
    await args([]);
    await run({ timeout: '1' });
    assert.match(await text('error'), /^EXECUTION_TIMEOUT \(HTTP 422\)/);
    assert.equal(JSON.parse(await text('summary')).status, 'EXECUTION_TIMEOUT');
    await shot('timeout');
    await run({ gas: '5000' });
    assert.match(await text('error'), /^GAS_EXHAUSTED \(HTTP 422\)/);
    await shot('gas');
  });

  it('a string round trip through the Canonical ABI', async () => {
    const wat = readFileSync(join(REPO, 'tests/server/wat/strings.wat'), 'utf8');
    const s = 'Grüße, 世界 "quoted" 😀';
    await program(wat, 'echo');
    await args([['string', s]]);
    await run({ results: 'string' });
    assert.equal(await text('results-value'), JSON.stringify(s));
    assert.match(await text('commitments'), /^commitments checked/);
    await shot('string');
  });

  it('a .wasm file chosen from disk: its exports listed', async () => {
    await page.check('[data-testid=source-file]');
    await page.setInputFiles('[data-testid=wasm-file]', join(TEST_WASM_DIR, 'add.wasm'));
    await page.waitForSelector('[data-testid=program-status].ok', { timeout: 10_000 });
    const names = await page.locator('[data-testid=export] option').allInnerTexts();
    assert.ok(names.includes('add') && names.includes('add64'), names.join(','));
    await page.selectOption('[data-testid=export]', 'add64');
    await args([['i64', '9007199254740993'], ['i64', '2']]);
    await run();
    assert.equal(await text('results-value'), 'i64 9007199254740995');
  });

  it('text that does not compile is reported in the page, nothing is sent', async () => {
    await page.check('[data-testid=source-wat]');
    await page.fill('[data-testid=wat]', '(module (func (export "f") (result i32) i64.const 1))');
    await page.click('[data-testid=load]');
    await page.waitForSelector('[data-testid=program-status].bad');
    assert.match(await text('program-status'), /Cannot use this program/);
    assert.deepEqual(problems, []);
  });
});
