// The playground page (docs/playground.md): a module from WebAssembly text (compiled here by the
// wabt package) or a .wasm file, an export and typed arguments, run on this server through the
// JavaScript client (sealed with HPKE in the page), the result opened and its commitments checked.
import wabtInit from 'wabt';
import {
  HypervisorClient, HypervisorError, VerificationError, i32, i64, f32, f64, str, bytes,
} from '../../js/src/index.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const TYPES = ['i32', 'i64', 'f32', 'f64', 'string', 'bytes'];
const CORE = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };

const EXAMPLE = `(module
  ;; Try: add 40 2, or the loop with a small gas limit.
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func (export "boom") unreachable)
  (func (export "spin") (loop (br 0))))
`;

/** @type {Uint8Array|null} */
let wasm = null;
/** @type {Map<string, string[]>} */
let exportParams = new Map();
/** @type {Promise<any>|null} */
let wabt = null;

/**
 * The parameter types of each exported function, read from the binary's type, import, function
 * and export sections (WebAssembly.Module.exports gives names only).
 * @param {Uint8Array} b
 * @returns {Map<string, string[]>}
 */
export function exportSignatures(b) {
  let p = 8;
  const u32 = () => {
    let r = 0, shift = 0, byte;
    do {
      if (p >= b.length) throw new Error('truncated module');
      byte = b[p++];
      r |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return r >>> 0;
  };
  const name = () => { const n = u32(); const s = new TextDecoder().decode(b.subarray(p, p + n)); p += n; return s; };
  /** @type {string[][]} */ const types = [];
  /** @type {number[]} */ const funcs = [];
  /** @type {Map<string, string[]>} */ const out = new Map();
  while (p < b.length) {
    const id = b[p++];
    const size = u32();
    const end = p + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        p++; // 0x60
        const params = [];
        for (let k = u32(); k > 0; k--) params.push(CORE[/** @type {0x7f} */ (b[p++])] ?? '?');
        for (let k = u32(); k > 0; k--) p++;
        types.push(params);
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        name(); name();
        const kind = b[p++];
        if (kind === 0) funcs.push(u32());
        else if (kind === 1) { p++; const f = u32(); u32(); if (f & 1) u32(); }
        else if (kind === 2) { const f = u32(); u32(); if (f & 1) u32(); }
        else if (kind === 3) { p += 2; }
        else { p++; u32(); } // a tag: attribute, type index
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcs.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const nm = name();
        const kind = b[p++];
        const index = u32();
        if (kind === 0) out.set(nm, types[funcs[index]] ?? []);
      }
    }
    p = end;
  }
  return out;
}

function setStatus(/** @type {string} */ text, /** @type {string} */ cls = 'status') {
  const s = $('program-status');
  s.textContent = text;
  s.className = cls;
}

async function compileWat(/** @type {string} */ text) {
  wabt ??= wabtInit();
  const w = await wabt;
  const m = w.parseWat('playground.wat', text);
  try {
    m.resolveNames();
    m.validate();
    return new Uint8Array(m.toBinary({ log: false }).buffer);
  } finally {
    m.destroy();
  }
}

async function loadProgram() {
  wasm = null;
  $('export').replaceChildren();
  try {
    let b;
    if (document.querySelector('input[name=source]:checked').value === 'wat') {
      setStatus('Compiling the text with wabt…');
      b = await compileWat($('wat').value);
    } else {
      const f = $('wasm-file').files[0];
      if (!f) throw new Error('choose a .wasm file first');
      b = new Uint8Array(await f.arrayBuffer());
    }
    await WebAssembly.compile(b); // a module the browser cannot read is reported here, not sent
    exportParams = exportSignatures(b);
    if (exportParams.size === 0) throw new Error('the module exports no function');
    for (const n of exportParams.keys()) $('export').append(new Option(n, n));
    wasm = b;
    setStatus(`Module ready: ${b.length} bytes, ${exportParams.size} exported function(s).`, 'ok');
    fillArgs();
  } catch (e) {
    setStatus(`Cannot use this program: ${/** @type {Error} */ (e).message}`, 'bad');
  }
}

function argRow(/** @type {string} */ type) {
  const row = document.createElement('div');
  row.className = 'arg';
  row.dataset.testid = 'arg';
  const sel = document.createElement('select');
  sel.dataset.testid = 'arg-type';
  for (const t of TYPES) sel.append(new Option(t, t, t === type, t === type));
  const text = document.createElement('input');
  text.type = 'text';
  text.dataset.testid = 'arg-value';
  text.placeholder = 'value';
  const file = document.createElement('input');
  file.type = 'file';
  file.dataset.testid = 'arg-file';
  const del = document.createElement('button');
  del.type = 'button';
  del.textContent = 'Remove';
  del.addEventListener('click', () => row.remove());
  const sync = () => { file.hidden = sel.value !== 'bytes'; text.hidden = sel.value === 'bytes'; };
  sel.addEventListener('change', sync);
  sync();
  row.append(sel, text, file, del);
  return row;
}

function fillArgs() {
  const params = exportParams.get($('export').value) ?? [];
  $('args').replaceChildren(...params.map((t) => argRow(t)));
}

/** @param {HTMLElement} row */
async function argValue(row, /** @type {number} */ i) {
  const type = /** @type {HTMLSelectElement} */ (row.querySelector('select')).value;
  const text = /** @type {HTMLInputElement} */ (row.querySelector('input[type=text]')).value.trim();
  const where = `argument ${i + 1} (${type})`;
  switch (type) {
    case 'i32': case 'f32': case 'f64': {
      if (text === '') throw new Error(`${where} is empty`);
      const n = /^[-+]?(nan|inf|infinity)$/i.test(text) ? Number(text.replace(/inf(inity)?/i, 'Infinity').replace(/nan/i, 'NaN')) : Number(text);
      if (Number.isNaN(n) && !/nan/i.test(text)) throw new Error(`${where}: "${text}" is not a number`);
      return type === 'i32' ? i32(n) : type === 'f32' ? f32(n) : f64(n);
    }
    case 'i64':
      try { return i64(BigInt(text)); } catch { throw new Error(`${where}: "${text}" is not an integer`); }
    case 'string': return str(text);
    default: {
      const f = /** @type {HTMLInputElement} */ (row.querySelector('input[type=file]')).files?.[0];
      return bytes(f ? new Uint8Array(await f.arrayBuffer()) : new Uint8Array(0));
    }
  }
}

function show(/** @type {any} */ v) {
  if (v.type === 'string') return JSON.stringify(v.value);
  if (v.type === 'bytes') return `${v.value.length} bytes: ${Array.from(v.value.slice(0, 64), (x) => x.toString(16).padStart(2, '0')).join(' ')}${v.value.length > 64 ? ' …' : ''}`;
  return `${v.type} ${Object.is(v.value, -0) ? '-0' : String(v.value)}`;
}

function el(/** @type {string} */ tag, /** @type {string} */ text, /** @type {Record<string,string>} */ attrs = {}) {
  const e = document.createElement(tag);
  e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function verifyLink(/** @type {string} */ id) {
  const a = el('a', `/v1/verify/${id}`, { href: `/v1/verify/${encodeURIComponent(id)}`, target: '_blank', rel: 'noopener', 'data-testid': 'verify-link' });
  const p = el('p', 'Audit record: ');
  p.append(a);
  return p;
}

function dl(/** @type {Array<[string, string]>} */ rows) {
  const d = document.createElement('dl');
  for (const [k, v] of rows) d.append(el('dt', k), el('dd', v));
  return d;
}

async function run() {
  const out = $('result');
  const put = (/** @type {Node[]} */ ...nodes) => out.replaceChildren(...nodes);
  if (!wasm) await loadProgram();
  if (!wasm) { put(el('p', 'Compile the program first.', { class: 'bad' })); return; }
  put(el('p', 'Sealing and running…', { class: 'status', 'data-testid': 'running' }));
  /** @type {any} */
  const options = {};
  try {
    const args = [];
    const rows = /** @type {HTMLElement[]} */ (Array.from($('args').children));
    for (let i = 0; i < rows.length; i++) args.push(await argValue(rows[i], i));
    if ($('results').value) options.results = [$('results').value];
    if ($('gas').value) options.gasLimit = BigInt($('gas').value);
    if ($('timeout').value) options.timeoutSeconds = Number($('timeout').value);
    const apiKey = $('api-key').value.trim() || undefined;
    const client = new HypervisorClient({ baseUrl: location.origin, apiKey });
    const fn = $('export').value;
    const r = await client.execute(wasm, fn, args, options);
    // The client has opened the result and checked the three commitments against it; the server's
    // audit record is asked about them too.
    await client.verifyAll(r);
    const s = r.executionSummary ?? {};
    put(
      el('p', `${fn} returned`, { class: 'ok' }),
      el('pre', r.results.map(show).join('\n') || '(no results)', { 'data-testid': 'results-value' }),
      el('p', 'commitments checked: result, program and arguments match what was sent and what the server recorded', { class: 'ok', 'data-testid': 'commitments' }),
      dl([['result', r.commitments.result], ['program', r.commitments.program], ['arguments', r.commitments.arguments]]),
      el('h3', 'Execution summary'),
      el('pre', JSON.stringify(s, null, 2), { 'data-testid': 'summary' }),
      verifyLink(r.requestId),
    );
  } catch (e) {
    if (e instanceof HypervisorError) {
      const nodes = [
        el('p', `${e instanceof VerificationError ? 'Refused by the client' : 'Error'}: `, { class: 'bad' }),
        el('pre', `${e.errorCode} (HTTP ${e.httpStatus})\n${e.message}${e.detail ? `\nsealed detail: ${e.detail}` : ''}`, { 'data-testid': 'error', class: 'error-code' }),
      ];
      if (e.executionSummary) nodes.push(el('h3', 'Execution summary'), el('pre', JSON.stringify(e.executionSummary, null, 2), { 'data-testid': 'summary' }));
      if (e.requestId) nodes.push(verifyLink(e.requestId));
      put(...nodes);
    } else {
      put(el('p', `Not sent: ${/** @type {Error} */ (e).message}`, { class: 'bad', 'data-testid': 'error' }));
    }
  }
}

function init() {
  $('wat').value = EXAMPLE;
  for (const r of document.querySelectorAll('input[name=source]'))
    r.addEventListener('change', () => {
      const wat = document.querySelector('input[name=source]:checked').value === 'wat';
      $('wat').hidden = !wat;
      $('wasm-file').hidden = wat;
    });
  $('wasm-file').addEventListener('change', loadProgram);
  $('load').addEventListener('click', loadProgram);
  $('export').addEventListener('change', fillArgs);
  $('add-arg').addEventListener('click', () => $('args').append(argRow('i32')));
  $('run').addEventListener('click', run);
  document.body.dataset.ready = 'true';
}

init();
