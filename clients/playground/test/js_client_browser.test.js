// The JavaScript client's scenario list (clients/js/test/scenarios.js) run inside headless Chromium
// against a real server: clients/js/test/browser-scenarios.js is bundled with esbuild, and the test
// page is served at the server's own origin (Playwright answers its two URLs under /__js_client_test/;
// every API request goes to the real server), so the browser sends no cross-origin request.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, testModule } from '../../js/test/server.js';
import { REPO, launchChromium, modulesDir, requireBuilt } from './browser.js';

const MODULES = ['add', 'strings', 'bigmem', 'secret_import'];
const esbuild = requireBuilt('esbuild');
// The page's code: the scenario runner and the client, @hpke/core from the playground's packages.
const bundle = await esbuild.build({
  entryPoints: [join(REPO, 'clients/js/test/browser-scenarios.js')],
  bundle: true, write: false, format: 'esm', platform: 'browser', target: 'chrome111', logLevel: 'warning',
  nodePaths: [modulesDir], alias: { '@hpke/core': join(modulesDir, '@hpke/core') },
});
const pageCode = bundle.outputFiles[0].text;
// The same code imported here too, for the table's row names: one test per row. (Importing
// scenarios.js straight would need clients/js's own node_modules, which js_client installs.)
const { SCENARIOS } = await import(`data:text/javascript;base64,${Buffer.from(pageCode).toString('base64')}`);

describe('the JavaScript client inside headless Chromium', () => {
  /** @type {any} */ let server;
  /** @type {any} */ let browser;
  /** @type {Map<string, {ok: boolean, message: string}>} */
  const outcomes = new Map();
  /** @type {string} */ let userAgent = '';

  before(async () => {
    server = await startServer();
    browser = await launchChromium();
    const page = await browser.newPage();
    /** @type {string[]} */ const problems = [];
    page.on('pageerror', (/** @type {Error} */ e) => problems.push(e.message));
    const base = `${server.url}/__js_client_test`;
    await page.route(`${base}/**`, (/** @type {any} */ route) => {
      const path = new URL(route.request().url()).pathname;
      if (path.endsWith('/index.html'))
        return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>js client</title><script type="module" src="runner.js"></script>' });
      if (path.endsWith('/runner.js'))
        return route.fulfill({ contentType: 'text/javascript', body: `${pageCode}\nwindow.hvRunScenarios = runScenarios;` });
      return route.fulfill({ status: 404, body: '' });
    });
    // The bundle's `export` would be a syntax error in a classic script: it is a module script, and
    // runScenarios is bound in its scope, which the appended line hands to the page.
    await page.goto(`${base}/index.html`);
    await page.waitForFunction(() => typeof (/** @type {any} */ (window)).hvRunScenarios === 'function', null, { timeout: 10_000 });
    userAgent = await page.evaluate(() => navigator.userAgent);
    const modules = Object.fromEntries(MODULES.map((m) => [m, Array.from(testModule(m))]));
    const results = await page.evaluate(async ({ apiKey, modules }) => {
      const m = Object.fromEntries(Object.entries(modules).map(([k, v]) => [k, new Uint8Array(v)]));
      return (/** @type {any} */ (window)).hvRunScenarios({ baseUrl: location.origin, apiKey, modules: m });
    }, { apiKey: server.apiKey, modules });
    for (const r of results) outcomes.set(r.name, r);
    assert.deepEqual(problems, [], 'errors in the page');
  });

  after(async () => {
    await browser?.close();
    if (server) assert.equal(await server.stop(), 0, 'the server stopped cleanly');
  });

  it('runs in Chromium, not in Node', () => {
    assert.match(userAgent, /HeadlessChrome|Chrome\//);
  });

  for (const s of /** @type {Array<{name: string}>} */ (SCENARIOS)) {
    it(`scenario in the browser: ${s.name}`, () => {
      const o = outcomes.get(s.name);
      assert.ok(o, 'the page ran it');
      assert.ok(o.ok, o.message);
    });
  }
});
