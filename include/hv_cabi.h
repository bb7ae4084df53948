/*
 * hv_cabi.h: the WebAssembly Component Model's Canonical ABI for core modules, as protocol v1.1
 * uses it (docs/protocol.md, "Strings and bytes"): the one layer between the executor and the
 * engine that lowers protocol values into core parameters (a string or bytes argument is copied
 * into memory that the guest's `cabi_realloc` hands out, and passed as ptr, len) and lifts a
 * declared string or bytes result back out (a retptr to ptr, len), then lets the guest free it
 * (`cabi_post_<name>`). It knows nothing of HTTP, JSON or HPKE.
 *
 * Every pointer and length the guest gives is checked against its linear memory before a byte
 * is read or written; a guest that lies gets a status that the service answers as
 * EXECUTION_TRAP, never an over-read. Every call into the guest runs in the caller's store, so
 * the store's gas budget and interrupt (the wall-clock limit) cover cabi_realloc and
 * cabi_post_<name> as they cover the export itself.
 *
 * The guest's side, as the Canonical ABI defines it:
 *   memory            the exported memory "memory"
 *   cabi_realloc      (i32 old_ptr, i32 old_size, i32 align, i32 new_size) -> i32; called as
 *                     cabi_realloc(0, 0, 1, len) once per string or bytes argument, len 0 too
 *   the export        one core parameter per numeric argument, two i32 (ptr, len) per string or
 *                     bytes argument; for a declared string or bytes result a single i32 result,
 *                     retptr, 4-byte aligned, where ptr and len are stored as little-endian u32
 *   cabi_post_<name>  (i32 retptr) -> (), optional, called after the result was copied out
 */
#ifndef HV_CABI_H
#define HV_CABI_H

#include <stddef.h>
#include <stdint.h>

#include "hv_value.h"
#include "wasm_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, text). The text owes nothing to the program: safe for a plaintext reply. */
#define HV_CABI_STATUS_MAP(X)                                                                      \
  X(HV_CABI_OK, "ok")                                                                              \
  /* the call's shape does not fit the export (the service answers INVALID_ARGUMENTS) */           \
  X(HV_CABI_SIGNATURE_MISMATCH, "the arguments or the declared results do not match the export")  \
  X(HV_CABI_NO_REALLOC, "a string or bytes argument needs the exports cabi_realloc and memory")    \
  /* the guest broke the ABI (EXECUTION_TRAP) */                                                   \
  X(HV_CABI_BAD_POINTER, "the program gave a pointer or length outside its memory")              \
  X(HV_CABI_MISALIGNED, "the program gave a result pointer that is not 4-byte aligned")           \
  X(HV_CABI_BAD_UTF8, "the program returned a string that is not valid UTF-8")                    \
  X(HV_CABI_RESULT_TOO_LARGE, "the program returned a result larger than the limit")              \
  /* the engine stopped a call into the guest: err says how (trap, timeout, gas, memory) */         \
  X(HV_CABI_ENGINE, "the engine stopped the call")                                                 \
  X(HV_CABI_HOST_MEMORY, "the server ran out of memory")

typedef enum hv_cabi_status {
#define HV_CABI__ENUM(name, text) name,
  HV_CABI_STATUS_MAP(HV_CABI__ENUM)
#undef HV_CABI__ENUM
} hv_cabi_status;

/* "HV_CABI_OK", ...; never NULL. */
const char *hv_cabi_status_name(hv_cabi_status status);
/* The table's text; never NULL. */
const char *hv_cabi_status_text(hv_cabi_status status);

/* Core parameters a value of `type` takes: 1 for a numeric type, 2 (ptr, len) for string and
 * bytes, 0 for anything else. */
uint32_t hv_cabi_flat_count(hv_type type);

/*
 * Checks a call's shape against the export's core type before anything runs: the argument types
 * flattened (a numeric type as itself, string and bytes as i32, i32) equal the core parameters;
 * result_type 0 accepts any core results (returned as they are), HV_TYPE_STRING or HV_TYPE_BYTES
 * needs exactly one i32 result (the retptr). HV_CABI_OK or HV_CABI_SIGNATURE_MISMATCH, with
 * `detail` (detail_size bytes, may be 0) saying where they differ in the program's terms.
 */
hv_cabi_status hv_cabi_check(const wasm_functype_view *core, const hv_type *arg_types,
                             size_t arg_count, hv_type result_type, char *detail,
                             size_t detail_size);

/* The lifted results of a call. */
typedef struct hv_cabi_result {
  hv_value *values; /* count values: the core results, or the one string or bytes result */
  size_t count;
  uint8_t *data;    /* the string or bytes result's bytes (values[0].data points here), or NULL */
} hv_cabi_result;

/*
 * Calls the export `name` (name_len bytes) of `instance` with `args` (numeric ones of the export's
 * core types; strings and bytes lowered through cabi_realloc into the exported memory), and
 * lifts its results: result_type 0 returns the core results; HV_TYPE_STRING or HV_TYPE_BYTES
 * reads (ptr, len) at the returned retptr, copies [ptr, ptr + len) out (a string must be valid
 * UTF-8; more than max_result_bytes is HV_CABI_RESULT_TOO_LARGE), then calls
 * cabi_post_<name>(retptr) when the module exports it with type (i32) -> ().
 *
 * HV_CABI_OK: *out is filled; the caller frees it with hv_cabi_result_free(). Any other status:
 * *out is zeroed, `detail` says what happened with the specifics (pointers, lengths, export
 * names: for the client alone, never logged), and for HV_CABI_ENGINE `err` holds what the engine
 * reported (its status and trap). The store stays usable after every status.
 */
hv_cabi_status hv_cabi_call(wasm_store *store, wasm_instance *instance, const char *name,
                            size_t name_len, const hv_value *args, size_t arg_count,
                            hv_type result_type, uint64_t max_result_bytes, hv_cabi_result *out,
                            wasm_error *err, char *detail, size_t detail_size);

/* Frees what *result owns and zeroes it. Safe on a zeroed result. */
void hv_cabi_result_free(hv_cabi_result *result);

#ifdef __cplusplus
}
#endif

#endif /* HV_CABI_H */
