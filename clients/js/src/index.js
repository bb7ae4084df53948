// @wasm-hypervisor/client: the client side of the WASM Hypervisor wire protocol (v1 and v1.1).
export { HypervisorClient } from './client.js';
export { HypervisorError, VerificationError } from './errors.js';
export { i32, i64, f32, f64, str, bytes, canonicalArguments, VALUE_TYPES } from './values.js';
export {
  checkResult, programCommitment, argumentsCommitment, resultCommitment, keyIdOf, SUITE_IDS,
} from './protocol.js';
export { toBase64, fromBase64, toHex, fromHex } from './encoding.js';
