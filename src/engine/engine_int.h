/*
 * engine_int.h: definitions shared by every file of the engine; never included by its users.
 *
 * The engine's layers, in order:
 *   reader.h / reader.c   bounds-checked LEB128 and UTF-8 cursor
 *   decode.c              binary -> struct hvw_module (module_int.h), module-level validation
 *   code.c                function bodies: validation and translation to the interpreter's code
 *   interp.c              the interpreter (runtime_int.h gives it the instance it runs in)
 *   runtime.c             stores, extern objects, instantiation, linking, calls
 *   watchdog.c            the timeout thread
 */
#ifndef HVW_ENGINE_INT_H
#define HVW_ENGINE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_engine.h"

#define HVW__PRINTF(fmt_index, args_index) __attribute__((format(printf, fmt_index, args_index)))
#define HVW__LIKELY(x) __builtin_expect(!!(x), 1)
#define HVW__UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Invariant checks, as SQLite's ALWAYS()/NEVER(): in debug builds a broken invariant aborts with
 * its text; release builds still test it, so the caller can take a safe way out (fail the
 * translation, refuse the call) instead of corrupting memory. Only for cheap conditions;
 * HVW__DEBUG_ASSERT is for the ones too costly to keep, and is compiled out of release builds.
 * Never a way to reject untrusted input: that is a validation error with a message.
 */
#ifdef NDEBUG
#define HVW__ALWAYS(x) HVW__LIKELY(x)
#define HVW__NEVER(x) HVW__UNLIKELY(x)
#define HVW__DEBUG_ASSERT(x) ((void)0)
#else
#define HVW__ALWAYS(x) ((x) ? true : (hvw__invariant_broken(#x, __FILE__, __LINE__), false))
#define HVW__NEVER(x) ((x) ? (hvw__invariant_broken("!(" #x ")", __FILE__, __LINE__), true) : false)
#define HVW__DEBUG_ASSERT(x) ((x) ? (void)0 : hvw__invariant_broken(#x, __FILE__, __LINE__))
#endif
/* Debug builds: prints the broken invariant and where, then aborts. */
_Noreturn void hvw__invariant_broken(const char *what, const char *file, int line);

/* One 64-bit operand/local/global cell. i32/f32 use the low 32 bits; a reference is a pointer
 * (hvw_func *) or a host externref value, 0 being null. A value takes hvw__type_cells() cells. */
typedef uint64_t hvw_cell;

/*
 * Cells one value of type `t` takes, in frames, globals and the cell arrays of calls: 1 for every
 * WebAssembly 2.0 type, 2 for a v128; 0 for a byte that is no value type. Everything that lays out
 * values in cells goes through this (or hvw__types_cells), never assumes one cell per value.
 */
static inline uint32_t hvw__type_cells(hvw_valtype t) {
  switch (t) {
    case HVW_TYPE_I32: case HVW_TYPE_I64: case HVW_TYPE_F32: case HVW_TYPE_F64:
    case HVW_TYPE_FUNCREF: case HVW_TYPE_EXTERNREF: return 1;
    case HVW_TYPE_V128: return 2;
    default: return 0;
  }
}

/* The most cells one value takes: the size of a global's value, of a constant. */
#define HVW_MAX_VALUE_CELLS 2u

/* Cells of `n` values of the given types. At most 2 * n, so no overflow for n < 2^31. */
static inline uint32_t hvw__types_cells(const hvw_valtype *types, uint32_t n) {
  uint32_t cells = 0;
  for (uint32_t i = 0; i < n; i++) cells += hvw__type_cells(types[i]);
  return cells;
}

/* Fills `err` (which may be NULL) and returns `status`, so callers can `return hvw__fail(...)`. */
HVW__PRINTF(3, 4)
hvw_status hvw__fail(hvw_error *err, hvw_status status, const char *fmt, ...);
HVW__PRINTF(3, 0)
hvw_status hvw__vfail(hvw_error *err, hvw_status status, const char *fmt, va_list ap);
/* A trap: status HVW_TRAP, err->trap = trap, message = the spec's text. */
hvw_status hvw__trap(hvw_error *err, hvw_trap trap);
/* Resets `err` (may be NULL) to HVW_OK. */
void hvw__error_clear(hvw_error *err);

/* calloc of n * size with overflow check; NULL on overflow or exhaustion. Caller frees. */
void *hvw__calloc(size_t n, size_t size);
/* realloc of n * size with overflow check; on failure returns NULL and leaves p untouched. */
void *hvw__reallocarray(void *p, size_t n, size_t size);

/*
 * Buffers written once and then kept (a module's copy of its binary, its translated code). From
 * HVW__PAGES_MIN bytes on they get pages of their own, transparent huge pages from
 * HVW__HUGE_PAGE on: on the virtual machines this runs on, first touching a fresh 4 KiB page
 * costs ~15 us, and a 5 MB module with its 20 MB of code took more time in page faults than in
 * translation. Smaller ones come from malloc.
 * hvw__pages_map returns at least *size bytes (*size is updated to what it took: pass it to
 * hvw__pages_unmap) or NULL. hvw__pages_trim gives back what lies past `keep` bytes where it
 * can and updates *size; the memory never moves.
 */
#define HVW__PAGES_MIN ((size_t)256 << 10)
#define HVW__HUGE_PAGE ((size_t)2 << 20)
void *hvw__pages_map(size_t *size);
void hvw__pages_trim(void *p, size_t *size, size_t keep);
void hvw__pages_unmap(void *p, size_t size);

/* Monotonic clock in nanoseconds. */
uint64_t hvw__now_ns(void);

#endif /* HVW_ENGINE_INT_H */
