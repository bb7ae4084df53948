/*
 * runtime.c: stores, extern objects (functions, memories, tables, globals), instantiation with
 * import matching and segment initialization, and calls: the rest of the public API.
 *
 * Ownership: every object is created for one store and recorded in its object list; nothing is
 * freed before hvw_store_free(). That is what the spec needs: after a failed instantiation the
 * imported tables may already hold references to the new instance's functions, so those must live
 * as long as the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "limits.h"
#include "runtime_int.h"

typedef enum store_object_kind {
  OBJ_BLOCK,    /* plain heap block: free() */
  OBJ_MEMORY,   /* struct hvw_memory: unmap, then free() */
  OBJ_TABLE,    /* struct hvw_table: free elems, then free() */
  OBJ_INSTANCE, /* struct hvw_instance: free its arrays, then free() */
} store_object_kind;

struct hvw_store_object {
  struct hvw_store_object *next;
  store_object_kind kind;
  void *ptr;
};

/* A host function and its copied signature in one block. */
typedef struct host_func {
  struct hvw_func func;
  hvw_functype type;
  hvw_valtype types[];
} host_func;

static void object_destroy(store_object_kind kind, void *ptr) {
  switch (kind) {
    case OBJ_BLOCK: break;
    case OBJ_MEMORY: {
      struct hvw_memory *mem = ptr;
      if (mem->slot) hvw__pool_memory_give(mem->slot, (size_t)mem->size_bytes); /* memories only grow */
      else if (mem->heap) free(mem->data);
      else if (mem->data) munmap(mem->data, mem->reserved_bytes);
      break;
    }
    case OBJ_TABLE: free(((struct hvw_table *)ptr)->elems); break;
    case OBJ_INSTANCE: {
      struct hvw_instance *inst = ptr; /* its module may be gone already: do not look at it */
      free(inst->elems);
      free(inst->datas);
      free(inst->funcs);
      free(inst->tables);
      free(inst->globals);
      break;
    }
  }
  free(ptr);
}

/* Hands `ptr` to the store. On failure destroys it and returns false (err filled). */
static bool store_own(hvw_store *store, store_object_kind kind, void *ptr, hvw_error *err) {
  struct hvw_store_object *o = malloc(sizeof *o);
  if (!o) {
    object_destroy(kind, ptr);
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return false;
  }
  o->next = store->objects;
  o->kind = kind;
  o->ptr = ptr;
  store->objects = o;
  return true;
}

/* ---- Values and cells ------------------------------------------------------------------------- */

_Static_assert(sizeof ((hvw_value *)0)->of.v128 == HVW_MAX_VALUE_CELLS * sizeof(hvw_cell),
               "a v128 fills the largest value's cells");

/* Writes `v` into its hvw__type_cells(v->type) cells at `out`; returns how many that is. */
static uint32_t value_to_cells(const hvw_value *v, hvw_cell *out) {
  switch (v->type) {
    case HVW_TYPE_I32: out[0] = (uint32_t)v->of.i32; break;
    case HVW_TYPE_I64: out[0] = (uint64_t)v->of.i64; break;
    case HVW_TYPE_F32: out[0] = v->of.f32_bits; break;
    case HVW_TYPE_F64: out[0] = v->of.f64_bits; break;
    case HVW_TYPE_FUNCREF: out[0] = (uintptr_t)v->of.funcref; break;
    case HVW_TYPE_EXTERNREF: out[0] = v->of.externref; break;
    case HVW_TYPE_V128: memcpy(out, v->of.v128, sizeof v->of.v128); break; /* memory's byte order */
    default: break;
  }
  return hvw__type_cells(v->type);
}

/* The value of type `type` in the hvw__type_cells(type) cells at `in`. */
static hvw_value value_from_cells(hvw_valtype type, const hvw_cell *in) {
  hvw_value v;
  memset(&v, 0, sizeof v);
  v.type = type;
  switch (type) {
    case HVW_TYPE_I32: v.of.i32 = (int32_t)(uint32_t)in[0]; break;
    case HVW_TYPE_I64: v.of.i64 = (int64_t)in[0]; break;
    case HVW_TYPE_F32: v.of.f32_bits = (uint32_t)in[0]; break;
    case HVW_TYPE_F64: v.of.f64_bits = in[0]; break;
    case HVW_TYPE_FUNCREF: v.of.funcref = (hvw_func *)(uintptr_t)in[0]; break;
    case HVW_TYPE_EXTERNREF: v.of.externref = (uintptr_t)in[0]; break;
    case HVW_TYPE_V128: memcpy(v.of.v128, in, sizeof v.of.v128); break;
    default: break;
  }
  return v;
}

/* A reference's cell (table elements hold exactly one). */
static hvw_cell ref_cell(const hvw_value *ref) {
  hvw_cell c[HVW_MAX_VALUE_CELLS] = {0};
  uint32_t n = value_to_cells(ref, c);
  HVW__DEBUG_ASSERT(n == 1);
  (void)n;
  return c[0];
}

static bool valid_valtype(hvw_valtype t) {
  return t == HVW_TYPE_I32 || t == HVW_TYPE_I64 || t == HVW_TYPE_F32 || t == HVW_TYPE_F64 ||
         t == HVW_TYPE_V128 || t == HVW_TYPE_FUNCREF || t == HVW_TYPE_EXTERNREF;
}

static bool is_reftype(hvw_valtype t) { return t == HVW_TYPE_FUNCREF || t == HVW_TYPE_EXTERNREF; }

/* ---- Stores ----------------------------------------------------------------------------------- */

void hvw_store_limits_default(hvw_store_limits *out) {
  if (!out) return;
  out->gas_limit = 10000000000ull;
  out->max_memory_pages = 1024;
  out->max_table_elements = 1000000;
  out->max_call_depth = 10000;
  out->max_stack_cells = 1u << 20;
}

hvw_store *hvw_store_new(const hvw_store_limits *limits, hvw_error *err) {
  hvw__error_clear(err);
  hvw_store *s = calloc(1, sizeof *s);
  if (!s) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  if (limits) s->limits = *limits;
  else hvw_store_limits_default(&s->limits);
  if (s->limits.max_memory_pages > HVW_MAX_MEMORY_PAGES) s->limits.max_memory_pages = HVW_MAX_MEMORY_PAGES;
  atomic_init(&s->interrupt, 0);
  s->gas_remaining = s->limits.gas_limit;
  return s;
}

hvw_store *hvw_store_new_in_pool(const hvw_store_limits *limits, hvw_pool *pool, hvw_error *err) {
  hvw_store *s = hvw_store_new(limits, err);
  if (s) s->pool = pool;
  return s;
}

void hvw_store_free(hvw_store *store) {
  if (!store) return;
  if (store->interp) hvw__interp_state_free(store->interp);
  struct hvw_store_object *o = store->objects;
  while (o) {
    struct hvw_store_object *next = o->next;
    object_destroy(o->kind, o->ptr);
    free(o);
    o = next;
  }
  free(store);
}

void hvw_store_interrupt(hvw_store *store) {
  if (store) atomic_store_explicit(&store->interrupt, 1u, memory_order_relaxed);
}

void hvw_store_clear_interrupt(hvw_store *store) {
  if (store) atomic_store_explicit(&store->interrupt, 0u, memory_order_relaxed);
}

bool hvw_store_consume_gas(hvw_store *store, uint64_t amount) {
#if HVW_NO_GAS_METERING
  (void)store;
  (void)amount;
  return true;
#else
  if (!store) return false;
  if (amount > store->gas_remaining) {
    store->gas_remaining = 0;
    return false;
  }
  store->gas_remaining -= amount;
  return true;
#endif
}

void hvw_store_get_stats(const hvw_store *store, hvw_store_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!store) return;
  out->gas_used = store->limits.gas_limit - store->gas_remaining;
  out->memory_peak_bytes = store->memory_peak_bytes;
}

/* ---- Memories --------------------------------------------------------------------------------- */

static bool limits_ok(hvw_limits_decl l, uint64_t bound) {
  return l.min <= bound && (!l.has_max || (l.max <= bound && l.min <= l.max));
}

static void memory_account(hvw_store *store, uint64_t added_bytes) {
  store->memory_total_bytes += added_bytes;
  if (store->memory_total_bytes > store->memory_peak_bytes) store->memory_peak_bytes = store->memory_total_bytes;
}

/*
 * A memory of `lim` pages (already validated). Reserves its whole extent, min(declared max, cap)
 * pages, so `data` never moves: a heap block when that is small (no system call per instance; the
 * common case of a small module with a small declared maximum), else one PROT_NONE mapping whose
 * pages are made accessible as the memory grows. Owned by the store.
 */
static struct hvw_memory *memory_create(hvw_store *store, hvw_limits_decl lim, hvw_error *err) {
  uint32_t cap = store->limits.max_memory_pages;
  if (lim.min > cap) {
    hvw__fail(err, HVW_MEMORY_EXCEEDED, "memory minimum of %u pages is over the store's cap of %u pages",
               lim.min, cap);
    return NULL;
  }
  struct hvw_memory *mem = calloc(1, sizeof *mem);
  if (!mem) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  mem->has_declared_max = lim.has_max;
  mem->declared_max = lim.has_max ? lim.max : HVW_MAX_MEMORY_PAGES;
  mem->max_pages = mem->declared_max < cap ? mem->declared_max : cap;
  size_t reserve = (size_t)mem->max_pages * HVW_PAGE_SIZE;
  uint64_t bytes = (uint64_t)lim.min * HVW_PAGE_SIZE;
  hvw__pool_block *slot = hvw__pool_memory_take(store->pool, reserve, (size_t)bytes);
  if (slot) {
    /* zeroed, `bytes` accessible, the rest PROT_NONE: grows as a mapping does below */
    mem->data = slot->base;
    mem->reserved_bytes = slot->bytes;
    mem->slot = slot;
  } else if (reserve <= HVW_HEAP_MEMORY_MAX) {
    /* 64-byte aligned, and never empty so that `data` is a valid pointer even for 0 pages. */
    void *p = NULL;
    if (posix_memalign(&p, 64, reserve ? reserve : 64) != 0) {
      free(mem);
      hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "cannot allocate %zu bytes for a linear memory", reserve);
      return NULL;
    }
    memset(p, 0, (size_t)bytes); /* the rest is zeroed as the memory grows into it */
    mem->data = p;
    mem->heap = true;
    mem->reserved_bytes = reserve;
  } else {
    void *p = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      free(mem);
      hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "cannot reserve %zu bytes for a linear memory", reserve);
      return NULL;
    }
    mem->data = p;
    mem->reserved_bytes = reserve;
    if (bytes && mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
      object_destroy(OBJ_MEMORY, mem);
      hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "cannot commit %llu bytes of linear memory", (unsigned long long)bytes);
      return NULL;
    }
  }
  if (!store_own(store, OBJ_MEMORY, mem, err)) return NULL;
  mem->pages = lim.min;
  mem->size_bytes = bytes;
  memory_account(store, bytes);
  return mem;
}

int64_t hvw__memory_grow(struct hvw_store *store, struct hvw_memory *mem, uint32_t delta) {
  uint32_t old = mem->pages;
  if (delta == 0) return old;
  uint64_t want = (uint64_t)old + delta;
  if (want > mem->declared_max) return -1;
  if (want > mem->max_pages) {
    store->memory_grow_refused = true;
    return -1;
  }
  uint64_t old_bytes = mem->size_bytes, new_bytes = want * HVW_PAGE_SIZE;
  if (mem->heap)
    memset(mem->data + old_bytes, 0, (size_t)(new_bytes - old_bytes)); /* within the reservation */
  else if (mprotect(mem->data + old_bytes, (size_t)(new_bytes - old_bytes), PROT_READ | PROT_WRITE) != 0)
    return -1;
  if (mem->slot) mem->slot->accessible = (size_t)new_bytes; /* what the slot must zero and cut back */
  mem->pages = (uint32_t)want;
  mem->size_bytes = new_bytes;
  memory_account(store, new_bytes - old_bytes);
  return old;
}

hvw_memory *hvw_memory_new(hvw_store *store, hvw_limits_decl pages, hvw_error *err) {
  hvw__error_clear(err);
  if (!store) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "no store");
    return NULL;
  }
  if (!limits_ok(pages, HVW_MAX_MEMORY_PAGES)) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "bad memory limits (min %u, max %u)", pages.min, pages.max);
    return NULL;
  }
  return memory_create(store, pages, err);
}

uint8_t *hvw_memory_data(hvw_memory *memory) { return memory ? memory->data : NULL; }
uint64_t hvw_memory_size_bytes(const hvw_memory *memory) { return memory ? memory->size_bytes : 0; }

/* ---- Tables ----------------------------------------------------------------------------------- */

static struct hvw_table *table_create(hvw_store *store, hvw_valtype elem, hvw_limits_decl lim, hvw_cell init,
                                       hvw_error *err) {
  uint32_t cap = store->limits.max_table_elements;
  if (lim.min > cap) {
    hvw__fail(err, HVW_MEMORY_EXCEEDED, "table minimum of %u elements is over the store's cap of %u", lim.min, cap);
    return NULL;
  }
  struct hvw_table *t = calloc(1, sizeof *t);
  if (!t) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  t->elems = hvw__calloc(lim.min, sizeof *t->elems);
  if (!t->elems) {
    free(t);
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory for a table of %u elements", lim.min);
    return NULL;
  }
  for (uint32_t i = 0; i < lim.min; i++) t->elems[i] = init;
  t->size = lim.min;
  t->capacity = lim.min;
  t->has_declared_max = lim.has_max;
  t->declared_max = lim.has_max ? lim.max : UINT32_MAX;
  t->max = t->declared_max < cap ? t->declared_max : cap;
  t->elem_type = elem;
  if (!store_own(store, OBJ_TABLE, t, err)) return NULL;
  return t;
}

int64_t hvw__table_grow(struct hvw_store *store, struct hvw_table *t, uint32_t delta, hvw_cell init) {
  (void)store;
  uint32_t old = t->size;
  uint64_t want = (uint64_t)old + delta;
  if (want > t->max) return -1;
  if (want > t->capacity) {
    /* amortized growth, never past the table's maximum */
    uint64_t cap = (uint64_t)t->capacity * 2;
    if (cap < want) cap = want;
    if (cap > t->max) cap = t->max;
    hvw_cell *p = hvw__reallocarray(t->elems, (size_t)cap, sizeof *p);
    if (!p) return -1;
    t->elems = p;
    t->capacity = (uint32_t)cap;
  }
  for (uint64_t i = old; i < want; i++) t->elems[i] = init;
  t->size = (uint32_t)want;
  return old;
}

hvw_table *hvw_table_new(hvw_store *store, hvw_valtype elem, hvw_limits_decl limits, hvw_value init,
                           hvw_error *err) {
  hvw__error_clear(err);
  if (!store || !is_reftype(elem) || init.type != elem || !limits_ok(limits, UINT32_MAX)) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "bad table type or initial value");
    return NULL;
  }
  return table_create(store, elem, limits, ref_cell(&init), err);
}

/* ---- Globals and functions -------------------------------------------------------------------- */

hvw_global *hvw_global_new(hvw_store *store, hvw_valtype type, bool mutable_, hvw_value value,
                             hvw_error *err) {
  hvw__error_clear(err);
  if (!store || !valid_valtype(type) || value.type != type) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "bad global type or value");
    return NULL;
  }
  struct hvw_global *g = calloc(1, sizeof *g);
  if (!g) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  g->type = type;
  g->mutable_ = mutable_;
  value_to_cells(&value, g->value);
  if (!store_own(store, OBJ_BLOCK, g, err)) return NULL;
  return g;
}

hvw_value hvw_global_get(const hvw_global *global) {
  if (!global) {
    hvw_value v;
    memset(&v, 0, sizeof v);
    return v;
  }
  return value_from_cells(global->type, global->value);
}

hvw_func *hvw_func_new_host(hvw_store *store, hvw_functype_view type, hvw_host_callback callback, void *env,
                              hvw_error *err) {
  hvw__error_clear(err);
  if (!store || !callback || type.param_count > HVW_MAX_PARAMS || type.result_count > HVW_MAX_RESULTS ||
      (type.param_count && !type.params) || (type.result_count && !type.results)) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "bad host function type or callback");
    return NULL;
  }
  size_t n = (size_t)type.param_count + type.result_count;
  for (uint32_t i = 0; i < type.param_count; i++)
    if (!valid_valtype(type.params[i])) goto bad_type;
  for (uint32_t i = 0; i < type.result_count; i++)
    if (!valid_valtype(type.results[i])) goto bad_type;
  host_func *h = calloc(1, sizeof *h + n);
  if (!h) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  if (type.param_count) memcpy(h->types, type.params, type.param_count);
  if (type.result_count) memcpy(h->types + type.param_count, type.results, type.result_count);
  h->type.param_count = type.param_count;
  h->type.result_count = type.result_count;
  h->type.types = h->types;
  h->type.param_cells = hvw__types_cells(type.params, type.param_count);
  h->type.result_cells = hvw__types_cells(type.results, type.result_count);
  h->func.type = &h->type;
  h->func.host_callback = callback;
  h->func.host_env = env;
  if (!store_own(store, OBJ_BLOCK, h, err)) return NULL;
  return &h->func;

bad_type:
  hvw__fail(err, HVW_BAD_ARGUMENTS, "bad value type in host function signature");
  return NULL;
}

hvw_functype_view hvw_func_type(const hvw_func *func) {
  if (!func) {
    hvw_functype_view v;
    memset(&v, 0, sizeof v);
    return v;
  }
  return hvw__functype_view(func->type);
}

hvw_status hvw__host_call(struct hvw_store *store, struct hvw_func *func, hvw_cell *cells, hvw_error *err) {
  (void)store;
  const hvw_functype *ft = func->type;
  hvw_value small[16];
  hvw_value *args = small;
  size_t n = (size_t)ft->param_count + ft->result_count;
  if (n > 16) {
    args = hvw__calloc(n, sizeof *args);
    if (!args) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
  }
  hvw_value *results = args + ft->param_count;
  uint32_t at = 0;
  for (uint32_t i = 0; i < ft->param_count; i++) {
    args[i] = value_from_cells(ft->types[i], cells + at);
    at += hvw__type_cells(ft->types[i]);
  }
  HVW__DEBUG_ASSERT(at == ft->param_cells);
  static const hvw_cell zeros[HVW_MAX_VALUE_CELLS];
  for (uint32_t i = 0; i < ft->result_count; i++) results[i] = value_from_cells(ft->types[ft->param_count + i], zeros);

  hvw_error herr;
  hvw__error_clear(&herr);
  hvw_status st = func->host_callback(func->host_env, args, results, &herr);
  if (st != HVW_OK) {
    if (herr.status != st || herr.message[0] == '\0') {
      if (st == HVW_TRAP) hvw__trap(&herr, HVW_TRAP_HOST);
      else hvw__fail(&herr, st, "host function failed: %s", hvw_status_text(st));
    }
    if (err) *err = herr;
  } else {
    at = 0;
    for (uint32_t i = 0; i < ft->result_count; i++) {
      if (results[i].type != ft->types[ft->param_count + i]) {
        st = hvw__trap(err, HVW_TRAP_HOST);
        if (err) snprintf(err->message, sizeof err->message, "host function failed: result %u has the wrong type", i);
        break;
      }
      at += value_to_cells(&results[i], cells + at);
    }
  }
  if (args != small) free(args);
  return st;
}

/* ---- Instantiation ---------------------------------------------------------------------------- */

/* Evaluates a constant expression into its hvw__type_cells(e->type) cells at `out`. */
static void eval_const(const struct hvw_instance *inst, const hvw_constexpr *e, hvw_cell *out) {
  uint32_t n = hvw__type_cells(e->type);
  if (HVW__NEVER(n > HVW_MAX_VALUE_CELLS)) n = HVW_MAX_VALUE_CELLS;
  switch (e->kind) {
    case HVW_CONST_VALUE: memcpy(out, e->value, n * sizeof *out); return;
    case HVW_CONST_GLOBAL_GET: memcpy(out, inst->globals[e->index]->value, n * sizeof *out); return;
    case HVW_CONST_REF_NULL: out[0] = 0; return;
    case HVW_CONST_REF_FUNC: out[0] = (uintptr_t)inst->funcs[e->index]; return;
  }
}

/* A constant expression of a one-cell type: a segment offset (i32), a reference. */
static hvw_cell eval_const_cell(const struct hvw_instance *inst, const hvw_constexpr *e) {
  hvw_cell v[HVW_MAX_VALUE_CELLS] = {0};
  HVW__DEBUG_ASSERT(hvw__type_cells(e->type) == 1);
  eval_const(inst, e, v);
  return v[0];
}

static const char *kind_name(hvw_extern_kind k) {
  switch (k) {
    case HVW_EXTERN_FUNC: return "function";
    case HVW_EXTERN_TABLE: return "table";
    case HVW_EXTERN_MEMORY: return "memory";
    case HVW_EXTERN_GLOBAL: return "global";
  }
  return "extern";
}

/* Extern subtyping on limits: the actual object's current size and declared max must fit. */
static bool limits_match(uint32_t size, bool has_max, uint32_t max, hvw_limits_decl want) {
  if (size < want.min) return false;
  if (!want.has_max) return true;
  return has_max && max <= want.max;
}

HVW__PRINTF(4, 5)
static hvw_status unlinkable(hvw_error *err, const hvw_module *m, uint32_t i, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const hvw_import *imp = &m->imports[i];
  return hvw__fail(err, HVW_UNLINKABLE, "import %u \"%.*s\" \"%.*s\": %s", i,
                    (int)(imp->module_name_len > 48 ? 48 : imp->module_name_len), (const char *)imp->module_name,
                    (int)(imp->name_len > 48 ? 48 : imp->name_len), (const char *)imp->name, what);
}

static hvw_status link_imports(struct hvw_instance *inst, const hvw_extern *imports, hvw_error *err) {
  const hvw_module *m = inst->module;
  for (uint32_t i = 0; i < m->import_count; i++) {
    const hvw_import *imp = &m->imports[i];
    const hvw_extern *x = &imports[i];
    if (x->kind != imp->kind)
      return unlinkable(err, m, i, "incompatible import type: expected a %s, got a %s", kind_name(imp->kind),
                        kind_name(x->kind));
    switch (imp->kind) {
      case HVW_EXTERN_FUNC: {
        const hvw_functype *want = &m->types[m->funcs[imp->index].type_index];
        if (!x->of.func) return unlinkable(err, m, i, "no function given");
        if (!hvw__functype_equal(x->of.func->type, want))
          return unlinkable(err, m, i, "incompatible import type: function signatures differ");
        inst->funcs[imp->index] = x->of.func;
        break;
      }
      case HVW_EXTERN_TABLE: {
        const hvw_tabletype *want = &m->tables[imp->index];
        const struct hvw_table *t = x->of.table;
        if (!t) return unlinkable(err, m, i, "no table given");
        if (t->elem_type != want->elem)
          return unlinkable(err, m, i, "incompatible import type: table of %s, expected %s",
                            hvw_valtype_name(t->elem_type), hvw_valtype_name(want->elem));
        if (!limits_match(t->size, t->has_declared_max, t->declared_max, want->limits))
          return unlinkable(err, m, i, "incompatible import type: table limits do not match");
        inst->tables[imp->index] = x->of.table;
        break;
      }
      case HVW_EXTERN_MEMORY: {
        const struct hvw_memory *mem = x->of.memory;
        if (!mem) return unlinkable(err, m, i, "no memory given");
        if (!limits_match(mem->pages, mem->has_declared_max, mem->declared_max, m->memories[imp->index]))
          return unlinkable(err, m, i, "incompatible import type: memory limits do not match");
        inst->memory = x->of.memory;
        break;
      }
      case HVW_EXTERN_GLOBAL: {
        const hvw_globaltype *want = &m->globals[imp->index];
        const struct hvw_global *g = x->of.global;
        if (!g) return unlinkable(err, m, i, "no global given");
        if (g->type != want->type || g->mutable_ != want->mutable_)
          return unlinkable(err, m, i, "incompatible import type: global %s%s, expected %s%s",
                            g->mutable_ ? "mut " : "", hvw_valtype_name(g->type), want->mutable_ ? "mut " : "",
                            hvw_valtype_name(want->type));
        inst->globals[imp->index] = x->of.global;
        break;
      }
    }
  }
  return HVW_OK;
}

/* Creates the instance's own functions, tables, memory and globals, and its segment instances. */
static hvw_status allocate_definitions(struct hvw_instance *inst, hvw_error *err) {
  const hvw_module *m = inst->module;
  hvw_store *store = inst->store;
  uint32_t defined = m->func_count - m->func_import_count;
  if (defined) {
    struct hvw_func *funcs = hvw__calloc(defined, sizeof *funcs);
    if (!funcs) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    if (!store_own(store, OBJ_BLOCK, funcs, err)) return HVW_OUT_OF_HOST_MEMORY;
    for (uint32_t k = 0; k < defined; k++) {
      uint32_t i = m->func_import_count + k;
      funcs[k].type = &m->types[m->funcs[i].type_index];
      funcs[k].instance = inst;
      funcs[k].code = m->funcs[i].code;
      funcs[k].func_index = i;
      inst->funcs[i] = &funcs[k];
    }
  }
  for (uint32_t i = m->table_import_count; i < m->table_count; i++) {
    inst->tables[i] = table_create(store, m->tables[i].elem, m->tables[i].limits, 0, err);
    if (!inst->tables[i]) return err ? err->status : HVW_OUT_OF_HOST_MEMORY;
  }
  if (m->memory_count > m->memory_import_count) {
    inst->memory = memory_create(store, m->memories[m->memory_import_count], err);
    if (!inst->memory) return err ? err->status : HVW_OUT_OF_HOST_MEMORY;
  }
  uint32_t defined_globals = m->global_count - m->global_import_count;
  if (defined_globals) {
    struct hvw_global *globals = hvw__calloc(defined_globals, sizeof *globals);
    if (!globals) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    if (!store_own(store, OBJ_BLOCK, globals, err)) return HVW_OUT_OF_HOST_MEMORY;
    /* in order: an initializer only reads imported globals, which are all linked by now */
    for (uint32_t k = 0; k < defined_globals; k++) {
      uint32_t i = m->global_import_count + k;
      globals[k].type = m->globals[i].type;
      globals[k].mutable_ = m->globals[i].mutable_;
      eval_const(inst, &m->global_inits[i], globals[k].value);
      inst->globals[i] = &globals[k];
    }
  }
  /* the references of all element segments in one block: at most one per byte of the module */
  size_t total_items = 0;
  for (uint32_t i = 0; i < m->elem_count; i++) total_items += m->elems[i].item_count;
  if (total_items) {
    hvw_cell *refs = hvw__calloc(total_items, sizeof *refs);
    if (!refs) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    if (!store_own(store, OBJ_BLOCK, refs, err)) return HVW_OUT_OF_HOST_MEMORY;
    for (uint32_t i = 0; i < m->elem_count; i++) {
      const hvw_elem_segment *seg = &m->elems[i];
      hvw_elem_instance *ei = &inst->elems[i];
      ei->refs = refs;
      for (uint32_t k = 0; k < seg->item_count; k++) ei->refs[k] = eval_const_cell(inst, &seg->items[k]);
      ei->count = seg->item_count;
      refs += seg->item_count;
    }
  }
  for (uint32_t i = 0; i < m->data_segment_count; i++) {
    inst->datas[i].bytes = m->datas[i].bytes;
    inst->datas[i].size = m->datas[i].size;
  }
  return HVW_OK;
}

/* WebAssembly 2.0 instantiation, step by step: active element segments are table.init'ed then
 * dropped, declarative ones dropped, then active data segments memory.init'ed then dropped. */
static hvw_status initialize_segments(struct hvw_instance *inst, hvw_error *err) {
  const hvw_module *m = inst->module;
  for (uint32_t i = 0; i < m->elem_count; i++) {
    const hvw_elem_segment *seg = &m->elems[i];
    hvw_elem_instance *ei = &inst->elems[i];
    if (seg->mode == HVW_SEGMENT_ACTIVE) {
      struct hvw_table *t = inst->tables[seg->table_index];
      uint64_t offset = (uint32_t)eval_const_cell(inst, &seg->offset);
      if (offset + ei->count > t->size) {
        hvw__trap(err, HVW_TRAP_TABLE_OOB);
        if (err)
          snprintf(err->message, sizeof err->message,
                   "out of bounds table access: element segment %u (%u elements at %llu, table size %u)", i,
                   ei->count, (unsigned long long)offset, t->size);
        return HVW_TRAP;
      }
      if (ei->count) memcpy(t->elems + offset, ei->refs, (size_t)ei->count * sizeof *ei->refs);
    }
    if (seg->mode != HVW_SEGMENT_PASSIVE) ei->count = 0; /* elem.drop */
  }
  for (uint32_t i = 0; i < m->data_segment_count; i++) {
    const hvw_data_segment *seg = &m->datas[i];
    hvw_data_instance *di = &inst->datas[i];
    if (seg->mode != HVW_SEGMENT_ACTIVE) continue;
    struct hvw_memory *mem = inst->memory;
    uint64_t offset = (uint32_t)eval_const_cell(inst, &seg->offset);
    if (offset + di->size > mem->size_bytes) {
      hvw__trap(err, HVW_TRAP_MEMORY_OOB);
      if (err)
        snprintf(err->message, sizeof err->message,
                 "out of bounds memory access: data segment %u (%u bytes at %llu, memory size %llu)", i, di->size,
                 (unsigned long long)offset, (unsigned long long)mem->size_bytes);
      return HVW_TRAP;
    }
    if (di->size) memcpy(mem->data + offset, di->bytes, di->size);
    di->size = 0;
  }
  return HVW_OK;
}

hvw_instance *hvw_instance_new(hvw_store *store, const hvw_module *module, const hvw_extern *imports,
                                 size_t import_count, hvw_error *err) {
  hvw__error_clear(err);
  if (!store || !module) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "no store or module");
    return NULL;
  }
  if (import_count != module->import_count || (import_count && !imports)) {
    hvw__fail(err, HVW_UNLINKABLE, "the module has %u imports, %zu given", module->import_count, import_count);
    return NULL;
  }
  struct hvw_instance *inst = calloc(1, sizeof *inst);
  if (!inst) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  inst->module = module;
  inst->store = store;
  inst->funcs = hvw__calloc(module->func_count, sizeof *inst->funcs);
  inst->tables = hvw__calloc(module->table_count, sizeof *inst->tables);
  inst->globals = hvw__calloc(module->global_count, sizeof *inst->globals);
  inst->elems = hvw__calloc(module->elem_count, sizeof *inst->elems);
  inst->datas = hvw__calloc(module->data_segment_count, sizeof *inst->datas);
  if (!inst->funcs || !inst->tables || !inst->globals || !inst->elems || !inst->datas) {
    object_destroy(OBJ_INSTANCE, inst);
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  if (!store_own(store, OBJ_INSTANCE, inst, err)) return NULL;

  if (link_imports(inst, imports, err) != HVW_OK) return NULL;
  if (allocate_definitions(inst, err) != HVW_OK) return NULL;
  if (initialize_segments(inst, err) != HVW_OK) return NULL;
  if (module->has_start) {
    hvw_cell cells[1] = {0};
    store->memory_grow_refused = false;
    hvw_status st = hvw__interp_call(store, inst->funcs[module->start_func], cells, err);
    if (st == HVW_TRAP && store->memory_grow_refused) {
      hvw__fail(err, HVW_MEMORY_EXCEEDED, "memory limit exceeded: the start function trapped after a refused memory.grow");
      st = HVW_MEMORY_EXCEEDED;
    }
    if (st != HVW_OK) return NULL;
  }
  return inst;
}

bool hvw_instance_export(const hvw_instance *instance, const char *name, size_t name_len, hvw_extern *out) {
  if (!instance) return false;
  const hvw_export *e = hvw__module_find_export(instance->module, name, name_len);
  if (!e) return false;
  if (out) {
    memset(out, 0, sizeof *out);
    out->kind = e->kind;
    switch (e->kind) {
      case HVW_EXTERN_FUNC: out->of.func = instance->funcs[e->index]; break;
      case HVW_EXTERN_TABLE: out->of.table = instance->tables[e->index]; break;
      case HVW_EXTERN_MEMORY: out->of.memory = instance->memory; break;
      case HVW_EXTERN_GLOBAL: out->of.global = instance->globals[e->index]; break;
    }
  }
  return true;
}

/* ---- Calls ------------------------------------------------------------------------------------ */

hvw_status hvw_func_call(hvw_store *store, hvw_func *func, const hvw_value *args, size_t arg_count,
                           hvw_value *results, size_t result_count, hvw_error *err) {
  hvw__error_clear(err);
  if (!store || !func) return hvw__fail(err, HVW_BAD_ARGUMENTS, "no store or function");
  const hvw_functype *ft = func->type;
  if (arg_count != ft->param_count)
    return hvw__fail(err, HVW_BAD_ARGUMENTS, "expected %u arguments, got %zu", ft->param_count, arg_count);
  if (result_count < ft->result_count || (ft->result_count && !results))
    return hvw__fail(err, HVW_BAD_ARGUMENTS, "room for %zu results, the function returns %u", result_count,
                      ft->result_count);
  for (uint32_t i = 0; i < ft->param_count; i++) {
    if (args[i].type != ft->types[i]) {
      const char *got = hvw_valtype_name(args[i].type);
      return hvw__fail(err, HVW_BAD_ARGUMENTS, "argument %u: expected %s, got %s", i,
                        hvw_valtype_name(ft->types[i]), got ? got : "an unknown type");
    }
  }
  size_t n = ft->param_cells > ft->result_cells ? ft->param_cells : ft->result_cells;
  hvw_cell small[16];
  hvw_cell *cells = small;
  if (n > 16) {
    cells = hvw__calloc(n, sizeof *cells);
    if (!cells) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
  }
  uint32_t at = 0;
  for (uint32_t i = 0; i < ft->param_count; i++) at += value_to_cells(&args[i], cells + at);
  HVW__DEBUG_ASSERT(at == ft->param_cells);

  store->memory_grow_refused = false;
  hvw_status st = hvw__interp_call(store, func, cells, err);
  if (st == HVW_TRAP && store->memory_grow_refused) {
    /* the program trapped after the cap refused it memory: the cap is the real cause */
    const char *trap = err ? hvw_trap_message(err->trap) : "";
    hvw__fail(err, HVW_MEMORY_EXCEEDED, "memory limit exceeded: trapped (%s) after memory.grow was refused", trap);
    st = HVW_MEMORY_EXCEEDED;
  }
  if (st == HVW_OK) {
    at = 0;
    for (uint32_t i = 0; i < ft->result_count; i++) {
      results[i] = value_from_cells(ft->types[ft->param_count + i], cells + at);
      at += hvw__type_cells(ft->types[ft->param_count + i]);
    }
  }
  if (cells != small) free(cells);
  return st;
}
