// The scenario table (scenarios.js) run by the client inside a browser page: the same rows and the
// same checks as server.test.js, without Node's assert (this file is bundled for the browser by
// clients/playground/test/js_client_browser.test.js). Each row's outcome comes back as
// {name, ok, message}.

import { HypervisorClient, HypervisorError, VerificationError } from '../src/index.js';
import { SCENARIOS } from './scenarios.js';

export { SCENARIOS };

/** SameValue per value, bytes byte for byte: as assert.deepStrictEqual compares TypedValues. */
function sameValues(/** @type {any[]} */ got, /** @type {any[]} */ want) {
  if (!Array.isArray(got) || got.length !== want.length) return false;
  return want.every((w, i) => {
    const g = got[i];
    if (!g || g.type !== w.type) return false;
    if (w.value instanceof Uint8Array)
      return g.value instanceof Uint8Array && g.value.length === w.value.length && w.value.every((b, k) => g.value[k] === b);
    return Object.is(g.value, w.value);
  });
}

const show = (/** @type {any} */ v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `<${x.length} bytes>` : x));

/**
 * @param {import('./scenarios.js').Scenario} s
 * @param {HypervisorClient} client
 * @param {Record<string, Uint8Array>} modules
 */
async function runOne(s, client, modules) {
  let r;
  try {
    r = await client.execute(modules[s.module], s.fn, s.args, s.options);
  } catch (e) {
    if (!s.error) throw new Error(`unexpected error: ${/** @type {Error} */ (e).stack ?? e}`);
    const want = s.error;
    const err = /** @type {any} */ (e);
    if (!(err instanceof HypervisorError) || err instanceof VerificationError) throw new Error(`not a service error: ${err?.stack ?? err}`);
    if (err.httpStatus !== want.httpStatus) throw new Error(`HTTP ${err.httpStatus}, expected ${want.httpStatus}`);
    if (err.errorCode !== want.errorCode) throw new Error(`${err.errorCode}, expected ${want.errorCode}`);
    if (typeof err.requestId !== 'string') throw new Error('no request_id');
    if (typeof err.body?.encrypted_error !== 'string') throw new Error('the reply carries no encrypted_error');
    if (typeof err.detail !== 'string' || !want.detail.test(err.detail)) throw new Error(`sealed detail ${show(err.detail)} does not match ${want.detail}`);
    if (want.clearHides && (err.message.includes(want.clearHides) || JSON.stringify(err.body).includes(want.clearHides)))
      throw new Error(`the clear reply shows "${want.clearHides}"`);
    return;
  }
  if (!s.results) throw new Error(`expected ${s.error?.errorCode}, got results ${show(r.results)}`);
  if (!sameValues(r.results, s.results)) throw new Error(`results ${show(r.results)}, expected ${show(s.results)}`);
  if (r.executionSummary?.status !== 'success') throw new Error(`execution_summary.status ${r.executionSummary?.status}`);
}

/**
 * Runs every scenario in this page against the server at baseUrl.
 * @param {{baseUrl: string, apiKey: string, modules: Record<string, Uint8Array>}} o
 */
export async function runScenarios({ baseUrl, apiKey, modules }) {
  const client = new HypervisorClient({ baseUrl, apiKey });
  const out = [];
  for (const s of SCENARIOS) {
    try {
      await runOne(s, client, modules);
      out.push({ name: s.name, ok: true, message: '' });
    } catch (e) {
      out.push({ name: s.name, ok: false, message: String(/** @type {Error} */ (e).message ?? e) });
    }
  }
  return out;
}
