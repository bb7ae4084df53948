// The end-to-end scenarios against a real server, as one table shared by every client of the
// protocol: the rows are data in clients/scenarios.json (this client under Node and in a browser,
// and clients/python read the same file); this module decodes them into typed values.
//
// A row: `module` (tests/server/wat/NAME.wat, compiled), `fn` (the export), `args` (typed values),
// `options` (execute's options: protocol, results, gasLimit, timeoutSeconds), then either
// `results` (what the call must return, compared with SameValue, so NaN and -0 count, and bytes
// byte for byte) or `error`: the reply's HTTP status and error_code, a pattern the detail opened
// from encrypted_error must match, and, for v1.1, text the clear message must not show (the
// contract: nothing from the program in plaintext). The file's "about" member describes how
// values JSON cannot hold (NaN, i64 beyond 2^53, 1 MiB of bytes) are written.

import { i32, i64, f32, f64, str, bytes, fromBase64 } from '../src/index.js';

// A JSON module: Node (>= 20.10) and browsers load it natively, and esbuild inlines it when the
// browser test bundles this file, so one import serves every place the table runs.
import SCENARIO_DATA from '../../scenarios.json' with { type: 'json' };

const FLOATS = { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 };

/**
 * The bytes a `{count, fill, seed?}` or `{base64}` object describes.
 * @param {any} spec
 * @returns {Uint8Array}
 */
export function decodeBytes(spec) {
  if (typeof spec?.base64 === 'string') return fromBase64(spec.base64);
  const b = new Uint8Array(spec.count);
  if (spec.fill === 'counter') {
    for (let i = 0; i < b.length; i++) b[i] = i & 0xff;
  } else if (spec.fill === 'xorshift32') {
    let x = spec.seed >>> 0;
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      b[i] = x & 0xff;
    }
  } else {
    throw new Error(`scenarios.json: unknown bytes fill ${JSON.stringify(spec.fill)}`);
  }
  return b;
}

/**
 * One `[type, encoded]` pair of the file as a typed value.
 * @param {[string, any]} pair
 * @returns {import('../src/values.js').TypedValue}
 */
export function decodeValue([type, v]) {
  switch (type) {
    case 'i32': return i32(v);
    case 'i64': return i64(BigInt(v));
    case 'f32': return f32(typeof v === 'string' ? FLOATS[/** @type {keyof FLOATS} */ (v)] : v);
    case 'f64': return f64(typeof v === 'string' ? FLOATS[/** @type {keyof FLOATS} */ (v)] : v);
    case 'string': return str(v);
    case 'bytes': return bytes(decodeBytes(v));
  }
  throw new Error(`scenarios.json: unknown type ${JSON.stringify(type)}`);
}

const OPTION_NAMES = { protocol: 'protocol', results: 'results', gas_limit: 'gasLimit', timeout_seconds: 'timeoutSeconds' };

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {'add'|'strings'|'bigmem'|'secret_import'} module
 * @property {string} fn
 * @property {import('../src/values.js').TypedValue[]} args
 * @property {import('../index.js').ExecuteOptions} [options]
 * @property {import('../src/values.js').TypedValue[]} [results]
 * @property {{httpStatus: number, errorCode: string, detail: RegExp, clearHides?: string}} [error]
 */

/** @type {Scenario[]} */
export const SCENARIOS = SCENARIO_DATA.scenarios.map((/** @type {any} */ row) => {
  /** @type {any} */
  const s = { name: row.name, module: row.module, fn: row.function, args: row.args.map(decodeValue) };
  if (row.options) {
    s.options = {};
    for (const [k, v] of Object.entries(row.options)) {
      const name = OPTION_NAMES[/** @type {keyof OPTION_NAMES} */ (k)];
      if (!name) throw new Error(`scenarios.json: ${row.name}: unknown option ${k}`);
      s.options[name] = v;
    }
  }
  if (row.results) s.results = row.results.map(decodeValue);
  if (row.error) {
    s.error = { httpStatus: row.error.http_status, errorCode: row.error.error_code, detail: new RegExp(row.error.detail) };
    if (row.error.clear_hides !== undefined) s.error.clearHides = row.error.clear_hides;
  }
  return s;
});
