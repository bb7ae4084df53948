// Unit tests without a server: canonical argument bytes, commitments, wire forms and base64,
// against the worked examples of the project's docs/crypto.md (computed there with Python alone,
// independently of any client).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  i32, i64, f32, f64, str, bytes, canonicalArguments, programCommitment, argumentsCommitment,
  resultCommitment, keyIdOf, toHex, fromHex, toBase64, fromBase64,
} from '../src/index.js';
import { valueJson, invocationJson, parseResultValue, normalize } from '../src/values.js';
import { sha256 } from '../src/encoding.js';

const NONCE = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
const EMPTY_MODULE = fromHex('0061736d01000000');
const GREETING = 'Grüße, 世界';
const SMALL_BYTES = new Uint8Array([0x00, 0x01, 0xfe, 0xff]);
const hex = (/** @type {Uint8Array} */ b) => toHex(b);
const utf8 = (/** @type {string} */ s) => new TextEncoder().encode(s);

test('crypto.md: program_sha256 and program_commitment of the empty module', async () => {
  assert.equal(hex(await sha256(EMPTY_MODULE)), '93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476');
  assert.equal(await programCommitment(NONCE, EMPTY_MODULE), '0e73d9629cc804277c0701f4b618a425a4e64f841b2322c2c812e0e14a97806d');
});

// Each row: the arguments, their canonical bytes (hex, spaces for reading) and arguments_commitment.
const CANONICAL_EXAMPLES = [
  {
    name: 'i32 42, i64 -2, f32 1.5, f64 0.1',
    args: [i32(42), i64(-2n), f32(1.5), f64(0.1)],
    canonical: '7f2a000000 7efeffffffffffffff 7d0000c03f 7c9a9999999999b93f',
    commitment: '1798dd89f0dae35155d346eec86faa62a922f43e1aa9335b0869ef5b41196dc5',
  },
  {
    name: 'no arguments',
    args: [],
    canonical: '',
    commitment: '2a85881a2017b4d984d24faf1f873f36f738925f9c44cfb7634430d74795a811',
  },
  {
    name: 'string alone',
    args: [str(GREETING)],
    canonical: '73 0f00000000000000 4772c3bcc39f652c20e4b896e7958c',
    commitment: '202bbfff0ccac1b3bfd8331fc3eafca15a08fc14df125d7f5d168b22e46b1dd3',
  },
  {
    name: 'bytes alone',
    args: [bytes(SMALL_BYTES)],
    canonical: '62 0400000000000000 0001feff',
    commitment: '2af585b1700aad1dd188828331d380172d8c632329809a94b0ebad21d76d48ca',
  },
  {
    name: 'i32 42, the string, the bytes',
    args: [i32(42), str(GREETING), bytes(SMALL_BYTES)],
    canonical: '7f 2a000000 73 0f00000000000000 4772c3bcc39f652c20e4b896e7958c 62 0400000000000000 0001feff',
    commitment: 'afb4c4c123fc078aa9d10dd57b8b6da7ecc759a118897e51e06a398bde5fbf85',
  },
  {
    name: 'empty string',
    args: [str('')],
    canonical: '73 0000000000000000',
    commitment: '3f29808f4a1daad6ba566f944c31e6aa6bdb38947b8944ddf625a3efa5c27bcd',
  },
  {
    name: 'empty bytes',
    args: [bytes(new Uint8Array(0))],
    canonical: '62 0000000000000000',
    commitment: '950dbb4891b04230571e1fdbb53bdb655dc9336fc5ec588ed44df2c34a1c2291',
  },
];

for (const ex of CANONICAL_EXAMPLES) {
  test(`crypto.md canonical arguments: ${ex.name}`, async () => {
    const canonical = canonicalArguments(ex.args);
    assert.equal(hex(canonical), ex.canonical.replace(/ /g, ''));
    assert.equal(await argumentsCommitment(NONCE, canonical), ex.commitment);
  });
}

test('canonical arguments: bit patterns beyond the worked examples', () => {
  const rows = [
    [i32(-1), '7fffffffff'],
    [i32(2 ** 32 - 1), '7fffffffff'], // the server takes the upper half as the bit pattern
    [i32(-(2 ** 31)), '7f00000080'],
    [i64(2n ** 63n - 1n), '7effffffffffffff7f'],
    [i64(-(2n ** 63n)), '7e0000000000000080'],
    [i64(2n ** 64n - 1n), '7effffffffffffffff'],
    [i64(9007199254740993n), '7e0100000000002000'],
    [f32(-0), '7d00000080'],
    [f32(NaN), '7d0000c07f'],
    [f32(Infinity), '7d0000807f'],
    [f32(0.1), '7dcdcccc3d'],
    [f64(-0), '7c0000000000000080'],
    [f64(NaN), '7c000000000000f87f'],
    [f64(-Infinity), '7c000000000000f0ff'],
    [str('\u0000'), '73010000000000000000'],
    [str('😀'), '730400000000000000f09f9880'],
  ];
  for (const [arg, want] of rows) assert.equal(hex(canonicalArguments([/** @type {any} */ (arg)])), want, JSON.stringify(String(arg.value)));
});

test('crypto.md: the result document of add() and its result_commitment', async () => {
  const doc = '{"request_id":"123e4567-e89b-42d3-a456-426614174000","function_name":"add","results":[{"type":"i32","value":84}],"program_sha256":"93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476","nonce":"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}';
  assert.equal(utf8(doc).length, 272);
  assert.equal(await resultCommitment(utf8(doc)), 'b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7');
});

test('crypto.md: key_id of the generator point', async () => {
  const g = fromHex('046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5');
  assert.equal(await keyIdOf(g), '698bea63dc44a344');
});

test('crypto.md: the invocation document of greet', () => {
  assert.equal(
    invocationJson('greet', [i32(42), str(GREETING), bytes(SMALL_BYTES)], ['string']),
    '{"function_name":"greet","arguments":[{"type":"i32","value":42},{"type":"string","value":"Grüße, 世界"},{"type":"bytes","value":"AAH+/w=="}],"results":["string"]}');
});

test('wire forms: i64 as a number below 2^53, a decimal string from there; floats that read back exactly', () => {
  const rows = [
    [i64(2n ** 53n - 1n), '9007199254740991'],
    [i64(-(2n ** 53n) + 1n), '-9007199254740991'],
    [i64(2n ** 53n), '"9007199254740992"'],
    [i64(-(2n ** 53n)), '"-9007199254740992"'],
    [i64(2n ** 64n - 1n), '"18446744073709551615"'],
    [f64(NaN), '"nan"'],
    [f64(Infinity), '"inf"'],
    [f64(-Infinity), '"-inf"'],
    [f64(-0), '-0.0'], // JSON.stringify(-0) is "0": the sign would be lost
    [f64(3), '3.0'],
    [f64(1e20), '100000000000000000000.0'], // a bare integer above 2^63 is "too big integer"
    [f64(1e21), '1e+21'],
    [f64(0.1), '0.1'],
    [f32(0.1), '0.10000000149011612'], // the binary32 value, as a double
    [str('a"b\\c\n\u0000'), '"a\\"b\\\\c\\n\\u0000"'],
    [bytes(new Uint8Array([0xfb, 0xff])), '"+/8="'],
  ];
  for (const [arg, want] of rows) assert.equal(valueJson(/** @type {any} */ (arg)), want);
  for (const [arg] of rows.slice(5, 14)) {
    const a = /** @type {any} */ (arg);
    const back = JSON.parse(valueJson(a));
    if (typeof back === 'number') assert.ok(Object.is(back, a.value), `${valueJson(a)} reads back`);
  }
});

test('typed values: out of range or untyped arguments are refused before anything is sent', () => {
  assert.throws(() => i32(2 ** 32), TypeError);
  assert.throws(() => i32(1.5), TypeError);
  assert.throws(() => i64(2 ** 53), TypeError); // not a safe integer: a BigInt is needed
  assert.throws(() => i64(2n ** 64n), TypeError);
  assert.throws(() => i64(-(2n ** 63n) - 1n), TypeError);
  assert.throws(() => str('\uD800'), TypeError); // a lone surrogate is not UTF-8
  assert.throws(() => bytes(/** @type {any} */ ('abc')), TypeError);
  assert.throws(() => normalize(42), TypeError);
  assert.throws(() => normalize({ type: 'v128', value: 0 }), TypeError);
  assert.equal(i64(5).value, 5n);
});

test('result values: i64 as BigInt, NaN and infinities, bytes from base64; malformed ones refused', () => {
  assert.deepEqual(parseResultValue({ type: 'i64', value: '-9223372036854775808' }, 'r'), { type: 'i64', value: -(2n ** 63n) });
  assert.deepEqual(parseResultValue({ type: 'i64', value: 7 }, 'r'), { type: 'i64', value: 7n });
  assert.ok(Number.isNaN(parseResultValue({ type: 'f64', value: 'nan' }, 'r').value));
  assert.equal(parseResultValue({ type: 'f32', value: '-inf' }, 'r').value, -Infinity);
  assert.deepEqual(parseResultValue({ type: 'bytes', value: 'AAH+/w==' }, 'r').value, SMALL_BYTES);
  for (const bad of [
    { type: 'i32', value: 2 ** 31 }, { type: 'i32', value: '1' }, { type: 'i64', value: '9223372036854775808' },
    { type: 'i64', value: '01' }, { type: 'f64', value: 'NaN' }, { type: 'f32', value: 0.1 },
    { type: 'bytes', value: 'A' }, { type: 'string', value: 1 }, { type: 'x', value: 1 },
  ]) assert.throws(() => parseResultValue(bad, 'r'), TypeError, JSON.stringify(bad));
});

test('base64: standard with padding out; base64url and unpadded in; ambiguous forms refused', () => {
  const all = new Uint8Array(256).map((_, i) => i);
  assert.deepEqual(fromBase64(toBase64(all)), all);
  for (let n = 0; n < 7; n++) assert.deepEqual(fromBase64(toBase64(all.subarray(0, n))), all.subarray(0, n));
  assert.equal(toBase64(utf8('foobar')), 'Zm9vYmFy');
  assert.equal(toBase64(utf8('fo')), 'Zm8=');
  assert.deepEqual(fromBase64('-_8'), new Uint8Array([0xfb, 0xff]));
  assert.deepEqual(fromBase64('+/8='), new Uint8Array([0xfb, 0xff]));
  assert.deepEqual(fromBase64('Zm8'), utf8('fo')); // unpadded
  // Misplaced padding, a lone sextet, whitespace, mixed alphabets, non-zero trailing bits.
  for (const bad of ['Zm9=x', 'Z', 'Zm 9v', '+_8=', 'Zm9=', 'Zg=', '===='])
    assert.throws(() => fromBase64(bad), TypeError, bad);
});
