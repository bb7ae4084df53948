// The cryptographic side of the wire protocol: HPKE sealing and opening with the one suite,
// commitments, and the checks a result document must pass before anything of it is believed.

import { Aes256Gcm, CipherSuite, DhkemP256HkdfSha256, HkdfSha256 } from '@hpke/core';
import { concat, fromHex, fromUtf8, sha256, toHex, utf8, sameText, fromBase64 } from './encoding.js';
import { canonicalArguments, parseResultValue } from './values.js';
import { VerificationError } from './errors.js';

/** HPKE mode_base, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM: no negotiation. */
export const SUITE_IDS = Object.freeze({ kem_id: 0x10, kdf_id: 0x01, aead_id: 0x02 });

export const INFO = Object.freeze({
  requestV1: utf8('wasm-hypervisor/v1 request'),
  requestV11: utf8('wasm-hypervisor/v1.1 request'),
  response: utf8('wasm-hypervisor/v1 response'),
  error: utf8('wasm-hypervisor/v1.1 error'),
});

const PROGRAM_LABEL = utf8('wasm-hypervisor/v1 program');
const ARGUMENTS_LABEL = utf8('wasm-hypervisor/v1 arguments');
const ZERO = new Uint8Array(1);
const ENC_LEN = 65;

let suite;
function getSuite() {
  suite ??= new CipherSuite({ kem: new DhkemP256HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return suite;
}

const P256 = { name: 'ECDH', namedCurve: 'P-256' };

/**
 * A fresh client key pair for one request. The private key is not extractable: it only ever
 * opens this request's result or sealed error.
 * @returns {Promise<{keyPair: CryptoKeyPair, publicKey: Uint8Array}>} publicKey is SEC1 (65 bytes)
 */
export async function newClientKey() {
  const keyPair = /** @type {CryptoKeyPair} */ (
    await globalThis.crypto.subtle.generateKey(P256, false, ['deriveBits']));
  const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', keyPair.publicKey));
  return { keyPair, publicKey };
}

/**
 * Imports a server public key: the SEC1 uncompressed point, or a DER SubjectPublicKeyInfo. WebCrypto
 * refuses a point that is not on P-256.
 * @param {Uint8Array} bytes
 * @returns {Promise<{key: CryptoKey, sec1: Uint8Array}>}
 */
export async function importServerKey(bytes) {
  const subtle = globalThis.crypto.subtle;
  const data = /** @type {BufferSource} */ (bytes);
  const key = await subtle.importKey(bytes.length === 65 && bytes[0] === 0x04 ? 'raw' : 'spki', data, P256, true, []);
  const sec1 = new Uint8Array(await subtle.exportKey('raw', key));
  return { key, sec1 };
}

/**
 * key_id: the first 8 bytes of SHA-256 over the SEC1 point, hex.
 * @param {Uint8Array} sec1
 */
export async function keyIdOf(sec1) {
  return toHex((await sha256(sec1)).subarray(0, 8));
}

/**
 * v1: enc || SealBase(info "…v1 request", aad = client key || function name, pt = wasm).
 * @param {CryptoKey} serverKey
 * @param {Uint8Array} clientPublicKey SEC1
 * @param {string} functionName
 * @param {Uint8Array} wasm
 * @returns {Promise<Uint8Array>}
 */
export async function sealRequestV1(serverKey, clientPublicKey, functionName, wasm) {
  const ctx = await getSuite().createSenderContext({ recipientPublicKey: serverKey, info: INFO.requestV1 });
  const ct = new Uint8Array(await ctx.seal(wasm, concat(clientPublicKey, utf8(functionName))));
  return concat(new Uint8Array(ctx.enc), ct);
}

/**
 * v1.1: one sender context, the module as message 0 and the invocation document as message 1,
 * both with aad = the client key. The invocation has no enc of its own.
 * @param {CryptoKey} serverKey
 * @param {Uint8Array} clientPublicKey SEC1
 * @param {Uint8Array} wasm
 * @param {Uint8Array} invocation the invocation document's UTF-8 bytes
 * @returns {Promise<{encryptedWasm: Uint8Array, encryptedInvocation: Uint8Array}>}
 */
export async function sealRequestV11(serverKey, clientPublicKey, wasm, invocation) {
  const ctx = await getSuite().createSenderContext({ recipientPublicKey: serverKey, info: INFO.requestV11 });
  // Sequential on purpose: the sequence number decides which message is which.
  const ctWasm = new Uint8Array(await ctx.seal(wasm, clientPublicKey));
  const ctCall = new Uint8Array(await ctx.seal(invocation, clientPublicKey));
  return { encryptedWasm: concat(new Uint8Array(ctx.enc), ctWasm), encryptedInvocation: ctCall };
}

/**
 * Opens base64(enc || ct) sealed to the client key (a result or a sealed error).
 * @param {CryptoKeyPair} keyPair
 * @param {Uint8Array} info
 * @param {string} requestId the aad
 * @param {string} sealedBase64
 * @returns {Promise<Uint8Array>}
 */
export async function openSealed(keyPair, info, requestId, sealedBase64) {
  const sealed = fromBase64(sealedBase64);
  if (sealed.length < ENC_LEN + 16) throw new Error('sealed message too short');
  const enc = sealed.slice(0, ENC_LEN);
  const ct = sealed.slice(ENC_LEN);
  const ctx = await getSuite().createRecipientContext({ recipientKey: keyPair, enc: enc.buffer, info });
  return new Uint8Array(await ctx.open(ct, utf8(requestId)));
}

/**
 * @param {Uint8Array} nonce 32 raw bytes
 * @param {Uint8Array} wasm
 */
export async function programCommitment(nonce, wasm) {
  return toHex(await sha256(concat(PROGRAM_LABEL, ZERO, nonce, wasm)));
}

/**
 * @param {Uint8Array} nonce 32 raw bytes
 * @param {Uint8Array} canonical canonical argument bytes
 */
export async function argumentsCommitment(nonce, canonical) {
  return toHex(await sha256(concat(ARGUMENTS_LABEL, ZERO, nonce, canonical)));
}

/** @param {Uint8Array} documentBytes */
export async function resultCommitment(documentBytes) {
  return toHex(await sha256(documentBytes));
}

/**
 * @typedef {object} CheckInput
 * @property {Uint8Array} document the result document, the exact bytes that were sealed
 * @property {string} requestId the reply's request_id
 * @property {string} functionName the export that was asked for
 * @property {Uint8Array} wasm the module that was sent
 * @property {import('./values.js').TypedValue[]} args the arguments that were sent (normalized)
 * @property {{result: string, program: string, arguments: string}} commitments as the reply gave them
 * @property {string[]} [declaredResults] the `results` the invocation declared, if any
 * @property {boolean} [command] a WASI command was asked for: the document must carry exit_code
 */

/**
 * Checks a result document against the request and the reply's three commitments, and reads its
 * values. Throws VerificationError on the first thing that does not check out.
 * @param {CheckInput} input
 * @returns {Promise<{document: any, results?: import('./values.js').TypedValue[],
 *   exitCode?: number, stdout?: Uint8Array, stderr?: Uint8Array,
 *   computed: {result: string, program: string, arguments: string}}>}
 */
export async function checkResult(input) {
  const { document: bytes, requestId, functionName, wasm, args, commitments, declaredResults, command } = input;
  const bad = (/** @type {string} */ message, /** @type {any} */ extra = {}) =>
    new VerificationError({ message, requestId, httpStatus: 200, ...extra });

  // The result commitment covers the bytes as sealed: check it before reading anything.
  const computed = { result: await resultCommitment(bytes), program: '', arguments: '' };
  if (!sameText(computed.result, commitments.result))
    throw bad('result_commitment does not match the result document', {
      errorCode: 'COMMITMENT_MISMATCH', commitment: 'result' });

  let doc;
  try {
    doc = JSON.parse(fromUtf8(bytes));
  } catch (e) {
    throw bad('the result document is not UTF-8 JSON', { cause: e });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw bad('the result document is not an object');
  if (doc.request_id !== requestId) throw bad('the result document is for another request');
  if (doc.function_name !== functionName) throw bad('the result document names another function');
  const programSha = toHex(await sha256(wasm));
  if (typeof doc.program_sha256 !== 'string' || !sameText(doc.program_sha256, programSha))
    throw bad('the result document is for another program');
  if (typeof doc.nonce !== 'string' || !/^[0-9a-f]{64}$/.test(doc.nonce)) throw bad('the result document has a bad nonce');
  const nonce = fromHex(doc.nonce);

  computed.program = await programCommitment(nonce, wasm);
  if (!sameText(computed.program, commitments.program))
    throw bad('program_commitment does not match the module and the nonce', {
      errorCode: 'COMMITMENT_MISMATCH', commitment: 'program' });
  computed.arguments = await argumentsCommitment(nonce, canonicalArguments(args));
  if (!sameText(computed.arguments, commitments.arguments))
    throw bad('arguments_commitment does not match the arguments and the nonce', {
      errorCode: 'COMMITMENT_MISMATCH', commitment: 'arguments' });

  /** @type {any} */
  const out = { document: doc, computed };
  try {
    if (command !== undefined && command !== Number.isInteger(doc.exit_code)) {
      throw new TypeError(command ? 'a command\'s document has no exit_code' : 'a call\'s document has an exit_code');
    } else if (Array.isArray(doc.results)) {
      out.results = doc.results.map((/** @type {any} */ r, /** @type {number} */ i) => parseResultValue(r, `results[${i}]`));
    } else if (Number.isInteger(doc.exit_code)) {
      // The WASI stdio profile's command document (protocol v1.1): exit code and captured output.
      out.exitCode = doc.exit_code;
      out.stdout = fromBase64(doc.stdout);
      out.stderr = fromBase64(doc.stderr);
    } else {
      throw new TypeError('it has neither results nor exit_code');
    }
  } catch (e) {
    throw bad(`the result document's values do not read: ${/** @type {Error} */ (e).message}`, { cause: e });
  }
  if (declaredResults && out.results) {
    const got = out.results.map((/** @type {any} */ r) => r.type).join(',');
    if (got !== declaredResults.join(',')) throw bad(`the results are [${got}], not the declared [${declaredResults}]`);
  }
  return out;
}
