/*
 * engine_int.h: definitions shared by every file of the engine; never included by its users.
 *
 * The engine's layers, in order:
 *   reader.h / reader.c   bounds-checked LEB128 and UTF-8 cursor
 *   decode.c              binary -> struct wasm_module (module_int.h), module-level validation
 *   code.c                function bodies: validation and translation to the interpreter's code
 *   interp.c              the interpreter (runtime_int.h gives it the instance it runs in)
 *   runtime.c             stores, extern objects, instantiation, linking, calls
 *   watchdog.c            the timeout thread
 */
#ifndef WASM_ENGINE_INT_H
#define WASM_ENGINE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_engine.h"

#define WASM__PRINTF(fmt_index, args_index) __attribute__((format(printf, fmt_index, args_index)))
#define WASM__LIKELY(x) __builtin_expect(!!(x), 1)
#define WASM__UNLIKELY(x) __builtin_expect(!!(x), 0)

/* One 64-bit operand/local/global cell. i32/f32 use the low 32 bits; a v128 will take two cells;
 * a reference is a pointer (wasm_func *) or a host externref value, 0 being null. */
typedef uint64_t wasm_cell;

/* Fills `err` (which may be NULL) and returns `status`, so callers can `return wasm__fail(...)`. */
WASM__PRINTF(3, 4)
wasm_status wasm__fail(wasm_error *err, wasm_status status, const char *fmt, ...);
WASM__PRINTF(3, 0)
wasm_status wasm__vfail(wasm_error *err, wasm_status status, const char *fmt, va_list ap);
/* A trap: status WASM_TRAP, err->trap = trap, message = the spec's text. */
wasm_status wasm__trap(wasm_error *err, wasm_trap trap);
/* Resets `err` (may be NULL) to WASM_OK. */
void wasm__error_clear(wasm_error *err);

/* calloc of n * size with overflow check; NULL on overflow or exhaustion. Caller frees. */
void *wasm__calloc(size_t n, size_t size);
/* realloc of n * size with overflow check; on failure returns NULL and leaves p untouched. */
void *wasm__reallocarray(void *p, size_t n, size_t size);

/* Monotonic clock in nanoseconds. */
uint64_t wasm__now_ns(void);

#endif /* WASM_ENGINE_INT_H */
