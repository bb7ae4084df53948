// Types of @wasm-hypervisor/client (hand-written; the library is plain JavaScript, src/).

/** The value types of the protocol (v1's numbers, v1.1's string and bytes). */
export type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'string' | 'bytes';

/**
 * A typed value, as an argument or a result. i64 is always a BigInt here (the wire carries it as
 * a number below 2^53 in magnitude, else a decimal string); bytes are a Uint8Array (base64 on the
 * wire); NaN and the infinities are JS's (the strings "nan", "inf", "-inf" on the wire).
 */
export type TypedValue =
  | { type: 'i32'; value: number }
  | { type: 'i64'; value: bigint }
  | { type: 'f32'; value: number }
  | { type: 'f64'; value: number }
  | { type: 'string'; value: string }
  | { type: 'bytes'; value: Uint8Array };

/** An i32: an integer from -2^31 to 2^32-1 (the upper half is taken as the bit pattern). */
export function i32(n: number): { type: 'i32'; value: number };
/** An i64 from a BigInt or a safe integer: -2^63 to 2^64-1 (the upper half as the bit pattern). */
export function i64(v: bigint | number): { type: 'i64'; value: bigint };
/** An f32: the number is rounded to binary32. */
export function f32(x: number): { type: 'f32'; value: number };
export function f64(x: number): { type: 'f64'; value: number };
/** A string (protocol v1.1). A lone surrogate is refused: it has no UTF-8 form. */
export function str(s: string): { type: 'string'; value: string };
/** Bytes (protocol v1.1); the array is not copied. */
export function bytes(b: Uint8Array | ArrayBuffer | ArrayBufferView): { type: 'bytes'; value: Uint8Array };

export const VALUE_TYPES: readonly ValueType[];

export interface ClientOptions {
  /** e.g. "http://127.0.0.1:3000"; a path prefix is kept. */
  baseUrl: string;
  /** Sent as X-API-Key to the authenticated endpoints (execute, metrics). */
  apiKey?: string;
  /** Defaults to globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface ExecuteOptions {
  /** "1.1" (default): the function name and arguments are sealed too. "1": they go in clear. */
  protocol?: '1.1' | '1';
  /**
   * The result types to declare (v1.1 only): ["string"] or ["bytes"] lifts one result through
   * the Canonical ABI; a list of numeric types must be the export's own.
   */
  results?: ValueType[];
  /** 1–300; the server applies min(this, its wasm.max_execution_time_seconds). */
  timeoutSeconds?: number;
  /** ≥ 1; the server caps it at its configured limit. */
  gasLimit?: number | bigint;
  /** A JSON object of at most 4 KiB, stored with the audit record. */
  requestMetadata?: Record<string, unknown>;
  signal?: AbortSignal;
  /**
   * A WASI command (v1.1 "The WASI stdio profile"; functionName must be "_start", no args or
   * results): its argv, argv[0] included, as in execve.
   */
  argv?: string[];
  /** A WASI command's standard input (a string is sent as UTF-8). */
  stdin?: Uint8Array | ArrayBuffer | string;
}

export interface Commitments {
  result: string;
  program: string;
  arguments: string;
}

/** The server's execution_summary, as it sent it. */
export interface ExecutionSummary {
  status: string;
  execution_time_ms: number;
  compile_time_ms: number;
  gas_used: number;
  gas_limit: number;
  memory_peak_bytes: number;
  timeout_ms: number;
  module_cached: boolean;
  [member: string]: unknown;
}

export interface ExecuteResult {
  requestId: string;
  /** The server key the request was sealed to and opened with. */
  keyId: string;
  /** The export's results, read from the result document. */
  results: TypedValue[];
  /** The result document: the exact bytes that were sealed, which result_commitment hashes. */
  resultDocument: Uint8Array;
  /** The result document parsed (wire forms: i64 may be a string, bytes base64, nonce hex). */
  document: {
    request_id: string;
    function_name: string;
    results?: unknown[];
    program_sha256: string;
    nonce: string;
    [member: string]: unknown;
  };
  /** The three commitments; all were recomputed from the document and matched. */
  commitments: Commitments;
  executionSummary: ExecutionSummary;
  /**
   * Reserved for protocol v1.1's WASI stdio profile (a command's document carries these in place
   * of results); requests for it are not supported yet.
   */
  exitCode?: number;
  stdout?: Uint8Array;
  stderr?: Uint8Array;
}

export interface VerifyAnswer {
  request_id: string;
  commitment_type: 'result' | 'program' | 'arguments';
  verified: boolean;
  recorded_at: string;
  status: string;
  execution_summary: ExecutionSummary;
}

export interface VerifyRecord {
  request_id: string;
  recorded_at: string;
  status: string;
  /** null members for a failed execution. */
  commitments: { result: string | null; program: string | null; arguments: string | null };
  execution_summary: ExecutionSummary;
}

export interface ServerKey {
  key_id: string;
  /** base64 of the SEC1 point */
  public_key: string;
  created_at: string;
  expires_at: string;
  current: boolean;
}

export interface Health {
  status: 'ok' | 'unavailable';
  version?: string;
  uptime_seconds?: number;
  capacity?: { max_concurrent_executions: number; active_executions: number; queued_executions: number };
  storage?: string;
  [member: string]: unknown;
}

export class HypervisorClient {
  constructor(options: ClientOptions);
  readonly baseUrl: string;
  apiKey?: string;
  /** GET /health; the body for 200 and 503 alike. */
  health(): Promise<Health>;
  /** GET /v1/keys; throws VerificationError if the suite is not the protocol's. */
  getKeys(options?: { signal?: AbortSignal }): Promise<{ suite: { kem_id: 16; kdf_id: 1; aead_id: 2 }; keys: ServerKey[] }>;
  /**
   * Fetches the server key, seals the module (and, in v1.1, the invocation) to it with a fresh
   * key pair, posts it, opens the result and checks all three commitments. Throws HypervisorError
   * for an error reply (with `detail` opened from encrypted_error), VerificationError for a reply
   * that does not check out, TypeError for bad arguments.
   */
  execute(wasm: Uint8Array | ArrayBuffer, functionName: string, args?: TypedValue[], options?: ExecuteOptions): Promise<ExecuteResult>;
  /**
   * Runs a WASI command's _start with argv and stdin (the server needs wasm.wasi: stdio); the
   * result has exitCode, stdout and stderr instead of results.
   */
  runCommand(wasm: Uint8Array | ArrayBuffer, options?: ExecuteOptions): Promise<ExecuteResult>;
  /** GET /v1/verify/{id}: whether the record holds this commitment. */
  verify(requestId: string, commitmentType: 'result' | 'program' | 'arguments', hashHex: string): Promise<VerifyAnswer>;
  /** GET /v1/verify/{id} without a query: the record. */
  verify(requestId: string): Promise<VerifyRecord>;
  /** Verifies all three commitments of an execute result; throws VerificationError unless all hold. */
  verifyAll(result: { requestId: string; commitments: Commitments }): Promise<{
    verified: true; result: VerifyAnswer; program: VerifyAnswer; arguments: VerifyAnswer }>;
  /** GET /metrics: Prometheus text, or the JSON form. */
  metrics(options?: { json?: false }): Promise<string>;
  metrics(options: { json: true }): Promise<Record<string, unknown>>;
}

/** An error reply of the service, or (subclass VerificationError) a reply the client refused. */
export class HypervisorError extends Error {
  /** The reply's HTTP status (0 when there was none). */
  httpStatus: number;
  /** The protocol's error_code (UNAUTHORIZED, EXECUTION_TRAP, …), HTTP_ERROR for a reply without one, or a VerificationError code. */
  errorCode: string;
  requestId?: string;
  /** The detailed message sealed in encrypted_error (protocol v1.1), opened and checked. */
  detail?: string;
  executionSummary?: ExecutionSummary;
  /** Seconds, from Retry-After (RATE_LIMITED, CAPACITY_EXCEEDED). */
  retryAfter?: number;
  /** The parsed reply body. */
  body?: unknown;
}

/**
 * The reply does not check out. errorCode: COMMITMENT_MISMATCH (`commitment` says which),
 * COMMITMENT_NOT_VERIFIED (verifyAll), or BAD_RESPONSE. For a sealed error that does not open,
 * `cause` is the server's HypervisorError.
 */
export class VerificationError extends HypervisorError {
  commitment?: 'result' | 'program' | 'arguments';
}

export interface CheckInput {
  /** The result document, the exact bytes that were sealed. */
  document: Uint8Array;
  requestId: string;
  functionName: string;
  wasm: Uint8Array;
  args: TypedValue[];
  commitments: Commitments;
  declaredResults?: ValueType[];
}

/** Checks a result document against a request and its reply's commitments (what execute does). */
export function checkResult(input: CheckInput): Promise<{
  document: any; results?: TypedValue[]; exitCode?: number; stdout?: Uint8Array; stderr?: Uint8Array;
  computed: Commitments }>;
/** The canonical argument bytes that arguments_commitment hashes (docs/crypto.md). */
export function canonicalArguments(args: TypedValue[]): Uint8Array;
/** SHA-256("wasm-hypervisor/v1 program" || 0x00 || nonce || wasm), hex; nonce is 32 raw bytes. */
export function programCommitment(nonce: Uint8Array, wasm: Uint8Array): Promise<string>;
/** SHA-256("wasm-hypervisor/v1 arguments" || 0x00 || nonce || canonical), hex. */
export function argumentsCommitment(nonce: Uint8Array, canonical: Uint8Array): Promise<string>;
/** SHA-256 of the result document's bytes, hex. */
export function resultCommitment(document: Uint8Array): Promise<string>;
/** The first 8 bytes of SHA-256 over a SEC1 public key, hex. */
export function keyIdOf(sec1: Uint8Array): Promise<string>;
export const SUITE_IDS: { readonly kem_id: 16; readonly kdf_id: 1; readonly aead_id: 2 };

export function toBase64(bytes: Uint8Array): string;
/** Standard or URL alphabet, padded or not; refuses whitespace and non-canonical forms. */
export function fromBase64(text: string): Uint8Array;
export function toHex(bytes: Uint8Array): string;
export function fromHex(hex: string): Uint8Array;
