// End-to-end tests against the real server binary (test/server.js starts it): the scenario table,
// then authentication, verification, what goes on the wire, and replies changed on the way.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { HypervisorClient, HypervisorError, VerificationError, i32, str, bytes, toBase64, fromBase64 } from '../src/index.js';
import { startServer, testModule } from './server.js';
import { SCENARIOS } from './scenarios.js';

/** @type {Awaited<ReturnType<typeof startServer>>} */
let server;
/** @type {HypervisorClient} */
let client;
const modules = {
  add: testModule('add'), strings: testModule('strings'), bigmem: testModule('bigmem'), secret_import: testModule('secret_import'),
};

before(async () => {
  server = await startServer();
  client = new HypervisorClient({ baseUrl: server.url, apiKey: server.apiKey });
});

after(async () => {
  if (!server) return;
  const out = server.output();
  const status = await server.stop();
  // The server stops cleanly on SIGTERM; anything else is a finding worth its output.
  assert.equal(status, 0, `the server exited with ${status}:\n${out.slice(-4000)}`);
});

for (const s of SCENARIOS) {
  test(`scenario: ${s.name}`, async () => {
    const call = client.execute(modules[s.module], s.fn, s.args, s.options);
    if (s.results) {
      const r = await call;
      assert.deepStrictEqual(r.results, s.results);
      assert.match(r.requestId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(r.executionSummary.status, 'success');
      return;
    }
    const want = /** @type {NonNullable<typeof s.error>} */ (s.error);
    const err = await call.then(() => assert.fail('expected an error reply'), (e) => e);
    assert.ok(err instanceof HypervisorError && !(err instanceof VerificationError), String(err?.stack ?? err));
    assert.equal(err.httpStatus, want.httpStatus);
    assert.equal(err.errorCode, want.errorCode);
    assert.equal(typeof err.requestId, 'string');
    assert.equal(typeof err.body.encrypted_error, 'string', 'the reply carries encrypted_error');
    assert.equal(typeof err.detail, 'string', 'the sealed detail was opened');
    assert.match(err.detail, want.detail);
    if (want.clearHides) {
      assert.ok(!err.message.includes(want.clearHides), `the clear message shows "${want.clearHides}": ${err.message}`);
      assert.ok(!JSON.stringify(err.body).includes(want.clearHides), 'the clear reply shows the program\'s names');
    }
  });
}

test('health and keys', async () => {
  const h = await client.health();
  assert.equal(h.status, 'ok');
  const k = await client.getKeys();
  assert.deepEqual(k.suite, { kem_id: 16, kdf_id: 1, aead_id: 2 });
  assert.ok(k.keys.some((/** @type {any} */ key) => key.current === true && /^[0-9a-f]{16}$/.test(key.key_id)));
});

test('metrics: Prometheus text, or JSON on request; authenticated', async () => {
  assert.match(await client.metrics(), /^hypervisor_executions_total\{status="success"\} \d+$/m);
  const json = await client.metrics({ json: true });
  // The JSON form's names drop the hypervisor_ prefix (docs/service.md says "the same names").
  assert.equal(typeof json.executions_total.success, 'number');
  await assert.rejects(new HypervisorClient({ baseUrl: server.url }).metrics(), (e) =>
    e instanceof HypervisorError && e.errorCode === 'UNAUTHORIZED');
});

test('a module and bytes given as views into larger buffers are sent as the views', async () => {
  const view = (/** @type {Uint8Array} */ b) => {
    const big = new Uint8Array(b.length + 16).fill(0xee);
    big.set(b, 8);
    return big.subarray(8, 8 + b.length);
  };
  const payload = new Uint8Array([1, 2, 3, 250]);
  const r = await client.execute(view(modules.strings), 'echo', [bytes(view(payload))], { results: ['bytes'] });
  assert.deepStrictEqual(r.results, [bytes(payload)]);
  const v1 = await client.execute(view(modules.add).slice().buffer, 'add', [i32(2), i32(3)], { protocol: '1' });
  assert.deepStrictEqual(v1.results, [i32(5)]);
});

test('a wrong API key is 401 UNAUTHORIZED, with no request_id', async () => {
  for (const apiKey of ['hvk_wrong', undefined]) {
    const c = new HypervisorClient({ baseUrl: server.url, apiKey });
    await assert.rejects(c.execute(modules.add, 'add', [i32(1), i32(2)]), (e) =>
      e instanceof HypervisorError && e.httpStatus === 401 && e.errorCode === 'UNAUTHORIZED' && e.requestId === undefined);
  }
});

test('verify: all three commitments are found; a wrong hash is not; an unknown id is 404', async () => {
  const r = await client.execute(modules.strings, 'echo', [str('verify me')], { results: ['string'] });
  const all = await client.verifyAll(r);
  assert.equal(all.verified, true);
  for (const type of /** @type {const} */ (['result', 'program', 'arguments'])) {
    assert.equal(all[type].verified, true);
    assert.equal(all[type].commitment_type, type);
    const wrong = (r.commitments[type][0] === '0' ? '1' : '0') + r.commitments[type].slice(1);
    const answer = await client.verify(r.requestId, type, wrong);
    assert.equal(answer.verified, false, `a wrong ${type} hash`);
  }
  const record = await client.verify(r.requestId);
  assert.deepEqual(record.commitments, r.commitments);
  assert.equal(record.status, 'success');
  await assert.rejects(client.verify(randomUUID()), (e) =>
    e instanceof HypervisorError && e.httpStatus === 404 && e.errorCode === 'NOT_FOUND');
  // verifyAll refuses a commitment the record does not hold.
  const forged = { ...r, commitments: { ...r.commitments, arguments: '0'.repeat(64) } };
  await assert.rejects(client.verifyAll(forged), (e) =>
    e instanceof VerificationError && e.errorCode === 'COMMITMENT_NOT_VERIFIED' && e.commitment === 'arguments');
});

/**
 * A client whose fetch hands every request body to `onRequest` and every execute reply body to
 * `change` before the client sees it: a party on the path.
 * @param {(body: any) => void} change
 * @param {(body: any) => void} [onRequest]
 */
function clientOnPath(change, onRequest = () => {}) {
  /** @type {typeof fetch} */
  const onPath = async (url, init) => {
    if (init?.body) onRequest(JSON.parse(String(init.body)));
    const res = await fetch(url, init);
    if (!String(url).endsWith('/v1/execute')) return res;
    const body = await res.json();
    change(body);
    return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
  };
  return new HypervisorClient({ baseUrl: server.url, apiKey: server.apiKey, fetch: onPath });
}

test('v1.1 by default seals the function name and arguments; v1 on request sends them in clear', async () => {
  /** @type {any[]} */
  const sent = [];
  const c = clientOnPath(() => {}, (b) => sent.push(b));
  await c.execute(modules.add, 'add', [i32(1), i32(2)]);
  await c.execute(modules.add, 'add', [i32(1), i32(2)], { protocol: '1' });
  assert.equal(sent.length, 2);
  assert.equal(typeof sent[0].encrypted_invocation, 'string');
  assert.ok(!('function_name' in sent[0]) && !('arguments' in sent[0]), 'v1.1 sends no clear invocation');
  assert.equal(sent[1].function_name, 'add');
  assert.deepEqual(sent[1].arguments, [{ type: 'i32', value: 1 }, { type: 'i32', value: 2 }]);
  assert.ok(!('encrypted_invocation' in sent[1]));
  assert.notEqual(sent[0].public_key, sent[1].public_key, 'a fresh client key per request');
});

const flipHex = (/** @type {string} */ h) => (h[0] === '0' ? '1' : '0') + h.slice(1);
const flipBase64 = (/** @type {string} */ b) => {
  const bytes = fromBase64(b);
  bytes[bytes.length - 1] ^= 1;
  return toBase64(bytes);
};

// Replies changed on the way: each must be refused, none believed.
const TAMPERED = [
  { name: 'result_commitment', change: (/** @type {any} */ b) => { b.result_commitment = flipHex(b.result_commitment); },
    code: 'COMMITMENT_MISMATCH', commitment: 'result' },
  { name: 'program_commitment', change: (/** @type {any} */ b) => { b.program_commitment = flipHex(b.program_commitment); },
    code: 'COMMITMENT_MISMATCH', commitment: 'program' },
  { name: 'arguments_commitment', change: (/** @type {any} */ b) => { b.arguments_commitment = flipHex(b.arguments_commitment); },
    code: 'COMMITMENT_MISMATCH', commitment: 'arguments' },
  { name: 'encrypted_result', change: (/** @type {any} */ b) => { b.encrypted_result = flipBase64(b.encrypted_result); },
    code: 'BAD_RESPONSE' },
  { name: 'request_id', change: (/** @type {any} */ b) => { b.request_id = randomUUID(); }, code: 'BAD_RESPONSE' },
];
for (const t of TAMPERED) {
  test(`a changed ${t.name} in the reply is detected`, async () => {
    const c = clientOnPath(t.change);
    await assert.rejects(c.execute(modules.strings, 'echo', [str('tamper')], { results: ['string'] }), (e) =>
      e instanceof VerificationError && e.errorCode === t.code && e.commitment === t.commitment);
  });
}

test('a changed encrypted_error is detected, the server\'s error kept as the cause', async () => {
  const c = clientOnPath((b) => { b.encrypted_error = flipBase64(b.encrypted_error); });
  await assert.rejects(c.execute(modules.add, 'boom', []), (e) =>
    e instanceof VerificationError && e.cause instanceof HypervisorError && e.cause.errorCode === 'EXECUTION_TRAP');
});

test('a sealed error moved to another request_id is detected', async () => {
  const c = clientOnPath((b) => { b.request_id = randomUUID(); });
  await assert.rejects(c.execute(modules.add, 'boom', []), (e) => e instanceof VerificationError);
});
