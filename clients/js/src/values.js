// Typed values: the helpers callers build arguments with, their JSON wire form, their canonical
// bytes (for arguments_commitment) and the reading of result values from the result document.
// The rules: /work/shared/protocol.md "Result document", "Strings and bytes"; the project's
// docs/crypto.md "Canonical argument bytes" and docs/service.md "POST /v1/execute".

import { fromBase64, toBase64, utf8, isWellFormed, concat } from './encoding.js';

/** @typedef {'i32'|'i64'|'f32'|'f64'|'string'|'bytes'} ValueType */
/**
 * @typedef {{type: 'i32', value: number} | {type: 'i64', value: bigint} |
 *   {type: 'f32', value: number} | {type: 'f64', value: number} |
 *   {type: 'string', value: string} | {type: 'bytes', value: Uint8Array}} TypedValue
 */

export const VALUE_TYPES = Object.freeze(['i32', 'i64', 'f32', 'f64', 'string', 'bytes']);

const TWO_53 = 2n ** 53n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/**
 * An i32. The server also takes 2^31 … 2^32−1 as the bit pattern (docs/service.md), so they are
 * allowed here too and committed as that pattern.
 * @param {number} n
 * @returns {{type: 'i32', value: number}}
 */
export function i32(n) {
  return /** @type {any} */ (normalize({ type: 'i32', value: n }));
}

/**
 * An i64 from a BigInt or a safe integer; −2^63 … 2^64−1 (the upper half as the bit pattern).
 * @param {bigint|number} v
 * @returns {{type: 'i64', value: bigint}}
 */
export function i64(v) {
  return /** @type {any} */ (normalize({ type: 'i64', value: v }));
}

/**
 * An f32; the double given is rounded to binary32 (round to nearest, as the server does).
 * @param {number} x
 * @returns {{type: 'f32', value: number}}
 */
export function f32(x) {
  return /** @type {any} */ (normalize({ type: 'f32', value: x }));
}

/**
 * @param {number} x
 * @returns {{type: 'f64', value: number}}
 */
export function f64(x) {
  return /** @type {any} */ (normalize({ type: 'f64', value: x }));
}

/**
 * A string (protocol v1.1); sent and committed as its UTF-8 bytes.
 * @param {string} s
 * @returns {{type: 'string', value: string}}
 */
export function str(s) {
  return /** @type {any} */ (normalize({ type: 'string', value: s }));
}

/**
 * Bytes (protocol v1.1); base64 on the wire. The array is not copied.
 * @param {Uint8Array|ArrayBuffer|ArrayBufferView} b
 * @returns {{type: 'bytes', value: Uint8Array}}
 */
export function bytes(b) {
  return /** @type {any} */ (normalize({ type: 'bytes', value: b }));
}

/**
 * Checks a typed value and brings it to its one form (i64 as BigInt, bytes as Uint8Array).
 * @param {any} arg
 * @param {string} [where] names the argument in an error
 * @returns {TypedValue}
 */
export function normalize(arg, where = 'value') {
  if (arg === null || typeof arg !== 'object' || !('type' in arg) || !('value' in arg))
    throw new TypeError(
      `${where}: expected a typed value {type, value}; use i32(), i64(), f32(), f64(), str() or bytes()`);
  const { type, value } = arg;
  switch (type) {
    case 'i32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 32 - 1)
        throw new TypeError(`${where}: i32 must be an integer from -2^31 to 2^32-1`);
      return { type, value: Object.is(value, -0) ? 0 : value };
    case 'i64': {
      let v;
      if (typeof value === 'bigint') v = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
      else throw new TypeError(`${where}: i64 must be a BigInt or a safe integer (use a BigInt beyond 2^53)`);
      if (v < I64_MIN || v > U64_MAX) throw new TypeError(`${where}: i64 out of range`);
      return { type, value: v };
    }
    case 'f32':
    case 'f64':
      if (typeof value !== 'number') throw new TypeError(`${where}: ${type} must be a number`);
      return { type, value: type === 'f32' ? Math.fround(value) : value };
    case 'string':
      if (typeof value !== 'string') throw new TypeError(`${where}: string must be a string`);
      if (!isWellFormed(value)) throw new TypeError(`${where}: string has a lone surrogate (not UTF-8)`);
      return { type, value };
    case 'bytes':
      if (value instanceof Uint8Array) return { type, value };
      if (value instanceof ArrayBuffer) return { type, value: new Uint8Array(value) };
      if (ArrayBuffer.isView(value))
        return { type, value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength) };
      throw new TypeError(`${where}: bytes must be a Uint8Array`);
    default:
      throw new TypeError(`${where}: unknown type ${JSON.stringify(type)}`);
  }
}

/**
 * A float as JSON text the server reads back to the same double: NaN and the infinities as the
 * protocol's strings, -0 as "-0.0" (JSON.stringify would write 0), integral values with ".0"
 * (a bare "1e+21"-free integer above 2^63 would be "too big integer" for the server's parser).
 * @param {number} x
 */
function floatJson(x) {
  if (Number.isNaN(x)) return '"nan"';
  if (x === Infinity) return '"inf"';
  if (x === -Infinity) return '"-inf"';
  if (Object.is(x, -0)) return '-0.0';
  const s = String(x); // shortest text that reads back to x
  return /[.eE]/.test(s) ? s : s + '.0';
}

/**
 * The JSON text of one value: i64 as a number below 2^53 in magnitude, else a decimal string.
 * @param {TypedValue} v normalized
 * @returns {string}
 */
export function valueJson(v) {
  switch (v.type) {
    case 'i32':
      return String(v.value);
    case 'i64': {
      const a = v.value < 0n ? -v.value : v.value;
      return a < TWO_53 ? v.value.toString() : `"${v.value.toString()}"`;
    }
    case 'f32':
    case 'f64':
      return floatJson(v.value);
    case 'string':
      return JSON.stringify(v.value);
    case 'bytes':
      return `"${toBase64(v.value)}"`;
  }
  throw new TypeError('unknown value type');
}

/**
 * The JSON array of arguments, each `{"type":…,"value":…}`.
 * @param {TypedValue[]} args normalized
 */
export function argumentsJson(args) {
  return '[' + args.map((a) => `{"type":"${a.type}","value":${valueJson(a)}}`).join(',') + ']';
}

/**
 * The v1.1 invocation document: compact JSON, members in the order protocol.md lists them.
 * @param {string} functionName
 * @param {TypedValue[]} args normalized
 * @param {string[]} [results] declared result types (`["string"]`, `["bytes"]`, numeric lists)
 * @returns {string}
 */
export function invocationJson(functionName, args, results) {
  let doc = `{"function_name":${JSON.stringify(functionName)},"arguments":${argumentsJson(args)}`;
  if (results !== undefined) doc += `,"results":${JSON.stringify(results)}`;
  return doc + '}';
}

/**
 * The invocation document of a WASI command, as the C client's hv_client_wasi_invocation_build
 * writes it: `_start`, argv, and stdin in base64.
 * @param {string[]} argv
 * @param {Uint8Array} stdin
 */
export function commandInvocationJson(argv, stdin) {
  return `{"function_name":"_start","argv":${JSON.stringify(argv)},"stdin":"${toBase64(stdin)}"}`;
}

const CODES = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, string: 0x73, bytes: 0x62 };

/**
 * Canonical argument bytes (docs/crypto.md): per argument, its type's code byte then the
 * little-endian bit pattern; string and bytes add a u64 LE length before the content.
 * @param {TypedValue[]} args normalized
 * @returns {Uint8Array}
 */
export function canonicalArguments(args) {
  /** @type {Uint8Array[]} */
  const parts = [];
  for (const a of args) {
    switch (a.type) {
      case 'i32': {
        const b = new Uint8Array(5);
        b[0] = CODES.i32;
        new DataView(b.buffer).setUint32(1, a.value >>> 0, true);
        parts.push(b);
        break;
      }
      case 'i64': {
        const b = new Uint8Array(9);
        b[0] = CODES.i64;
        new DataView(b.buffer).setBigUint64(1, BigInt.asUintN(64, a.value), true);
        parts.push(b);
        break;
      }
      case 'f32': {
        const b = new Uint8Array(5);
        b[0] = CODES.f32;
        // A NaN's bit pattern is the engine's choice in setFloat32; the server reads "nan" as the
        // positive quiet NaN, so that is what is committed.
        if (Number.isNaN(a.value)) new DataView(b.buffer).setUint32(1, 0x7fc00000, true);
        else new DataView(b.buffer).setFloat32(1, a.value, true);
        parts.push(b);
        break;
      }
      case 'f64': {
        const b = new Uint8Array(9);
        b[0] = CODES.f64;
        if (Number.isNaN(a.value)) new DataView(b.buffer).setBigUint64(1, 0x7ff8000000000000n, true);
        else new DataView(b.buffer).setFloat64(1, a.value, true);
        parts.push(b);
        break;
      }
      case 'string':
      case 'bytes': {
        const content = a.type === 'string' ? utf8(a.value) : a.value;
        const head = new Uint8Array(9);
        head[0] = CODES[a.type];
        new DataView(head.buffer).setBigUint64(1, BigInt(content.length), true);
        parts.push(head, content);
        break;
      }
      default:
        throw new TypeError('unknown value type');
    }
  }
  return concat(...parts);
}

/**
 * Reads one result value of the result document into its JS form: i64 as BigInt, bytes as
 * Uint8Array, NaN and the infinities from their strings. Anything else is refused.
 * @param {any} r the `{"type","value"}` object from the document
 * @param {string} where
 * @returns {TypedValue}
 */
export function parseResultValue(r, where) {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new TypeError(`${where}: not an object`);
  const { type, value } = r;
  switch (type) {
    case 'i32':
      if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1)
        throw new TypeError(`${where}: bad i32`);
      return { type, value };
    case 'i64': {
      let v;
      if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
      else if (typeof value === 'string' && /^-?(0|[1-9][0-9]*)$/.test(value)) v = BigInt(value);
      else throw new TypeError(`${where}: bad i64`);
      if (v < I64_MIN || v >= 2n ** 63n) throw new TypeError(`${where}: i64 out of range`);
      return { type, value: v };
    }
    case 'f32':
    case 'f64': {
      let x;
      if (typeof value === 'number') x = value;
      else if (value === 'nan') x = NaN;
      else if (value === 'inf') x = Infinity;
      else if (value === '-inf') x = -Infinity;
      else throw new TypeError(`${where}: bad ${type}`);
      if (type === 'f32' && !Number.isNaN(x) && Math.fround(x) !== x)
        throw new TypeError(`${where}: f32 value is not a binary32`);
      return { type, value: x };
    }
    case 'string':
      if (typeof value !== 'string' || !isWellFormed(value)) throw new TypeError(`${where}: bad string`);
      return { type, value };
    case 'bytes':
      if (typeof value !== 'string') throw new TypeError(`${where}: bad bytes`);
      return { type, value: fromBase64(value) };
    default:
      throw new TypeError(`${where}: unknown type ${JSON.stringify(type)}`);
  }
}
