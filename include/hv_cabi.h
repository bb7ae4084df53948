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
 *
 * Only the part of the Canonical ABI that protocol v1.1 uses: UTF-8 strings, byte lists, at most
 * one result. Parameters are never spilled to memory (the Canonical ABI's MAX_FLAT_PARAMS = 16):
 * an export is called with all its flattened parameters, however many, as protocol.md says.
 */
#ifndef HV_CABI_H
#define HV_CABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_value.h"
#include "wasm_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, text). The text owes nothing to the program: safe for a plaintext reply. Numbers are
 * stable; never reuse one. */
#define HV_CABI_STATUS_MAP(X)                                                                      \
  X(HV_CABI_OK, "ok")                                                                              \
  /* the call's shape does not fit the export, or an argument cannot be passed (the service      \
   * answers INVALID_ARGUMENTS): see hv_cabi_check and hv_cabi_call for every case */              \
  X(HV_CABI_SIGNATURE_MISMATCH, "the arguments or the declared results do not match the export")  \
  /* a string or bytes argument without the exports cabi_realloc (of its exact type) and memory,  \
   * or a string or bytes result without the export memory */                                     \
  X(HV_CABI_NO_REALLOC, "a string or bytes value needs the exports cabi_realloc and memory")       \
  /* the guest broke the ABI (EXECUTION_TRAP) */                                                   \
  X(HV_CABI_BAD_POINTER, "the program gave a pointer or length outside its memory")              \
  X(HV_CABI_MISALIGNED, "the program gave a result pointer that is not 4-byte aligned")           \
  X(HV_CABI_BAD_UTF8, "the program returned a string that is not valid UTF-8")                    \
  X(HV_CABI_RESULT_TOO_LARGE, "the program returned a result larger than the limit")              \
  /* the engine stopped a call into the guest, or the export is missing: err says how (trap,     \
   * timeout, gas, memory, HVW_NOT_FOUND) */                                                      \
  X(HV_CABI_ENGINE, "the engine stopped the call")                                                 \
  /* the host could not allocate (INTERNAL_ERROR) */                                               \
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
 * bytes, 0 for anything else. Walking a command line's arguments with it finds the core parameter
 * each one starts at. */
uint32_t hv_cabi_flat_count(hv_type type);

/* True when bytes[0 .. len) is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates
 * U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequence; NUL bytes are fine). The one check
 * for lifted string results, string arguments and every caller that builds string values. */
bool hv_cabi_utf8_valid(const uint8_t *bytes, size_t len);

/*
 * Checks a call's shape against the export's core type before anything runs: the argument types
 * flattened (a numeric type as itself, string and bytes as i32, i32) equal the core parameters;
 * result_type 0 accepts any core results (returned as they are), HV_TYPE_STRING or HV_TYPE_BYTES
 * needs exactly one i32 result (the retptr); any other result_type, or an argument type that is
 * not one of the six, is a mismatch too. HV_CABI_OK or HV_CABI_SIGNATURE_MISMATCH, with `detail`
 * (detail_size bytes, may be 0; NUL-terminated) saying where they differ in the program's terms
 * (argument and core parameter numbers count from 1). arg_types may be NULL when arg_count is 0.
 */
hv_cabi_status hv_cabi_check(const hvw_functype_view *core, const hv_type *arg_types,
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
 * In order, stopping at the first failure:
 *   1. The export: missing, or not a function: HV_CABI_ENGINE with err->status HVW_NOT_FOUND.
 *   2. Nothing runs until the whole call is known to fit (HV_CABI_SIGNATURE_MISMATCH otherwise):
 *      hv_cabi_check on the arguments' types; every numeric argument's num.type equal to its
 *      type; every string and bytes argument at most UINT32_MAX bytes (a 32-bit memory cannot
 *      hold more) and every string argument valid UTF-8; for a string or bytes result, a
 *      cabi_post_<name> export, if there is one, must be a function of type (i32) -> () (the
 *      Canonical ABI's post-return type: anything else is refused rather than ignored, so a
 *      guest's cleanup is never silently skipped). Then the exports the values need:
 *      cabi_realloc of type (i32, i32, i32, i32) -> i32 and the memory "memory" for a string or
 *      bytes argument, the memory "memory" for a string or bytes result (HV_CABI_NO_REALLOC).
 *   3. Arguments, first to last: each string or bytes argument of len bytes calls
 *      cabi_realloc(0, 0, 1, len) (len 0 too), then checks ptr + len <= the memory's size in
 *      64-bit arithmetic (HV_CABI_BAD_POINTER) and copies the bytes. The memory's data and size
 *      are read again after every call into the guest, since cabi_realloc may grow it. Each copy
 *      is made as soon as its cabi_realloc returns: a guest that hands out overlapping regions
 *      (the same pointer twice) gets what it asked for, later arguments written over earlier
 *      ones, and is called with exactly the pointers it returned.
 *   4. The export is called.
 *   5. A string or bytes result: retptr (the i32 result as u32) 4-byte aligned
 *      (HV_CABI_MISALIGNED) and retptr + 8 <= size (HV_CABI_BAD_POINTER); ptr and len read there;
 *      len <= max_result_bytes (HV_CABI_RESULT_TOO_LARGE, checked before the range, so nothing
 *      over the limit is ever read); ptr + len <= size (HV_CABI_BAD_POINTER); the bytes copied
 *      (HV_CABI_HOST_MEMORY if that cannot be allocated), so a region overlapping the retptr
 *      itself is fine; a string checked with hv_cabi_utf8_valid (HV_CABI_BAD_UTF8).
 *   6. cabi_post_<name>(retptr), once, only after a successful lift (after a failed one the
 *      guest broke the ABI and gets no further call). If it fails the result is discarded.
 * result_type 0 calls no cabi_post_<name>: there is nothing in memory to free.
 * A call into the guest (cabi_realloc, the export, cabi_post_<name>) that the engine stops is
 * HV_CABI_ENGINE, and `detail` names which call, as "CALL VERB: MESSAGE": CALL is "the export
 * 'NAME'", "cabi_realloc for argument N" (N counting from 1) or "cabi_post_NAME" (NAME cut at 64
 * bytes), VERB "trapped", "was interrupted", "ran out of gas", "exceeded the memory limit" or
 * "failed", MESSAGE the engine's (err->message): "cabi_realloc for argument 2 trapped: unreachable".
 * A missing export's detail is "no exported function 'NAME'".
 *
 * HV_CABI_OK: *out is filled; the caller frees it with hv_cabi_result_free(). Any other status:
 * *out is zeroed, `detail` says what happened with the specifics (pointers, lengths, export
 * names: for the client alone, never logged), and for HV_CABI_ENGINE `err` holds what the engine
 * reported (its status and trap); for the other statuses err->status is HVW_OK. err may be
 * NULL, detail may be NULL with detail_size 0. `args` and the bytes they point to stay the
 * caller's and are only read. The store stays usable after every status; what the guest did
 * before a failure (allocations, writes, grown memory) stays done.
 */
hv_cabi_status hv_cabi_call(hvw_store *store, hvw_instance *instance, const char *name,
                            size_t name_len, const hv_value *args, size_t arg_count,
                            hv_type result_type, uint64_t max_result_bytes, hv_cabi_result *out,
                            hvw_error *err, char *detail, size_t detail_size);

/* Frees what *result owns and zeroes it. Safe on a zeroed result. */
void hv_cabi_result_free(hv_cabi_result *result);

#ifdef __cplusplus
}
#endif

#endif /* HV_CABI_H */
