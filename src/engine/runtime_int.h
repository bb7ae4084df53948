/*
 * runtime_int.h: the objects an execution touches. runtime.c creates and links them; interp.c runs
 * code against them. Everything here is owned by a hvw_store and lives until hvw_store_free().
 */
#ifndef HVW_RUNTIME_INT_H
#define HVW_RUNTIME_INT_H

#include <stdatomic.h>

#include "module_int.h"

/*
 * A linear memory. The whole possible extent (max_pages) is reserved up front as one PROT_NONE
 * mapping and pages are made accessible as the memory grows, so `data` NEVER moves: the interpreter
 * may keep `data` in a register across calls and grows, and must only reload `size_bytes`.
 * Accesses are bounds-checked against size_bytes (the reservation is not a guard region).
 * A small memory (a reservation of at most HVW_HEAP_MEMORY_MAX bytes: one with a small declared
 * maximum) is a heap block instead (`heap` set): no mmap, mprotect or munmap per instance, and the
 * pages are zeroed when they become part of the memory. `data` never moves either way.
 */
#define HVW_HEAP_MEMORY_MAX (1u << 20)
struct hvw_memory {
  uint8_t *data;
  uint64_t size_bytes;  /* pages * HVW_PAGE_SIZE */
  uint32_t pages;
  uint32_t max_pages;   /* min(declared max or 65536, the store's cap) */
  uint32_t declared_max; /* the type's max, or 65536 without one: import matching uses it */
  bool has_declared_max;
  size_t reserved_bytes;
  bool heap;            /* added by runtime.c: data is a heap block (free), not a mapping (munmap) */
  struct hvw__pool_block *slot; /* set: data is a pool slot's, given back (zeroed) when freed */
};

struct hvw_table {
  hvw_cell *elems;     /* may move when the table grows */
  uint32_t size;
  uint32_t capacity;    /* added by runtime.c: allocated elements (size <= capacity <= max) */
  uint32_t max;         /* min(declared max or UINT32_MAX, the store's cap) */
  uint32_t declared_max;
  bool has_declared_max;
  hvw_valtype elem_type;
};

struct hvw_global {
  hvw_cell value[HVW_MAX_VALUE_CELLS]; /* hvw__type_cells(type) of them are used */
  hvw_valtype type;
  bool mutable_;
};

struct hvw_func {
  const hvw_functype *type;     /* the module's, or the store's copy for host functions */
  struct hvw_instance *instance; /* NULL for host functions */
  const struct hvw_code *code;  /* translated body; NULL for host functions */
  uint32_t func_index;           /* index in its instance's module */
  hvw_host_callback host_callback;
  void *host_env;
};

/* An element segment as an instance sees it; dropping (or active/declarative init) sets count 0. */
typedef struct hvw_elem_instance {
  uint32_t count;
  hvw_cell *refs;
} hvw_elem_instance;

/* A data segment as an instance sees it; dropping (or active init) sets size 0. */
typedef struct hvw_data_instance {
  uint32_t size;
  const uint8_t *bytes; /* into the module's bytes */
} hvw_data_instance;

struct hvw_instance {
  const struct hvw_module *module;
  struct hvw_store *store;
  struct hvw_func **funcs;     /* function index space */
  struct hvw_table **tables;   /* table index space */
  struct hvw_memory *memory;   /* memory 0, or NULL */
  struct hvw_global **globals; /* global index space */
  hvw_elem_instance *elems;    /* one per element segment */
  hvw_data_instance *datas;    /* one per data segment */
};

struct hvw_interp_state; /* the interpreter's stacks: defined by interp.c */

/* A call frame record of the interpreter (interp.c); here so that pool.c can size stacks. */
typedef struct hvw__frame_rec {
  const uint32_t *ip; /* where the caller continues; NULL marks the entry frame of run() */
  hvw_cell *fp;
  struct hvw_instance *inst;
} hvw__frame_rec;

struct hvw_store {
  hvw_store_limits limits;
  atomic_uint interrupt;        /* raised by hvw_store_interrupt / the watchdog */
  uint64_t gas_remaining;       /* the interpreter may cache it and writes it back when it returns */
  bool memory_grow_refused;     /* a memory.grow was refused because of the cap: a later trap is MEMORY_EXCEEDED */
  uint64_t memory_total_bytes;  /* sum over the store's memories */
  uint64_t memory_peak_bytes;
  struct hvw_interp_state *interp; /* created on first call by interp.c; freed by hvw__interp_state_free */
  struct hvw_store_object *objects; /* everything the store owns, for hvw_store_free (runtime.c) */
  hvw_pool *pool;               /* where memories and stacks come from when they fit; may be NULL */
};

/* ---- pool.c, for the runtime and the interpreter ---- */

/*
 * One reserved mapping a pool hands out: a memory slot (`bytes` of reservation, the first
 * `accessible` of them PROT_READ|PROT_WRITE, the rest PROT_NONE) or a stack (cells, then frames,
 * all accessible). Owned by its pool; a store holds it between take and give.
 */
typedef struct hvw__pool_block {
  struct hvw__pool_block *next; /* the pool's free list */
  hvw_pool *pool;
  uint8_t *base;
  size_t bytes;
  size_t accessible;
  hvw_cell *cells;          /* a stack's: stack_cells cells at base */
  hvw__frame_rec *frames;   /* a stack's: stack_frames records after the cells */
} hvw__pool_block;

/* A slot for a memory that may grow to `reserve` bytes and starts with `initial` accessible (and
 * zero) bytes; NULL when the pool has none for it (the caller maps its own: a fallback). */
hvw__pool_block *hvw__pool_memory_take(hvw_pool *pool, size_t reserve, size_t initial);
/* Gives a slot back; `used` is the largest size the memory had. Zeroes it and cuts it back. */
void hvw__pool_memory_give(hvw__pool_block *slot, size_t used);
/* A stack of at least `ncells` cells and `nframes` frames, zeroed; NULL: the caller maps its own. */
hvw__pool_block *hvw__pool_stack_take(hvw_pool *pool, size_t ncells, uint32_t nframes);
/* Gives a stack back; the cells and frames below the high-water marks are zeroed. */
void hvw__pool_stack_give(hvw__pool_block *stack, size_t cells_used, uint32_t frames_used);

/* ---- runtime.c, for the interpreter ---- */

/* memory.grow: returns the old size in pages, or -1 (and sets store->memory_grow_refused when the
 * store's cap, not the declared max, refused it). Keeps the store's memory totals. */
int64_t hvw__memory_grow(struct hvw_store *store, struct hvw_memory *memory, uint32_t delta_pages);
/* table.grow: returns the old size, or -1. `init` fills the new elements. */
int64_t hvw__table_grow(struct hvw_store *store, struct hvw_table *table, uint32_t delta, hvw_cell init);

/* Calls a host function: converts the cells to hvw_values and back, runs the callback. The interpreter
 * calls this for host callees; `cells` as for hvw__interp_call. */
hvw_status hvw__host_call(struct hvw_store *store, struct hvw_func *func, hvw_cell *cells,
                            hvw_error *err);

/* ---- interp.c, for the runtime ---- */

/*
 * Runs `func` (a WebAssembly or host function). `cells` holds the arguments (param_cells cells) on
 * entry and receives the results (result_cells cells) on success; it must have room for
 * max(param_cells, result_cells). Gas is taken from store->gas_remaining; the interrupt flag and the
 * store's limits are honoured. Returns HVW_OK or the outcome (err filled).
 */
hvw_status hvw__interp_call(struct hvw_store *store, struct hvw_func *func, hvw_cell *cells,
                              hvw_error *err);
void hvw__interp_state_free(struct hvw_interp_state *state);

#endif /* HVW_RUNTIME_INT_H */
