/*
 * interp.c: the interpreter of the translated code (code_int.h).
 *
 * One function, run(), holds every operation handler; dispatch is direct threading by computed
 * goto: each operation starts with its handler's address (HVW_HANDLER_UNITS units), so the next
 * handler is one load and one indirect jump away. The table in run() lists the handlers in the
 * order of opcodes.def. The hot state lives in locals the compiler keeps in registers: ip, fp (the
 * frame's cells), the memory's base and size, the gas counter; the rest is behind one context
 * pointer (run_ctx).
 *
 * WebAssembly calls never recurse on the C stack: a call pushes a record (return ip, caller fp,
 * caller instance) on the store's frame stack and continues the loop in the callee, a return pops
 * it. Both stacks are bounded by the store's limits (max_call_depth records, max_stack_cells cells);
 * a call that would pass either traps with "call stack exhausted". A host function called from
 * WebAssembly may call back into the store: the nested execution uses the stacks above the caller's.
 *
 * Gas: code.c put the cost of each basic block on the edges that enter it; the handlers of
 * branches, calls and bulk operations charge it (compiled out with HVW_NO_GAS_METERING). The
 * interrupt flag is read at loop back-edges, br_table, calls and between chunks of bulk operations.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "code_int.h"
#include "gas.h"
#include "runtime_int.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the interpreter accesses linear memory in host byte order: little-endian hosts only"
#endif

#if FLT_EVAL_METHOD != 0
#error "f32 arithmetic must round to single precision at every operation (FLT_EVAL_METHOD 0)"
#endif

#ifndef HVW_NO_GAS_METERING
#define HVW_NO_GAS_METERING 0
#endif

/* Bulk operations work in chunks of this many bytes and check the interrupt flag between them. */
#define BULK_CHUNK_BYTES (1u << 20)

typedef hvw__frame_rec frame_rec; /* runtime_int.h */

struct hvw_interp_state {
  hvw_cell *cells; /* max_stack_cells cells, reserved with mmap (pages appear as they are used) */
  size_t ncells;
  size_t map_bytes;
  frame_rec *frames; /* max_call_depth records */
  uint32_t nframes;
  size_t cell_top;   /* first free cell: where a nested execution starts */
  uint32_t depth;    /* records in use */
  /* High-water marks: a pooled stack is zeroed up to them when the store is freed. */
  size_t cells_high;
  uint32_t frames_high;
  hvw__pool_block *pooled; /* set: cells and frames are this pool stack's (given back, not unmapped) */
};

/* ---- value helpers -------------------------------------------------------------------------- */

static inline float f32_of(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}
static inline uint32_t bits_of_f32(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}
static inline double f64_of(uint64_t b) {
  double f;
  memcpy(&f, &b, sizeof f);
  return f;
}
static inline uint64_t bits_of_f64(double f) {
  uint64_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* min/max as the spec defines them: NaN if either is NaN, and -0 < +0. */
static inline float f32_min(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float f32_max(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double f64_min(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double f64_max(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return signbit(a) ? b : a;
  return a > b ? a : b;
}

static inline uint32_t rotl32(uint32_t x, uint32_t n) {
  n &= 31;
  return (x << n) | (x >> ((32 - n) & 31));
}
static inline uint32_t rotr32(uint32_t x, uint32_t n) {
  n &= 31;
  return (x >> n) | (x << ((32 - n) & 31));
}
static inline uint64_t rotl64(uint64_t x, uint64_t n) {
  n &= 63;
  return (x << n) | (x >> ((64 - n) & 63));
}
static inline uint64_t rotr64(uint64_t x, uint64_t n) {
  n &= 63;
  return (x >> n) | (x << ((64 - n) & 63));
}

/* Saturating truncations (the *_sat forms): NaN gives 0, out of range gives the nearest bound. */
static inline uint32_t sat_i32_s(double x) {
  if (x != x) return 0;
  if (x <= -2147483649.0) return (uint32_t)INT32_MIN;
  if (x >= 2147483648.0) return (uint32_t)INT32_MAX;
  return (uint32_t)(int32_t)x;
}
static inline uint32_t sat_i32_u(double x) {
  if (x != x || x <= -1.0) return 0;
  if (x >= 4294967296.0) return UINT32_MAX;
  return (uint32_t)x;
}
static inline uint64_t sat_i64_s(double x) {
  if (x != x) return 0;
  if (x < -9223372036854775808.0) return (uint64_t)INT64_MIN;
  if (x >= 9223372036854775808.0) return (uint64_t)INT64_MAX;
  return (uint64_t)(int64_t)x;
}
static inline uint64_t sat_i64_u(double x) {
  if (x != x || x <= -1.0) return 0;
  if (x >= 18446744073709551616.0) return UINT64_MAX;
  return (uint64_t)x;
}

/* v128 lanes as GCC/Clang vector types (moved in and out of cells with memcpy: no alignment). */
typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef uint64_t u64x2 __attribute__((vector_size(16)));

/* v128.loadNxM_s/u: the 8 bytes at `m` as lanes of `n` bytes, each extended to 2n bytes. */
static inline void simd_extend(const uint8_t *m, uint8_t *r, unsigned n, bool is_signed) {
  for (unsigned i = 0; i < 8 / n; i++) {
    uint64_t v = 0;
    memcpy(&v, m + i * n, n);
    if (is_signed && (v >> (8 * n - 1) & 1)) v |= ~0ull << (8 * n);
    memcpy(r + i * 2 * n, &v, 2 * n);
  }
}

/* v128.loadN_splat: the n bytes at `m` in every lane. */
static inline void simd_splat(const uint8_t *m, uint8_t *r, unsigned n) {
  for (unsigned i = 0; i < 16; i += n) memcpy(r + i, m, n);
}

/* v128.loadN_zero: the n bytes at `m` in the first lane, zeros above. */
static inline void simd_zero(const uint8_t *m, uint8_t *r, unsigned n) {
  memset(r, 0, 16);
  memcpy(r, m, n);
}

static inline int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Gas of a bulk memory operation over n bytes, beyond its instruction. */
static inline uint64_t bulk_bytes_cost(uint64_t n) {
  return (n + GAS_BULK_MEMORY_BYTES_PER_UNIT - 1) / GAS_BULK_MEMORY_BYTES_PER_UNIT;
}

/* Stands in when the instance has no memory: size 0. */
static const struct hvw_memory no_memory;

/* The handler address at the start of an operation (HVW_HANDLER_UNITS units). */
static inline void *handler_at(const uint32_t *ip) {
  void *h;
  memcpy(&h, ip, sizeof h);
  return h;
}

#if defined(__clang__)
#define INTERP_NOINLINE __attribute__((noinline))
#else
#define INTERP_NOINLINE __attribute__((noinline, noclone))
#endif

/* ---- the interpreter ------------------------------------------------------------------------ */

/* Raises the high-water marks of the stacks (run_ctx) to a frame just entered: its cells end at
 * `cells_end`, its record ends at `frame_end`. A compare per call, so that a pooled stack is
 * zeroed only as far as it was used. */
#define MARK_HIGH(cells_end, frame_end)                                   \
  do {                                                                    \
    if (HVW__UNLIKELY((cells_end) > c->cells_high)) c->cells_high = (cells_end); \
    if (HVW__UNLIKELY((frame_end) > c->frames_high)) c->frames_high = (frame_end); \
  } while (0)

/* What run() needs rarely: kept out of the locals so that the hot state (ip, fp, the memory's base
 * and size, gas) gets the registers. */
typedef struct run_ctx {
  struct hvw_store *store;
  struct hvw_interp_state *st;
  struct hvw_instance *inst;
  const struct hvw_memory *memory;
  struct hvw_global **globals;
  frame_rec *frames;
  frame_rec *fsp;           /* next free frame record */
  frame_rec *fend;          /* frames + max_call_depth */
  hvw_cell *stack_end;
  hvw_cell *cells_high;     /* the highest cell a frame may have touched, for the stack's reset */
  frame_rec *frames_high;   /* one past the deepest frame record written */
  const atomic_uint *interrupt;
  hvw_error *err;
  uint64_t gas_store_entry; /* store->gas_remaining when `gas` was loaded */
  int64_t gas_local_entry;  /* `gas` when it was loaded */
  /* a call in progress (do_call / call_func) */
  const struct hvw_code *callee;
  struct hvw_instance *callee_inst;
  struct hvw_func *callee_func;
  hvw_cell *nfp;
  const uint32_t *ret;
  hvw_trap trap;
} run_ctx;

/*
 * Runs `func` (a WebAssembly function) with its frame at `fp` (arguments in place). With
 * `handlers_out` set, only returns the handler table there. The caller saves and restores st's tops.
 */
INTERP_NOINLINE
static hvw_status run(run_ctx *c, struct hvw_func *func, hvw_cell *fp, const void *const **handlers_out) {
  /* one handler per operation, generated from opcodes.def: a missing label does not compile */
  static const void *const handlers[] = {
#define HVW_EACH_OP(NAME, units) &&L_##NAME,
#include "each_op.h"
  };
  _Static_assert(sizeof handlers / sizeof handlers[0] == HVW_OP_COUNT, "one handler per operation");
  if (handlers_out) {
    *handlers_out = handlers;
    return HVW_OK;
  }

  /* the hot state */
  const uint32_t *ip;
  uint8_t *mem;
  uint64_t mem_size;
  int64_t gas;
  hvw_status status = HVW_OK;

  /* Gas lives in a register; the store sees it at exits and around host calls. */
#define SYNC_GAS_OUT() (c->store->gas_remaining = c->gas_store_entry - (uint64_t)(c->gas_local_entry - gas))
#define SYNC_GAS_IN()                                                                              \
  do {                                                                                             \
    c->gas_store_entry = c->store->gas_remaining;                                                  \
    c->gas_local_entry = c->gas_store_entry > INT64_MAX ? INT64_MAX : (int64_t)c->gas_store_entry; \
    gas = c->gas_local_entry;                                                                      \
  } while (0)

#define LOAD_INSTANCE()                                          \
  do {                                                           \
    c->memory = c->inst->memory ? c->inst->memory : &no_memory;  \
    mem = c->memory->data;                                       \
    mem_size = c->memory->size_bytes;                            \
    c->globals = c->inst->globals;                               \
  } while (0)

#define NEXT() goto *handler_at(ip)
#define TRAP(k)      \
  do {               \
    c->trap = (k);   \
    goto trapped;    \
  } while (0)
#define CHECK_INTERRUPT()                                                                       \
  do {                                                                                          \
    if (HVW__UNLIKELY(atomic_load_explicit(c->interrupt, memory_order_relaxed))) goto interrupted; \
  } while (0)
#if HVW_NO_GAS_METERING
#define CHARGE(x) ((void)(x))
#define CAN_PAY(x) ((void)(x), true)
#else
#define CHARGE(x)                                    \
  do {                                               \
    gas -= (int64_t)(x);                             \
    if (HVW__UNLIKELY(gas < 0)) goto out_of_gas;    \
  } while (0)
#define CAN_PAY(x) ((uint64_t)(x) <= (uint64_t)gas)
#endif

#define C(k) fp[ip[(k) + 1]]
#define RU32(k) ((uint32_t)C(k))
#define RI32(k) ((int32_t)(uint32_t)C(k))
#define RU64(k) (C(k))
#define RI64(k) ((int64_t)C(k))
#define RF32(k) f32_of((uint32_t)C(k))
#define RF64(k) f64_of(C(k))
#define WU32(k, v) (C(k) = (uint32_t)(v))
#define WU64(k, v) (C(k) = (uint64_t)(v))
#define WF32(k, v) (C(k) = bits_of_f32(v))
#define WF64(k, v) (C(k) = bits_of_f64(v))

  SYNC_GAS_IN();
  c->inst = func->instance;
  LOAD_INSTANCE();
  {
    const struct hvw_code *code = func->code;
    if (c->fsp == c->fend || code->frame_cells > (size_t)(c->stack_end - fp)) {
      c->trap = HVW_TRAP_CALL_STACK_EXHAUSTED;
      goto trapped;
    }
    c->fsp->ip = NULL;
    c->fsp->fp = fp;
    c->fsp->inst = c->inst;
    c->fsp++;
    MARK_HIGH(fp + code->frame_cells, c->fsp);
    memcpy(fp + code->param_cells, code->init, (size_t)code->init_cells * sizeof(hvw_cell));
    CHECK_INTERRUPT();
    CHARGE(code->entry_cost);
    ip = code->start;
  }
  NEXT();


L_UNREACHABLE:
  TRAP(HVW_TRAP_UNREACHABLE);

L_COPY:
  C(1) = C(2);
  ip += 4;
  NEXT();

L_MOVE_N:
  memmove(fp + ip[2], fp + ip[3], (size_t)ip[4] * sizeof(hvw_cell));
  ip += 5;
  NEXT();

  /* ---- branches ---- */
#define TAKE(rel_k, cost_k)            \
  do {                                 \
    CHARGE(ip[(cost_k) + 1]);                \
    ip += (int32_t)ip[(rel_k) + 1];          \
    NEXT();                            \
  } while (0)
#define FALL(cost_k, len) \
  do {                    \
    CHARGE(ip[(cost_k) + 1]);   \
    ip += (len) + 1;          \
    NEXT();               \
  } while (0)

L_BR:
  TAKE(1, 2);
L_BR_BACK:
  CHECK_INTERRUPT();
  TAKE(1, 2);
L_BR_IF:
  if (RU32(1)) TAKE(2, 3);
  FALL(4, 5);
L_BR_IF_BACK:
  if (RU32(1)) {
    CHECK_INTERRUPT();
    TAKE(2, 3);
  }
  FALL(4, 5);
L_BR_UNLESS:
  if (!RU32(1)) TAKE(2, 3);
  FALL(4, 5);
L_BR_UNLESS_BACK:
  if (!RU32(1)) {
    CHECK_INTERRUPT();
    TAKE(2, 3);
  }
  FALL(4, 5);

#define BR_CMP(name, op, T32, T64)                   \
  L_BR_##name##_I32:                                 \
  if ((T32)RU32(1) op (T32)RU32(2)) TAKE(3, 4);      \
  FALL(5, 6);                                        \
  L_BR_##name##_I32_BACK:                            \
  if ((T32)RU32(1) op (T32)RU32(2)) {                \
    CHECK_INTERRUPT();                               \
    TAKE(3, 4);                                      \
  }                                                  \
  FALL(5, 6);                                        \
  L_BR_##name##_I64:                                 \
  if ((T64)RU64(1) op (T64)RU64(2)) TAKE(3, 4);      \
  FALL(5, 6);                                        \
  L_BR_##name##_I64_BACK:                            \
  if ((T64)RU64(1) op (T64)RU64(2)) {                \
    CHECK_INTERRUPT();                               \
    TAKE(3, 4);                                      \
  }                                                  \
  FALL(5, 6);
  BR_CMP(EQ, ==, uint32_t, uint64_t)
  BR_CMP(NE, !=, uint32_t, uint64_t)
  BR_CMP(LT_S, <, int32_t, int64_t)
  BR_CMP(LT_U, <, uint32_t, uint64_t)
  BR_CMP(GT_S, >, int32_t, int64_t)
  BR_CMP(GT_U, >, uint32_t, uint64_t)
  BR_CMP(LE_S, <=, int32_t, int64_t)
  BR_CMP(LE_U, <=, uint32_t, uint64_t)
  BR_CMP(GE_S, >=, int32_t, int64_t)
  BR_CMP(GE_U, >=, uint32_t, uint64_t)

  /* d = a + b (i32), then branch on d: a loop counter and its test in one operation */
#define ADD_BR_CMP(name, op, T32)                   \
  L_ADD_BR_##name##_I32: {                          \
    uint32_t d = RU32(2) + RU32(3);                 \
    WU32(1, d);                                     \
    if ((T32)d op (T32)RU32(4)) TAKE(5, 6);         \
    FALL(7, 8);                                     \
  }                                                 \
  L_ADD_BR_##name##_I32_BACK: {                     \
    uint32_t d = RU32(2) + RU32(3);                 \
    WU32(1, d);                                     \
    if ((T32)d op (T32)RU32(4)) {                   \
      CHECK_INTERRUPT();                            \
      TAKE(5, 6);                                   \
    }                                               \
    FALL(7, 8);                                     \
  }
  ADD_BR_CMP(EQ, ==, uint32_t)
  ADD_BR_CMP(NE, !=, uint32_t)
  ADD_BR_CMP(LT_S, <, int32_t)
  ADD_BR_CMP(LT_U, <, uint32_t)
  ADD_BR_CMP(GT_S, >, int32_t)
  ADD_BR_CMP(GT_U, >, uint32_t)
  ADD_BR_CMP(LE_S, <=, int32_t)
  ADD_BR_CMP(LE_U, <=, uint32_t)
  ADD_BR_CMP(GE_S, >=, int32_t)
  ADD_BR_CMP(GE_U, >=, uint32_t)
L_ADD_BR_IF: {
  uint32_t d = RU32(2) + RU32(3);
  WU32(1, d);
  if (d) TAKE(4, 5);
  FALL(6, 7);
}
L_ADD_BR_IF_BACK: {
  uint32_t d = RU32(2) + RU32(3);
  WU32(1, d);
  if (d) {
    CHECK_INTERRUPT();
    TAKE(4, 5);
  }
  FALL(6, 7);
}
L_ADD_BR_UNLESS: {
  uint32_t d = RU32(2) + RU32(3);
  WU32(1, d);
  if (!d) TAKE(4, 5);
  FALL(6, 7);
}
L_ADD_BR_UNLESS_BACK: {
  uint32_t d = RU32(2) + RU32(3);
  WU32(1, d);
  if (!d) {
    CHECK_INTERRUPT();
    TAKE(4, 5);
  }
  FALL(6, 7);
}

L_BR_TABLE: {
  uint32_t i = RU32(1), n = ip[3];
  if (i > n) i = n;
  const uint32_t *e = ip + 4 + 2 * (size_t)i;
  CHECK_INTERRUPT();
  CHARGE(e[1]);
  ip += (int32_t)e[0];
  NEXT();
}

  /* ---- returns and calls ---- */
L_RETURN0:
  goto do_return;
L_RETURN1:
  fp[0] = C(1);
  goto do_return;
L_RETURN_N:
  memmove(fp, fp + ip[2], (size_t)ip[3] * sizeof(hvw_cell));
  goto do_return;

do_return: {
  const frame_rec *r = --c->fsp;
  if (!r->ip) goto finished;
  ip = r->ip;
  fp = r->fp;
  if (r->inst != c->inst) {
    c->inst = r->inst;
    LOAD_INSTANCE();
  } else {
    mem_size = c->memory->size_bytes; /* the callee may have grown it; data never moves */
  }
  NEXT();
}

L_CALL: { /* a function of the same module: the hot path, without the context's call fields */
  const hvw_funcdecl *fd = (const hvw_funcdecl *)(uintptr_t)((uint64_t)ip[3] | (uint64_t)ip[4] << 32);
  const struct hvw_code *callee = fd->code;
  hvw_cell *nfp = fp + ip[2];
  frame_rec *r = c->fsp;
  if (HVW__UNLIKELY(r == c->fend || callee->frame_cells > (size_t)(c->stack_end - nfp)))
    TRAP(HVW_TRAP_CALL_STACK_EXHAUSTED);
  CHECK_INTERRUPT();
  CHARGE(callee->entry_cost);
  r->ip = ip + 5;
  r->fp = fp;
  r->inst = c->inst;
  c->fsp = r + 1;
  MARK_HIGH(nfp + callee->frame_cells, r + 1);
  const hvw_cell *src = callee->init;
  hvw_cell *dst = nfp + callee->param_cells;
  for (uint32_t n = callee->init_cells; n; n--) *dst++ = *src++;
  fp = nfp;
  ip = callee->start;
  NEXT();
}

L_CALL_IMPORT:
  c->callee_func = c->inst->funcs[ip[3]];
  c->nfp = fp + ip[2];
  c->ret = ip + 4;
  goto call_func;

L_CALL_INDIRECT: {
  const struct hvw_table *tab = c->inst->tables[ip[5]];
  uint32_t i = RU32(2);
  if (HVW__UNLIKELY(i >= tab->size)) TRAP(HVW_TRAP_UNDEFINED_ELEMENT);
  struct hvw_func *f = (struct hvw_func *)(uintptr_t)tab->elems[i];
  if (HVW__UNLIKELY(!f)) TRAP(HVW_TRAP_UNINITIALIZED_ELEMENT);
  const hvw_functype *want = &c->inst->module->types[ip[4]];
  if (f->type != want && !hvw__functype_equal(f->type, want)) TRAP(HVW_TRAP_INDIRECT_CALL_TYPE_MISMATCH);
  c->callee_func = f;
  c->nfp = fp + ip[2];
  c->ret = ip + 6;
  goto call_func;
}

call_func:
  if (c->callee_func->code) {
    c->callee = c->callee_func->code;
    c->callee_inst = c->callee_func->instance;
    goto do_call;
  }
  {
    /* a host function: it may call back into this store, above our stacks */
    CHECK_INTERRUPT();
    const hvw_functype *ft = c->callee_func->type;
    size_t need = ft->param_cells > ft->result_cells ? ft->param_cells : ft->result_cells;
    c->st->depth = (uint32_t)(c->fsp - c->frames);
    c->st->cell_top = (size_t)(c->nfp - c->st->cells) + need;
    SYNC_GAS_OUT();
    status = hvw__host_call(c->store, c->callee_func, c->nfp, c->err);
    SYNC_GAS_IN();
    mem_size = c->memory->size_bytes;
    if (status != HVW_OK) goto host_failed;
    ip = c->ret;
    NEXT();
  }

do_call: {
  const struct hvw_code *callee = c->callee;
  hvw_cell *nfp = c->nfp;
  frame_rec *r = c->fsp;
  if (HVW__UNLIKELY(r == c->fend || callee->frame_cells > (size_t)(c->stack_end - nfp)))
    TRAP(HVW_TRAP_CALL_STACK_EXHAUSTED);
  CHECK_INTERRUPT();
  CHARGE(callee->entry_cost);
  c->fsp = r + 1;
  r->ip = c->ret;
  r->fp = fp;
  r->inst = c->inst;
  MARK_HIGH(nfp + callee->frame_cells, r + 1);
  const hvw_cell *src = callee->init;
  hvw_cell *dst = nfp + callee->param_cells;
  for (uint32_t n = callee->init_cells; n; n--) *dst++ = *src++;
  fp = nfp;
  ip = callee->start;
  if (c->callee_inst != c->inst) {
    c->inst = c->callee_inst;
    LOAD_INSTANCE();
  }
  NEXT();
}

  /* ---- variables and references ---- */
L_SELECT: {
  hvw_cell a = C(2), b = C(3);
  C(1) = RU32(4) ? a : b;
  ip += 6;
  NEXT();
}
L_GLOBAL_GET:
  C(1) = c->globals[ip[3]]->value[0];
  ip += 4;
  NEXT();
L_GLOBAL_SET:
  c->globals[ip[3]]->value[0] = C(1);
  ip += 4;
  NEXT();
L_REF_FUNC:
  C(1) = (hvw_cell)(uintptr_t)c->inst->funcs[ip[3]];
  ip += 4;
  NEXT();

  /* ---- memory ---- */
#define LOAD(name, N, T, conv)                                         \
  L_##name: {                                                          \
    uint64_t ea = (uint64_t)RU32(2) + ip[4];                           \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB); \
    T v;                                                               \
    memcpy(&v, mem + ea, sizeof v);                                    \
    C(1) = (conv);                                                     \
    ip += 5;                                                           \
    NEXT();                                                            \
  }
  LOAD(I32_LOAD, 4, uint32_t, v)
  LOAD(I64_LOAD, 8, uint64_t, v)
  LOAD(F32_LOAD, 4, uint32_t, v)
  LOAD(F64_LOAD, 8, uint64_t, v)
  LOAD(I32_LOAD8_S, 1, int8_t, (uint32_t)(int32_t)v)
  LOAD(I32_LOAD8_U, 1, uint8_t, v)
  LOAD(I32_LOAD16_S, 2, int16_t, (uint32_t)(int32_t)v)
  LOAD(I32_LOAD16_U, 2, uint16_t, v)
  LOAD(I64_LOAD8_S, 1, int8_t, (uint64_t)(int64_t)v)
  LOAD(I64_LOAD8_U, 1, uint8_t, v)
  LOAD(I64_LOAD16_S, 2, int16_t, (uint64_t)(int64_t)v)
  LOAD(I64_LOAD16_U, 2, uint16_t, v)
  LOAD(I64_LOAD32_S, 4, int32_t, (uint64_t)(int64_t)v)
  LOAD(I64_LOAD32_U, 4, uint32_t, v)

#define STORE(name, N, T)                                              \
  L_##name: {                                                          \
    uint64_t ea = (uint64_t)RU32(1) + ip[4];                           \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB); \
    T v = (T)C(2);                                                     \
    memcpy(mem + ea, &v, sizeof v);                                    \
    ip += 5;                                                           \
    NEXT();                                                            \
  }
  STORE(I32_STORE, 4, uint32_t)
  STORE(I64_STORE, 8, uint64_t)
  STORE(F32_STORE, 4, uint32_t)
  STORE(F64_STORE, 8, uint64_t)
  STORE(I32_STORE8, 1, uint8_t)
  STORE(I32_STORE16, 2, uint16_t)
  STORE(I64_STORE8, 1, uint8_t)
  STORE(I64_STORE16, 2, uint16_t)
  STORE(I64_STORE32, 4, uint32_t)

  /* the same with a fused i32.add: the address is (u32)(a + b), plus the offset */
#define LOAD_X(name, N, T, conv)                                               \
  L_##name##_X: {                                                              \
    uint64_t ea = (uint64_t)(uint32_t)(RU32(2) + RU32(3)) + ip[5];             \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);       \
    T v;                                                                       \
    memcpy(&v, mem + ea, sizeof v);                                            \
    C(1) = (conv);                                                             \
    ip += 6;                                                                   \
    NEXT();                                                                    \
  }
  LOAD_X(I32_LOAD, 4, uint32_t, v)
  LOAD_X(I64_LOAD, 8, uint64_t, v)
  LOAD_X(F32_LOAD, 4, uint32_t, v)
  LOAD_X(F64_LOAD, 8, uint64_t, v)
  LOAD_X(I32_LOAD8_S, 1, int8_t, (uint32_t)(int32_t)v)
  LOAD_X(I32_LOAD8_U, 1, uint8_t, v)
  LOAD_X(I32_LOAD16_S, 2, int16_t, (uint32_t)(int32_t)v)
  LOAD_X(I32_LOAD16_U, 2, uint16_t, v)
  LOAD_X(I64_LOAD8_S, 1, int8_t, (uint64_t)(int64_t)v)
  LOAD_X(I64_LOAD8_U, 1, uint8_t, v)
  LOAD_X(I64_LOAD16_S, 2, int16_t, (uint64_t)(int64_t)v)
  LOAD_X(I64_LOAD16_U, 2, uint16_t, v)
  LOAD_X(I64_LOAD32_S, 4, int32_t, (uint64_t)(int64_t)v)
  LOAD_X(I64_LOAD32_U, 4, uint32_t, v)
#define STORE_X(name, N, T)                                                    \
  L_##name##_X: {                                                              \
    uint64_t ea = (uint64_t)(uint32_t)(RU32(1) + RU32(2)) + ip[5];             \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);       \
    T v = (T)C(3);                                                             \
    memcpy(mem + ea, &v, sizeof v);                                            \
    ip += 6;                                                                   \
    NEXT();                                                                    \
  }
  STORE_X(I32_STORE, 4, uint32_t)
  STORE_X(I64_STORE, 8, uint64_t)
  STORE_X(F32_STORE, 4, uint32_t)
  STORE_X(F64_STORE, 8, uint64_t)
  STORE_X(I32_STORE8, 1, uint8_t)
  STORE_X(I32_STORE16, 2, uint16_t)
  STORE_X(I64_STORE8, 1, uint8_t)
  STORE_X(I64_STORE16, 2, uint16_t)
  STORE_X(I64_STORE32, 4, uint32_t)

L_MEMORY_SIZE:
  WU32(1, c->memory->pages);
  ip += 3;
  NEXT();

L_MEMORY_GROW: {
  uint32_t delta = RU32(2);
  struct hvw_memory *m = c->inst->memory;
  uint64_t cost = (uint64_t)delta * GAS_MEMORY_GROW_PAGE;
  /* gas is for pages actually added: a grow the maximum refuses returns -1 whatever the budget */
  if ((uint64_t)m->pages + delta <= m->max_pages && !CAN_PAY(cost)) goto out_of_gas;
  int64_t old = hvw__memory_grow(c->store, m, delta);
  if (old >= 0) CHARGE(cost);
  mem_size = c->memory->size_bytes;
  WU32(1, (uint32_t)(int32_t)old);
  ip += 4;
  NEXT();
}

L_MEMORY_FILL: {
  uint64_t d = RU32(1), n = RU32(3);
  uint8_t v = (uint8_t)RU32(2);
  if (HVW__UNLIKELY(d + n > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  CHARGE(bulk_bytes_cost(n));
  while (n) {
    size_t k = n < BULK_CHUNK_BYTES ? (size_t)n : BULK_CHUNK_BYTES;
    memset(mem + d, v, k);
    d += k;
    n -= k;
    if (n) CHECK_INTERRUPT();
  }
  ip += 5;
  NEXT();
}

L_MEMORY_COPY: {
  uint64_t d = RU32(1), s = RU32(2), n = RU32(3);
  if (HVW__UNLIKELY(d + n > mem_size || s + n > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  CHARGE(bulk_bytes_cost(n));
  if (d <= s) {
    while (n) {
      size_t k = n < BULK_CHUNK_BYTES ? (size_t)n : BULK_CHUNK_BYTES;
      memmove(mem + d, mem + s, k);
      d += k;
      s += k;
      n -= k;
      if (n) CHECK_INTERRUPT();
    }
  } else {
    while (n) { /* backwards, so overlapping chunks read before they are overwritten */
      size_t k = n < BULK_CHUNK_BYTES ? (size_t)n : BULK_CHUNK_BYTES;
      n -= k;
      memmove(mem + d + n, mem + s + n, k);
      if (n) CHECK_INTERRUPT();
    }
  }
  ip += 5;
  NEXT();
}

L_MEMORY_INIT: {
  uint64_t d = RU32(1), s = RU32(2), n = RU32(3);
  const hvw_data_instance *di = &c->inst->datas[ip[5]];
  if (HVW__UNLIKELY(s + n > di->size || d + n > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  CHARGE(bulk_bytes_cost(n));
  while (n) {
    size_t k = n < BULK_CHUNK_BYTES ? (size_t)n : BULK_CHUNK_BYTES;
    memcpy(mem + d, di->bytes + s, k);
    d += k;
    s += k;
    n -= k;
    if (n) CHECK_INTERRUPT();
  }
  ip += 6;
  NEXT();
}

L_DATA_DROP:
  c->inst->datas[ip[2]].size = 0;
  ip += 3;
  NEXT();

  /* ---- tables ---- */
#define TABLE_CHUNK (BULK_CHUNK_BYTES / sizeof(hvw_cell))

L_TABLE_GET: {
  const struct hvw_table *tab = c->inst->tables[ip[4]];
  uint32_t i = RU32(2);
  if (HVW__UNLIKELY(i >= tab->size)) TRAP(HVW_TRAP_TABLE_OOB);
  C(1) = tab->elems[i];
  ip += 5;
  NEXT();
}
L_TABLE_SET: {
  struct hvw_table *tab = c->inst->tables[ip[4]];
  uint32_t i = RU32(1);
  if (HVW__UNLIKELY(i >= tab->size)) TRAP(HVW_TRAP_TABLE_OOB);
  tab->elems[i] = C(2);
  ip += 5;
  NEXT();
}
L_TABLE_SIZE:
  WU32(1, c->inst->tables[ip[3]]->size);
  ip += 4;
  NEXT();
L_TABLE_GROW: {
  struct hvw_table *tab = c->inst->tables[ip[5]];
  hvw_cell init = C(2);
  uint32_t n = RU32(3);
  uint64_t cost = (uint64_t)n * GAS_TABLE_ELEMENT;
  if ((uint64_t)tab->size + n <= tab->max && !CAN_PAY(cost)) goto out_of_gas;
  int64_t old = hvw__table_grow(c->store, tab, n, init);
  if (old >= 0) CHARGE(cost);
  WU32(1, (uint32_t)(int32_t)old);
  ip += 6;
  NEXT();
}
L_TABLE_FILL: {
  struct hvw_table *tab = c->inst->tables[ip[5]];
  uint64_t i = RU32(1), n = RU32(3);
  hvw_cell v = C(2);
  if (HVW__UNLIKELY(i + n > tab->size)) TRAP(HVW_TRAP_TABLE_OOB);
  CHARGE(n * GAS_TABLE_ELEMENT);
  while (n) {
    size_t k = n < TABLE_CHUNK ? (size_t)n : TABLE_CHUNK;
    for (size_t j = 0; j < k; j++) tab->elems[i + j] = v;
    i += k;
    n -= k;
    if (n) CHECK_INTERRUPT();
  }
  ip += 6;
  NEXT();
}
L_TABLE_COPY: {
  struct hvw_table *dt = c->inst->tables[ip[5]];
  const struct hvw_table *stab = c->inst->tables[ip[6]];
  uint64_t d = RU32(1), s = RU32(2), n = RU32(3);
  if (HVW__UNLIKELY(d + n > dt->size || s + n > stab->size)) TRAP(HVW_TRAP_TABLE_OOB);
  CHARGE(n * GAS_TABLE_ELEMENT);
  if (d <= s || dt != stab) {
    while (n) {
      size_t k = n < TABLE_CHUNK ? (size_t)n : TABLE_CHUNK;
      memmove(dt->elems + d, stab->elems + s, k * sizeof(hvw_cell));
      d += k;
      s += k;
      n -= k;
      if (n) CHECK_INTERRUPT();
    }
  } else {
    while (n) {
      size_t k = n < TABLE_CHUNK ? (size_t)n : TABLE_CHUNK;
      n -= k;
      memmove(dt->elems + d + n, stab->elems + s + n, k * sizeof(hvw_cell));
      if (n) CHECK_INTERRUPT();
    }
  }
  ip += 7;
  NEXT();
}
L_TABLE_INIT: {
  struct hvw_table *tab = c->inst->tables[ip[5]];
  const hvw_elem_instance *ei = &c->inst->elems[ip[6]];
  uint64_t d = RU32(1), s = RU32(2), n = RU32(3);
  if (HVW__UNLIKELY(s + n > ei->count || d + n > tab->size)) TRAP(HVW_TRAP_TABLE_OOB);
  CHARGE(n * GAS_TABLE_ELEMENT);
  while (n) {
    size_t k = n < TABLE_CHUNK ? (size_t)n : TABLE_CHUNK;
    memcpy(tab->elems + d, ei->refs + s, k * sizeof(hvw_cell));
    d += k;
    s += k;
    n -= k;
    if (n) CHECK_INTERRUPT();
  }
  ip += 7;
  NEXT();
}
L_ELEM_DROP:
  c->inst->elems[ip[2]].count = 0;
  ip += 3;
  NEXT();

  /* ---- numeric operations ---- */
#define BIN(name, T, R, W, expr) \
  L_##name: {                    \
    T a = R(2), b = R(3);        \
    W(1, (expr));                \
    ip += 5;                     \
    NEXT();                      \
  }
#define UN(name, T, R, W, expr) \
  L_##name: {                   \
    T a = R(2);                 \
    W(1, (expr));               \
    ip += 4;                    \
    NEXT();                     \
  }

  UN(I32_EQZ, uint32_t, RU32, WU32, a == 0)
  BIN(I32_EQ, uint32_t, RU32, WU32, a == b)
  BIN(I32_NE, uint32_t, RU32, WU32, a != b)
  BIN(I32_LT_S, int32_t, RI32, WU32, a < b)
  BIN(I32_LT_U, uint32_t, RU32, WU32, a < b)
  BIN(I32_GT_S, int32_t, RI32, WU32, a > b)
  BIN(I32_GT_U, uint32_t, RU32, WU32, a > b)
  BIN(I32_LE_S, int32_t, RI32, WU32, a <= b)
  BIN(I32_LE_U, uint32_t, RU32, WU32, a <= b)
  BIN(I32_GE_S, int32_t, RI32, WU32, a >= b)
  BIN(I32_GE_U, uint32_t, RU32, WU32, a >= b)
  UN(I64_EQZ, uint64_t, RU64, WU32, a == 0)
  BIN(I64_EQ, uint64_t, RU64, WU32, a == b)
  BIN(I64_NE, uint64_t, RU64, WU32, a != b)
  BIN(I64_LT_S, int64_t, RI64, WU32, a < b)
  BIN(I64_LT_U, uint64_t, RU64, WU32, a < b)
  BIN(I64_GT_S, int64_t, RI64, WU32, a > b)
  BIN(I64_GT_U, uint64_t, RU64, WU32, a > b)
  BIN(I64_LE_S, int64_t, RI64, WU32, a <= b)
  BIN(I64_LE_U, uint64_t, RU64, WU32, a <= b)
  BIN(I64_GE_S, int64_t, RI64, WU32, a >= b)
  BIN(I64_GE_U, uint64_t, RU64, WU32, a >= b)
  BIN(F32_EQ, float, RF32, WU32, a == b)
  BIN(F32_NE, float, RF32, WU32, a != b)
  BIN(F32_LT, float, RF32, WU32, a < b)
  BIN(F32_GT, float, RF32, WU32, a > b)
  BIN(F32_LE, float, RF32, WU32, a <= b)
  BIN(F32_GE, float, RF32, WU32, a >= b)
  BIN(F64_EQ, double, RF64, WU32, a == b)
  BIN(F64_NE, double, RF64, WU32, a != b)
  BIN(F64_LT, double, RF64, WU32, a < b)
  BIN(F64_GT, double, RF64, WU32, a > b)
  BIN(F64_LE, double, RF64, WU32, a <= b)
  BIN(F64_GE, double, RF64, WU32, a >= b)

  UN(I32_CLZ, uint32_t, RU32, WU32, a ? (uint32_t)__builtin_clz(a) : 32u)
  UN(I32_CTZ, uint32_t, RU32, WU32, a ? (uint32_t)__builtin_ctz(a) : 32u)
  UN(I32_POPCNT, uint32_t, RU32, WU32, (uint32_t)__builtin_popcount(a))
  BIN(I32_ADD, uint32_t, RU32, WU32, a + b)
  BIN(I32_SUB, uint32_t, RU32, WU32, a - b)
  BIN(I32_MUL, uint32_t, RU32, WU32, a * b)
L_I32_DIV_S: {
  int32_t a = RI32(2), b = RI32(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  if (HVW__UNLIKELY(a == INT32_MIN && b == -1)) TRAP(HVW_TRAP_INT_OVERFLOW);
  WU32(1, a / b);
  ip += 5;
  NEXT();
}
L_I32_DIV_U: {
  uint32_t a = RU32(2), b = RU32(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU32(1, a / b);
  ip += 5;
  NEXT();
}
L_I32_REM_S: {
  int32_t a = RI32(2), b = RI32(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU32(1, b == -1 ? 0 : a % b);
  ip += 5;
  NEXT();
}
L_I32_REM_U: {
  uint32_t a = RU32(2), b = RU32(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU32(1, a % b);
  ip += 5;
  NEXT();
}
  BIN(I32_AND, uint32_t, RU32, WU32, a & b)
  BIN(I32_OR, uint32_t, RU32, WU32, a | b)
  BIN(I32_XOR, uint32_t, RU32, WU32, a ^ b)
  BIN(I32_SHL, uint32_t, RU32, WU32, a << (b & 31))
  BIN(I32_SHR_S, uint32_t, RU32, WU32, (uint32_t)((int32_t)a >> (b & 31)))
  BIN(I32_SHR_U, uint32_t, RU32, WU32, a >> (b & 31))
  BIN(I32_ROTL, uint32_t, RU32, WU32, rotl32(a, b))
  BIN(I32_ROTR, uint32_t, RU32, WU32, rotr32(a, b))

  UN(I64_CLZ, uint64_t, RU64, WU64, a ? (uint64_t)__builtin_clzll(a) : 64u)
  UN(I64_CTZ, uint64_t, RU64, WU64, a ? (uint64_t)__builtin_ctzll(a) : 64u)
  UN(I64_POPCNT, uint64_t, RU64, WU64, (uint64_t)__builtin_popcountll(a))
  BIN(I64_ADD, uint64_t, RU64, WU64, a + b)
  BIN(I64_SUB, uint64_t, RU64, WU64, a - b)
  BIN(I64_MUL, uint64_t, RU64, WU64, a * b)
L_I64_DIV_S: {
  int64_t a = RI64(2), b = RI64(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  if (HVW__UNLIKELY(a == INT64_MIN && b == -1)) TRAP(HVW_TRAP_INT_OVERFLOW);
  WU64(1, a / b);
  ip += 5;
  NEXT();
}
L_I64_DIV_U: {
  uint64_t a = RU64(2), b = RU64(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU64(1, a / b);
  ip += 5;
  NEXT();
}
L_I64_REM_S: {
  int64_t a = RI64(2), b = RI64(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU64(1, b == -1 ? 0 : a % b);
  ip += 5;
  NEXT();
}
L_I64_REM_U: {
  uint64_t a = RU64(2), b = RU64(3);
  if (HVW__UNLIKELY(b == 0)) TRAP(HVW_TRAP_INT_DIV_ZERO);
  WU64(1, a % b);
  ip += 5;
  NEXT();
}
  BIN(I64_AND, uint64_t, RU64, WU64, a & b)
  BIN(I64_OR, uint64_t, RU64, WU64, a | b)
  BIN(I64_XOR, uint64_t, RU64, WU64, a ^ b)
  BIN(I64_SHL, uint64_t, RU64, WU64, a << (b & 63))
  BIN(I64_SHR_S, uint64_t, RU64, WU64, (uint64_t)((int64_t)a >> (b & 63)))
  BIN(I64_SHR_U, uint64_t, RU64, WU64, a >> (b & 63))
  BIN(I64_ROTL, uint64_t, RU64, WU64, rotl64(a, b))
  BIN(I64_ROTR, uint64_t, RU64, WU64, rotr64(a, b))

  /* sign manipulations are bit operations, so NaN payloads survive */
  UN(F32_ABS, uint32_t, RU32, WU32, a & 0x7FFFFFFFu)
  UN(F32_NEG, uint32_t, RU32, WU32, a ^ 0x80000000u)
  /* libm hands a signalling NaN back unchanged; the spec wants it quieted (a + a does) */
  UN(F32_CEIL, float, RF32, WF32, a != a ? a + a : ceilf(a))
  UN(F32_FLOOR, float, RF32, WF32, a != a ? a + a : floorf(a))
  UN(F32_TRUNC, float, RF32, WF32, a != a ? a + a : truncf(a))
  UN(F32_NEAREST, float, RF32, WF32, a != a ? a + a : nearbyintf(a))
  UN(F32_SQRT, float, RF32, WF32, sqrtf(a))
  BIN(F32_ADD, float, RF32, WF32, a + b)
  BIN(F32_SUB, float, RF32, WF32, a - b)
  BIN(F32_MUL, float, RF32, WF32, a * b)
  BIN(F32_DIV, float, RF32, WF32, a / b)
  BIN(F32_MIN, float, RF32, WF32, f32_min(a, b))
  BIN(F32_MAX, float, RF32, WF32, f32_max(a, b))
  BIN(F32_COPYSIGN, uint32_t, RU32, WU32, (a & 0x7FFFFFFFu) | (b & 0x80000000u))
  UN(F64_ABS, uint64_t, RU64, WU64, a & 0x7FFFFFFFFFFFFFFFull)
  UN(F64_NEG, uint64_t, RU64, WU64, a ^ 0x8000000000000000ull)
  UN(F64_CEIL, double, RF64, WF64, a != a ? a + a : ceil(a))
  UN(F64_FLOOR, double, RF64, WF64, a != a ? a + a : floor(a))
  UN(F64_TRUNC, double, RF64, WF64, a != a ? a + a : trunc(a))
  UN(F64_NEAREST, double, RF64, WF64, a != a ? a + a : nearbyint(a))
  UN(F64_SQRT, double, RF64, WF64, sqrt(a))
  BIN(F64_ADD, double, RF64, WF64, a + b)
  BIN(F64_SUB, double, RF64, WF64, a - b)
  BIN(F64_MUL, double, RF64, WF64, a * b)
  BIN(F64_DIV, double, RF64, WF64, a / b)
  BIN(F64_MIN, double, RF64, WF64, f64_min(a, b))
  BIN(F64_MAX, double, RF64, WF64, f64_max(a, b))
  BIN(F64_COPYSIGN, uint64_t, RU64, WU64, (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull))

  /* ---- conversions ---- */
  UN(I32_WRAP_I64, uint64_t, RU64, WU32, (uint32_t)a)
#define TRUNC(name, T, R, W, lo_ok, hi_ok, RT)                       \
  L_##name: {                                                        \
    T a = R(2);                                                      \
    if (HVW__UNLIKELY(a != a)) TRAP(HVW_TRAP_INVALID_CONVERSION);  \
    if (HVW__UNLIKELY(!(lo_ok && hi_ok))) TRAP(HVW_TRAP_INT_OVERFLOW); \
    W(1, (RT)a);                                                     \
    ip += 4;                                                         \
    NEXT();                                                          \
  }
  TRUNC(I32_TRUNC_F32_S, float, RF32, WU32, a >= -2147483648.0f, a < 2147483648.0f, int32_t)
  TRUNC(I32_TRUNC_F32_U, float, RF32, WU32, a > -1.0f, a < 4294967296.0f, uint32_t)
  TRUNC(I32_TRUNC_F64_S, double, RF64, WU32, a > -2147483649.0, a < 2147483648.0, int32_t)
  TRUNC(I32_TRUNC_F64_U, double, RF64, WU32, a > -1.0, a < 4294967296.0, uint32_t)
  TRUNC(I64_TRUNC_F32_S, float, RF32, WU64, a >= -9223372036854775808.0f, a < 9223372036854775808.0f, int64_t)
  TRUNC(I64_TRUNC_F32_U, float, RF32, WU64, a > -1.0f, a < 18446744073709551616.0f, uint64_t)
  TRUNC(I64_TRUNC_F64_S, double, RF64, WU64, a >= -9223372036854775808.0, a < 9223372036854775808.0, int64_t)
  TRUNC(I64_TRUNC_F64_U, double, RF64, WU64, a > -1.0, a < 18446744073709551616.0, uint64_t)
  UN(I64_EXTEND_I32_S, int32_t, RI32, WU64, (int64_t)a)
  UN(I64_EXTEND_I32_U, uint32_t, RU32, WU64, (uint64_t)a)
  UN(F32_CONVERT_I32_S, int32_t, RI32, WF32, (float)a)
  UN(F32_CONVERT_I32_U, uint32_t, RU32, WF32, (float)a)
  UN(F32_CONVERT_I64_S, int64_t, RI64, WF32, (float)a)
  UN(F32_CONVERT_I64_U, uint64_t, RU64, WF32, (float)a)
  UN(F32_DEMOTE_F64, double, RF64, WF32, (float)a)
  UN(F64_CONVERT_I32_S, int32_t, RI32, WF64, (double)a)
  UN(F64_CONVERT_I32_U, uint32_t, RU32, WF64, (double)a)
  UN(F64_CONVERT_I64_S, int64_t, RI64, WF64, (double)a)
  UN(F64_CONVERT_I64_U, uint64_t, RU64, WF64, (double)a)
  UN(F64_PROMOTE_F32, float, RF32, WF64, (double)a)
  UN(I32_EXTEND8_S, uint32_t, RU32, WU32, (uint32_t)(int32_t)(int8_t)a)
  UN(I32_EXTEND16_S, uint32_t, RU32, WU32, (uint32_t)(int32_t)(int16_t)a)
  UN(I64_EXTEND8_S, uint64_t, RU64, WU64, (uint64_t)(int64_t)(int8_t)a)
  UN(I64_EXTEND16_S, uint64_t, RU64, WU64, (uint64_t)(int64_t)(int16_t)a)
  UN(I64_EXTEND32_S, uint64_t, RU64, WU64, (uint64_t)(int64_t)(int32_t)a)
  UN(I32_TRUNC_SAT_F32_S, float, RF32, WU32, sat_i32_s(a))
  UN(I32_TRUNC_SAT_F32_U, float, RF32, WU32, sat_i32_u(a))
  UN(I32_TRUNC_SAT_F64_S, double, RF64, WU32, sat_i32_s(a))
  UN(I32_TRUNC_SAT_F64_U, double, RF64, WU32, sat_i32_u(a))
  UN(I64_TRUNC_SAT_F32_S, float, RF32, WU64, sat_i64_s(a))
  UN(I64_TRUNC_SAT_F32_U, float, RF32, WU64, sat_i64_u(a))
  UN(I64_TRUNC_SAT_F64_S, double, RF64, WU64, sat_i64_s(a))
  UN(I64_TRUNC_SAT_F64_U, double, RF64, WU64, sat_i64_u(a))

  /* ---- SIMD: a v128 is two cells, low half first (the lanes in little-endian order) ---- */
#define RV(k, v) memcpy(&(v), &C(k), 16)
#define WV(k, v) memcpy(&C(k), &(v), 16)
L_SELECT_V128: {
  hvw_cell a[2], b[2];
  memcpy(a, &C(2), sizeof a);
  memcpy(b, &C(3), sizeof b);
  memcpy(&C(1), RU32(4) ? a : b, sizeof a);
  ip += 6;
  NEXT();
}
L_GLOBAL_GET_V128:
  memcpy(&C(1), c->globals[ip[3]]->value, 2 * sizeof(hvw_cell));
  ip += 4;
  NEXT();
L_GLOBAL_SET_V128:
  memcpy(c->globals[ip[3]]->value, &C(1), 2 * sizeof(hvw_cell));
  ip += 4;
  NEXT();
L_V128_LOAD: {
  uint64_t ea = (uint64_t)RU32(2) + ip[4];
  if (HVW__UNLIKELY(ea + 16 > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  memcpy(&C(1), mem + ea, 16);
  ip += 5;
  NEXT();
}
L_V128_LOAD_X: {
  uint64_t ea = (uint64_t)(uint32_t)(RU32(2) + RU32(3)) + ip[5];
  if (HVW__UNLIKELY(ea + 16 > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  memcpy(&C(1), mem + ea, 16);
  ip += 6;
  NEXT();
}
L_V128_STORE: {
  uint64_t ea = (uint64_t)RU32(1) + ip[4];
  if (HVW__UNLIKELY(ea + 16 > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  memcpy(mem + ea, &C(2), 16);
  ip += 5;
  NEXT();
}
L_V128_STORE_X: {
  uint64_t ea = (uint64_t)(uint32_t)(RU32(1) + RU32(2)) + ip[5];
  if (HVW__UNLIKELY(ea + 16 > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);
  memcpy(mem + ea, &C(3), 16);
  ip += 6;
  NEXT();
}
  /* splat: every lane gets the scalar (its low N bytes) */
#define SPLAT(name, N, R)             \
  L_##name: {                         \
    uint64_t x = R(2);                \
    uint8_t v[16];                    \
    for (int i = 0; i < 16; i += N) memcpy(v + i, &x, N); \
    WV(1, v);                         \
    ip += 4;                          \
    NEXT();                           \
  }
  SPLAT(I8X16_SPLAT, 1, RU32)
  SPLAT(I16X8_SPLAT, 2, RU32)
  SPLAT(I32X4_SPLAT, 4, RU32)
  SPLAT(I64X2_SPLAT, 8, RU64)
  SPLAT(F32X4_SPLAT, 4, RU32)
  SPLAT(F64X2_SPLAT, 8, RU64)

  /* extract_lane d a lane: the lane's N bytes, converted to the scalar's cell */
#define EXTRACT(name, T, conv)        \
  L_##name: {                         \
    uint8_t v[16];                    \
    T x;                              \
    RV(2, v);                         \
    memcpy(&x, v + ip[4] * sizeof x, sizeof x); \
    C(1) = (conv);                    \
    ip += 5;                          \
    NEXT();                           \
  }
  EXTRACT(I8X16_EXTRACT_LANE_S, int8_t, (uint32_t)(int32_t)x)
  EXTRACT(I8X16_EXTRACT_LANE_U, uint8_t, (uint32_t)x)
  EXTRACT(I16X8_EXTRACT_LANE_S, int16_t, (uint32_t)(int32_t)x)
  EXTRACT(I16X8_EXTRACT_LANE_U, uint16_t, (uint32_t)x)
  EXTRACT(I32X4_EXTRACT_LANE, uint32_t, x)
  EXTRACT(I64X2_EXTRACT_LANE, uint64_t, x)
  EXTRACT(F32X4_EXTRACT_LANE, uint32_t, x)
  EXTRACT(F64X2_EXTRACT_LANE, uint64_t, x)

  /* replace_lane d a b lane: a with the lane set to b's low N bytes */
#define REPLACE(name, N)              \
  L_##name: {                         \
    uint8_t v[16];                    \
    uint64_t x = C(3);                \
    RV(2, v);                         \
    memcpy(v + ip[5] * (N), &x, N);   \
    WV(1, v);                         \
    ip += 6;                          \
    NEXT();                           \
  }
  REPLACE(I8X16_REPLACE_LANE, 1)
  REPLACE(I16X8_REPLACE_LANE, 2)
  REPLACE(I32X4_REPLACE_LANE, 4)
  REPLACE(I64X2_REPLACE_LANE, 8)
  REPLACE(F32X4_REPLACE_LANE, 4)
  REPLACE(F64X2_REPLACE_LANE, 8)

  /* lane-wise integer arithmetic on the vector types: unsigned lanes, so it wraps */
#define VBIN(name, V, expr)           \
  L_##name: {                         \
    V a, b, r;                        \
    RV(2, a);                         \
    RV(3, b);                         \
    r = (expr);                       \
    WV(1, r);                         \
    ip += 5;                          \
    NEXT();                           \
  }
#define VUN(name, V, expr)            \
  L_##name: {                         \
    V a, r;                           \
    RV(2, a);                         \
    r = (expr);                       \
    WV(1, r);                         \
    ip += 4;                          \
    NEXT();                           \
  }
  VUN(V128_NOT, u64x2, ~a)
  VBIN(V128_AND, u64x2, a & b)
  VBIN(V128_ANDNOT, u64x2, a & ~b)
  VBIN(V128_OR, u64x2, a | b)
  VBIN(V128_XOR, u64x2, a ^ b)
  VUN(I8X16_NEG, u8x16, -a)
  VBIN(I8X16_ADD, u8x16, a + b)
  VBIN(I8X16_SUB, u8x16, a - b)
  VUN(I16X8_NEG, u16x8, -a)
  VBIN(I16X8_ADD, u16x8, a + b)
  VBIN(I16X8_SUB, u16x8, a - b)
  VBIN(I16X8_MUL, u16x8, a * b)
  VUN(I32X4_NEG, u32x4, -a)
  VBIN(I32X4_ADD, u32x4, a + b)
  VBIN(I32X4_SUB, u32x4, a - b)
  VBIN(I32X4_MUL, u32x4, a * b)
  VUN(I64X2_NEG, u64x2, -a)
  VBIN(I64X2_ADD, u64x2, a + b)
  VBIN(I64X2_SUB, u64x2, a - b)
  VBIN(I64X2_MUL, u64x2, a * b)

  /* v128 loads that transform what they read: N bytes at the address, then `fn` */
#define VLOAD(name, N, fn, ...)                                                 \
  L_##name: {                                                                   \
    uint64_t ea = (uint64_t)RU32(2) + ip[4];                                    \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);        \
    uint8_t r[16];                                                              \
    fn(mem + ea, r, __VA_ARGS__);                                               \
    WV(1, r);                                                                   \
    ip += 5;                                                                    \
    NEXT();                                                                     \
  }                                                                             \
  L_##name##_X: {                                                               \
    uint64_t ea = (uint64_t)(uint32_t)(RU32(2) + RU32(3)) + ip[5];              \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);        \
    uint8_t r[16];                                                              \
    fn(mem + ea, r, __VA_ARGS__);                                               \
    WV(1, r);                                                                   \
    ip += 6;                                                                    \
    NEXT();                                                                     \
  }
  VLOAD(V128_LOAD8X8_S, 8, simd_extend, 1, true)
  VLOAD(V128_LOAD8X8_U, 8, simd_extend, 1, false)
  VLOAD(V128_LOAD16X4_S, 8, simd_extend, 2, true)
  VLOAD(V128_LOAD16X4_U, 8, simd_extend, 2, false)
  VLOAD(V128_LOAD32X2_S, 8, simd_extend, 4, true)
  VLOAD(V128_LOAD32X2_U, 8, simd_extend, 4, false)
  VLOAD(V128_LOAD8_SPLAT, 1, simd_splat, 1)
  VLOAD(V128_LOAD16_SPLAT, 2, simd_splat, 2)
  VLOAD(V128_LOAD32_SPLAT, 4, simd_splat, 4)
  VLOAD(V128_LOAD64_SPLAT, 8, simd_splat, 8)
  VLOAD(V128_LOAD32_ZERO, 4, simd_zero, 4)
  VLOAD(V128_LOAD64_ZERO, 8, simd_zero, 8)

L_I8X16_SHUFFLE: {
  uint8_t ab[32], lanes[16], r[16];
  RV(2, ab);
  memcpy(ab + 16, &C(3), 16);
  memcpy(lanes, ip + 5, 16); /* validated: each < 32 */
  for (int i = 0; i < 16; i++) r[i] = ab[lanes[i]];
  WV(1, r);
  ip += 9;
  NEXT();
}
L_V128_BITSELECT: {
  u64x2 a, b, m, r;
  RV(2, a);
  RV(3, b);
  RV(4, m);
  r = (a & m) | (b & ~m);
  WV(1, r);
  ip += 6;
  NEXT();
}

  /* lane by lane: T the lane type as the operation reads it, N lanes */
#define VLANES2(name, T, N, expr)             \
  L_##name: {                                 \
    T a[N], b[N], r[N];                       \
    RV(2, a);                                 \
    RV(3, b);                                 \
    for (int i = 0; i < (N); i++) r[i] = (T)(expr); \
    WV(1, r);                                 \
    ip += 5;                                  \
    NEXT();                                   \
  }
#define VLANES1(name, T, N, expr)             \
  L_##name: {                                 \
    T a[N], r[N];                             \
    RV(2, a);                                 \
    for (int i = 0; i < (N); i++) r[i] = (T)(expr); \
    WV(1, r);                                 \
    ip += 4;                                  \
    NEXT();                                   \
  }
  /* a compare sets a lane to all ones when true */
#define VCMP(name, T, N, op) VLANES2(name, T, N, a[i] op b[i] ? -1 : 0)
#define VCMP_INT(shape, S, U, N)                    \
  VCMP(shape##_EQ, U, N, ==) VCMP(shape##_NE, U, N, !=) \
  VCMP(shape##_LT_S, S, N, <) VCMP(shape##_LT_U, U, N, <) \
  VCMP(shape##_GT_S, S, N, >) VCMP(shape##_GT_U, U, N, >) \
  VCMP(shape##_LE_S, S, N, <=) VCMP(shape##_LE_U, U, N, <=) \
  VCMP(shape##_GE_S, S, N, >=) VCMP(shape##_GE_U, U, N, >=)
  VCMP_INT(I8X16, int8_t, uint8_t, 16)
  VCMP_INT(I16X8, int16_t, uint16_t, 8)
  VCMP_INT(I32X4, int32_t, uint32_t, 4)
  VCMP(I64X2_EQ, uint64_t, 2, ==)
  VCMP(I64X2_NE, uint64_t, 2, !=)
  VCMP(I64X2_LT_S, int64_t, 2, <)
  VCMP(I64X2_GT_S, int64_t, 2, >)
  VCMP(I64X2_LE_S, int64_t, 2, <=)
  VCMP(I64X2_GE_S, int64_t, 2, >=)

  VLANES2(I8X16_SWIZZLE, uint8_t, 16, b[i] < 16 ? a[b[i]] : 0)

  /* shifts by an i32, modulo the lane width; shl on unsigned lanes (no overflow), shr_s on signed */
#define VSHIFT(name, T, N, op)                \
  L_##name: {                                 \
    T a[N], r[N];                             \
    RV(2, a);                                 \
    unsigned s = RU32(3) & (8 * sizeof(T) - 1); \
    for (int i = 0; i < (N); i++) r[i] = (T)(a[i] op s); \
    WV(1, r);                                 \
    ip += 5;                                  \
    NEXT();                                   \
  }
  VSHIFT(I8X16_SHL, uint8_t, 16, <<) VSHIFT(I8X16_SHR_S, int8_t, 16, >>) VSHIFT(I8X16_SHR_U, uint8_t, 16, >>)
  VSHIFT(I16X8_SHL, uint16_t, 8, <<) VSHIFT(I16X8_SHR_S, int16_t, 8, >>) VSHIFT(I16X8_SHR_U, uint16_t, 8, >>)
  VSHIFT(I32X4_SHL, uint32_t, 4, <<) VSHIFT(I32X4_SHR_S, int32_t, 4, >>) VSHIFT(I32X4_SHR_U, uint32_t, 4, >>)
  VSHIFT(I64X2_SHL, uint64_t, 2, <<) VSHIFT(I64X2_SHR_S, int64_t, 2, >>) VSHIFT(I64X2_SHR_U, uint64_t, 2, >>)

  /* abs on unsigned lanes: the most negative value stays itself, as the spec wants */
  VLANES1(I8X16_ABS, uint8_t, 16, a[i] >> 7 ? 0u - a[i] : a[i])
  VLANES1(I16X8_ABS, uint16_t, 8, a[i] >> 15 ? 0u - a[i] : a[i])
  VLANES1(I32X4_ABS, uint32_t, 4, a[i] >> 31 ? 0u - a[i] : a[i])
  VLANES1(I64X2_ABS, uint64_t, 2, a[i] >> 63 ? 0u - a[i] : a[i])
  VLANES1(I8X16_POPCNT, uint8_t, 16, __builtin_popcount(a[i]))

  /* the tests: an i32 from the lanes */
L_V128_ANY_TRUE: {
  uint64_t a[2];
  RV(2, a);
  WU32(1, (a[0] | a[1]) != 0);
  ip += 4;
  NEXT();
}
#define VTEST(name, T, N, init, step)         \
  L_##name: {                                 \
    T a[N];                                   \
    RV(2, a);                                 \
    uint32_t r = (init);                      \
    for (int i = 0; i < (N); i++) step;       \
    WU32(1, r);                               \
    ip += 4;                                  \
    NEXT();                                   \
  }
  VTEST(I8X16_ALL_TRUE, uint8_t, 16, 1, r &= a[i] != 0)
  VTEST(I16X8_ALL_TRUE, uint16_t, 8, 1, r &= a[i] != 0)
  VTEST(I32X4_ALL_TRUE, uint32_t, 4, 1, r &= a[i] != 0)
  VTEST(I64X2_ALL_TRUE, uint64_t, 2, 1, r &= a[i] != 0)
  VTEST(I8X16_BITMASK, uint8_t, 16, 0, r |= (uint32_t)(a[i] >> 7) << i)
  VTEST(I16X8_BITMASK, uint16_t, 8, 0, r |= (uint32_t)(a[i] >> 15) << i)
  VTEST(I32X4_BITMASK, uint32_t, 4, 0, r |= (uint32_t)(a[i] >> 31) << i)
  VTEST(I64X2_BITMASK, uint64_t, 2, 0, r |= (uint32_t)(a[i] >> 63) << i)

  /* min, max, rounding average, saturating add and sub (8- and 16-bit lanes compute in int) */
#define VMINMAX(shape, S, U, N)                                   \
  VLANES2(shape##_MIN_S, S, N, a[i] < b[i] ? a[i] : b[i])         \
  VLANES2(shape##_MIN_U, U, N, a[i] < b[i] ? a[i] : b[i])         \
  VLANES2(shape##_MAX_S, S, N, a[i] > b[i] ? a[i] : b[i])         \
  VLANES2(shape##_MAX_U, U, N, a[i] > b[i] ? a[i] : b[i])
  VMINMAX(I8X16, int8_t, uint8_t, 16)
  VMINMAX(I16X8, int16_t, uint16_t, 8)
  VMINMAX(I32X4, int32_t, uint32_t, 4)
  VLANES2(I8X16_AVGR_U, uint8_t, 16, (a[i] + b[i] + 1) >> 1)
  VLANES2(I16X8_AVGR_U, uint16_t, 8, (a[i] + b[i] + 1) >> 1)
  VLANES2(I8X16_ADD_SAT_S, int8_t, 16, clamp_i32(a[i] + b[i], INT8_MIN, INT8_MAX))
  VLANES2(I8X16_ADD_SAT_U, uint8_t, 16, clamp_i32(a[i] + b[i], 0, UINT8_MAX))
  VLANES2(I8X16_SUB_SAT_S, int8_t, 16, clamp_i32(a[i] - b[i], INT8_MIN, INT8_MAX))
  VLANES2(I8X16_SUB_SAT_U, uint8_t, 16, clamp_i32(a[i] - b[i], 0, UINT8_MAX))
  VLANES2(I16X8_ADD_SAT_S, int16_t, 8, clamp_i32(a[i] + b[i], INT16_MIN, INT16_MAX))
  VLANES2(I16X8_ADD_SAT_U, uint16_t, 8, clamp_i32(a[i] + b[i], 0, UINT16_MAX))
  VLANES2(I16X8_SUB_SAT_S, int16_t, 8, clamp_i32(a[i] - b[i], INT16_MIN, INT16_MAX))
  VLANES2(I16X8_SUB_SAT_U, uint16_t, 8, clamp_i32(a[i] - b[i], 0, UINT16_MAX))

  /* lane loads and stores: N bytes between memory and one lane */
#define LOAD_LANE(name, N)                                                  \
  L_##name: {                                                               \
    uint64_t ea = (uint64_t)RU32(2) + ip[5];                                \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);    \
    uint8_t v[16];                                                          \
    RV(3, v);                                                               \
    memcpy(v + ip[6] * (N), mem + ea, N);                                   \
    WV(1, v);                                                               \
    ip += 7;                                                                \
    NEXT();                                                                 \
  }
#define STORE_LANE(name, N)                                                 \
  L_##name: {                                                               \
    uint64_t ea = (uint64_t)RU32(1) + ip[4];                                \
    if (HVW__UNLIKELY(ea + (N) > mem_size)) TRAP(HVW_TRAP_MEMORY_OOB);    \
    uint8_t v[16];                                                          \
    RV(2, v);                                                               \
    memcpy(mem + ea, v + ip[5] * (N), N);                                   \
    ip += 6;                                                                \
    NEXT();                                                                 \
  }
  LOAD_LANE(V128_LOAD8_LANE, 1) LOAD_LANE(V128_LOAD16_LANE, 2)
  LOAD_LANE(V128_LOAD32_LANE, 4) LOAD_LANE(V128_LOAD64_LANE, 8)
  STORE_LANE(V128_STORE8_LANE, 1) STORE_LANE(V128_STORE16_LANE, 2)
  STORE_LANE(V128_STORE32_LANE, 4) STORE_LANE(V128_STORE64_LANE, 8)

  /* from narrow lanes (type F, N of them in the result) to wide ones (type T):
   * r[i] = expr, with a/b the operands' narrow lanes */
#define VWIDEN1(name, F, T, N, expr)          \
  L_##name: {                                 \
    F a[16 / sizeof(F)];                      \
    T r[N];                                   \
    RV(2, a);                                 \
    for (int i = 0; i < (N); i++) r[i] = (T)(expr); \
    WV(1, r);                                 \
    ip += 4;                                  \
    NEXT();                                   \
  }
#define VWIDEN2(name, F, T, N, expr)          \
  L_##name: {                                 \
    F a[16 / sizeof(F)], b[16 / sizeof(F)];   \
    T r[N];                                   \
    RV(2, a);                                 \
    RV(3, b);                                 \
    for (int i = 0; i < (N); i++) r[i] = (T)(expr); \
    WV(1, r);                                 \
    ip += 5;                                  \
    NEXT();                                   \
  }
  VWIDEN1(I16X8_EXTADD_PAIRWISE_I8X16_S, int8_t, int16_t, 8, a[2 * i] + a[2 * i + 1])
  VWIDEN1(I16X8_EXTADD_PAIRWISE_I8X16_U, uint8_t, uint16_t, 8, a[2 * i] + a[2 * i + 1])
  VWIDEN1(I32X4_EXTADD_PAIRWISE_I16X8_S, int16_t, int32_t, 4, a[2 * i] + a[2 * i + 1])
  VWIDEN1(I32X4_EXTADD_PAIRWISE_I16X8_U, uint16_t, uint32_t, 4, a[2 * i] + a[2 * i + 1])
  VWIDEN1(I16X8_EXTEND_LOW_I8X16_S, int8_t, int16_t, 8, a[i])
  VWIDEN1(I16X8_EXTEND_HIGH_I8X16_S, int8_t, int16_t, 8, a[i + 8])
  VWIDEN1(I16X8_EXTEND_LOW_I8X16_U, uint8_t, uint16_t, 8, a[i])
  VWIDEN1(I16X8_EXTEND_HIGH_I8X16_U, uint8_t, uint16_t, 8, a[i + 8])
  VWIDEN1(I32X4_EXTEND_LOW_I16X8_S, int16_t, int32_t, 4, a[i])
  VWIDEN1(I32X4_EXTEND_HIGH_I16X8_S, int16_t, int32_t, 4, a[i + 4])
  VWIDEN1(I32X4_EXTEND_LOW_I16X8_U, uint16_t, uint32_t, 4, a[i])
  VWIDEN1(I32X4_EXTEND_HIGH_I16X8_U, uint16_t, uint32_t, 4, a[i + 4])
  VWIDEN1(I64X2_EXTEND_LOW_I32X4_S, int32_t, int64_t, 2, a[i])
  VWIDEN1(I64X2_EXTEND_HIGH_I32X4_S, int32_t, int64_t, 2, a[i + 2])
  VWIDEN1(I64X2_EXTEND_LOW_I32X4_U, uint32_t, uint64_t, 2, a[i])
  VWIDEN1(I64X2_EXTEND_HIGH_I32X4_U, uint32_t, uint64_t, 2, a[i + 2])
  /* products in the wide type (int for 8- and 16-bit lanes; i64 ones cannot overflow either) */
  VWIDEN2(I16X8_EXTMUL_LOW_I8X16_S, int8_t, int16_t, 8, a[i] * b[i])
  VWIDEN2(I16X8_EXTMUL_HIGH_I8X16_S, int8_t, int16_t, 8, a[i + 8] * b[i + 8])
  VWIDEN2(I16X8_EXTMUL_LOW_I8X16_U, uint8_t, uint16_t, 8, a[i] * b[i])
  VWIDEN2(I16X8_EXTMUL_HIGH_I8X16_U, uint8_t, uint16_t, 8, a[i + 8] * b[i + 8])
  VWIDEN2(I32X4_EXTMUL_LOW_I16X8_S, int16_t, uint32_t, 4, (uint32_t)(a[i] * b[i]))
  VWIDEN2(I32X4_EXTMUL_HIGH_I16X8_S, int16_t, uint32_t, 4, (uint32_t)(a[i + 4] * b[i + 4]))
  VWIDEN2(I32X4_EXTMUL_LOW_I16X8_U, uint16_t, uint32_t, 4, (uint32_t)a[i] * b[i])
  VWIDEN2(I32X4_EXTMUL_HIGH_I16X8_U, uint16_t, uint32_t, 4, (uint32_t)a[i + 4] * b[i + 4])
  VWIDEN2(I64X2_EXTMUL_LOW_I32X4_S, int32_t, int64_t, 2, (int64_t)a[i] * b[i])
  VWIDEN2(I64X2_EXTMUL_HIGH_I32X4_S, int32_t, int64_t, 2, (int64_t)a[i + 2] * b[i + 2])
  VWIDEN2(I64X2_EXTMUL_LOW_I32X4_U, uint32_t, uint64_t, 2, (uint64_t)a[i] * b[i])
  VWIDEN2(I64X2_EXTMUL_HIGH_I32X4_U, uint32_t, uint64_t, 2, (uint64_t)a[i + 2] * b[i + 2])
  /* the sum of two products of -32768 is 2^31: computed in 64 bits, kept modulo 2^32 */
  VWIDEN2(I32X4_DOT_I16X8_S, int16_t, uint32_t, 4,
          (uint32_t)((int64_t)a[2 * i] * b[2 * i] + (int64_t)a[2 * i + 1] * b[2 * i + 1]))
  VLANES2(I16X8_Q15MULR_SAT_S, int16_t, 8, clamp_i32((a[i] * b[i] + 0x4000) >> 15, INT16_MIN, INT16_MAX))
  /* narrow: a's lanes then b's, each saturated to the narrow type */
  VWIDEN2(I8X16_NARROW_I16X8_S, int16_t, int8_t, 16, clamp_i32(i < 8 ? a[i] : b[i - 8], INT8_MIN, INT8_MAX))
  VWIDEN2(I8X16_NARROW_I16X8_U, int16_t, uint8_t, 16, clamp_i32(i < 8 ? a[i] : b[i - 8], 0, UINT8_MAX))
  VWIDEN2(I16X8_NARROW_I32X4_S, int32_t, int16_t, 8, clamp_i32(i < 4 ? a[i] : b[i - 4], INT16_MIN, INT16_MAX))
  VWIDEN2(I16X8_NARROW_I32X4_U, int32_t, uint16_t, 8, clamp_i32(i < 4 ? a[i] : b[i - 4], 0, UINT16_MAX))

  /* float lanes: the scalar operations' rules, lane by lane (NaN results as the scalar ones) */
  VLANES2(F32X4_ADD, float, 4, a[i] + b[i])
  VLANES2(F32X4_SUB, float, 4, a[i] - b[i])
  VLANES2(F32X4_MUL, float, 4, a[i] * b[i])
  VLANES2(F32X4_DIV, float, 4, a[i] / b[i])
  VLANES2(F32X4_MIN, float, 4, f32_min(a[i], b[i]))
  VLANES2(F32X4_MAX, float, 4, f32_max(a[i], b[i]))
  VLANES2(F32X4_PMIN, float, 4, b[i] < a[i] ? b[i] : a[i])
  VLANES2(F32X4_PMAX, float, 4, a[i] < b[i] ? b[i] : a[i])
  VLANES2(F64X2_ADD, double, 2, a[i] + b[i])
  VLANES2(F64X2_SUB, double, 2, a[i] - b[i])
  VLANES2(F64X2_MUL, double, 2, a[i] * b[i])
  VLANES2(F64X2_DIV, double, 2, a[i] / b[i])
  VLANES2(F64X2_MIN, double, 2, f64_min(a[i], b[i]))
  VLANES2(F64X2_MAX, double, 2, f64_max(a[i], b[i]))
  VLANES2(F64X2_PMIN, double, 2, b[i] < a[i] ? b[i] : a[i])
  VLANES2(F64X2_PMAX, double, 2, a[i] < b[i] ? b[i] : a[i])
  /* abs and neg are bit operations, so NaN payloads survive */
  VLANES1(F32X4_ABS, uint32_t, 4, a[i] & 0x7FFFFFFFu)
  VLANES1(F32X4_NEG, uint32_t, 4, a[i] ^ 0x80000000u)
  VLANES1(F64X2_ABS, uint64_t, 2, a[i] & 0x7FFFFFFFFFFFFFFFull)
  VLANES1(F64X2_NEG, uint64_t, 2, a[i] ^ 0x8000000000000000ull)
  VLANES1(F32X4_SQRT, float, 4, sqrtf(a[i]))
  VLANES1(F32X4_CEIL, float, 4, a[i] != a[i] ? a[i] + a[i] : ceilf(a[i]))
  VLANES1(F32X4_FLOOR, float, 4, a[i] != a[i] ? a[i] + a[i] : floorf(a[i]))
  VLANES1(F32X4_TRUNC, float, 4, a[i] != a[i] ? a[i] + a[i] : truncf(a[i]))
  VLANES1(F32X4_NEAREST, float, 4, a[i] != a[i] ? a[i] + a[i] : nearbyintf(a[i]))
  VLANES1(F64X2_SQRT, double, 2, sqrt(a[i]))
  VLANES1(F64X2_CEIL, double, 2, a[i] != a[i] ? a[i] + a[i] : ceil(a[i]))
  VLANES1(F64X2_FLOOR, double, 2, a[i] != a[i] ? a[i] + a[i] : floor(a[i]))
  VLANES1(F64X2_TRUNC, double, 2, a[i] != a[i] ? a[i] + a[i] : trunc(a[i]))
  VLANES1(F64X2_NEAREST, double, 2, a[i] != a[i] ? a[i] + a[i] : nearbyint(a[i]))
  /* compares: all ones where true */
#define VFCMP(name, F, U, N, op) VWIDEN2(name, F, U, N, a[i] op b[i] ? (U)-1 : 0)
  VFCMP(F32X4_EQ, float, uint32_t, 4, ==) VFCMP(F32X4_NE, float, uint32_t, 4, !=)
  VFCMP(F32X4_LT, float, uint32_t, 4, <) VFCMP(F32X4_GT, float, uint32_t, 4, >)
  VFCMP(F32X4_LE, float, uint32_t, 4, <=) VFCMP(F32X4_GE, float, uint32_t, 4, >=)
  VFCMP(F64X2_EQ, double, uint64_t, 2, ==) VFCMP(F64X2_NE, double, uint64_t, 2, !=)
  VFCMP(F64X2_LT, double, uint64_t, 2, <) VFCMP(F64X2_GT, double, uint64_t, 2, >)
  VFCMP(F64X2_LE, double, uint64_t, 2, <=) VFCMP(F64X2_GE, double, uint64_t, 2, >=)
  /* conversions; the _zero forms fill the upper lanes with zeros */
  VWIDEN1(I32X4_TRUNC_SAT_F32X4_S, float, uint32_t, 4, sat_i32_s(a[i]))
  VWIDEN1(I32X4_TRUNC_SAT_F32X4_U, float, uint32_t, 4, sat_i32_u(a[i]))
  VWIDEN1(F32X4_CONVERT_I32X4_S, int32_t, float, 4, (float)a[i])
  VWIDEN1(F32X4_CONVERT_I32X4_U, uint32_t, float, 4, (float)a[i])
  VWIDEN1(I32X4_TRUNC_SAT_F64X2_S_ZERO, double, uint32_t, 4, i < 2 ? sat_i32_s(a[i]) : 0)
  VWIDEN1(I32X4_TRUNC_SAT_F64X2_U_ZERO, double, uint32_t, 4, i < 2 ? sat_i32_u(a[i]) : 0)
  VWIDEN1(F64X2_CONVERT_LOW_I32X4_S, int32_t, double, 2, (double)a[i])
  VWIDEN1(F64X2_CONVERT_LOW_I32X4_U, uint32_t, double, 2, (double)a[i])
  VWIDEN1(F32X4_DEMOTE_F64X2_ZERO, double, float, 4, i < 2 ? (float)a[i] : 0.0f)
  VWIDEN1(F64X2_PROMOTE_LOW_F32X4, float, double, 2, (double)a[i])

  /* ---- exits ---- */
finished:
  status = HVW_OK;
  goto out;
trapped:
  status = hvw__trap(c->err, c->trap);
  goto out;
interrupted:
  status = hvw__fail(c->err, HVW_TIMEOUT, "execution timeout: the execution was interrupted");
  goto out;
out_of_gas:
  status = hvw__fail(c->err, HVW_GAS_EXHAUSTED, "gas exhausted");
#if !HVW_NO_GAS_METERING
  c->store->gas_remaining = 0;
#endif
  return status;
host_failed:
  /* status and err come from the host call */
out:
#if !HVW_NO_GAS_METERING
  SYNC_GAS_OUT();
#endif
  return status;

#undef NEXT
#undef TRAP
#undef CHARGE
#undef CAN_PAY
}

const void *const *hvw__interp_handlers(void) {
  const void *const *handlers = NULL;
  run(NULL, NULL, NULL, &handlers);
  return handlers;
}

/* ---- state and entry -------------------------------------------------------------------- */

/* Creates the store's stacks, sized by its limits: from the store's pool when they fit one of its
 * stacks, else mapped here. Freed by hvw__interp_state_free. */
static struct hvw_interp_state *state_new(struct hvw_store *store) {
  const hvw_store_limits *limits = &store->limits;
  struct hvw_interp_state *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->ncells = limits->max_stack_cells;
  st->nframes = limits->max_call_depth;
  st->pooled = hvw__pool_stack_take(store->pool, st->ncells ? st->ncells : 1, st->nframes ? st->nframes : 1);
  if (st->pooled) {
    /* the store's limits, not the pool stack's sizes, bound the calls: the same traps as without */
    st->cells = st->pooled->cells;
    st->frames = st->pooled->frames;
    return st;
  }
  st->map_bytes = (st->ncells ? st->ncells : 1) * sizeof(hvw_cell);
  void *p = mmap(NULL, st->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  st->frames = hvw__calloc(st->nframes ? st->nframes : 1, sizeof *st->frames);
  if (p == MAP_FAILED || !st->frames) {
    if (p != MAP_FAILED) munmap(p, st->map_bytes);
    free(st->frames);
    free(st);
    return NULL;
  }
  st->cells = p;
  return st;
}

void hvw__interp_state_free(struct hvw_interp_state *state) {
  if (!state) return;
  if (state->pooled) {
    hvw__pool_stack_give(state->pooled, state->cells_high, state->frames_high);
  } else {
    munmap(state->cells, state->map_bytes);
    free(state->frames);
  }
  free(state);
}

hvw_status hvw__interp_call(struct hvw_store *store, struct hvw_func *func, hvw_cell *cells,
                              hvw_error *err) {
  hvw_status status;
  if (!func->code) {
    status = hvw__host_call(store, func, cells, err);
  } else {
    if (!store->interp) {
      store->interp = state_new(store);
      if (!store->interp) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of memory for the call stack");
    }
    struct hvw_interp_state *st = store->interp;
    size_t top = st->cell_top;
    uint32_t depth = st->depth;
    const struct hvw_code *code = func->code;
    size_t room = code->param_cells > code->result_cells ? code->param_cells : code->result_cells;
    if (room > st->ncells - top) {
      status = hvw__trap(err, HVW_TRAP_CALL_STACK_EXHAUSTED);
    } else {
      hvw_cell *fp = st->cells + top;
      memcpy(fp, cells, (size_t)code->param_cells * sizeof *fp);
      run_ctx c = {.store = store, .st = st, .frames = st->frames, .fsp = st->frames + depth,
                   .fend = st->frames + st->nframes, .stack_end = st->cells + st->ncells,
                   .cells_high = st->cells + st->cells_high, .frames_high = st->frames + st->frames_high,
                   .interrupt = &store->interrupt, .err = err};
      status = run(&c, func, fp, NULL);
      /* A nested execution (a host function calling back into this store) may have raised the
       * marks past this one's: keep the larger. */
      size_t cells_high = (size_t)(c.cells_high - st->cells);
      uint32_t frames_high = (uint32_t)(c.frames_high - st->frames);
      if (top + room > cells_high) cells_high = top + room; /* the arguments' cells */
      if (cells_high > st->cells_high) st->cells_high = cells_high;
      if (frames_high > st->frames_high) st->frames_high = frames_high;
      if (status == HVW_OK) memcpy(cells, fp, (size_t)code->result_cells * sizeof *fp);
    }
    st->cell_top = top; /* whatever happened, the stacks are as before the call */
    st->depth = depth;
  }
  if (status == HVW_TRAP && store->memory_grow_refused) {
    char what[HVW_ERROR_MESSAGE_MAX];
    snprintf(what, sizeof what, "%s", err ? err->message : "trap");
    status = hvw__fail(err, HVW_MEMORY_EXCEEDED,
                        "memory limit exceeded: a memory.grow was refused by the cap, then: %s", what);
  }
  return status;
}
