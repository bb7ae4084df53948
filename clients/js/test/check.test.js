// Unit tests of the result check without a server: the worked result documents of docs/crypto.md
// pass, and every changed commitment, document or request detail is caught.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkResult, VerificationError, i32, str, bytes, fromHex } from '../src/index.js';

const utf8 = (/** @type {string} */ s) => new TextEncoder().encode(s);
const REQUEST_ID = '123e4567-e89b-42d3-a456-426614174000';
const TAIL = '"program_sha256":"93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476","nonce":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}';
const PROGRAM_COMMITMENT = '0e73d9629cc804277c0701f4b618a425a4e64f841b2322c2c812e0e14a97806d';

/** The worked examples: a reply the client must accept, with what it must read from it. */
const GOOD = [
  {
    name: 'add() -> i32 84, no arguments',
    functionName: 'add',
    document: `{"request_id":"${REQUEST_ID}","function_name":"add","results":[{"type":"i32","value":84}],${TAIL}`,
    args: [],
    commitments: {
      result: 'b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7',
      program: PROGRAM_COMMITMENT,
      arguments: '2a85881a2017b4d984d24faf1f873f36f738925f9c44cfb7634430d74795a811',
    },
    results: [{ type: 'i32', value: 84 }],
  },
  {
    name: 'greet(i32 42, string, bytes) -> string',
    functionName: 'greet',
    document: `{"request_id":"${REQUEST_ID}","function_name":"greet","results":[{"type":"string","value":"Grüße, 世界"}],${TAIL}`,
    args: [i32(42), str('Grüße, 世界'), bytes(new Uint8Array([0, 1, 0xfe, 0xff]))],
    commitments: {
      result: '9e82d9d101ebe09b5f8ea7e8492cfb2140168e8f50c2ed5047ae88979b920422',
      program: PROGRAM_COMMITMENT,
      arguments: 'afb4c4c123fc078aa9d10dd57b8b6da7ecc759a118897e51e06a398bde5fbf85',
    },
    results: [{ type: 'string', value: 'Grüße, 世界' }],
    declaredResults: ['string'],
  },
  {
    name: 'digest(bytes) -> bytes',
    functionName: 'digest',
    document: `{"request_id":"${REQUEST_ID}","function_name":"digest","results":[{"type":"bytes","value":"AAH+/w=="}],${TAIL}`,
    args: [bytes(new Uint8Array([0, 1, 0xfe, 0xff]))],
    commitments: {
      result: '87347b83ff389ab6f1cfaec0f2ce2c2434279b9e3d06097c2120a6197e742fa0',
      program: PROGRAM_COMMITMENT,
      arguments: '2af585b1700aad1dd188828331d380172d8c632329809a94b0ebad21d76d48ca',
    },
    results: [{ type: 'bytes', value: new Uint8Array([0, 1, 0xfe, 0xff]) }],
    declaredResults: ['bytes'],
  },
];

/** @param {typeof GOOD[number]} ex */
function input(ex) {
  return {
    document: utf8(ex.document), requestId: REQUEST_ID, functionName: ex.functionName,
    wasm: fromHex('0061736d01000000'), args: ex.args, commitments: { ...ex.commitments },
    declaredResults: ex.declaredResults,
  };
}

const flip = (/** @type {string} */ h) => (h[0] === '0' ? '1' : '0') + h.slice(1);

for (const ex of GOOD) {
  test(`checkResult accepts the worked example ${ex.name}`, async () => {
    const out = await checkResult(input(ex));
    assert.deepEqual(out.results, ex.results);
    assert.deepEqual(out.computed, ex.commitments);
  });

  for (const which of /** @type {const} */ (['result', 'program', 'arguments'])) {
    test(`checkResult catches a changed ${which}_commitment (${ex.functionName})`, async () => {
      const i = input(ex);
      i.commitments[which] = flip(i.commitments[which]);
      await assert.rejects(checkResult(i), (e) => e instanceof VerificationError &&
        e.errorCode === 'COMMITMENT_MISMATCH' && e.commitment === which);
    });
  }
}

// Everything else that must not be believed, each a change to the first worked example.
const BAD = [
  ['a changed result value (the document no longer matches result_commitment)',
    (/** @type {any} */ i) => { i.document = utf8(new TextDecoder().decode(i.document).replace('84', '85')); }, 'COMMITMENT_MISMATCH'],
  ['other arguments than those sent', (/** @type {any} */ i) => { i.args = [i32(1)]; }, 'COMMITMENT_MISMATCH'],
  ['another module than the one sent', (/** @type {any} */ i) => { i.wasm = fromHex('0061736d0100000000'); }, 'BAD_RESPONSE'],
  ['a document for another request', (/** @type {any} */ i) => { i.requestId = 'a' + i.requestId.slice(1); }, 'BAD_RESPONSE'],
  ['a document for another function', (/** @type {any} */ i) => { i.functionName = 'sub'; }, 'BAD_RESPONSE'],
  ['results of other types than declared', (/** @type {any} */ i) => { i.declaredResults = ['string']; }, 'BAD_RESPONSE'],
];
for (const [name, change, code] of BAD) {
  test(`checkResult refuses ${name}`, async () => {
    const i = input(GOOD[0]);
    /** @type {Function} */ (change)(i);
    await assert.rejects(checkResult(i), (e) => e instanceof VerificationError && e.errorCode === code);
  });
}
