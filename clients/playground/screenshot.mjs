// Makes the README's screenshot (docs/img/playground.png): a real server with the playground on,
// the page's own example run as `add 40 2` in headless Chromium, the page saved at 0.7 scale.
//   HV_PLAYGROUND_NODE_MODULES=build/clients/playground/npm/node_modules \
//     node clients/playground/screenshot.mjs 0.7 docs/img/playground.png
// (HV_HYPERVISOR_BIN and HV_TEST_WASM_DIR default to the build directory's, as in the tests.)
import { startServer } from '../js/test/server.js';
import { launchChromium } from './test/browser.js';
const server = await startServer({ playground: true });
const browser = await launchChromium();
const ctx = await browser.newContext({ viewport: { width: 900, height: 800 }, deviceScaleFactor: Number(process.argv[2] || 0.7) });
const page = await ctx.newPage();
await page.goto(server.url + '/');
await page.waitForSelector('body[data-ready=true]');
await page.click('[data-testid=load]');
await page.waitForSelector('[data-testid=program-status].ok');
const rows = page.locator('[data-testid=args] .arg');
await rows.nth(0).locator('input[type=text]').fill('40');
await rows.nth(1).locator('input[type=text]').fill('2');
await page.fill('[data-testid=api-key]', server.apiKey);
await page.click('[data-testid=run]');
await page.waitForSelector('[data-testid=commitments]');
await page.screenshot({ path: process.argv[3], fullPage: true });
await browser.close();
await server.stop();
