// validate.mjs: validates recorded HTTP exchanges against docs/openapi.yaml (the contract test,
// tests/openapi/run-contract.sh).
//
//   node validate.mjs OPENAPI.yaml EXCHANGES.jsonl            validate; exit 1 on any mismatch
//   node validate.mjs --self-test OPENAPI.yaml EXCHANGES.jsonl  the validator must reject each of
//                                                               a list of broken replies
//
// Each line of EXCHANGES is {"kind": "http", name, method, path, request_headers, request_body,
// status, response_headers (the raw header block), response_body} or {"kind": "document", name,
// schema, document} (a sealed document's plaintext and the components/schemas entry it must match).
//
// For an http exchange: the path is matched against the document's paths (templates such as
// {request_id} match one segment), then the operation by method; a method the path does not list
// uses the path item's `x-other-methods` responses, a path the document does not list the
// top-level `x-unmatched-path` responses. The status must be documented. Every header the response
// object marks required must be there, and every header value documented is validated against its
// schema; any Access-Control-*, Allow, Retry-After, X-Request-Id, Vary, Cache-Control,
// X-Content-Type-Options, Content-Security-Policy or Referrer-Policy header sent must be documented
// for that response. The Content-Type must
// be one the response documents, and the body (JSON, or text for text/plain) must validate
// against its schema (JSON Schema 2020-12, Ajv). A request answered 200 must itself validate
// against the operation's requestBody schema. Finally every documented path and method must have
// been exercised at least once.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const SCHEMAS_ID = 'https://wasm-hypervisor.invalid/components/schemas/';
const GOVERNED = /^(access-control-.*|allow|retry-after|x-request-id|vary|cache-control|x-content-type-options|content-security-policy|referrer-policy)$/;
const METHODS = ['get', 'head', 'post', 'put', 'delete', 'options', 'patch'];

function load(specPath) {
  const doc = YAML.parse(readFileSync(specPath, 'utf8'));
  // Strict: an unknown keyword (a typo in the document) is an error. strictTypes is off: the
  // narrowing fragments in allOf (`properties: {error_code: {const: ...}}`, `required`) name no
  // type and no properties of their own (strictTypes, strictRequired are off).
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword('example'); // OpenAPI's own annotation
  // Each components/schemas entry under an id of its own; references to them are rewritten to it.
  for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(rebase(schema), SCHEMAS_ID + name);
  return { doc, ajv, validators: new Map() };
}

// Follows local $refs ('#/a/b') within the document.
function deref(doc, node) {
  let seen = 0;
  while (node && typeof node === 'object' && typeof node.$ref === 'string') {
    if (++seen > 20) throw new Error(`$ref loop at ${node.$ref}`);
    const parts = node.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    node = parts.reduce((o, k) => (o == null ? undefined : o[k]), doc);
    if (node === undefined) throw new Error(`unresolved $ref`);
  }
  return node;
}

// A validator for a schema object found in the document (compiled once per object).
function validatorFor(ctx, schema) {
  let v = ctx.validators.get(schema);
  if (!v) {
    v = ctx.ajv.compile(rebase(schema));
    ctx.validators.set(schema, v);
  }
  return v;
}

// References to '#/components/schemas/NAME' become the id that entry was added under.
function rebase(node) {
  if (Array.isArray(node)) return node.map(rebase);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') {
        if (!v.startsWith('#/components/schemas/')) throw new Error(`a schema refers outside components/schemas: ${v}`);
        out[k] = SCHEMAS_ID + v.slice('#/components/schemas/'.length);
      } else {
        out[k] = rebase(v);
      }
    }
    return out;
  }
  return node;
}

function schemaErrors(ctx, schema, value) {
  const v = validatorFor(ctx, schema);
  if (v(value)) return [];
  return v.errors.map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}`);
}

function parseHeaders(block) {
  const headers = new Map();
  for (const line of block.split(/\r?\n/)) {
    const m = /^([^:\s]+):\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const name = m[1].toLowerCase();
    if (headers.has(name)) headers.set(name, `${headers.get(name)}, ${m[2]}`);
    else headers.set(name, m[2]);
  }
  return headers;
}

function matchPath(doc, urlPath) {
  for (const template of Object.keys(doc.paths)) {
    const re = new RegExp('^' + template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$');
    if (re.test(urlPath)) return template;
  }
  return null;
}

// Header values are text; a schema asking for an integer gets the number the text spells.
function headerValue(schema, text) {
  const s = schema || {};
  const numeric = s.type === 'integer' || s.type === 'number' || typeof s.const === 'number';
  return numeric && /^-?[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : text;
}

function checkHttp(ctx, ex, covered) {
  const { doc } = ctx;
  const problems = [];
  const url = new URL(ex.path, 'http://server');
  const template = matchPath(doc, url.pathname);
  const method = ex.method.toLowerCase();
  let responses;
  let operation = null;
  if (!template) {
    responses = doc['x-unmatched-path'];
    if (!responses) return [`no path of the document matches ${url.pathname}`];
  } else {
    const item = deref(doc, doc.paths[template]);
    operation = item[method] ? deref(doc, item[method]) : null;
    if (operation) {
      responses = operation.responses;
      covered.add(`${method} ${template}`);
      // Aliases share a path item: a status seen at either counts for both.
      covered.add(`${method} ${doc.paths[template].$ref || template} ${ex.status}`);
    } else {
      responses = item['x-other-methods'];
      if (!responses) return [`${ex.method} ${template} is not documented`];
    }
  }
  const responseRef = responses[String(ex.status)];
  if (!responseRef) return [`status ${ex.status} is not documented for ${ex.method} ${template || '(unmatched path)'}`];
  const response = deref(doc, responseRef);

  // Headers.
  const got = parseHeaders(ex.response_headers || '');
  const documented = new Map();
  for (const [name, h] of Object.entries(response.headers || {})) documented.set(name.toLowerCase(), deref(doc, h));
  for (const [name, h] of documented) {
    if (!got.has(name)) {
      if (h.required) problems.push(`header ${name} is required and missing`);
      continue;
    }
    if (h.schema) {
      for (const e of schemaErrors(ctx, h.schema, headerValue(deref(doc, h.schema), got.get(name))))
        problems.push(`header ${name}: '${got.get(name)}': ${e}`);
    }
  }
  for (const name of got.keys()) {
    if (GOVERNED.test(name) && !documented.has(name)) problems.push(`header ${name} is sent but not documented for this response`);
  }

  // Body.
  const body = ex.response_body;
  if (body === null || body === undefined) problems.push('the body is not UTF-8 text');
  const content = response.content || {};
  const mediaTypes = Object.keys(content);
  const contentType = got.get('content-type');
  if (mediaTypes.length === 0) {
    if (body) problems.push(`a body is sent where the document describes none (${body.length} bytes)`);
  } else {
    const media = contentType ? contentType.split(';')[0].trim().toLowerCase() : null;
    if (!media || !content[media]) {
      problems.push(`Content-Type '${contentType}' is not one of ${mediaTypes.join(', ')}`);
    } else if (method !== 'head') {
      let value = body;
      if (media === 'application/json') {
        try {
          value = JSON.parse(body);
        } catch (e) {
          problems.push(`the body is not JSON: ${e.message}`);
          value = undefined;
        }
      }
      const schema = content[media].schema;
      if (value !== undefined && schema) for (const e of schemaErrors(ctx, schema, value)) problems.push(`body ${e}`);
    } else if (body) {
      problems.push('a HEAD reply with a body');
    }
  }

  // A request the server accepted must be one the document allows.
  if (ex.status === 200 && operation && operation.requestBody && ex.request_body) {
    const rb = deref(doc, operation.requestBody);
    const schema = rb.content && rb.content['application/json'] && rb.content['application/json'].schema;
    let value;
    try {
      value = JSON.parse(ex.request_body);
    } catch (e) {
      problems.push(`the accepted request body is not JSON: ${e.message}`);
    }
    if (schema && value !== undefined) for (const e of schemaErrors(ctx, schema, value)) problems.push(`request body ${e}`);
  }
  return problems;
}

function checkDocument(ctx, ex) {
  const schema = ctx.doc.components.schemas[ex.schema];
  if (!schema) return [`components/schemas/${ex.schema} does not exist`];
  let value;
  try {
    value = JSON.parse(ex.document);
  } catch (e) {
    return [`the document is not JSON: ${e.message}`];
  }
  return schemaErrors(ctx, schema, value).map((e) => `document ${e}`);
}

function check(ctx, ex, covered) {
  try {
    return ex.kind === 'document' ? checkDocument(ctx, ex) : checkHttp(ctx, ex, covered);
  } catch (e) {
    return [`validator error: ${e.message}`];
  }
}

function readExchanges(path) {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function validateAll(ctx, exchanges) {
  const covered = new Set();
  let passed = 0;
  let failed = 0;
  for (const ex of exchanges) {
    const problems = check(ctx, ex, covered);
    const label = ex.kind === 'document' ? `document ${ex.schema}: ${ex.name}` : `${ex.method} ${ex.path} -> ${ex.status}: ${ex.name}`;
    if (problems.length === 0) {
      passed++;
    } else {
      failed++;
      console.log(`FAIL ${label}`);
      for (const p of problems) console.log(`     ${p}`);
    }
  }
  // Every documented operation must have been exercised.
  for (const template of Object.keys(ctx.doc.paths)) {
    const item = deref(ctx.doc, ctx.doc.paths[template]);
    for (const m of METHODS) {
      if (!item[m]) continue;
      if (covered.has(`${m} ${template}`)) passed++;
      else {
        failed++;
        console.log(`FAIL ${m.toUpperCase()} ${template}: documented but never exercised`);
      }
    }
  }
  // Statuses documented but never seen: said, not failed (an INTERNAL_ERROR cannot be provoked).
  const unseen = new Map(); // one entry per path item (aliases counted once)
  for (const template of Object.keys(ctx.doc.paths)) {
    const key = ctx.doc.paths[template].$ref || template;
    const item = deref(ctx.doc, ctx.doc.paths[template]);
    for (const m of METHODS) {
      if (!item[m]) continue;
      for (const status of Object.keys(item[m].responses)) {
        const k = `${m} ${key} ${status}`;
        if (!covered.has(k) && !unseen.has(k)) unseen.set(k, `${m.toUpperCase()} ${template} ${status}`);
      }
    }
  }
  if (unseen.size) console.log(`documented, not provoked here (aliases counted once): ${[...unseen.values()].join('; ')}`);
  return { passed, failed };
}

// Broken replies the validator must reject: each takes an exchange list and returns a changed
// copy, or null when no exchange fits.
const MUTATIONS = [
  ['a 200 execute reply without key_id', (xs) => editBody(xs, (x) => x.method === 'POST' && x.status === 200, (b) => { delete b.key_id; })],
  ['an undocumented member in an error body', (xs) => editBody(xs, (x) => x.status === 401, (b) => { b.hint = 'x'; })],
  ['an error code that the status does not allow', (xs) => editBody(xs, (x) => x.status === 401, (b) => { b.error_code = 'NOT_FOUND'; })],
  ['a timestamp without milliseconds', (xs) => editBody(xs, (x) => x.status === 404, (b) => { b.timestamp = '2026-12-06T04:00:00Z'; })],
  ['a summary missing a member', (xs) => editBody(xs, (x) => x.status === 422, (b) => { delete b.execution_summary.gas_used; })],
  ['a commitment in upper case', (xs) => editBody(xs, (x) => x.method === 'POST' && x.status === 200, (b) => { b.result_commitment = b.result_commitment.toUpperCase(); })],
  ['health with an unknown status', (xs) => editBody(xs, (x) => x.path === '/health' && x.method === 'GET' && x.status === 200, (b) => { b.status = 'fine'; })],
  ['a key list with a short key_id', (xs) => editBody(xs, (x) => x.path === '/v1/keys' && x.method === 'GET', (b) => { b.keys[0].key_id = 'abc'; })],
  ['JSON metrics with a negative count', (xs) => editBody(xs, (x) => /metrics$/.test(x.path) && x.status === 200 && (x.response_body || '').startsWith('{'), (b) => { b.keys = -1; })],
  ['an undocumented status', (xs) => edit(xs, (x) => x.status === 200, (x) => { x.status = 418; })],
  ['a 429 without Retry-After', (xs) => edit(xs, (x) => x.status === 429, (x) => { x.response_headers = dropHeader(x.response_headers, 'retry-after'); })],
  ['a 405 without Allow', (xs) => edit(xs, (x) => x.status === 405, (x) => { x.response_headers = dropHeader(x.response_headers, 'allow'); })],
  ['a reply without Cache-Control', (xs) => edit(xs, (x) => x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'cache-control'); })],
  ['credentials allowed on a preflight', (xs) => edit(xs, (x) => x.status === 204, (x) => { x.response_headers += 'Access-Control-Allow-Credentials: true\r\n'; })],
  ['a preflight with the wrong max-age', (xs) => edit(xs, (x) => x.status === 204, (x) => { x.response_headers = dropHeader(x.response_headers, 'access-control-max-age') + 'Access-Control-Max-Age: 86400\r\n'; })],
  ['a JSON body sent as text/html', (xs) => edit(xs, (x) => x.status === 404, (x) => { x.response_headers = dropHeader(x.response_headers, 'content-type') + 'Content-Type: text/html\r\n'; })],
  ['metrics text with a malformed line', (xs) => edit(xs, (x) => /metrics$/.test(x.path) && x.status === 200 && (x.response_body || '').startsWith('#'), (x) => { x.response_body += 'not a sample line\n'; })],
  ['a result document without its nonce', (xs) => edit(xs, (x) => x.kind === 'document' && x.schema === 'ResultDocument', (x) => { const d = JSON.parse(x.document); delete d.nonce; x.document = JSON.stringify(d); })],
  ['a command document with a negative exit code', (xs) => edit(xs, (x) => x.kind === 'document' && x.schema === 'CommandResultDocument', (x) => { const d = JSON.parse(x.document); d.exit_code = -1; x.document = JSON.stringify(d); })],
  ['an accepted request with an unknown member', (xs) => edit(xs, (x) => x.method === 'POST' && x.status === 200, (x) => { const r = JSON.parse(x.request_body); r.extra = 1; x.request_body = JSON.stringify(r); })],
  ['an unexercised operation', (xs) => xs.filter((x) => !(x.kind === 'http' && x.method === 'HEAD' && /^\/v1\/keys/.test(x.path)))],
  // The transparency log and the playground.
  ['a receipt whose leaf_hash is hex', (xs) => editBody(xs, (x) => x.method === 'POST' && x.status === 200 && /"receipt"/.test(x.response_body), (b) => { b.receipt.leaf_hash = 'ab'.repeat(32); })],
  ['a receipt without its checkpoint', (xs) => editBody(xs, (x) => x.method === 'POST' && x.status === 200 && /"receipt"/.test(x.response_body), (b) => { delete b.receipt.checkpoint; })],
  ['a receipt with a negative leaf_index', (xs) => editBody(xs, (x) => x.method === 'POST' && x.status === 200 && /"receipt"/.test(x.response_body), (b) => { b.receipt.leaf_index = -1; })],
  ['a checkpoint without its signature line', (xs) => edit(xs, (x) => x.kind === 'http' && x.method === 'GET' && x.path === '/v1/log/checkpoint' && x.status === 200, (x) => { x.response_body = x.response_body.split('\n\n')[0] + '\n'; })],
  ['a checkpoint sent as JSON', (xs) => edit(xs, (x) => x.kind === 'http' && x.method === 'GET' && x.path === '/v1/log/checkpoint' && x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'content-type') + 'Content-Type: application/json\r\n'; })],
  ['a log key with another algorithm', (xs) => editBody(xs, (x) => x.method === 'GET' && x.path === '/v1/log/key' && x.status === 200, (b) => { b.algorithm = 'rsa'; })],
  ['an inclusion proof with a short hash', (xs) => editBody(xs, (x) => x.method === 'GET' && x.path.startsWith('/v1/log/proof/inclusion') && x.status === 200 && /"inclusion_proof":\["/.test(x.response_body), (b) => { b.inclusion_proof[0] = 'AAAA'; })],
  ['a consistency proof without new_size', (xs) => editBody(xs, (x) => x.method === 'GET' && x.path.startsWith('/v1/log/proof/consistency') && x.status === 200, (b) => { delete b.new_size; })],
  ['a leaf with an unknown record state', (xs) => editBody(xs, (x) => x.method === 'GET' && x.path.startsWith('/v1/log/leaves') && x.status === 200, (b) => { b.leaves[0].record = 'gone'; })],
  ['a log 400 with another error code', (xs) => editBody(xs, (x) => x.path.startsWith('/v1/log/') && x.status === 400 && x.method === 'GET', (b) => { b.error_code = 'NOT_FOUND'; })],
  ['a playground page without its Content-Security-Policy', (xs) => edit(xs, (x) => x.kind === 'http' && x.path === '/' && x.method === 'GET' && x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'content-security-policy'); })],
  ['a playground page with a weaker Content-Security-Policy', (xs) => edit(xs, (x) => x.kind === 'http' && x.path === '/' && x.method === 'GET' && x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'content-security-policy') + "Content-Security-Policy: default-src *\r\n"; })],
  ['a playground file without Referrer-Policy', (xs) => edit(xs, (x) => x.kind === 'http' && x.path.startsWith('/playground/') && x.method === 'GET' && x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'referrer-policy'); })],
  ['a playground file of an undocumented type', (xs) => edit(xs, (x) => x.kind === 'http' && x.path.startsWith('/playground/') && x.method === 'GET' && x.status === 200, (x) => { x.response_headers = dropHeader(x.response_headers, 'content-type') + 'Content-Type: application/octet-stream\r\n'; })],
  ['a Content-Security-Policy on an error reply', (xs) => edit(xs, (x) => x.kind === 'http' && x.status === 404, (x) => { x.response_headers += "Content-Security-Policy: default-src 'none'\r\n"; })],
  ['JSON metrics with an unknown endpoint label', (xs) => editBody(xs, (x) => /metrics$/.test(x.path) && x.status === 200 && (x.response_body || '').startsWith('{'), (b) => { b.http_requests_total.bogus = 1; })],
  ['an unexercised log operation', (xs) => xs.filter((x) => !(x.kind === 'http' && x.method === 'HEAD' && x.path === '/v1/log/key'))],
  ['an unexercised playground operation', (xs) => xs.filter((x) => !(x.kind === 'http' && x.method === 'GET' && x.path.startsWith('/playground/')))],
];

function edit(xs, pick, change) {
  const i = xs.findIndex(pick);
  if (i < 0) return null;
  const copy = xs.map((x) => ({ ...x }));
  change(copy[i]);
  return copy;
}

function editBody(xs, pick, change) {
  return edit(xs, (x) => x.kind === 'http' && pick(x), (x) => {
    const b = JSON.parse(x.response_body);
    change(b);
    x.response_body = JSON.stringify(b);
  });
}

function dropHeader(block, name) {
  return block.split(/(?<=\n)/).filter((l) => !l.toLowerCase().startsWith(name + ':')).join('');
}

function main() {
  const args = process.argv.slice(2);
  const selfTest = args[0] === '--self-test';
  if (selfTest) args.shift();
  if (args.length !== 2) {
    console.error('usage: node validate.mjs [--self-test] OPENAPI.yaml EXCHANGES.jsonl');
    process.exit(2);
  }
  const ctx = load(args[0]);
  const exchanges = readExchanges(args[1]);
  if (!selfTest) {
    const { passed, failed } = validateAll(ctx, exchanges);
    console.log(`openapi contract: ${exchanges.length} exchanges against ${args[0]}`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }
  // The unchanged exchanges must pass (else the self-test proves nothing), each mutation fail.
  const quiet = console.log;
  let passed = 0;
  let failed = 0;
  console.log = () => {};
  const base = validateAll(ctx, exchanges);
  console.log = quiet;
  if (base.failed) {
    console.log('self-test: the recorded exchanges do not validate; run without --self-test');
    failed++;
  }
  for (const [name, mutate] of MUTATIONS) {
    const changed = mutate(exchanges);
    if (!changed) {
      console.log(`FAIL self-test: no recorded exchange to break for '${name}'`);
      failed++;
      continue;
    }
    console.log = () => {};
    const r = validateAll(ctx, changed);
    console.log = quiet;
    if (r.failed > 0) passed++;
    else {
      failed++;
      console.log(`FAIL self-test: the validator accepted ${name}`);
    }
  }
  console.log(`openapi validator self-test: ${MUTATIONS.length} broken replies`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
