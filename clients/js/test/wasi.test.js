// WASI commands (protocol v1.1 "The WASI stdio profile") against a real server configured with
// `wasm.wasi: stdio`: the example programs of examples/wasi (C with wasi-libc, Rust std), run with
// argv and stdin, their exit code and output opened and the three commitments checked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HypervisorClient, HypervisorError, canonicalArguments, str, bytes, argumentsCommitment, fromHex } from '../src/index.js';
import { utf8 } from '../src/encoding.js';
import { EXAMPLES_WASI_DIR, startServer, testModule } from './server.js';

const dec = new TextDecoder();
const example = (/** @type {string} */ name) => new Uint8Array(readFileSync(join(EXAMPLES_WASI_DIR, `${name}.wasm`)));
const missing = !existsSync(join(EXAMPLES_WASI_DIR, 'wc.wasm'));

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {HypervisorClient} */
let client;

before(async () => {
  if (missing) return;
  server = await startServer({ wasi: true });
  client = new HypervisorClient({ baseUrl: server.url, apiKey: server.apiKey });
});

after(async () => {
  if (!server) return;
  const out = server.output();
  const status = await server.stop();
  assert.equal(status, 0, `the server exited with ${status}:\n${out.slice(-4000)}`);
});

const skip = missing ? `HV_EXAMPLES_WASI_DIR: ${EXAMPLES_WASI_DIR}/wc.wasm is not built` : false;

test('wc (C, wasi-libc): stdin counted, argv seen, exit code 0', { skip }, async () => {
  const input = 'one two\nthree four five\n';
  const r = await client.runCommand(example('wc'), { argv: ['wc.wasm', '-v'], stdin: input });
  assert.equal(r.exitCode, 0);
  assert.equal(dec.decode(r.stdout), `2 5 ${utf8(input).length}\n`);
  assert.equal(dec.decode(r.stderr), 'wc.wasm: 2 arguments\n');
  assert.equal(r.results, undefined);
  assert.equal(r.resultDocument instanceof Uint8Array, true);
  assert.equal(r.document.function_name, '_start');
  // arguments_commitment covers argv as strings, then stdin as bytes (what the client checked).
  const nonce = fromHex(r.document.nonce);
  const want = await argumentsCommitment(nonce, canonicalArguments([str('wc.wasm'), str('-v'), bytes(utf8(input))]));
  assert.equal(r.commitments.arguments, want);
  const v = await client.verifyAll(r);
  assert.equal(v.verified, true);
});

test('wc: an empty stdin is exit code 3, a success with the program\'s answer', { skip }, async () => {
  const r = await client.runCommand(example('wc'), { argv: ['wc.wasm'] });
  assert.equal(r.exitCode, 3);
  assert.equal(dec.decode(r.stdout), '0 0 0\n');
  assert.equal(r.stderr.length, 0);
  assert.equal(r.executionSummary.status, 'success');
});

test('rev (Rust std): UTF-8 lines reversed; --fail is exit code 4 with stderr', { skip }, async () => {
  const r = await client.runCommand(example('rev'), { argv: ['rev.wasm', '--fail'], stdin: utf8('Grüße\nabc\n') });
  assert.equal(r.exitCode, 4);
  assert.match(dec.decode(r.stdout), /^eßürG\ncba\nlines: 2, args: 1, most common: /);
  assert.equal(dec.decode(r.stderr), 'rev: failing as asked\n');
});

test('stdin as bytes: every byte value goes in unchanged', { skip }, async () => {
  const all = new Uint8Array(256).map((_, i) => i);
  const r = await client.runCommand(example('wc'), { argv: ['wc'], stdin: all });
  assert.equal(r.exitCode, 0);
  assert.match(dec.decode(r.stdout), / 256\n$/);
});

test('a command asked for with another export name is INVALID_ARGUMENTS, sealed', { skip }, async () => {
  // execute() itself refuses it; so the document is sent as an ordinary call with argv.
  await assert.rejects(client.execute(example('wc'), 'main', [], { argv: ['wc'] }), TypeError);
  const err = await client.execute(example('wc'), 'main', []).then(() => assert.fail('expected an error'), (e) => e);
  assert.ok(err instanceof HypervisorError, String(err));
  assert.equal(err.errorCode, 'INVALID_ARGUMENTS');
  assert.equal(typeof err.detail, 'string');
});

test('argv for a module that imports nothing and has no _start: FUNCTION_NOT_FOUND', { skip }, async () => {
  const err = await client.runCommand(testModule('add'), { argv: ['add'] }).then(() => assert.fail('expected an error'), (e) => e);
  assert.ok(err instanceof HypervisorError, String(err));
  assert.equal(err.errorCode, 'FUNCTION_NOT_FOUND');
});

test('bad command options are refused before anything is sent', async () => {
  const c = new HypervisorClient({ baseUrl: 'http://127.0.0.1:9', fetch: () => { throw new Error('sent'); } });
  const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await assert.rejects(c.execute(wasm, '_start', [], { argv: ['x'], protocol: '1' }), /protocol 1.1/);
  await assert.rejects(c.execute(wasm, '_start', [str('a')], { argv: ['x'] }), /not args or results/);
  await assert.rejects(c.runCommand(wasm, { argv: ['a\u0000b'] }), /without NUL/);
  await assert.rejects(c.runCommand(wasm, { argv: /** @type {any} */ ('wc') }), /array of strings/);
  await assert.rejects(c.runCommand(wasm, { argv: new Array(1000).fill('a') }), /at most 999/);
});
