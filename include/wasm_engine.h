/*
 * wasm_engine.h: the public API of the WebAssembly engine (WebAssembly 2.0 core, SIMD included).
 *
 * Objects and their lifetimes
 *   hvw_module    a decoded, validated and translated module. Immutable once loaded: one module can
 *                  be instantiated from many threads at once.
 *   hvw_store     owns everything an execution touches: instances, memories, tables, globals, host
 *                  functions, the value and call stacks, the gas counter. A store is used by one
 *                  thread at a time; everything it owns is freed with it. Objects of one store may
 *                  not be used with another.
 *   hvw_instance  an instantiated module inside a store.
 *   hvw_func, hvw_memory, hvw_table, hvw_global: extern objects owned by their store.
 *
 * Errors: every fallible call takes a `hvw_error *` (may be NULL) that receives a status, a trap
 * kind when the status is HVW_TRAP, and a message saying what and where.
 *
 * No global state: nothing here keeps anything between calls outside the objects above.
 */
#ifndef HVW_ENGINE_H
#define HVW_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status and trap codes: one table each, names and messages generated from it. ---------- */

/* X(name, text). Numbers are stable; never reuse one. */
#define HVW_STATUS_MAP(X)                                                                   \
  X(HVW_OK, "ok")                                                                           \
  X(HVW_MALFORMED, "malformed module")           /* binary decoding failed */               \
  X(HVW_INVALID, "invalid module")               /* validation failed */                    \
  X(HVW_IMPL_LIMIT, "implementation limit")      /* a documented engine limit was exceeded */ \
  X(HVW_UNLINKABLE, "unlinkable")                /* imports do not match */                 \
  X(HVW_TRAP, "trap")                            /* see hvw_trap */                        \
  X(HVW_TIMEOUT, "execution timeout")            /* interrupted by hvw_store_interrupt */  \
  X(HVW_GAS_EXHAUSTED, "gas exhausted")                                                     \
  X(HVW_MEMORY_EXCEEDED, "memory limit exceeded")                                           \
  X(HVW_NOT_FOUND, "export not found")                                                      \
  X(HVW_BAD_ARGUMENTS, "bad arguments")                                                     \
  X(HVW_OUT_OF_HOST_MEMORY, "out of host memory")

typedef enum hvw_status {
#define HVW__ENUM(name, text) name,
  HVW_STATUS_MAP(HVW__ENUM)
#undef HVW__ENUM
} hvw_status;

/* X(name, message). The messages are the WebAssembly spec's own trap texts. */
#define HVW_TRAP_MAP(X)                                                \
  X(HVW_TRAP_NONE, "no trap")                                          \
  X(HVW_TRAP_UNREACHABLE, "unreachable")                               \
  X(HVW_TRAP_INT_OVERFLOW, "integer overflow")                         \
  X(HVW_TRAP_INT_DIV_ZERO, "integer divide by zero")                   \
  X(HVW_TRAP_INVALID_CONVERSION, "invalid conversion to integer")      \
  X(HVW_TRAP_MEMORY_OOB, "out of bounds memory access")                \
  X(HVW_TRAP_TABLE_OOB, "out of bounds table access")                  \
  X(HVW_TRAP_UNDEFINED_ELEMENT, "undefined element")                   \
  X(HVW_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element")           \
  X(HVW_TRAP_INDIRECT_CALL_TYPE_MISMATCH, "indirect call type mismatch") \
  X(HVW_TRAP_CALL_STACK_EXHAUSTED, "call stack exhausted")             \
  X(HVW_TRAP_HOST, "host function failed")

typedef enum hvw_trap {
#define HVW__ENUM(name, text) name,
  HVW_TRAP_MAP(HVW__ENUM)
#undef HVW__ENUM
} hvw_trap;

#define HVW_ERROR_MESSAGE_MAX 256

typedef struct hvw_error {
  hvw_status status;
  hvw_trap trap;                        /* HVW_TRAP_NONE unless status == HVW_TRAP */
  char message[HVW_ERROR_MESSAGE_MAX];  /* NUL-terminated; says what and where */
} hvw_error;

/* "HVW_OK", "HVW_MALFORMED", ... ; never NULL. */
const char *hvw_status_name(hvw_status status);
/* Short text of a status ("malformed module"); never NULL. */
const char *hvw_status_text(hvw_status status);
/* The spec's message for a trap ("integer divide by zero"); never NULL. */
const char *hvw_trap_message(hvw_trap trap);

/* ---- Values ----------------------------------------------------------------------------- */

/* Value types, numbered as in the binary format. */
typedef uint8_t hvw_valtype;
enum {
  HVW_TYPE_I32 = 0x7F,
  HVW_TYPE_I64 = 0x7E,
  HVW_TYPE_F32 = 0x7D,
  HVW_TYPE_F64 = 0x7C,
  HVW_TYPE_V128 = 0x7B, /* SIMD's 128-bit vector */
  HVW_TYPE_FUNCREF = 0x70,
  HVW_TYPE_EXTERNREF = 0x6F,
};

/* "i32", "i64", "f32", "f64", "v128", "funcref", "externref"; NULL for anything else. */
const char *hvw_valtype_name(hvw_valtype type);

typedef struct hvw_func hvw_func;

/* A typed value. Floats travel as their IEEE 754 bit patterns so NaN payloads survive. */
typedef struct hvw_value {
  hvw_valtype type;
  union {
    int32_t i32;
    int64_t i64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    hvw_func *funcref;  /* NULL is ref.null func */
    uintptr_t externref; /* 0 is ref.null extern; any other value is the host's */
    /* The 16 bytes of a v128 as linear memory holds them (v128.store writes exactly these): lane 0
     * first, each lane little-endian, whatever the host's byte order. */
    uint8_t v128[16];
  } of;
} hvw_value;

/* A function signature. The arrays belong to whoever produced the view (module, store). */
typedef struct hvw_functype_view {
  uint32_t param_count;
  const hvw_valtype *params;
  uint32_t result_count;
  const hvw_valtype *results;
} hvw_functype_view;

typedef struct hvw_limits_decl {
  uint32_t min;
  uint32_t max;
  bool has_max;
} hvw_limits_decl;

/* ---- Modules ---------------------------------------------------------------------------- */

typedef struct hvw_module hvw_module;

typedef enum hvw_extern_kind {
  HVW_EXTERN_FUNC = 0,
  HVW_EXTERN_TABLE = 1,
  HVW_EXTERN_MEMORY = 2,
  HVW_EXTERN_GLOBAL = 3,
} hvw_extern_kind;

/* The type of an import or export. */
typedef struct hvw_externtype {
  hvw_extern_kind kind;
  hvw_functype_view func;                            /* kind == FUNC */
  struct { hvw_valtype elem; hvw_limits_decl limits; } table; /* kind == TABLE */
  hvw_limits_decl memory;                            /* kind == MEMORY, in pages */
  struct { hvw_valtype type; bool mutable_; } global; /* kind == GLOBAL */
} hvw_externtype;

typedef struct hvw_import_info {
  const char *module_name; /* not NUL-terminated: use the lengths; valid UTF-8 */
  size_t module_name_len;
  const char *name;
  size_t name_len;
  hvw_externtype type;
} hvw_import_info;

typedef struct hvw_export_info {
  const char *name; /* not NUL-terminated; valid UTF-8 */
  size_t name_len;
  hvw_externtype type;
} hvw_export_info;

/*
 * Decodes, validates and translates a module. The engine copies what it needs: `bytes` stays the
 * caller's and may be freed as soon as this returns. On success the caller owns the module and frees
 * it with hvw_module_free(); on failure returns NULL and fills `err` (HVW_MALFORMED, HVW_INVALID,
 * HVW_IMPL_LIMIT or HVW_OUT_OF_HOST_MEMORY; the message names section, function and byte offset).
 */
hvw_module *hvw_module_load(const uint8_t *bytes, size_t size, hvw_error *err);
void hvw_module_free(hvw_module *module);

/* Introspection; the returned pointers live as long as the module. */
uint32_t hvw_module_import_count(const hvw_module *module);
bool hvw_module_import(const hvw_module *module, uint32_t index, hvw_import_info *out);
uint32_t hvw_module_export_count(const hvw_module *module);
bool hvw_module_export(const hvw_module *module, uint32_t index, hvw_export_info *out);
/* Finds an exported function by name (length-delimited); false if there is none. */
bool hvw_module_find_func_export(const hvw_module *module, const char *name, size_t name_len,
                                  hvw_functype_view *out_type);

/* Bytes of wasm decoded and time spent translating, for reports. */
typedef struct hvw_module_stats {
  size_t hvw_bytes;
  size_t code_bytes; /* size of the translated code */
  uint64_t translate_ns;
} hvw_module_stats;
void hvw_module_get_stats(const hvw_module *module, hvw_module_stats *out);

/* ---- Stores and limits ------------------------------------------------------------------- */

#define HVW_PAGE_SIZE 65536u

typedef struct hvw_store_limits {
  uint64_t gas_limit;           /* total gas for everything run in the store; UINT64_MAX: none */
  uint32_t max_memory_pages;    /* cap on every linear memory (default 1024 = 64 MiB) */
  uint32_t max_table_elements;  /* cap on every table (default 1,000,000) */
  uint32_t max_call_depth;      /* WebAssembly frames (default 10,000) */
  uint32_t max_stack_cells;     /* 64-bit operand/local cells (default 1 Mi = 8 MiB) */
} hvw_store_limits;

/* The service's defaults: gas 10^10, 64 MiB, 1,000,000 table elements, depth 10,000, 8 MiB stack. */
void hvw_store_limits_default(hvw_store_limits *out);

typedef struct hvw_store hvw_store;

/* Returns a new store that the caller frees with hvw_store_free(), or NULL (err filled). */
hvw_store *hvw_store_new(const hvw_store_limits *limits, hvw_error *err);
/* Frees the store and every object it owns. */
void hvw_store_free(hvw_store *store);

/*
 * Asks the execution running in `store` to stop with HVW_TIMEOUT at its next loop back-edge,
 * call or bulk-operation chunk. Safe from any thread and from a signal handler. Sticky until
 * hvw_store_clear_interrupt().
 */
void hvw_store_interrupt(hvw_store *store);
void hvw_store_clear_interrupt(hvw_store *store);

/*
 * Charges `amount` gas to the store, for work a host function does on the program's behalf (bytes
 * it copies, random bytes it makes): the interpreter picks the new balance up when the host
 * function returns. Returns true when the budget covered it; false when it did not, and then the
 * store's remaining gas is 0 and the host function should return HVW_GAS_EXHAUSTED (the call
 * then ends like one that ran out in WebAssembly). Always true when metering is compiled out.
 * Not safe from another thread than the one running the store.
 */
bool hvw_store_consume_gas(hvw_store *store, uint64_t amount);

typedef struct hvw_store_stats {
  uint64_t gas_used;
  uint64_t memory_peak_bytes; /* largest total linear memory of the store */
} hvw_store_stats;
void hvw_store_get_stats(const hvw_store *store, hvw_store_stats *out);

/* ---- Pools: linear-memory slots and interpreter stacks kept for the next store -------------- */

/*
 * A pool keeps what a store's executions need from the kernel (linear-memory reservations and the
 * interpreter's stacks) and hands it to the next store instead of unmapping it: a thread that runs
 * one execution after another pays no mmap/munmap (and no TLB shootdown of a multi-threaded
 * process) per execution, and finds the pages it used last time already present.
 *
 * A store made with hvw_store_new_in_pool() takes a memory slot for each memory whose whole
 * extent (min(declared max, the store's cap)) fits a slot, and a stack when its limits fit the
 * pool's stacks; anything else (a bigger memory, every slot taken, a failed reservation) is
 * allocated as without a pool. Limits, traps and memory.grow behave exactly as without one.
 *
 * Release zeroes all that the store used before the next store can see it: the used bytes of a
 * memory (its largest size) and of the stacks (their high-water marks), by memset up to
 * keep_resident_bytes (the pages stay present) and madvise(MADV_DONTNEED) beyond; then the slot's
 * accessible part is cut back with mprotect. A slot that cannot be reset is unmapped, never reused.
 *
 * No locking: a pool and the stores made in it are used by one thread at a time (one pool per
 * executor thread or worker process). Free every store made in a pool before the pool.
 */
typedef struct hvw_pool hvw_pool;

typedef struct hvw_pool_config {
  uint32_t max_memory_slots;  /* slots kept at most (default 4; 0: memories are not pooled) */
  uint32_t slot_pages;        /* a slot's reservation in pages (default 1024 = 64 MiB) */
  uint32_t max_stacks;        /* stacks kept at most (default 2; 0: stacks are not pooled) */
  uint32_t stack_cells;       /* a stack's operand/local cells (default 1 Mi, as the store default) */
  uint32_t stack_frames;      /* a stack's call frames (default 10,000, as the store default) */
  size_t keep_resident_bytes; /* reset by memset up to this many used bytes (default 1 MiB) */
} hvw_pool_config;

/* The defaults above: they fit the service's store limits (hvw_store_limits_default). */
void hvw_pool_config_default(hvw_pool_config *out);

/* A new, empty pool (slots and stacks are reserved as they are first needed, then kept), which
 * the caller frees with hvw_pool_free(); NULL config: the defaults. NULL with err on
 * HVW_BAD_ARGUMENTS (slot_pages over 65536, max_memory_slots over 1024, max_stacks over 1024,
 * stack_cells over 2^28, stack_frames over 2^24) or HVW_OUT_OF_HOST_MEMORY. */
hvw_pool *hvw_pool_new(const hvw_pool_config *config, hvw_error *err);
/* Unmaps everything the pool keeps. Every store made in it must have been freed. NULL: no-op. */
void hvw_pool_free(hvw_pool *pool);

/* As hvw_store_new, with memories and stacks taken from `pool` where they fit (NULL: none). */
hvw_store *hvw_store_new_in_pool(const hvw_store_limits *limits, hvw_pool *pool, hvw_error *err);

typedef struct hvw_pool_stats {
  uint64_t memory_reuses;    /* memories given a slot that an earlier memory had used */
  uint64_t memory_fresh;     /* memories given a newly reserved slot */
  uint64_t memory_fallbacks; /* memories allocated without the pool (too big, none free, failed) */
  uint64_t stack_reuses;
  uint64_t stack_fresh;
  uint64_t stack_fallbacks;
  uint64_t resets_madvised;  /* releases that used madvise(MADV_DONTNEED) beyond the memset part */
  uint32_t memory_slots;     /* slots reserved now (free or in use) */
  uint32_t stacks;           /* stacks reserved now */
} hvw_pool_stats;
void hvw_pool_get_stats(const hvw_pool *pool, hvw_pool_stats *out);

/* ---- Extern objects ---------------------------------------------------------------------- */

typedef struct hvw_memory hvw_memory;
typedef struct hvw_table hvw_table;
typedef struct hvw_global hvw_global;

typedef struct hvw_extern {
  hvw_extern_kind kind;
  union {
    hvw_func *func;
    hvw_table *table;
    hvw_memory *memory;
    hvw_global *global;
  } of;
} hvw_extern;

/*
 * A host function. `args` holds the parameters, `results` has room for the results (the callback
 * sets their values; types are preset). Return HVW_OK, or another status (usually HVW_TRAP with
 * err->trap = HVW_TRAP_HOST) to abort the execution.
 */
typedef hvw_status (*hvw_host_callback)(void *env, const hvw_value *args, hvw_value *results,
                                          hvw_error *err);

/* Objects made by these belong to the store; NULL on failure (err filled). Types are copied. */
hvw_func *hvw_func_new_host(hvw_store *store, hvw_functype_view type, hvw_host_callback callback,
                              void *env, hvw_error *err);
hvw_memory *hvw_memory_new(hvw_store *store, hvw_limits_decl pages, hvw_error *err);
hvw_table *hvw_table_new(hvw_store *store, hvw_valtype elem, hvw_limits_decl limits,
                           hvw_value init, hvw_error *err);
hvw_global *hvw_global_new(hvw_store *store, hvw_valtype type, bool mutable_, hvw_value value,
                             hvw_error *err);

hvw_functype_view hvw_func_type(const hvw_func *func);
hvw_value hvw_global_get(const hvw_global *global);
uint8_t *hvw_memory_data(hvw_memory *memory);
uint64_t hvw_memory_size_bytes(const hvw_memory *memory);

/* ---- Instances and calls ----------------------------------------------------------------- */

typedef struct hvw_instance hvw_instance;

/*
 * Instantiates `module` in `store`: `imports` gives one extern per module import, in import order.
 * Initializes segments and runs the start function. Returns an instance owned by the store, or NULL
 * with err: HVW_UNLINKABLE (imports do not match), HVW_MEMORY_EXCEEDED (a memory's minimum is over
 * the store's cap), HVW_TRAP (a segment out of bounds or the start function trapped; as the spec
 * says, what was written to imported objects before the trap stays written), or a limit status.
 */
hvw_instance *hvw_instance_new(hvw_store *store, const hvw_module *module,
                                 const hvw_extern *imports, size_t import_count, hvw_error *err);

/* Looks up an export by name; false if there is none. */
bool hvw_instance_export(const hvw_instance *instance, const char *name, size_t name_len,
                          hvw_extern *out);

/*
 * Calls `func` with `args` (count and types must match its signature, else HVW_BAD_ARGUMENTS) and
 * writes its results to `results` (room for result_count values). Returns HVW_OK or the outcome:
 * HVW_TRAP (err->trap says which), HVW_TIMEOUT, HVW_GAS_EXHAUSTED, HVW_MEMORY_EXCEEDED (a trap
 * after a memory.grow the store's cap refused). The store stays usable after any outcome.
 */
hvw_status hvw_func_call(hvw_store *store, hvw_func *func, const hvw_value *args, size_t arg_count,
                           hvw_value *results, size_t result_count, hvw_error *err);

/* ---- Watchdog: one thread that interrupts executions past their deadline ------------------ */

typedef struct hvw_watchdog hvw_watchdog;

/* Starts the watchdog thread. Caller frees with hvw_watchdog_free() (which joins it). */
hvw_watchdog *hvw_watchdog_new(hvw_error *err);
void hvw_watchdog_free(hvw_watchdog *watchdog);
/*
 * Interrupts `store` once `timeout_ns` has passed, unless disarmed first. Returns a ticket for
 * hvw_watchdog_disarm(), or 0 if the watchdog could not take it (out of memory).
 * Disarm before freeing the store.
 */
uint64_t hvw_watchdog_arm(hvw_watchdog *watchdog, hvw_store *store, uint64_t timeout_ns);
void hvw_watchdog_disarm(hvw_watchdog *watchdog, uint64_t ticket);

#ifdef __cplusplus
}
#endif

#endif /* HVW_ENGINE_H */
