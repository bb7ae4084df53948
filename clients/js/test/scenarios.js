// The end-to-end scenarios against a real server, as one table: the same list is meant to be run
// by every client of the protocol (this one under Node and in a browser, the Python one).
//
// A row: `module` (tests/server/wat/NAME.wat, compiled), `fn` (the export), `args` (typed values),
// `options` (execute's options: protocol, results, gasLimit, timeoutSeconds), then either
// `results` (what the call must return, compared with SameValue, so NaN and -0 count, and bytes
// byte for byte) or `error`: the reply's HTTP status and error_code, a pattern the detail opened
// from encrypted_error must match, and, for v1.1, text the clear message must not show (the
// contract: nothing from the program in plaintext).

import { i32, i64, f32, f64, str, bytes } from '../src/index.js';

/** 1 MiB of every byte value, in a fixed pseudo-random order (no run of one value hides a bug). */
export const MIB = (() => {
  const b = new Uint8Array(1 << 20);
  let x = 0x12345678;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
})();

const ALL_BYTES = new Uint8Array(256).map((_, i) => i);
const TRICKY_TEXT = 'Grüße, 世界 "quoted" back\\slash\nnew line\ttab \u0000 NUL \u007f 😀';

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
export const SCENARIOS = [
  // Numbers (add.wat).
  { name: 'i32 add', module: 'add', fn: 'add', args: [i32(40), i32(2)], results: [i32(42)] },
  { name: 'i32 negative', module: 'add', fn: 'add', args: [i32(-5), i32(3)], results: [i32(-2)] },
  { name: 'i32 wraps around', module: 'add', fn: 'add', args: [i32(2147483647), i32(1)], results: [i32(-2147483648)] },
  { name: 'i32 upper half as the bit pattern', module: 'add', fn: 'add', args: [i32(4294967295), i32(0)], results: [i32(-1)] },
  { name: 'i64 small', module: 'add', fn: 'add64', args: [i64(-7n), i64(3n)], results: [i64(-4n)] },
  { name: 'i64 beyond 2^53', module: 'add', fn: 'add64', args: [i64(9007199254740993n), i64(2n)], results: [i64(9007199254740995n)] },
  { name: 'i64 to the minimum', module: 'add', fn: 'add64', args: [i64(-(2n ** 62n)), i64(-(2n ** 62n))], results: [i64(-(2n ** 63n))] },
  { name: 'i64 upper half as the bit pattern', module: 'add', fn: 'add64', args: [i64(2n ** 64n - 1n), i64(0n)], results: [i64(-1n)] },
  { name: 'f32 product', module: 'add', fn: 'mulf', args: [f32(1.5), f32(-2.25)], results: [f32(-3.375)] },
  { name: 'f32 rounding', module: 'add', fn: 'mulf', args: [f32(0.1), f32(3)], results: [f32(Math.fround(Math.fround(0.1) * 3))] },
  { name: 'f32 NaN in, NaN out', module: 'add', fn: 'mulf', args: [f32(NaN), f32(1)], results: [f32(NaN)] },
  { name: 'f32 overflow to inf', module: 'add', fn: 'mulf', args: [f32(3e38), f32(10)], results: [f32(Infinity)] },
  { name: 'f32 -inf', module: 'add', fn: 'mulf', args: [f32(Infinity), f32(-1)], results: [f32(-Infinity)] },
  { name: 'f64 division', module: 'add', fn: 'divf', args: [f64(1), f64(3)], results: [f64(1 / 3)] },
  { name: 'f64 inf', module: 'add', fn: 'divf', args: [f64(1), f64(0)], results: [f64(Infinity)] },
  { name: 'f64 -inf in', module: 'add', fn: 'divf', args: [f64(-Infinity), f64(2)], results: [f64(-Infinity)] },
  { name: 'f64 NaN', module: 'add', fn: 'divf', args: [f64(0), f64(0)], results: [f64(NaN)] },
  { name: 'f64 negative zero', module: 'add', fn: 'divf', args: [f64(-0), f64(5)], results: [f64(-0)] },
  { name: 'f64 large integral value', module: 'add', fn: 'divf', args: [f64(1e20), f64(1)], results: [f64(1e20)] },
  { name: 'two results (i32, i64)', module: 'add', fn: 'pair', args: [i32(7)], results: [i32(7), i64(8n)] },
  { name: 'no arguments', module: 'add', fn: 'answer', args: [], results: [i32(42)] },

  // Strings and bytes (strings.wat, protocol v1.1).
  { name: 'string round trip', module: 'strings', fn: 'echo', args: [str(TRICKY_TEXT)], options: { results: ['string'] }, results: [str(TRICKY_TEXT)] },
  { name: 'bytes in, bytes out', module: 'strings', fn: 'echo', args: [bytes(ALL_BYTES)], options: { results: ['bytes'] }, results: [bytes(ALL_BYTES)] },
  { name: 'empty string', module: 'strings', fn: 'echo', args: [str('')], options: { results: ['string'] }, results: [str('')] },
  { name: 'empty bytes', module: 'strings', fn: 'echo', args: [bytes(new Uint8Array(0))], options: { results: ['bytes'] }, results: [bytes(new Uint8Array(0))] },
  { name: 'string and i32 arguments', module: 'strings', fn: 'repeat', args: [str('ab'), i32(3)], options: { results: ['string'] }, results: [str('ababab')] },
  { name: 'string length (numeric result)', module: 'strings', fn: 'length', args: [str('Grüße')], results: [i32(7)] },
  { name: '1 MiB bytes argument', module: 'strings', fn: 'echo', args: [bytes(MIB)], options: { results: ['bytes'] }, results: [bytes(MIB)] },

  // The v1 form: function name and arguments in clear, still served.
  { name: 'v1 request', module: 'add', fn: 'add', args: [i32(40), i32(2)], options: { protocol: '1' }, results: [i32(42)] },
  { name: 'v1 request, i64 beyond 2^53', module: 'add', fn: 'add64', args: [i64(-9007199254740993n), i64(0n)], options: { protocol: '1' }, results: [i64(-9007199254740993n)] },
  { name: 'v1 request, string argument', module: 'strings', fn: 'length', args: [str('hello')], options: { protocol: '1' }, results: [i32(5)] },

  // Sealed errors: the detail is opened from encrypted_error.
  { name: 'FUNCTION_NOT_FOUND', module: 'add', fn: 'no_such_export', args: [],
    error: { httpStatus: 422, errorCode: 'FUNCTION_NOT_FOUND', detail: /no_such_export/, clearHides: 'no_such_export' } },
  { name: 'INVALID_ARGUMENTS (wrong count)', module: 'add', fn: 'add', args: [i32(1)],
    error: { httpStatus: 400, errorCode: 'INVALID_ARGUMENTS', detail: /\badd\b/, clearHides: 'add ' } },
  { name: 'INVALID_ARGUMENTS (wrong type)', module: 'add', fn: 'add', args: [i32(1), i64(2n)],
    error: { httpStatus: 400, errorCode: 'INVALID_ARGUMENTS', detail: /./ } },
  { name: 'EXECUTION_TRAP (unreachable)', module: 'add', fn: 'boom', args: [],
    error: { httpStatus: 422, errorCode: 'EXECUTION_TRAP', detail: /boom.*unreachable/, clearHides: 'boom' } },
  { name: 'EXECUTION_TRAP (divide by zero)', module: 'add', fn: 'div', args: [i32(1), i32(0)],
    error: { httpStatus: 422, errorCode: 'EXECUTION_TRAP', detail: /divide by zero/ } },
  { name: 'EXECUTION_TRAP in a confidential export', module: 'strings', fn: 'confidential_model_v7', args: [i32(1), i32(2)],
    error: { httpStatus: 422, errorCode: 'EXECUTION_TRAP', detail: /confidential_model_v7/, clearHides: 'confidential' } },
  { name: 'a loop within its gas limit', module: 'add', fn: 'count', args: [i64(100n)], options: { gasLimit: 10_000 }, results: [i64(0n)] },
  { name: 'GAS_EXHAUSTED', module: 'add', fn: 'count', args: [i64(1_000_000n)], options: { gasLimit: 1000 },
    error: { httpStatus: 422, errorCode: 'GAS_EXHAUSTED', detail: /count/, clearHides: 'count' } },
  { name: 'EXECUTION_TIMEOUT', module: 'add', fn: 'spin', args: [], options: { timeoutSeconds: 1 },
    error: { httpStatus: 422, errorCode: 'EXECUTION_TIMEOUT', detail: /spin/, clearHides: 'spin' } },
  { name: 'EXECUTION_TRAP (call stack exhausted)', module: 'add', fn: 'deep', args: [i32(0)],
    error: { httpStatus: 422, errorCode: 'EXECUTION_TRAP', detail: /call stack exhausted/, clearHides: 'deep' } },
  { name: 'MEMORY_EXCEEDED (declared memory over the cap)', module: 'bigmem', fn: 'main', args: [],
    error: { httpStatus: 422, errorCode: 'MEMORY_EXCEEDED', detail: /2000 pages/ } },
  { name: 'MEMORY_EXCEEDED (a refused memory.grow, then a trap)', module: 'add', fn: 'grow', args: [i32(2000)],
    error: { httpStatus: 422, errorCode: 'MEMORY_EXCEEDED', detail: /grow/, clearHides: 'grow' } },
  { name: 'INVALID_WASM (an import, its names secret)', module: 'secret_import', fn: 'main', args: [],
    error: { httpStatus: 422, errorCode: 'INVALID_WASM', detail: /secret_module_name/, clearHides: 'secret' } },
  { name: 'INVALID_ARGUMENTS (declared results differ from the export\'s)', module: 'add', fn: 'add64', args: [i64(1n), i64(2n)],
    options: { results: ['i32'] }, error: { httpStatus: 400, errorCode: 'INVALID_ARGUMENTS', detail: /add64/, clearHides: 'add64' } },
  { name: 'INVALID_REQUEST (a malformed invocation: string beside another result)', module: 'strings', fn: 'echo', args: [str('x')],
    options: { results: ['string', 'i32'] }, error: { httpStatus: 400, errorCode: 'INVALID_REQUEST', detail: /results/, clearHides: 'echo' } },
  { name: 'v1 request, EXECUTION_TRAP sealed too', module: 'add', fn: 'boom', args: [], options: { protocol: '1' },
    error: { httpStatus: 422, errorCode: 'EXECUTION_TRAP', detail: /boom.*unreachable/ } },
];
