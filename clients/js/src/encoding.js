// Byte helpers: base64 (RFC 4648), hex, UTF-8, SHA-256. Plain JS and WebCrypto only, so the
// library runs unchanged in browsers (no Buffer, no node: imports).

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  // base64url's two letters decode too (protocol: "Accept base64url too").
  t['-'.charCodeAt(0)] = 62;
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/**
 * Standard base64 with padding, the only form the protocol emits.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toBase64(bytes) {
  let out = '';
  const n = bytes.length;
  let i = 0;
  // Built in chunks: string += per byte is quadratic on some engines for MiB inputs.
  const parts = [];
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
    if (out.length >= 65536) {
      parts.push(out);
      out = '';
    }
  }
  if (i < n) {
    const v = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
    out += B64[v >> 18] + B64[(v >> 12) & 63] + (i + 1 < n ? B64[(v >> 6) & 63] : '=') + '=';
  }
  parts.push(out);
  return parts.join('');
}

/**
 * Decodes standard base64 or base64url, padded or not. Refuses whitespace, misplaced padding,
 * a mix of the two alphabets and non-zero trailing bits, so one text has one meaning.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function fromBase64(text) {
  if (typeof text !== 'string') throw new TypeError('base64: expected a string');
  let end = text.length;
  let pad = 0;
  while (end > 0 && text[end - 1] === '=' && pad < 2) {
    end--;
    pad++;
  }
  if (pad > 0 && text.length % 4 !== 0) throw new TypeError('base64: bad padding');
  if (end % 4 === 1) throw new TypeError('base64: bad length');
  let std = false;
  let url = false;
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_INDEX[c] : -1;
    if (v < 0) throw new TypeError(`base64: bad character at ${i}`);
    if (c === 43 || c === 47) std = true;
    else if (c === 45 || c === 95) url = true;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (std && url) throw new TypeError('base64: mixes the standard and URL alphabets');
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) throw new TypeError('base64: non-zero trailing bits');
  return out.subarray(0, o);
}

/**
 * @param {Uint8Array} bytes
 * @returns {string} lowercase hex
 */
export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

/**
 * @param {string} hex an even number of hex digits, either case
 * @returns {Uint8Array}
 */
export function fromHex(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new TypeError('hex: expected an even number of hex digits');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

const encoder = new TextEncoder();
// fatal: a document that is not UTF-8 is an error, not U+FFFD; ignoreBOM: bytes round-trip exactly.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A lone surrogate cannot be UTF-8: TextEncoder would silently turn it into U+FFFD and the server
 * would receive (and commit to) another string than the caller gave.
 * @param {string} s
 * @returns {boolean}
 */
export function isWellFormed(s) {
  // @ts-ignore String.prototype.isWellFormed is ES2024 (Node 20); the regex is the fallback.
  if (typeof s.isWellFormed === 'function') return s.isWellFormed();
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/**
 * @param {string} s
 * @returns {Uint8Array}
 */
export function utf8(s) {
  if (!isWellFormed(s)) throw new TypeError('string is not well-formed UTF-16 (a lone surrogate)');
  return encoder.encode(s);
}

/**
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function fromUtf8(bytes) {
  return decoder.decode(bytes);
}

/**
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
export async function sha256(bytes) {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', /** @type {BufferSource} */ (bytes)));
}

/**
 * Compares two equal-purpose strings without an early exit (commitments are public, but there is
 * no reason to hand out a timing signal either).
 * @param {string} a
 * @param {string} b
 */
export function sameText(a, b) {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}
