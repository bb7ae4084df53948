// HypervisorClient: the HTTP side. Every execute makes a fresh key pair, seals to the server's
// current key, and believes nothing of the reply until the three commitments check out.

import { HypervisorError, VerificationError } from './errors.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import { argumentsJson, bytes, commandInvocationJson, invocationJson, normalize, str, VALUE_TYPES } from './values.js';
import {
  INFO, SUITE_IDS, checkResult, importServerKey, keyIdOf, newClientKey, openSealed, sealRequestV1,
  sealRequestV11,
} from './protocol.js';

const HEX64 = /^[0-9a-f]{64}$/;
const COMMITMENT_TYPES = ['result', 'program', 'arguments'];

/**
 * @typedef {object} ClientOptions
 * @property {string} baseUrl e.g. "http://127.0.0.1:3000" (a path prefix is kept)
 * @property {string} [apiKey] sent as X-API-Key on authenticated endpoints
 * @property {typeof fetch} [fetch] defaults to globalThis.fetch
 */

export class HypervisorClient {
  /** @param {ClientOptions} options */
  constructor({ baseUrl, apiKey, fetch } = /** @type {any} */ ({})) {
    if (typeof baseUrl !== 'string' || baseUrl === '') throw new TypeError('baseUrl is required');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.apiKey = apiKey;
    // Bound: a browser's fetch called as a method of another object throws "Illegal invocation".
    this._fetch = fetch ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * GET /health. Returns the body for 200 and for 503 alike (`status` says "ok" or
   * "unavailable"): the service's state is the answer either way.
   */
  async health() {
    const { status, body } = await this._request('GET', '/health');
    if (status === 200 || (status === 503 && body && typeof body === 'object' && 'status' in body)) return body;
    throw errorFromReply(status, body);
  }

  /**
   * GET /v1/keys: the suite and the live server keys. Refuses a suite other than the protocol's.
   */
  async getKeys({ signal } = /** @type {{signal?: AbortSignal}} */ ({})) {
    const { status, body } = await this._request('GET', '/v1/keys', { signal });
    if (status !== 200) throw errorFromReply(status, body);
    const s = body?.suite;
    if (!s || s.kem_id !== SUITE_IDS.kem_id || s.kdf_id !== SUITE_IDS.kdf_id || s.aead_id !== SUITE_IDS.aead_id)
      throw new VerificationError({ message: 'the server offers another HPKE suite', httpStatus: status, body });
    if (!Array.isArray(body.keys)) throw new VerificationError({ message: '/v1/keys has no key list', httpStatus: status, body });
    return body;
  }

  /**
   * GET /v1/verify/{requestId}: with a type and a hash, whether the record holds that commitment
   * (`verified`); without, the record with its three commitments. 404 NOT_FOUND throws.
   * @param {string} requestId
   * @param {'result'|'program'|'arguments'} [commitmentType]
   * @param {string} [hashHex]
   */
  async verify(requestId, commitmentType, hashHex) {
    if (typeof requestId !== 'string' || requestId === '') throw new TypeError('requestId is required');
    let path = `/v1/verify/${encodeURIComponent(requestId)}`;
    if (commitmentType !== undefined || hashHex !== undefined) {
      if (!COMMITMENT_TYPES.includes(/** @type {string} */ (commitmentType)))
        throw new TypeError('commitmentType must be "result", "program" or "arguments"');
      if (typeof hashHex !== 'string') throw new TypeError('hashHex is required with a commitmentType');
      path += `?commitment_type=${commitmentType}&hash_value=${encodeURIComponent(hashHex)}`;
    }
    const { status, body } = await this._request('GET', path);
    if (status !== 200) throw errorFromReply(status, body);
    return body;
  }

  /**
   * Asks /v1/verify about each of an execute result's three commitments. Throws a
   * VerificationError (COMMITMENT_NOT_VERIFIED, `commitment` says which) unless all three verify.
   * @param {{requestId: string, commitments: {result: string, program: string, arguments: string}}} executeResult
   */
  async verifyAll(executeResult) {
    const { requestId, commitments } = executeResult;
    /** @type {Record<string, any>} */
    const answers = {};
    for (const type of COMMITMENT_TYPES) {
      const hash = commitments[/** @type {'result'} */ (type)];
      const answer = await this.verify(requestId, /** @type {'result'} */ (type), hash);
      if (answer.verified !== true)
        throw new VerificationError({
          message: `the server's record does not hold this ${type} commitment`,
          errorCode: 'COMMITMENT_NOT_VERIFIED', commitment: /** @type {'result'} */ (type), httpStatus: 200,
          requestId, body: answer });
      answers[type] = answer;
    }
    return { verified: true, result: answers.result, program: answers.program, arguments: answers.arguments };
  }

  /**
   * GET /metrics (authenticated): Prometheus text, or the JSON form with `{json: true}`.
   * @param {{json?: boolean}} [options]
   */
  async metrics({ json = false } = {}) {
    const headers = json ? { Accept: 'application/json' } : { Accept: 'text/plain' };
    const { status, body, text } = await this._request('GET', '/metrics', { auth: true, headers });
    if (status !== 200) throw errorFromReply(status, body);
    return json ? body : text;
  }

  /**
   * Runs an export of a module on the service and returns its checked results.
   * @param {Uint8Array|ArrayBuffer} wasmBytes the module (sent sealed)
   * @param {string} functionName the export
   * @param {Array<import('./values.js').TypedValue>} [args] typed values: i32(), i64(), f32(), f64(), str(), bytes()
   * @param {import('../index.js').ExecuteOptions} [options]
   */
  async execute(wasmBytes, functionName, args = [], options = {}) {
    const { results, timeoutSeconds, gasLimit, requestMetadata, signal } = options;
    const protocol = options.protocol ?? '1.1';
    const wasm = toBytes(wasmBytes, 'wasmBytes');
    if (typeof functionName !== 'string' || functionName === '') throw new TypeError('functionName is required');
    if (!Array.isArray(args)) throw new TypeError('args must be an array of typed values');
    let argv = args.map((a, i) => normalize(a, `args[${i}]`));
    if (protocol !== '1.1' && protocol !== '1') throw new TypeError('protocol must be "1.1" or "1"');
    if (results !== undefined) {
      if (protocol === '1') throw new TypeError('results can only be declared with protocol 1.1');
      if (!Array.isArray(results) || !results.every((t) => VALUE_TYPES.includes(t)))
        throw new TypeError(`results must be a list of ${VALUE_TYPES.join(', ')}`);
    }
    // A WASI command (protocol v1.1 "The WASI stdio profile"): argv and stdin instead of arguments.
    const command = options.argv !== undefined || options.stdin !== undefined;
    /** @type {string|undefined} */
    let commandDocument;
    if (command) {
      if (protocol !== '1.1') throw new TypeError('argv and stdin travel only in protocol 1.1');
      if (functionName !== '_start') throw new TypeError('a WASI command is run as _start');
      if (argv.length > 0 || results !== undefined) throw new TypeError('a WASI command takes argv and stdin, not args or results');
      const commandArgv = options.argv ?? [];
      if (!Array.isArray(commandArgv) || !commandArgv.every((a) => typeof a === 'string' && !a.includes('\u0000')))
        throw new TypeError('argv must be an array of strings without NUL');
      if (commandArgv.length > 999) throw new TypeError('argv takes at most 999 strings');
      const stdin = options.stdin === undefined ? new Uint8Array(0)
        : typeof options.stdin === 'string' ? utf8(options.stdin) : toBytes(options.stdin, 'stdin');
      commandDocument = commandInvocationJson(commandArgv, stdin);
      // What arguments_commitment covers: each argv string as a string, then stdin as bytes.
      argv = [...commandArgv.map((a) => normalize(str(a), 'argv')), normalize(bytes(stdin), 'stdin')];
    }

    const server = await this._currentKey(signal);
    const client = await newClientKey();

    /** @type {string[]} */
    const fields = [];
    const put = (/** @type {string} */ k, /** @type {string} */ jsonText) => fields.push(`${JSON.stringify(k)}:${jsonText}`);
    if (protocol === '1.1') {
      const invocation = utf8(commandDocument ?? invocationJson(functionName, argv, results));
      const sealed = await sealRequestV11(server.key, client.publicKey, wasm, invocation);
      put('encrypted_wasm', `"${toBase64(sealed.encryptedWasm)}"`);
      put('encrypted_invocation', `"${toBase64(sealed.encryptedInvocation)}"`);
    } else {
      const sealed = await sealRequestV1(server.key, client.publicKey, functionName, wasm);
      put('encrypted_wasm', `"${toBase64(sealed)}"`);
      put('function_name', JSON.stringify(functionName));
      put('arguments', argumentsJson(argv));
    }
    put('key_id', JSON.stringify(server.keyId));
    put('public_key', `"${toBase64(client.publicKey)}"`);
    if (requestMetadata !== undefined) put('request_metadata', JSON.stringify(requestMetadata));
    if (timeoutSeconds !== undefined) put('timeout_seconds', integerJson(timeoutSeconds, 'timeoutSeconds'));
    if (gasLimit !== undefined) put('gas_limit', integerJson(gasLimit, 'gasLimit'));

    const { status, body, headers } = await this._request('POST', '/v1/execute', {
      auth: true, body: `{${fields.join(',')}}`, signal });
    if (status !== 200) throw await this._executeError(status, body, headers, client.keyPair);

    const requestId = body?.request_id;
    const commitments = {
      result: body?.result_commitment, program: body?.program_commitment, arguments: body?.arguments_commitment };
    if (typeof requestId !== 'string' || typeof body.encrypted_result !== 'string' ||
        !Object.values(commitments).every((c) => typeof c === 'string' && HEX64.test(c)))
      throw new VerificationError({ message: 'the reply lacks its request_id, encrypted_result or commitments',
        httpStatus: status, requestId, body });
    if (body.key_id !== server.keyId)
      throw new VerificationError({ message: `the reply names key ${body.key_id}, the request was sealed to ${server.keyId}`,
        httpStatus: status, requestId, body });

    let document;
    try {
      document = await openSealed(client.keyPair, INFO.response, requestId, body.encrypted_result);
    } catch (e) {
      throw new VerificationError({ message: 'encrypted_result does not open with this request\'s key',
        httpStatus: status, requestId, body, cause: e });
    }
    const checked = await checkResult({
      document, requestId, functionName, wasm, args: argv, commitments, declaredResults: results, command });
    /** @type {any} */
    const out = {
      requestId,
      keyId: body.key_id,
      results: checked.results,
      resultDocument: document,
      document: checked.document,
      commitments,
      executionSummary: body.execution_summary,
    };
    if (checked.exitCode !== undefined) Object.assign(out, { exitCode: checked.exitCode, stdout: checked.stdout, stderr: checked.stderr });
    return out;
  }

  /**
   * Runs a WASI command (protocol v1.1 "The WASI stdio profile"; the server needs `wasm.wasi:
   * stdio`): its `_start` with this argv (argv[0] included, as in execve) and stdin. Returns what
   * execute returns, with `exitCode`, `stdout` and `stderr` (Uint8Array) in place of `results`.
   * @param {Uint8Array|ArrayBuffer} wasmBytes
   * @param {{argv?: string[], stdin?: Uint8Array|ArrayBuffer|string} & import('../index.js').ExecuteOptions} [options]
   */
  async runCommand(wasmBytes, options = {}) {
    return this.execute(wasmBytes, '_start', [], { ...options, argv: options.argv ?? [], stdin: options.stdin });
  }

  /**
   * The key to seal to: the one /v1/keys marks current, with its key_id checked.
   * @param {AbortSignal} [signal]
   */
  async _currentKey(signal) {
    const keys = await this.getKeys({ signal });
    const k = keys.keys.find((/** @type {any} */ k) => k && k.current === true) ?? keys.keys[0];
    if (!k || typeof k.public_key !== 'string') throw new VerificationError({ message: 'the server lists no key', httpStatus: 200, body: keys });
    let imported;
    try {
      imported = await importServerKey(fromBase64(k.public_key));
    } catch (e) {
      throw new VerificationError({ message: 'the server key is not a P-256 point', httpStatus: 200, body: keys, cause: e });
    }
    const keyId = await keyIdOf(imported.sec1);
    if (k.key_id !== keyId)
      throw new VerificationError({ message: `the server key's key_id is ${k.key_id}, its hash says ${keyId}`, httpStatus: 200, body: keys });
    return { key: imported.key, keyId };
  }

  /**
   * An error reply of execute, its sealed detail opened (protocol v1.1 "Sealed errors"). A detail
   * that does not open or names another request makes it a VerificationError whose cause is the
   * server's error.
   * @param {number} status
   * @param {any} body
   * @param {Headers} headers
   * @param {CryptoKeyPair} keyPair
   */
  async _executeError(status, body, headers, keyPair) {
    const err = errorFromReply(status, body, headers);
    if (!body || typeof body.encrypted_error !== 'string') return err;
    const fail = (/** @type {string} */ message) => new VerificationError({
      message: `${message} (the server answered ${err.errorCode}: ${err.message})`, httpStatus: status,
      requestId: err.requestId, body, cause: err });
    if (typeof body.request_id !== 'string') return fail('a sealed error without a request_id');
    let sealed;
    try {
      sealed = JSON.parse(fromUtf8(await openSealed(keyPair, INFO.error, body.request_id, body.encrypted_error)));
    } catch {
      return fail('encrypted_error does not open with this request\'s key');
    }
    if (sealed?.request_id !== body.request_id) return fail('encrypted_error is for another request');
    if (sealed.error_code !== body.error_code) return fail(`encrypted_error says ${sealed.error_code}`);
    if (typeof sealed.message !== 'string') return fail('encrypted_error has no message');
    err.detail = sealed.message;
    return err;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{auth?: boolean, body?: string, headers?: Record<string, string>, signal?: AbortSignal}} [o]
   */
  async _request(method, path, o = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', ...o.headers };
    if (o.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    if (o.auth && this.apiKey !== undefined) headers['X-API-Key'] = this.apiKey;
    const res = await this._fetch(this.baseUrl + path, { method, headers, body: o.body, signal: o.signal });
    const text = await res.text();
    let body;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text, headers: res.headers };
  }
}

/**
 * @param {number} status
 * @param {any} body
 * @param {Headers} [headers]
 */
function errorFromReply(status, body, headers) {
  const ok = body && typeof body === 'object' && typeof body.error_code === 'string';
  const retry = headers?.get('Retry-After');
  return new HypervisorError({
    message: ok && typeof body.message === 'string' ? body.message : `HTTP ${status}`,
    httpStatus: status,
    errorCode: ok ? body.error_code : 'HTTP_ERROR',
    requestId: ok && typeof body.request_id === 'string' ? body.request_id : undefined,
    executionSummary: ok ? body.execution_summary : undefined,
    retryAfter: retry != null && /^\d+$/.test(retry) ? Number(retry) : undefined,
    body,
  });
}

/**
 * @param {unknown} v
 * @param {string} name
 */
function toBytes(v, name) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`${name} must be a Uint8Array or an ArrayBuffer`);
}

/**
 * @param {unknown} v a safe integer or a BigInt
 * @param {string} name
 */
function integerJson(v, name) {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  throw new TypeError(`${name} must be an integer`);
}
