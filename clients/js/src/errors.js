// Errors: what the server refused (HypervisorError) and what the client refused to believe
// (VerificationError, a subclass, so one catch handles "the call did not succeed").

/**
 * An error reply of the service: `{error_code, message, timestamp, request_id?}`, with the
 * detail of a sealed error (protocol v1.1 `encrypted_error`) opened into `detail`.
 */
export class HypervisorError extends Error {
  /**
   * @param {object} o
   * @param {string} o.message
   * @param {number} [o.httpStatus] HTTP status of the reply (0 when there was no reply)
   * @param {string} [o.errorCode] the protocol's error_code, or one of the client's own codes
   * @param {string} [o.requestId]
   * @param {string} [o.detail] the detailed message from encrypted_error, when there was one
   * @param {object} [o.executionSummary]
   * @param {number} [o.retryAfter] seconds, from Retry-After
   * @param {any} [o.body] the parsed reply body
   * @param {unknown} [o.cause]
   */
  constructor({ message, httpStatus = 0, errorCode = 'UNKNOWN', requestId, detail, executionSummary,
    retryAfter, body, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'HypervisorError';
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
    this.requestId = requestId;
    this.detail = detail;
    this.executionSummary = executionSummary;
    this.retryAfter = retryAfter;
    this.body = body;
  }
}

/**
 * The reply does not check out: a commitment that does not match, a result that does not open,
 * a document for another request or program, a malformed reply. Its errorCode is
 * `COMMITMENT_MISMATCH` (with `commitment` naming which), `COMMITMENT_NOT_VERIFIED` (verifyAll)
 * or `BAD_RESPONSE`. Never retry such a reply blindly: something on the path is wrong.
 */
export class VerificationError extends HypervisorError {
  /**
   * @param {ConstructorParameters<typeof HypervisorError>[0] & {commitment?: 'result'|'program'|'arguments'}} o
   */
  constructor(o) {
    super({ errorCode: 'BAD_RESPONSE', ...o });
    this.name = 'VerificationError';
    this.commitment = o.commitment;
  }
}
