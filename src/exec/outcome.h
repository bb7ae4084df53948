/*
 * outcome.h: the protocol's error codes (docs/protocol.md, "Errors") and the mapping from the
 * engine's statuses to them. Shared by `hypervisor run` and the service (the executor), so that the command
 * line and the HTTP API report the same code for the same failure.
 *
 * Nothing here allocates.
 */
#ifndef HV_OUTCOME_H
#define HV_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include "hv_cabi.h"
#include "wasm_engine.h"

/* X(name, wire code, HTTP status). Numbers are stable; never reuse one. */
#define OUTCOME_CODE_MAP(X)                           \
  X(OUTCOME_OK, "OK", 200)                            \
  X(OUTCOME_INVALID_REQUEST, "INVALID_REQUEST", 400)  \
  X(OUTCOME_INVALID_ARGUMENTS, "INVALID_ARGUMENTS", 400) \
  X(OUTCOME_ENCRYPTION_ERROR, "ENCRYPTION_ERROR", 400) \
  X(OUTCOME_UNAUTHORIZED, "UNAUTHORIZED", 401)        \
  X(OUTCOME_NOT_FOUND, "NOT_FOUND", 404)              \
  X(OUTCOME_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413) \
  X(OUTCOME_INVALID_WASM, "INVALID_WASM", 422)        \
  X(OUTCOME_FUNCTION_NOT_FOUND, "FUNCTION_NOT_FOUND", 422) \
  X(OUTCOME_EXECUTION_TRAP, "EXECUTION_TRAP", 422)    \
  X(OUTCOME_EXECUTION_TIMEOUT, "EXECUTION_TIMEOUT", 422) \
  X(OUTCOME_GAS_EXHAUSTED, "GAS_EXHAUSTED", 422)      \
  X(OUTCOME_MEMORY_EXCEEDED, "MEMORY_EXCEEDED", 422)  \
  X(OUTCOME_RATE_LIMITED, "RATE_LIMITED", 429)        \
  X(OUTCOME_CAPACITY_EXCEEDED, "CAPACITY_EXCEEDED", 503) \
  X(OUTCOME_INTERNAL_ERROR, "INTERNAL_ERROR", 500)

typedef enum outcome_code {
#define OUTCOME__ENUM(name, code, http) name,
  OUTCOME_CODE_MAP(OUTCOME__ENUM)
#undef OUTCOME__ENUM
} outcome_code;

/* The wire code ("INVALID_WASM"); never NULL ("INTERNAL_ERROR" for an unknown value). */
const char *outcome_code_name(outcome_code code);
/* The HTTP status that goes with the code (500 for an unknown value). */
int outcome_http_status(outcome_code code);

/*
 * The protocol code for an engine status:
 *   HVW_OK -> OUTCOME_OK
 *   HVW_MALFORMED, HVW_INVALID, HVW_IMPL_LIMIT, HVW_UNLINKABLE -> INVALID_WASM
 *   HVW_TRAP -> EXECUTION_TRAP (call stack exhaustion included)
 *   HVW_TIMEOUT -> EXECUTION_TIMEOUT, HVW_GAS_EXHAUSTED -> GAS_EXHAUSTED,
 *   HVW_MEMORY_EXCEEDED -> MEMORY_EXCEEDED, HVW_NOT_FOUND -> FUNCTION_NOT_FOUND,
 *   HVW_BAD_ARGUMENTS -> INVALID_ARGUMENTS, HVW_OUT_OF_HOST_MEMORY and anything else -> INTERNAL_ERROR
 */
outcome_code outcome_from_status(hvw_status status);

/*
 * The protocol code for a Canonical ABI status (hv_cabi.h); `err` is hv_cabi_call's, read only for
 * HV_CABI_ENGINE:
 *   HV_CABI_OK -> OUTCOME_OK
 *   HV_CABI_SIGNATURE_MISMATCH, HV_CABI_NO_REALLOC -> INVALID_ARGUMENTS
 *   HV_CABI_BAD_POINTER, HV_CABI_MISALIGNED, HV_CABI_BAD_UTF8, HV_CABI_RESULT_TOO_LARGE -> EXECUTION_TRAP
 *   HV_CABI_ENGINE -> outcome_from_status(err->status)
 *   HV_CABI_HOST_MEMORY and anything else -> INTERNAL_ERROR
 */
outcome_code outcome_from_cabi(hv_cabi_status status, const hvw_error *err);

/*
 * Writes into `buf` (always NUL-terminated when size > 0) the message that goes with an engine
 * error. For a trap it starts with the spec's trap text ("integer divide by zero"), followed by the
 * engine's detail in parentheses when the engine said more; otherwise it is the engine's message,
 * or the status text when the engine left the message empty. Returns `buf`.
 */
char *outcome_describe(const hvw_error *err, char *buf, size_t size);

/*
 * The sandbox policy: a module may import nothing. Returns true if `module` complies; otherwise
 * false with a message naming the first import ("module imports env.f (function); imports are not
 * allowed") in `buf`. The caller reports it as OUTCOME_INVALID_WASM.
 */
bool outcome_sandbox_check(const hvw_module *module, char *buf, size_t size);

#endif /* HV_OUTCOME_H */
