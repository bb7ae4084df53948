/*
 * wasm_engine.h: the public API of the WebAssembly engine (WebAssembly 2.0 core, SIMD included).
 *
 * Objects and their lifetimes
 *   wasm_module    a decoded, validated and translated module. Immutable once loaded: one module can
 *                  be instantiated from many threads at once.
 *   wasm_store     owns everything an execution touches: instances, memories, tables, globals, host
 *                  functions, the value and call stacks, the gas counter. A store is used by one
 *                  thread at a time; everything it owns is freed with it. Objects of one store may
 *                  not be used with another.
 *   wasm_instance  an instantiated module inside a store.
 *   wasm_func, wasm_memory, wasm_table, wasm_global: extern objects owned by their store.
 *
 * Errors: every fallible call takes a `wasm_error *` (may be NULL) that receives a status, a trap
 * kind when the status is WASM_TRAP, and a message saying what and where.
 *
 * No global state: nothing here keeps anything between calls outside the objects above.
 */
#ifndef WASM_ENGINE_H
#define WASM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status and trap codes: one table each, names and messages generated from it. ---------- */

/* X(name, text). Numbers are stable; never reuse one. */
#define WASM_STATUS_MAP(X)                                                                   \
  X(WASM_OK, "ok")                                                                           \
  X(WASM_MALFORMED, "malformed module")           /* binary decoding failed */               \
  X(WASM_INVALID, "invalid module")               /* validation failed */                    \
  X(WASM_IMPL_LIMIT, "implementation limit")      /* a documented engine limit was exceeded */ \
  X(WASM_UNLINKABLE, "unlinkable")                /* imports do not match */                 \
  X(WASM_TRAP, "trap")                            /* see wasm_trap */                        \
  X(WASM_TIMEOUT, "execution timeout")            /* interrupted by wasm_store_interrupt */  \
  X(WASM_GAS_EXHAUSTED, "gas exhausted")                                                     \
  X(WASM_MEMORY_EXCEEDED, "memory limit exceeded")                                           \
  X(WASM_NOT_FOUND, "export not found")                                                      \
  X(WASM_BAD_ARGUMENTS, "bad arguments")                                                     \
  X(WASM_OUT_OF_HOST_MEMORY, "out of host memory")

typedef enum wasm_status {
#define WASM__ENUM(name, text) name,
  WASM_STATUS_MAP(WASM__ENUM)
#undef WASM__ENUM
} wasm_status;

/* X(name, message). The messages are the WebAssembly spec's own trap texts. */
#define WASM_TRAP_MAP(X)                                                \
  X(WASM_TRAP_NONE, "no trap")                                          \
  X(WASM_TRAP_UNREACHABLE, "unreachable")                               \
  X(WASM_TRAP_INT_OVERFLOW, "integer overflow")                         \
  X(WASM_TRAP_INT_DIV_ZERO, "integer divide by zero")                   \
  X(WASM_TRAP_INVALID_CONVERSION, "invalid conversion to integer")      \
  X(WASM_TRAP_MEMORY_OOB, "out of bounds memory access")                \
  X(WASM_TRAP_TABLE_OOB, "out of bounds table access")                  \
  X(WASM_TRAP_UNDEFINED_ELEMENT, "undefined element")                   \
  X(WASM_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element")           \
  X(WASM_TRAP_INDIRECT_CALL_TYPE_MISMATCH, "indirect call type mismatch") \
  X(WASM_TRAP_CALL_STACK_EXHAUSTED, "call stack exhausted")             \
  X(WASM_TRAP_HOST, "host function failed")

typedef enum wasm_trap {
#define WASM__ENUM(name, text) name,
  WASM_TRAP_MAP(WASM__ENUM)
#undef WASM__ENUM
} wasm_trap;

#define WASM_ERROR_MESSAGE_MAX 256

typedef struct wasm_error {
  wasm_status status;
  wasm_trap trap;                        /* WASM_TRAP_NONE unless status == WASM_TRAP */
  char message[WASM_ERROR_MESSAGE_MAX];  /* NUL-terminated; says what and where */
} wasm_error;

/* "WASM_OK", "WASM_MALFORMED", ... ; never NULL. */
const char *wasm_status_name(wasm_status status);
/* Short text of a status ("malformed module"); never NULL. */
const char *wasm_status_text(wasm_status status);
/* The spec's message for a trap ("integer divide by zero"); never NULL. */
const char *wasm_trap_message(wasm_trap trap);

/* ---- Values ----------------------------------------------------------------------------- */

/* Value types, numbered as in the binary format. */
typedef uint8_t wasm_valtype;
enum {
  WASM_TYPE_I32 = 0x7F,
  WASM_TYPE_I64 = 0x7E,
  WASM_TYPE_F32 = 0x7D,
  WASM_TYPE_F64 = 0x7C,
  WASM_TYPE_V128 = 0x7B, /* SIMD's 128-bit vector */
  WASM_TYPE_FUNCREF = 0x70,
  WASM_TYPE_EXTERNREF = 0x6F,
};

/* "i32", "i64", "f32", "f64", "v128", "funcref", "externref"; NULL for anything else. */
const char *wasm_valtype_name(wasm_valtype type);

typedef struct wasm_func wasm_func;

/* A typed value. Floats travel as their IEEE 754 bit patterns so NaN payloads survive. */
typedef struct wasm_value {
  wasm_valtype type;
  union {
    int32_t i32;
    int64_t i64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    wasm_func *funcref;  /* NULL is ref.null func */
    uintptr_t externref; /* 0 is ref.null extern; any other value is the host's */
    /* The 16 bytes of a v128 as linear memory holds them (v128.store writes exactly these): lane 0
     * first, each lane little-endian, whatever the host's byte order. */
    uint8_t v128[16];
  } of;
} wasm_value;

/* A function signature. The arrays belong to whoever produced the view (module, store). */
typedef struct wasm_functype_view {
  uint32_t param_count;
  const wasm_valtype *params;
  uint32_t result_count;
  const wasm_valtype *results;
} wasm_functype_view;

typedef struct wasm_limits_decl {
  uint32_t min;
  uint32_t max;
  bool has_max;
} wasm_limits_decl;

/* ---- Modules ---------------------------------------------------------------------------- */

typedef struct wasm_module wasm_module;

typedef enum wasm_extern_kind {
  WASM_EXTERN_FUNC = 0,
  WASM_EXTERN_TABLE = 1,
  WASM_EXTERN_MEMORY = 2,
  WASM_EXTERN_GLOBAL = 3,
} wasm_extern_kind;

/* The type of an import or export. */
typedef struct wasm_externtype {
  wasm_extern_kind kind;
  wasm_functype_view func;                            /* kind == FUNC */
  struct { wasm_valtype elem; wasm_limits_decl limits; } table; /* kind == TABLE */
  wasm_limits_decl memory;                            /* kind == MEMORY, in pages */
  struct { wasm_valtype type; bool mutable_; } global; /* kind == GLOBAL */
} wasm_externtype;

typedef struct wasm_import_info {
  const char *module_name; /* not NUL-terminated: use the lengths; valid UTF-8 */
  size_t module_name_len;
  const char *name;
  size_t name_len;
  wasm_externtype type;
} wasm_import_info;

typedef struct wasm_export_info {
  const char *name; /* not NUL-terminated; valid UTF-8 */
  size_t name_len;
  wasm_externtype type;
} wasm_export_info;

/*
 * Decodes, validates and translates a module. The engine copies what it needs: `bytes` stays the
 * caller's and may be freed as soon as this returns. On success the caller owns the module and frees
 * it with wasm_module_free(); on failure returns NULL and fills `err` (WASM_MALFORMED, WASM_INVALID,
 * WASM_IMPL_LIMIT or WASM_OUT_OF_HOST_MEMORY; the message names section, function and byte offset).
 */
wasm_module *wasm_module_load(const uint8_t *bytes, size_t size, wasm_error *err);
void wasm_module_free(wasm_module *module);

/* Introspection; the returned pointers live as long as the module. */
uint32_t wasm_module_import_count(const wasm_module *module);
bool wasm_module_import(const wasm_module *module, uint32_t index, wasm_import_info *out);
uint32_t wasm_module_export_count(const wasm_module *module);
bool wasm_module_export(const wasm_module *module, uint32_t index, wasm_export_info *out);
/* Finds an exported function by name (length-delimited); false if there is none. */
bool wasm_module_find_func_export(const wasm_module *module, const char *name, size_t name_len,
                                  wasm_functype_view *out_type);

/* Bytes of wasm decoded and time spent translating, for reports. */
typedef struct wasm_module_stats {
  size_t wasm_bytes;
  size_t code_bytes; /* size of the translated code */
  uint64_t translate_ns;
} wasm_module_stats;
void wasm_module_get_stats(const wasm_module *module, wasm_module_stats *out);

/* ---- Stores and limits ------------------------------------------------------------------- */

#define WASM_PAGE_SIZE 65536u

typedef struct wasm_store_limits {
  uint64_t gas_limit;           /* total gas for everything run in the store; UINT64_MAX: none */
  uint32_t max_memory_pages;    /* cap on every linear memory (default 1024 = 64 MiB) */
  uint32_t max_table_elements;  /* cap on every table (default 1,000,000) */
  uint32_t max_call_depth;      /* WebAssembly frames (default 10,000) */
  uint32_t max_stack_cells;     /* 64-bit operand/local cells (default 1 Mi = 8 MiB) */
} wasm_store_limits;

/* The service's defaults: gas 10^10, 64 MiB, 1,000,000 table elements, depth 10,000, 8 MiB stack. */
void wasm_store_limits_default(wasm_store_limits *out);

typedef struct wasm_store wasm_store;

/* Returns a new store that the caller frees with wasm_store_free(), or NULL (err filled). */
wasm_store *wasm_store_new(const wasm_store_limits *limits, wasm_error *err);
/* Frees the store and every object it owns. */
void wasm_store_free(wasm_store *store);

/*
 * Asks the execution running in `store` to stop with WASM_TIMEOUT at its next loop back-edge,
 * call or bulk-operation chunk. Safe from any thread and from a signal handler. Sticky until
 * wasm_store_clear_interrupt().
 */
void wasm_store_interrupt(wasm_store *store);
void wasm_store_clear_interrupt(wasm_store *store);

/*
 * Charges `amount` gas to the store, for work a host function does on the program's behalf (bytes
 * it copies, random bytes it makes): the interpreter picks the new balance up when the host
 * function returns. Returns true when the budget covered it; false when it did not, and then the
 * store's remaining gas is 0 and the host function should return WASM_GAS_EXHAUSTED (the call
 * then ends like one that ran out in WebAssembly). Always true when metering is compiled out.
 * Not safe from another thread than the one running the store.
 */
bool wasm_store_consume_gas(wasm_store *store, uint64_t amount);

typedef struct wasm_store_stats {
  uint64_t gas_used;
  uint64_t memory_peak_bytes; /* largest total linear memory of the store */
} wasm_store_stats;
void wasm_store_get_stats(const wasm_store *store, wasm_store_stats *out);

/* ---- Extern objects ---------------------------------------------------------------------- */

typedef struct wasm_memory wasm_memory;
typedef struct wasm_table wasm_table;
typedef struct wasm_global wasm_global;

typedef struct wasm_extern {
  wasm_extern_kind kind;
  union {
    wasm_func *func;
    wasm_table *table;
    wasm_memory *memory;
    wasm_global *global;
  } of;
} wasm_extern;

/*
 * A host function. `args` holds the parameters, `results` has room for the results (the callback
 * sets their values; types are preset). Return WASM_OK, or another status (usually WASM_TRAP with
 * err->trap = WASM_TRAP_HOST) to abort the execution.
 */
typedef wasm_status (*wasm_host_callback)(void *env, const wasm_value *args, wasm_value *results,
                                          wasm_error *err);

/* Objects made by these belong to the store; NULL on failure (err filled). Types are copied. */
wasm_func *wasm_func_new_host(wasm_store *store, wasm_functype_view type, wasm_host_callback callback,
                              void *env, wasm_error *err);
wasm_memory *wasm_memory_new(wasm_store *store, wasm_limits_decl pages, wasm_error *err);
wasm_table *wasm_table_new(wasm_store *store, wasm_valtype elem, wasm_limits_decl limits,
                           wasm_value init, wasm_error *err);
wasm_global *wasm_global_new(wasm_store *store, wasm_valtype type, bool mutable_, wasm_value value,
                             wasm_error *err);

wasm_functype_view wasm_func_type(const wasm_func *func);
wasm_value wasm_global_get(const wasm_global *global);
uint8_t *wasm_memory_data(wasm_memory *memory);
uint64_t wasm_memory_size_bytes(const wasm_memory *memory);

/* ---- Instances and calls ----------------------------------------------------------------- */

typedef struct wasm_instance wasm_instance;

/*
 * Instantiates `module` in `store`: `imports` gives one extern per module import, in import order.
 * Initializes segments and runs the start function. Returns an instance owned by the store, or NULL
 * with err: WASM_UNLINKABLE (imports do not match), WASM_MEMORY_EXCEEDED (a memory's minimum is over
 * the store's cap), WASM_TRAP (a segment out of bounds or the start function trapped; as the spec
 * says, what was written to imported objects before the trap stays written), or a limit status.
 */
wasm_instance *wasm_instance_new(wasm_store *store, const wasm_module *module,
                                 const wasm_extern *imports, size_t import_count, wasm_error *err);

/* Looks up an export by name; false if there is none. */
bool wasm_instance_export(const wasm_instance *instance, const char *name, size_t name_len,
                          wasm_extern *out);

/*
 * Calls `func` with `args` (count and types must match its signature, else WASM_BAD_ARGUMENTS) and
 * writes its results to `results` (room for result_count values). Returns WASM_OK or the outcome:
 * WASM_TRAP (err->trap says which), WASM_TIMEOUT, WASM_GAS_EXHAUSTED, WASM_MEMORY_EXCEEDED (a trap
 * after a memory.grow the store's cap refused). The store stays usable after any outcome.
 */
wasm_status wasm_func_call(wasm_store *store, wasm_func *func, const wasm_value *args, size_t arg_count,
                           wasm_value *results, size_t result_count, wasm_error *err);

/* ---- Watchdog: one thread that interrupts executions past their deadline ------------------ */

typedef struct wasm_watchdog wasm_watchdog;

/* Starts the watchdog thread. Caller frees with wasm_watchdog_free() (which joins it). */
wasm_watchdog *wasm_watchdog_new(wasm_error *err);
void wasm_watchdog_free(wasm_watchdog *watchdog);
/*
 * Interrupts `store` once `timeout_ns` has passed, unless disarmed first. Returns a ticket for
 * wasm_watchdog_disarm(), or 0 if the watchdog could not take it (out of memory).
 * Disarm before freeing the store.
 */
uint64_t wasm_watchdog_arm(wasm_watchdog *watchdog, wasm_store *store, uint64_t timeout_ns);
void wasm_watchdog_disarm(wasm_watchdog *watchdog, uint64_t ticket);

#ifdef __cplusplus
}
#endif

#endif /* WASM_ENGINE_H */
