/*
 * code.c: validation of function bodies (WebAssembly 2.0, SIMD included) and, in the same single
 * pass, translation into the interpreter's register-style code (code_int.h).
 *
 * Every instruction is a row of opcodes.def: read_imm reads and checks its immediates (the row's
 * immediate kind), then its translator tr_<name> validates and emits it; translate_one finds the
 * row through instr_table, which is generated from opcodes.def like the operations' names and
 * lengths at the end of this file.
 *
 * Validation follows the algorithm of the spec's appendix: a stack of operand types, a stack of
 * control frames, and a "polymorphic" stack after unconditional branches. Each operand entry also
 * records where its value lives at run time:
 *   TEMP   in its natural slot (the cell that its stack position owns),
 *   LOCAL  still in a local's cell (local.get copies nothing; the copy is made only if the local
 *          is written while the entry is on the stack, or when a block starts),
 *   CONST  in the function's constant area (constants are deduplicated and copied into the frame
 *          at entry, so every operand is a plain cell offset).
 * Temporaries' cell offsets depend on the size of the constant area, known only at the end: they
 * are emitted with TEMP_FLAG set and every such operand's position is recorded for a final fixup.
 *
 * Peepholes: an instruction that produced the top of the stack has its destination retargeted by
 * a following local.set/local.tee; an integer compare followed by br_if/if becomes a single
 * compare-and-branch; an i32.add feeding a load/store address is folded into the memory operation,
 * and one feeding a br_if (directly or through a compare) into the branch. A folded instruction
 * only moves when nothing was emitted after it and no label was bound there.
 *
 * Gas (gas.h): the instructions of each basic block ("segment": straight-line code up to the next
 * branch, through labels reached by falling through) are summed while translating, and the sum is
 * written into every edge that enters the segment: branch operands, the fall-through operand of a
 * conditional branch, the function's entry cost.
 *
 * Everything allocated while translating one function is freed before returning; time and memory
 * are linear in the size of the body (a branch also checks its label's types, at most
 * HVW_MAX_RESULTS / HVW_MAX_PARAMS of them).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code_int.h"
#include "gas.h"
#include "limits.h"
#include "reader.h"

#define TEMP_FLAG 0x80000000u
#define NO_POS UINT32_MAX
#define T_UNKNOWN 0 /* the bottom type of the polymorphic stack */

enum { K_TEMP, K_LOCAL, K_CONST };
enum { C_FUNC, C_BLOCK, C_LOOP, C_IF, C_ELSE };

typedef struct ventry {
  uint32_t loc;   /* operand encoding of where the value is now */
  uint32_t slot;  /* natural slot: temporary index (cell height when pushed) */
  int32_t next;   /* LOCAL: next older entry referring to the same local, or -1 */
  uint32_t local; /* LOCAL: local index */
  uint8_t type;
  uint8_t kind;
} ventry;

typedef struct blocktype {
  uint32_t nparams, nresults;
  const hvw_valtype *params, *results;
  uint32_t param_cells, result_cells;
} blocktype;

typedef struct ctl {
  blocktype bt;
  uint32_t height;      /* operand entries below the frame (its params are above) */
  uint32_t cells;       /* natural slot of the first param / result */
  uint32_t gen;         /* tells a frame from a later one at the same depth */
  int32_t pending;      /* forward branches to the end label (list in tr.fw) */
  uint32_t header;      /* loop: code position of the header */
  uint32_t if_op, if_rel, if_cost; /* if: the branch to patch at else/end */
  uint32_t hdr_seg, hdr_base, hdr_cost; /* loop: gas of the segment starting at the header */
  bool hdr_known;
  uint8_t kind;
  bool unreachable;
  bool dead_entry;      /* entered in code that is never executed: nothing is emitted */
} ctl;

typedef struct fwd {
  uint32_t op, rel, cost; /* code positions: op start, offset operand, cost operand (or NO_POS) */
  int32_t next;
} fwd;

typedef struct pospair {
  uint32_t a, b;
} pospair;

typedef struct tr {
  hvw_module *m;
  uint32_t func_index;
  hvw_error *err;
  hvw_reader r;
  const hvw_functype *ft;
  const void *const *handlers;
  size_t code_expect; /* the size of a new code chunk (code_alloc) */
  bool failed; /* a validation error (err filled) */
  bool oom;

  size_t insn_offset; /* of the instruction being translated, for messages */
  uint32_t opcode;    /* a byte, or HVW_FC(n) */
  const char *instr_text; /* its name (opcodes.def), for messages; NULL while the opcode is unknown */

  uint32_t nlocals;
  uint32_t local_cells; /* cells of the params and declared locals: where the constants start */
  uint32_t vn;          /* operand entries (vs) */
  uint32_t cell_height, max_cells;
  uint32_t nrefs;       /* refs */
  uint32_t cn, gen;     /* control frames (cs) */
  uint32_t cu, nfix, nfw; /* code units, fixups, forward branches */
  uint32_t nconst;

  bool emit; /* code is emitted only for instructions that may execute */

  /* gas segments */
  bool seg_open;
  uint32_t seg_count, seg_id;
  uint32_t nsegp, nsegl; /* segp, segl */

  /* peepholes: valid while cu == last_end */
  uint32_t last_end;
  uint32_t last_dst_pos, last_dst_slot;
  int cmp_kind; /* -1, or compare index (HVW_CMP_LIST order), 10 = eqz */
  bool cmp_64;
  uint32_t cmp_start, cmp_fix, cmp_a, cmp_b;

  /* the last i32.add, for fusing it into a load/store address or a loop's compare-and-branch:
   * usable while add_end == cu and no label was bound since */
  bool add_valid;
  uint32_t add_start, add_fix, add_end, add_a, add_b, add_dst_pos;

  /* ---- From here on: buffers, kept from one function to the next (tr_reset). ---- */
  hvw_valtype *ltypes; /* per local: its type */
  uint32_t *lcell;      /* per local: the frame cell where it starts (computed once) */
  int32_t *lhead;       /* per local: newest LOCAL entry referring to it, or -1 */
  uint32_t ltypes_cap, lcell_cap, lhead_cap;
  ventry *vs;
  uint32_t vcap;
  uint32_t *refs; /* indices of entries that were LOCAL when pushed (may be stale) */
  uint32_t refcap;
  ctl *cs;
  uint32_t ccap;
  uint32_t *code;
  uint32_t codecap;
  uint32_t *fix;
  uint32_t fixcap;
  fwd *fw;
  uint32_t fwcap;
  uint64_t *consts;
  uint32_t constcap;
  uint32_t *chash; /* const index + 1, open addressing; all zero between functions */
  uint32_t chash_cap;
  pospair *segp; /* gas: (cost position, base count) */
  uint32_t segpcap;
  pospair *segl; /* gas: (control index, generation) of loops whose header is in this segment */
  uint32_t seglcap;
  /* br_table: stub per target depth, deduplicated with a stamp; brt_id only grows, so a stamp
   * left by an earlier function never matches */
  uint32_t *stub_stamp, *stub_pos;
  uint32_t stub_cap, brt_id;
} tr;

/* The first of the fields tr_reset keeps. */
#define TR_KEPT_FROM offsetof(tr, ltypes)

/* ---- errors ------------------------------------------------------------------------------- */

/* Records the first validation error; `fail` below is what callers use. */
HVW__PRINTF(3, 4)
static void record_failure(tr *t, hvw_status status, const char *fmt, ...) {
  if (t->failed || t->oom) return;
  t->failed = true;
  if (t->err) {
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *name = t->instr_text;
    if (name)
      hvw__fail(t->err, status, "%s: function %u, %s at byte offset %zu", what, t->func_index, name,
                 t->insn_offset);
    else if (t->opcode > 0xFF)
      hvw__fail(t->err, status, "%s: function %u, opcode 0x%02X %u at byte offset %zu", what,
                 t->func_index, t->opcode >> 16, t->opcode & 0xFFFF, t->insn_offset);
    else
      hvw__fail(t->err, status, "%s: function %u, opcode 0x%02X at byte offset %zu", what,
                 t->func_index, t->opcode, t->insn_offset);
  }
}

/* Records a failure and yields false. A macro so that the compiler sees the constant false at
 * every `return fail(...)`: an out-parameter a failing path leaves unset is then provably never
 * read (behind an out-of-line call, GCC's -Wmaybe-uninitialized at -O3 cannot tell). */
#define fail(t, ...) (record_failure((t), __VA_ARGS__), false)

#define OK (!t->failed && !t->oom && !t->r.failed)
#define TOK(t) (!(t).failed && !(t).oom && !(t).r.failed)

/* ---- growable arrays ---------------------------------------------------------------------- */

static bool grow(tr *t, void **p, uint32_t *cap, uint32_t need, size_t elem) {
  if (need <= *cap) return true;
  uint64_t n = *cap ? (uint64_t)*cap * 2 : 16;
  while (n < need) n *= 2;
  if (n > UINT32_MAX) n = UINT32_MAX;
  if (n < need) {
    t->oom = true;
    return false;
  }
  void *q = hvw__reallocarray(*p, (size_t)n, elem);
  if (!q) {
    t->oom = true;
    return false;
  }
  *p = q;
  *cap = (uint32_t)n;
  return true;
}
#define GROW(t, arr, cap, need) grow((t), (void **)&(arr), &(cap), (need), sizeof *(arr))

/* ---- emission ----------------------------------------------------------------------------- */

__attribute__((noinline)) static bool grow_code(tr *t) { return GROW(t, t->code, t->codecap, t->cu + 1); }

static inline void emit_u(tr *t, uint32_t u) {
  if (HVW__UNLIKELY(t->cu >= t->codecap) && !grow_code(t)) return;
  t->code[t->cu++] = u;
}

/* An operation's first HVW_HANDLER_UNITS units: its handler's address, low half first. */
static void emit_op(tr *t, hvw_op op) {
  uint64_t h = (uint64_t)(uintptr_t)t->handlers[op];
  emit_u(t, (uint32_t)h);
  emit_u(t, (uint32_t)(h >> 32));
}

static void emit_loc(tr *t, uint32_t loc) {
  if (loc & TEMP_FLAG) {
    if (t->nfix >= t->fixcap && !GROW(t, t->fix, t->fixcap, t->nfix + 1)) return;
    t->fix[t->nfix++] = t->cu;
  }
  emit_u(t, loc);
}

static void invalidate_peephole(tr *t) {
  t->last_end = NO_POS;
  t->cmp_kind = -1;
}

/* A label is bound here: code before it may no longer move after it. */
static void label_here(tr *t) {
  invalidate_peephole(t);
  t->add_valid = false;
}

/* Remembers that the operation just emitted wrote its result, the new top of stack, to `slot`,
 * its destination operand being at `dst_pos`. */
static void note_result(tr *t, uint32_t dst_pos, uint32_t slot) {
  t->last_end = t->cu;
  t->last_dst_pos = dst_pos;
  t->last_dst_slot = slot;
  t->cmp_kind = -1;
}

/* Copies one value of `cells` cells from cell `src` to cell `dst`. */
static void emit_copy(tr *t, uint32_t dst, uint32_t src, uint32_t cells) {
  if (cells == 1) {
    emit_op(t, HVW_OP_COPY);
    emit_loc(t, dst);
    emit_loc(t, src);
    return;
  }
  emit_op(t, HVW_OP_MOVE_N);
  emit_loc(t, dst);
  emit_loc(t, src);
  emit_u(t, cells);
}

/* ---- gas segments ------------------------------------------------------------------------- */

static void seg_start(tr *t) {
  t->seg_open = true;
  t->seg_count = 0;
  t->seg_id++;
  t->nsegp = 0;
  t->nsegl = 0;
}

/* The cost operand at `pos` receives the cost of the current segment from count `base` on. */
static void seg_attach(tr *t, uint32_t pos, uint32_t base) {
  if (t->nsegp >= t->segpcap && !GROW(t, t->segp, t->segpcap, t->nsegp + 1)) return;
  t->segp[t->nsegp++] = (pospair){pos, base};
}

static void seg_end(tr *t) {
  if (!t->seg_open || t->oom) return;
  for (uint32_t i = 0; i < t->nsegp; i++) t->code[t->segp[i].a] = t->seg_count - t->segp[i].b;
  for (uint32_t i = 0; i < t->nsegl; i++) {
    uint32_t ci = t->segl[i].a;
    if (ci < t->cn && t->cs[ci].gen == t->segl[i].b) {
      t->cs[ci].hdr_known = true;
      t->cs[ci].hdr_cost = t->seg_count - t->cs[ci].hdr_base;
    }
  }
  t->seg_open = false;
  t->nsegp = 0;
  t->nsegl = 0;
}

/* ---- constants ---------------------------------------------------------------------------- */

static uint32_t hash64(uint64_t v) {
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  return (uint32_t)v;
}

/* Returns the cell of constant `bits` (deduplicated), or NO_POS when out of memory. */
static uint32_t const_cell(tr *t, uint64_t bits) {
  if (t->nconst * 2 >= t->chash_cap) {
    /* Every constant is rehashed, v128 halves too (tr_v128_const adds them without hashing), so
     * one doubling may not be enough: the table must stay under half full or a probe never ends. */
    uint32_t ncap = t->chash_cap ? t->chash_cap : 32;
    while (ncap <= t->nconst * 2) ncap *= 2;
    uint32_t *h = hvw__calloc(ncap, sizeof *h);
    if (!h) {
      t->oom = true;
      return NO_POS;
    }
    for (uint32_t k = 0; k < t->nconst; k++) {
      uint32_t i = hash64(t->consts[k]) & (ncap - 1);
      while (h[i]) i = (i + 1) & (ncap - 1);
      h[i] = k + 1;
    }
    free(t->chash);
    t->chash = h;
    t->chash_cap = ncap;
  }
  uint32_t i = hash64(bits) & (t->chash_cap - 1);
  while (t->chash[i]) {
    uint32_t k = t->chash[i] - 1;
    if (t->consts[k] == bits) return t->local_cells + k;
    i = (i + 1) & (t->chash_cap - 1);
  }
  if (!GROW(t, t->consts, t->constcap, t->nconst + 1)) return NO_POS;
  t->consts[t->nconst] = bits;
  t->chash[i] = ++t->nconst;
  return t->local_cells + t->nconst - 1;
}

/* ---- operand stack ------------------------------------------------------------------------ */

static bool is_num(uint8_t ty) {
  return ty == HVW_TYPE_I32 || ty == HVW_TYPE_I64 || ty == HVW_TYPE_F32 || ty == HVW_TYPE_F64;
}
static bool is_ref(uint8_t ty) { return ty == HVW_TYPE_FUNCREF || ty == HVW_TYPE_EXTERNREF; }
static bool is_valtype(uint8_t ty) { return is_num(ty) || ty == HVW_TYPE_V128 || is_ref(ty); }

/* Cells of an operand of type `ty`. T_UNKNOWN, the polymorphic stack's bottom type, only occurs
 * where nothing is emitted; it counts as one so the heights stay consistent. */
static uint32_t value_cells(uint8_t ty) {
  if (ty == T_UNKNOWN) return 1;
  uint32_t n = hvw__type_cells(ty);
  HVW__DEBUG_ASSERT(n > 0);
  return n;
}

static const char *type_name(uint8_t ty) {
  const char *n = hvw_valtype_name(ty);
  return n ? n : "unknown";
}

static bool push_entry(tr *t, uint8_t type, uint8_t kind, uint32_t loc, uint32_t local) {
  if (t->vn >= HVW_MAX_OPERAND_DEPTH)
    return fail(t, HVW_IMPL_LIMIT, "operand stack deeper than %u", HVW_MAX_OPERAND_DEPTH);
  if (t->vn >= t->vcap && !GROW(t, t->vs, t->vcap, t->vn + 1)) return false;
  ventry *e = &t->vs[t->vn];
  e->type = type;
  e->kind = kind;
  e->slot = t->cell_height;
  e->loc = kind == K_TEMP ? (TEMP_FLAG | t->cell_height) : loc;
  e->next = -1;
  e->local = local;
  if (kind == K_LOCAL) {
    if (t->nrefs >= t->refcap && !GROW(t, t->refs, t->refcap, t->nrefs + 1)) return false;
    t->refs[t->nrefs++] = t->vn;
    e->next = t->lhead[local];
    t->lhead[local] = (int32_t)t->vn;
  }
  t->vn++;
  t->cell_height += value_cells(type);
  if (t->cell_height > t->max_cells) t->max_cells = t->cell_height;
  return true;
}

static bool push(tr *t, uint8_t type) { return push_entry(t, type, K_TEMP, 0, 0); }

static bool push_local(tr *t, uint32_t x) {
  if (!t->emit) return push(t, t->ltypes[x]);
  return push_entry(t, t->ltypes[x], K_LOCAL, t->lcell[x], x);
}

/* A constant of a one-cell type: the constant area holds one cell per constant. */
static bool push_const(tr *t, uint8_t type, uint64_t bits) {
  HVW__DEBUG_ASSERT(hvw__type_cells(type) == 1);
  if (!t->emit) return push(t, type);
  uint32_t cell = const_cell(t, bits);
  if (cell == NO_POS) return false;
  return push_entry(t, type, K_CONST, cell, 0);
}

/* Removes the top entry, keeping the per-local lists right. */
static ventry pop_raw(tr *t) {
  ventry e = t->vs[--t->vn];
  HVW__DEBUG_ASSERT(e.slot + value_cells(e.type) == t->cell_height);
  if (e.kind == K_LOCAL) t->lhead[e.local] = e.next;
  while (t->nrefs && t->refs[t->nrefs - 1] >= t->vn) t->nrefs--;
  t->cell_height = e.slot;
  return e;
}

/* Pops an operand of type `expect` (0: any). In unreachable code an empty frame yields unknowns. */
static bool pop(tr *t, uint8_t expect, ventry *out) {
  ctl *c = &t->cs[t->cn - 1];
  if (HVW__LIKELY(t->vn > c->height)) {
    ventry *e = &t->vs[--t->vn];
    HVW__DEBUG_ASSERT(e->slot + value_cells(e->type) == t->cell_height);
    if (e->kind == K_LOCAL) t->lhead[e->local] = e->next;
    if (t->nrefs && t->refs[t->nrefs - 1] >= t->vn) {
      while (t->nrefs && t->refs[t->nrefs - 1] >= t->vn) t->nrefs--;
    }
    t->cell_height = e->slot;
    if (HVW__UNLIKELY(expect && e->type != expect && e->type != T_UNKNOWN))
      return fail(t, HVW_INVALID, "type mismatch: expected %s, got %s", type_name(expect), type_name(e->type));
    if (out) *out = *e;
    return true;
  }
  {
    if (!c->unreachable) {
      if (expect) return fail(t, HVW_INVALID, "type mismatch: expected %s but nothing on the stack", type_name(expect));
      return fail(t, HVW_INVALID, "type mismatch: expected a value but nothing on the stack");
    }
    if (out) {
      memset(out, 0, sizeof *out);
      out->type = expect ? expect : T_UNKNOWN;
      out->kind = K_TEMP;
      out->slot = t->cell_height;
      out->loc = TEMP_FLAG | t->cell_height;
    }
    return true;
  }
}

/* Checks that the top of the stack holds `types` without changing anything. */
static bool check_top(tr *t, const hvw_valtype *types, uint32_t n) {
  ctl *c = &t->cs[t->cn - 1];
  for (uint32_t k = 0; k < n; k++) {
    uint8_t want = types[n - 1 - k];
    if (t->vn < c->height + k + 1) {
      if (c->unreachable) return true;
      return fail(t, HVW_INVALID, "type mismatch: expected %s but nothing on the stack", type_name(want));
    }
    uint8_t have = t->vs[t->vn - 1 - k].type;
    if (have != want && have != T_UNKNOWN)
      return fail(t, HVW_INVALID, "type mismatch: expected %s, got %s", type_name(want), type_name(have));
  }
  return true;
}

static bool pop_types(tr *t, const hvw_valtype *types, uint32_t n) {
  for (uint32_t k = n; k-- > 0;)
    if (!pop(t, types[k], NULL)) return false;
  return true;
}

static bool push_types(tr *t, const hvw_valtype *types, uint32_t n) {
  for (uint32_t k = 0; k < n; k++)
    if (!push(t, types[k])) return false;
  return true;
}

/* Copies a deferred entry into its natural slot. The caller keeps the local lists right. */
static void materialize_entry(tr *t, ventry *e) {
  if (e->kind == K_TEMP) return;
  uint32_t dst = TEMP_FLAG | e->slot;
  emit_copy(t, dst, e->loc, value_cells(e->type));
  e->kind = K_TEMP;
  e->loc = dst;
}

/* Before local x is written: entries still reading it get their own copy. */
static void materialize_local(tr *t, uint32_t x) {
  for (int32_t i = t->lhead[x]; i >= 0;) {
    ventry *e = &t->vs[i];
    int32_t next = e->next;
    materialize_entry(t, e);
    i = next;
  }
  t->lhead[x] = -1;
  invalidate_peephole(t);
}

/* At block entry: no entry may keep reading a local the block could write. */
static void materialize_all_locals(tr *t) {
  for (uint32_t k = 0; k < t->nrefs; k++) {
    uint32_t i = t->refs[k];
    if (i < t->vn && t->vs[i].kind == K_LOCAL) {
      t->lhead[t->vs[i].local] = -1;
      materialize_entry(t, &t->vs[i]);
    }
  }
  t->nrefs = 0;
}

/* The top n entries go to their natural slots (operands of calls, block params, results). */
static void materialize_top(tr *t, uint32_t n) {
  ctl *c = &t->cs[t->cn - 1];
  for (uint32_t k = 0; k < n && t->vn > c->height + k; k++) {
    ventry *e = &t->vs[t->vn - 1 - k];
    if (e->kind == K_LOCAL) t->lhead[e->local] = e->next; /* it is the newest reference */
    materialize_entry(t, e);
  }
}

/* Drops the operands of the current frame (after an unconditional branch). */
static void truncate_to_frame(tr *t) {
  ctl *c = &t->cs[t->cn - 1];
  while (t->vn > c->height) pop_raw(t);
  t->cell_height = c->cells;
}

/* ---- control frames ----------------------------------------------------------------------- */

static uint32_t label_arity(const ctl *c) { return c->kind == C_LOOP ? c->bt.nparams : c->bt.nresults; }
static uint32_t label_cells(const ctl *c) { return c->kind == C_LOOP ? c->bt.param_cells : c->bt.result_cells; }
static const hvw_valtype *label_types(const ctl *c) {
  return c->kind == C_LOOP ? c->bt.params : c->bt.results;
}

static bool push_ctl(tr *t, uint8_t kind, const blocktype *bt) {
  if (t->cn >= HVW_MAX_CONTROL_DEPTH + 1)
    return fail(t, HVW_IMPL_LIMIT, "blocks nested deeper than %u", HVW_MAX_CONTROL_DEPTH);
  if (t->cn >= t->ccap && !GROW(t, t->cs, t->ccap, t->cn + 1)) return false;
  ctl *c = &t->cs[t->cn++];
  memset(c, 0, sizeof *c);
  c->bt = *bt;
  c->kind = kind;
  c->height = t->vn - (kind == C_FUNC ? 0 : bt->nparams);
  c->cells = t->cell_height - (kind == C_FUNC ? 0 : bt->param_cells);
  HVW__DEBUG_ASSERT(c->height == t->vn || t->vs[c->height].slot == c->cells || !t->emit);
  c->gen = ++t->gen;
  c->pending = -1;
  c->if_op = NO_POS;
  c->dead_entry = !t->emit;
  return true;
}

/* Sends a branch operand pair (offset at rel, cost at cost) to label `li`. */
static void link_target(tr *t, uint32_t op, uint32_t rel, uint32_t cost, uint32_t li) {
  if (t->oom) return;
  ctl *c = &t->cs[li];
  if (c->kind == C_LOOP) {
    t->code[rel] = c->header - op;
    if (cost == NO_POS) return;
    if (c->hdr_known) t->code[cost] = c->hdr_cost;
    else seg_attach(t, cost, c->hdr_base); /* the header is in the open segment */
    return;
  }
  if (!GROW(t, t->fw, t->fwcap, t->nfw + 1)) return;
  t->fw[t->nfw] = (fwd){op, rel, cost, c->pending};
  c->pending = (int32_t)t->nfw++;
}

/* Binds the end label of frame c here: forward branches land at the current position. */
static void bind_end_label(tr *t, ctl *c) {
  label_here(t);
  bool incoming = c->pending >= 0 || c->if_op != NO_POS;
  if (!incoming || t->oom) return;
  if (!t->seg_open) seg_start(t);
  for (int32_t i = c->pending; i >= 0; i = t->fw[i].next) {
    t->code[t->fw[i].rel] = t->cu - t->fw[i].op;
    if (t->fw[i].cost != NO_POS) seg_attach(t, t->fw[i].cost, t->seg_count);
  }
  c->pending = -1;
  if (c->if_op != NO_POS) {
    t->code[c->if_rel] = t->cu - c->if_op;
    seg_attach(t, c->if_cost, t->seg_count);
    c->if_op = NO_POS;
  }
}

/* ---- conditional branches ----------------------------------------------------------------- */

/* A branch condition: a plain i32 cell, or a fused integer compare. */
typedef struct cond {
  int cmp; /* -1: plain (jump when cell != 0), 10: eqz (jump when a == 0), else compare index */
  bool is64;
  uint32_t a, b;
  /* an i32.add whose result is `a`, emitted right before: fused into the branch if nothing is
   * emitted in between (add_end == cu when the branch is emitted) */
  bool add;
  uint32_t add_start, add_fix, add_end, add_a, add_b, add_d;
} cond;

static const uint8_t cmp_negate[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};

/* Pops the i32 condition, fusing with the compare that produced it when possible. */
static bool pop_cond(tr *t, cond *out) {
  ventry e;
  bool fusable = t->emit && t->cmp_kind >= 0 && t->last_end == t->cu;
  uint32_t slot = t->last_dst_slot;
  if (!pop(t, HVW_TYPE_I32, &e)) return false;
  out->cmp = -1;
  out->a = e.loc;
  out->b = 0;
  out->is64 = false;
  out->add = false;
  if (fusable && e.kind == K_TEMP && e.slot == slot) {
    out->cmp = t->cmp_kind;
    out->is64 = t->cmp_64;
    out->a = t->cmp_a;
    out->b = t->cmp_b;
    t->cu = t->cmp_start; /* the compare is folded into the branch */
    t->nfix = t->cmp_fix;
  }
  if (t->emit && t->add_valid && t->add_end == t->cu && !out->is64 && !t->oom &&
      t->code[t->add_dst_pos] == out->a) {
    out->add = true;
    out->add_start = t->add_start;
    out->add_fix = t->add_fix;
    out->add_end = t->add_end;
    out->add_a = t->add_a;
    out->add_b = t->add_b;
    out->add_d = out->a;
  }
  invalidate_peephole(t);
  return true;
}

/* Emits "jump if cond (or if !cond when negate)"; returns the op position. Its operands at the
 * returned position + `*rel_off`: offset, cost when taken, cost when falling through. */
static uint32_t emit_cond_jump(tr *t, const cond *c, bool negate, bool back, uint32_t *rel_off) {
  if (c->add && t->cu == c->add_end && t->add_valid) {
    /* d = a + b, then the branch on d: one operation (a loop counter and its test) */
    t->cu = c->add_start;
    t->nfix = c->add_fix;
    t->add_valid = false;
    uint32_t op = t->cu;
    if (c->cmp < 0 || c->cmp == 10) {
      bool jump_if_nonzero = (c->cmp < 0) != negate;
      emit_op(t, jump_if_nonzero ? (back ? HVW_OP_ADD_BR_IF_BACK : HVW_OP_ADD_BR_IF)
                                 : (back ? HVW_OP_ADD_BR_UNLESS_BACK : HVW_OP_ADD_BR_UNLESS));
      emit_loc(t, c->add_d);
      emit_loc(t, c->add_a);
      emit_loc(t, c->add_b);
      *rel_off = HVW_HANDLER_UNITS + 3;
    } else {
      int k = negate ? cmp_negate[c->cmp] : c->cmp;
      emit_op(t, (hvw_op)(HVW_OP_ADD_BR_EQ_I32 + 2 * k + (back ? 1 : 0)));
      emit_loc(t, c->add_d);
      emit_loc(t, c->add_a);
      emit_loc(t, c->add_b);
      emit_loc(t, c->b);
      *rel_off = HVW_HANDLER_UNITS + 4;
    }
    emit_u(t, 0);
    emit_u(t, 0);
    emit_u(t, 0);
    return op;
  }
  t->add_valid = false;
  uint32_t op = t->cu;
  if (c->cmp < 0 || c->cmp == 10) {
    bool jump_if_nonzero = (c->cmp < 0) != negate;
    hvw_op o = jump_if_nonzero ? (back ? HVW_OP_BR_IF_BACK : HVW_OP_BR_IF)
                                : (back ? HVW_OP_BR_UNLESS_BACK : HVW_OP_BR_UNLESS);
    emit_op(t, o);
    emit_loc(t, c->a);
    *rel_off = HVW_HANDLER_UNITS + 1;
  } else {
    int k = negate ? cmp_negate[c->cmp] : c->cmp;
    emit_op(t, (hvw_op)(HVW_OP_BR_EQ_I32 + 4 * k + (c->is64 ? 2 : 0) + (back ? 1 : 0)));
    emit_loc(t, c->a);
    emit_loc(t, c->b);
    *rel_off = HVW_HANDLER_UNITS + 2;
  }
  emit_u(t, 0);
  emit_u(t, 0);
  emit_u(t, 0);
  return op;
}

/* ---- branches ----------------------------------------------------------------------------- */

/* Results from the top of the stack to fp[0..), and return. */
static void emit_return(tr *t) {
  uint32_t n = t->ft->result_count, cells = t->ft->result_cells;
  if (n == 0) {
    emit_op(t, HVW_OP_RETURN0);
  } else if (cells == 1) {
    emit_op(t, HVW_OP_RETURN1);
    emit_loc(t, t->vs[t->vn - 1].loc);
  } else {
    materialize_top(t, n);
    emit_op(t, HVW_OP_RETURN_N);
    emit_loc(t, TEMP_FLAG | t->vs[t->vn - n].slot);
    emit_u(t, cells);
  }
}

static bool values_in_place(tr *t, const ctl *target) {
  uint32_t n = label_arity(target), at = target->cells;
  for (uint32_t i = 0; i < n; i++) {
    const ventry *e = &t->vs[t->vn - n + i];
    if (e->kind != K_TEMP || e->slot != at) return false;
    at += value_cells(e->type);
  }
  return true;
}

/* Moves the label's values from the top of the stack to the label's slots, then jumps. */
static void emit_transfer(tr *t, uint32_t li) {
  ctl *target = &t->cs[li];
  if (target->kind == C_FUNC) {
    emit_return(t);
    return;
  }
  uint32_t n = label_arity(target);
  bool all_temp = true;
  for (uint32_t i = 0; i < n; i++) all_temp &= t->vs[t->vn - n + i].kind == K_TEMP;
  uint32_t first = n ? t->vs[t->vn - n].slot : 0;
  if (n > 1 && all_temp) {
    /* temporaries sit in consecutive natural slots: one move for them all */
    HVW__DEBUG_ASSERT(first + label_cells(target) == t->cell_height);
    if (first != target->cells) {
      emit_op(t, HVW_OP_MOVE_N);
      emit_loc(t, TEMP_FLAG | target->cells);
      emit_loc(t, TEMP_FLAG | first);
      emit_u(t, label_cells(target));
    }
  } else {
    uint32_t at = target->cells;
    for (uint32_t i = 0; i < n; i++) {
      const ventry *e = &t->vs[t->vn - n + i];
      uint32_t dst = TEMP_FLAG | at, cells = value_cells(e->type);
      if (e->loc != dst) emit_copy(t, dst, e->loc, cells);
      at += cells;
    }
  }
  uint32_t op = t->cu;
  emit_op(t, target->kind == C_LOOP ? HVW_OP_BR_BACK : HVW_OP_BR);
  emit_u(t, 0);
  emit_u(t, 0);
  if (OK) link_target(t, op, op + HVW_HANDLER_UNITS, op + HVW_HANDLER_UNITS + 1, li);
}

static bool read_label(tr *t, uint32_t *li) {
  uint32_t depth = 0;
  if (!hvw_read_u32(&t->r, &depth)) return false;
  if (depth >= t->cn) return fail(t, HVW_INVALID, "unknown label %u", depth);
  *li = t->cn - 1 - depth;
  return true;
}

/* After an unconditional branch: the rest of the block is not executed. */
static void set_unreachable(tr *t) {
  seg_end(t);
  truncate_to_frame(t);
  t->cs[t->cn - 1].unreachable = true;
  t->emit = false;
  invalidate_peephole(t);
}

static bool op_br(tr *t, uint32_t li) {
  ctl *target = &t->cs[li];
  if (!check_top(t, label_types(target), label_arity(target))) return false;
  if (t->emit) emit_transfer(t, li);
  set_unreachable(t);
  return OK;
}

static bool op_br_if(tr *t, uint32_t li) {
  cond c;
  if (!pop_cond(t, &c)) return false;
  ctl *target = &t->cs[li];
  uint32_t n = label_arity(target);
  if (!t->emit) {
    /* the spec's rule: the label's types replace whatever was there */
    return pop_types(t, label_types(target), n) && push_types(t, label_types(target), n);
  }
  if (!check_top(t, label_types(target), n)) return false;
  uint32_t rel_off;
  if (target->kind != C_FUNC && values_in_place(t, target)) {
    uint32_t op = emit_cond_jump(t, &c, false, target->kind == C_LOOP, &rel_off);
    if (!OK) return false;
    link_target(t, op, op + rel_off, op + rel_off + 1, li);
    seg_end(t);
    seg_start(t);
    seg_attach(t, op + rel_off + 2, 0);
  } else {
    /* jump over the transfer when the condition is false; the transfer must not change the
     * entries, since the fall-through path still uses them. A return of more than one cell
     * (several results, or one v128) materializes them (emit_return): do it on both paths. */
    if (target->kind == C_FUNC && t->ft->result_cells > 1) materialize_top(t, n);
    uint32_t op = emit_cond_jump(t, &c, true, false, &rel_off);
    emit_transfer(t, li);
    seg_end(t);
    if (!OK) return false;
    t->code[op + rel_off] = t->cu - op;
    t->code[op + rel_off + 2] = 0; /* falls into the transfer, whose branch charges */
    label_here(t);
    seg_start(t);
    seg_attach(t, op + rel_off + 1, 0);
  }
  invalidate_peephole(t);
  return OK;
}

/* The br_table stub arrays, indexed by control index: as large as the control stack. */
static bool ensure_stubs(tr *t) {
  if (t->stub_cap >= t->cn) return true;
  uint32_t n = t->ccap;
  uint32_t *a = hvw__reallocarray(t->stub_stamp, n, sizeof *a);
  if (!a) {
    t->oom = true;
    return false;
  }
  t->stub_stamp = a;
  uint32_t *b = hvw__reallocarray(t->stub_pos, n, sizeof *b);
  if (!b) {
    t->oom = true;
    return false;
  }
  t->stub_pos = b;
  for (uint32_t i = t->stub_cap; i < n; i++) t->stub_stamp[i] = 0;
  t->stub_cap = n;
  return true;
}

static bool op_br_table(tr *t) {
  uint32_t count = 0;
  if (!hvw_read_count(&t->r, 1, HVW_MAX_BR_TABLE_TARGETS, "br_table targets", &count)) return false;
  /* labels are read twice: once to validate, once (from the same bytes) to emit */
  const uint8_t *labels_at = t->r.pos;
  uint32_t dli;
  for (uint32_t i = 0; i < count; i++)
    if (!read_label(t, &dli)) return false;
  if (!read_label(t, &dli)) return false;
  ventry idx;
  if (!pop(t, HVW_TYPE_I32, &idx)) return false;
  uint32_t arity = label_arity(&t->cs[dli]);
  const uint8_t *after = t->r.pos;
  t->r.pos = labels_at;
  if (!ensure_stubs(t)) return false;
  uint32_t checked = ++t->brt_id; /* each distinct label's types are checked once */
  for (uint32_t i = 0; i <= count; i++) {
    uint32_t li;
    if (!read_label(t, &li)) return false;
    if (label_arity(&t->cs[li]) != arity)
      return fail(t, HVW_INVALID, "type mismatch: br_table labels of different arities (%u and %u)",
                  label_arity(&t->cs[li]), arity);
    if (t->stub_stamp[li] == checked) continue;
    t->stub_stamp[li] = checked;
    if (!check_top(t, label_types(&t->cs[li]), arity)) return false;
  }
  if (t->emit) {
    materialize_top(t, arity);
    uint32_t first = arity ? t->vs[t->vn - arity].slot : t->cell_height;
    uint32_t op = t->cu;
    emit_op(t, HVW_OP_BR_TABLE);
    emit_loc(t, idx.loc);
    emit_u(t, count);
    uint32_t entries = t->cu;
    if (!OK || !GROW(t, t->code, t->codecap, t->cu + 2 * (count + 1))) return false;
    t->cu += 2 * (count + 1);
    if (!ensure_stubs(t)) return false;
    uint32_t id = ++t->brt_id;
    t->r.pos = labels_at;
    for (uint32_t i = 0; i <= count; i++) {
      uint32_t li;
      read_label(t, &li);
      ctl *target = &t->cs[li];
      uint32_t e = entries + 2 * i;
      if (target->kind != C_FUNC && (arity == 0 || target->cells == first)) {
        link_target(t, op, e, e + 1, li);
        continue;
      }
      /* a stub moves the values, then branches (one stub per target depth) */
      if (t->stub_stamp[li] != id) {
        t->stub_stamp[li] = id;
        t->stub_pos[li] = t->cu;
        if (target->kind == C_FUNC) {
          emit_return(t);
        } else {
          if (arity > 0) /* the values are materialized: consecutive cells from `first` */
            emit_copy(t, TEMP_FLAG | target->cells, TEMP_FLAG | first, label_cells(target));
          uint32_t bop = t->cu;
          emit_op(t, target->kind == C_LOOP ? HVW_OP_BR_BACK : HVW_OP_BR);
          emit_u(t, 0);
          emit_u(t, 0);
          if (!OK) return false;
          link_target(t, bop, bop + HVW_HANDLER_UNITS, bop + HVW_HANDLER_UNITS + 1, li);
        }
        if (!OK) return false;
      }
      t->code[e] = t->stub_pos[li] - op;
      t->code[e + 1] = 0;
    }
  }
  t->r.pos = after;
  set_unreachable(t);
  return OK;
}

/* ---- blocks ------------------------------------------------------------------------------- */

static const hvw_valtype single_types[] = {HVW_TYPE_I32,  HVW_TYPE_I64,     HVW_TYPE_F32, HVW_TYPE_F64,
                                            HVW_TYPE_V128, HVW_TYPE_FUNCREF, HVW_TYPE_EXTERNREF};

static const hvw_valtype *single(uint8_t ty) {
  for (size_t i = 0; i < sizeof single_types; i++)
    if (single_types[i] == ty) return &single_types[i];
  return NULL;
}

static bool read_blocktype(tr *t, blocktype *bt) {
  memset(bt, 0, sizeof *bt);
  if (t->r.pos >= t->r.end) return hvw_read_u8(&t->r, &(uint8_t){0});
  uint8_t b = *t->r.pos;
  if (b == 0x40) {
    t->r.pos++;
    return true;
  }
  if (single(b)) {
    t->r.pos++;
    bt->nresults = 1;
    bt->results = single(b);
    bt->result_cells = hvw__type_cells(b);
    return true;
  }
  int64_t v = 0;
  if (!hvw_read_sleb(&t->r, 33, &v)) return false;
  if (v < 0) return fail(t, HVW_MALFORMED, "malformed block type");
  if ((uint64_t)v >= t->m->type_count) return fail(t, HVW_INVALID, "unknown type %lld", (long long)v);
  const hvw_functype *ft = &t->m->types[v];
  bt->nparams = ft->param_count;
  bt->params = ft->types;
  bt->nresults = ft->result_count;
  bt->results = ft->types + ft->param_count;
  bt->param_cells = ft->param_cells;
  bt->result_cells = ft->result_cells;
  return true;
}

/* block, loop, if: pops (checks) the params; they stay on the stack, above the new frame. */
static bool begin_block(tr *t, uint8_t kind, const blocktype *bt, const cond *c) {
  if (!check_top(t, bt->params, bt->nparams)) return false;
  if (!t->emit) {
    /* the params' types become exactly the block's */
    if (!pop_types(t, bt->params, bt->nparams) || !push_types(t, bt->params, bt->nparams)) return false;
  } else {
    materialize_all_locals(t);
    materialize_top(t, bt->nparams);
  }
  if (!push_ctl(t, kind, bt)) return false;
  ctl *f = &t->cs[t->cn - 1];
  invalidate_peephole(t);
  if (!t->emit) return true;
  if (kind == C_LOOP) {
    label_here(t);
    f->header = t->cu;
    f->hdr_seg = t->seg_id;
    f->hdr_base = t->seg_count;
    if (!GROW(t, t->segl, t->seglcap, t->nsegl + 1)) return false;
    t->segl[t->nsegl++] = (pospair){t->cn - 1, f->gen};
  } else if (kind == C_IF) {
    uint32_t rel_off;
    uint32_t op = emit_cond_jump(t, c, true, false, &rel_off);
    if (!OK) return false;
    f->if_op = op;
    f->if_rel = op + rel_off;
    f->if_cost = op + rel_off + 1;
    seg_end(t);
    seg_start(t);
    seg_attach(t, op + rel_off + 2, 0);
  }
  return OK;
}

/* Checks the frame's results at else/end and puts them in their slots. */
static bool finish_results(tr *t) {
  ctl *c = &t->cs[t->cn - 1];
  uint32_t n = c->bt.nresults;
  if (t->emit) {
    if (!check_top(t, c->bt.results, n)) return false;
    if (t->vn != c->height + n)
      return fail(t, HVW_INVALID, "type mismatch: %u values left on the stack at the end of a block, expected %u",
                  t->vn - c->height, n);
    if (c->kind != C_FUNC) materialize_top(t, n); /* the function's results go by emit_return */
    return OK;
  }
  if (!pop_types(t, c->bt.results, n)) return false;
  if (t->vn != c->height)
    return fail(t, HVW_INVALID, "type mismatch: %u values left on the stack at the end of a block, expected %u",
                t->vn - c->height + n, n);
  return true;
}

static bool op_else(tr *t) {
  ctl *c = &t->cs[t->cn - 1];
  if (c->kind != C_IF) return fail(t, HVW_MALFORMED, "else without a matching if");
  if (!finish_results(t)) return false;
  if (t->emit) {
    uint32_t op = t->cu;
    emit_op(t, HVW_OP_BR);
    emit_u(t, 0);
    emit_u(t, 0);
    if (!OK) return false;
    link_target(t, op, op + HVW_HANDLER_UNITS, op + HVW_HANDLER_UNITS + 1, t->cn - 1);
    seg_end(t);
  }
  truncate_to_frame(t);
  c = &t->cs[t->cn - 1];
  c->kind = C_ELSE;
  c->unreachable = false;
  t->emit = !c->dead_entry;
  label_here(t);
  if (t->emit && c->if_op != NO_POS) {
    seg_start(t);
    t->code[c->if_rel] = t->cu - c->if_op;
    seg_attach(t, c->if_cost, 0);
    c->if_op = NO_POS;
  }
  return push_types(t, c->bt.params, c->bt.nparams);
}

static bool op_end(tr *t) {
  ctl *c = &t->cs[t->cn - 1];
  if (!finish_results(t)) return false;
  c = &t->cs[t->cn - 1];
  if (c->kind == C_IF) {
    /* no else: the false path hands the params on as results */
    bool same = c->bt.nparams == c->bt.nresults &&
                (c->bt.nparams == 0 || memcmp(c->bt.params, c->bt.results, c->bt.nparams) == 0);
    if (!same) return fail(t, HVW_INVALID, "type mismatch: if without else must leave its params as results");
  }
  if (c->kind == C_FUNC) {
    if (t->emit) {
      emit_return(t);
      seg_end(t);
    }
    t->cn--;
    return OK;
  }
  truncate_to_frame(t);
  if (!c->dead_entry) bind_end_label(t, c);
  ctl done = *c;
  t->cn--;
  t->emit = !done.dead_entry;
  if (t->emit && !t->seg_open) seg_start(t); /* code after a block no branch reaches */
  invalidate_peephole(t);
  return push_types(t, done.bt.results, done.bt.nresults);
}

/* ---- immediates ----------------------------------------------------------------------------- */

/* The `imm` column of opcodes.def: which immediates follow an opcode. */
enum {
  IMM_NONE, IMM_BLOCKTYPE, IMM_LABEL, IMM_BR_TABLE, IMM_FUNC, IMM_CALL_INDIRECT, IMM_SELECT_T,
  IMM_LOCAL, IMM_GLOBAL, IMM_TABLE, IMM_MEMARG, IMM_MEMORY, IMM_I32, IMM_I64, IMM_F32, IMM_F64,
  IMM_V128, IMM_LANE, IMM_SHUFFLE, IMM_MEMLANE, IMM_REFTYPE, IMM_DATA, IMM_ELEM, IMM_MEMORY_INIT,
  IMM_MEMORY_COPY, IMM_TABLE_INIT, IMM_TABLE_COPY,
};

/* An instruction's immediates, read and checked against the module by read_imm. */
typedef struct imm {
  uint32_t x;      /* LABEL: control index; FUNC, LOCAL, GLOBAL, TABLE, DATA, ELEM: the index;
                    * CALL_INDIRECT: the type; MEMORY_INIT: the data segment; TABLE_INIT and
                    * TABLE_COPY: the (destination) table */
  uint32_t y;      /* CALL_INDIRECT: the table; TABLE_INIT: the elem segment; TABLE_COPY: the source */
  uint32_t offset; /* MEMARG, MEMLANE */
  uint64_t bits;   /* I32 .. F64: the constant's cell; V128: its low cell; SHUFFLE: lanes 0-7 */
  uint64_t bits_hi; /* V128: the high cell; SHUFFLE: lanes 8-15 */
  uint8_t lane;    /* LANE, MEMLANE */
  uint8_t type;    /* SELECT_T, REFTYPE; 0 otherwise */
  blocktype bt;    /* BLOCKTYPE */
} imm;

static bool read_memarg(tr *t, uint32_t natural_bytes, uint32_t *offset) {
  uint32_t align = 0;
  if (!hvw_read_u32(&t->r, &align) || !hvw_read_u32(&t->r, offset)) return false;
  if (t->m->memory_count == 0) return fail(t, HVW_INVALID, "unknown memory 0");
  if (align >= 32 || (1u << align) > natural_bytes)
    return fail(t, HVW_INVALID, "alignment must not be larger than natural");
  return true;
}

static bool read_zero_byte(tr *t) {
  uint8_t b = 0;
  if (!hvw_read_u8(&t->r, &b)) return false;
  if (b != 0) return fail(t, HVW_MALFORMED, "zero byte expected");
  return true;
}

static bool need_memory(tr *t) {
  if (t->m->memory_count == 0) return fail(t, HVW_INVALID, "unknown memory 0");
  return true;
}

static bool read_func(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (*x >= t->m->func_count) return fail(t, HVW_INVALID, "unknown function %u", *x);
  return true;
}

static bool read_local(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (*x >= t->nlocals) return fail(t, HVW_INVALID, "unknown local %u", *x);
  return true;
}

static bool read_global(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (*x >= t->m->global_count) return fail(t, HVW_INVALID, "unknown global %u", *x);
  return true;
}

static bool read_table(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (*x >= t->m->table_count) return fail(t, HVW_INVALID, "unknown table %u", *x);
  return true;
}

static bool read_elem(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (*x >= t->m->elem_count) return fail(t, HVW_INVALID, "unknown elem segment %u", *x);
  return true;
}

static bool read_data(tr *t, uint32_t *x) {
  if (!hvw_read_u32(&t->r, x)) return false;
  if (!t->m->has_data_count) return fail(t, HVW_MALFORMED, "data count section required");
  if (*x >= t->m->data_count) return fail(t, HVW_INVALID, "unknown data segment %u", *x);
  return true;
}

static bool read_reftype(tr *t, uint8_t *ty) {
  if (!hvw_read_u8(&t->r, ty)) return false;
  if (!is_ref(*ty)) return fail(t, HVW_MALFORMED, "malformed reference type");
  return true;
}

/* select t: a vector of exactly one value type. */
static bool read_select_type(tr *t, uint8_t *ty) {
  uint32_t n = 0;
  if (!hvw_read_u32(&t->r, &n)) return false;
  if (n != 1) return fail(t, HVW_INVALID, "invalid result arity: select takes exactly one type");
  if (!hvw_read_u8(&t->r, ty)) return false;
  if (!is_valtype(*ty)) return fail(t, HVW_MALFORMED, "malformed value type 0x%02X", *ty);
  return true;
}

/* Reads and checks the immediates of an instruction of kind `kind` (natural_bytes: a memarg's). */
static bool read_imm(tr *t, uint8_t kind, uint32_t natural_bytes, imm *im) {
  im->type = 0;
  switch (kind) {
    case IMM_NONE: return true;
    case IMM_BLOCKTYPE: return read_blocktype(t, &im->bt);
    case IMM_LABEL: return read_label(t, &im->x);
    case IMM_BR_TABLE: return true; /* a vector of labels: tr_br_table reads it, twice */
    case IMM_FUNC: return read_func(t, &im->x);
    case IMM_CALL_INDIRECT:
      if (!hvw_read_u32(&t->r, &im->x) || !hvw_read_u32(&t->r, &im->y)) return false;
      if (im->y >= t->m->table_count) return fail(t, HVW_INVALID, "unknown table %u", im->y);
      if (im->x >= t->m->type_count) return fail(t, HVW_INVALID, "unknown type %u", im->x);
      return true;
    case IMM_SELECT_T: return read_select_type(t, &im->type);
    case IMM_LOCAL: return read_local(t, &im->x);
    case IMM_GLOBAL: return read_global(t, &im->x);
    case IMM_TABLE: return read_table(t, &im->x);
    case IMM_MEMARG: return read_memarg(t, natural_bytes, &im->offset);
    case IMM_MEMORY: return read_zero_byte(t) && need_memory(t);
    case IMM_I32: {
      int32_t v = 0;
      if (!hvw_read_s32(&t->r, &v)) return false;
      im->bits = (uint32_t)v;
      return true;
    }
    case IMM_I64: {
      int64_t v = 0;
      if (!hvw_read_s64(&t->r, &v)) return false;
      im->bits = (uint64_t)v;
      return true;
    }
    case IMM_F32: {
      uint32_t v = 0;
      if (!hvw_read_f32_bits(&t->r, &v)) return false;
      im->bits = v;
      return true;
    }
    case IMM_F64: return hvw_read_f64_bits(&t->r, &im->bits);
    case IMM_V128:
    case IMM_SHUFFLE: return hvw_read_f64_bits(&t->r, &im->bits) && hvw_read_f64_bits(&t->r, &im->bits_hi);
    case IMM_LANE: return hvw_read_u8(&t->r, &im->lane);
    case IMM_MEMLANE: return read_memarg(t, natural_bytes, &im->offset) && hvw_read_u8(&t->r, &im->lane);
    case IMM_REFTYPE: return read_reftype(t, &im->type);
    case IMM_DATA: return read_data(t, &im->x);
    case IMM_ELEM: return read_elem(t, &im->x);
    case IMM_MEMORY_INIT: return read_data(t, &im->x) && read_zero_byte(t) && need_memory(t);
    case IMM_MEMORY_COPY: return read_zero_byte(t) && read_zero_byte(t) && need_memory(t);
    case IMM_TABLE_INIT: return read_elem(t, &im->y) && read_table(t, &im->x);
    case IMM_TABLE_COPY: return read_table(t, &im->x) && read_table(t, &im->y);
  }
  return fail(t, HVW_MALFORMED, "immediates of kind %u", kind); /* no row has another kind */
}

/* ---- instructions ------------------------------------------------------------------------- */

/* What opcodes.def says about one instruction. */
typedef struct instr_info instr_info;
struct instr_info {
  bool (*translate)(tr *t, const instr_info *in, const imm *im); /* NULL: no such instruction */
  const char *text;
  uint16_t op;   /* the operation it owns, or HVW_OP_COUNT */
  uint8_t imm;   /* IMM_* */
  uint8_t in1, in2, out;
  uint8_t bytes; /* loads and stores */
  uint8_t gas;
};

static bool tr_numeric(tr *t, const instr_info *in, const imm *im) {
  ventry a, b;
  hvw_op op = (hvw_op)in->op;
  if (in->in2) {
    if (!pop(t, in->in2, &b) || !pop(t, in->in1, &a)) return false;
  } else if (!pop(t, in->in1, &a)) {
    return false;
  }
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (!t->emit) return true;
  uint32_t start = t->cu, nfix = t->nfix;
  emit_op(t, op);
  uint32_t dst_pos = t->cu;
  emit_loc(t, TEMP_FLAG | slot);
  emit_loc(t, a.loc);
  if (in->in2) emit_loc(t, b.loc);
  note_result(t, dst_pos, slot);
  if (op >= HVW_OP_I32_EQ && op <= HVW_OP_I32_GE_U) {
    t->cmp_kind = (int)(op - HVW_OP_I32_EQ);
    t->cmp_64 = false;
  } else if (op >= HVW_OP_I64_EQ && op <= HVW_OP_I64_GE_U) {
    t->cmp_kind = (int)(op - HVW_OP_I64_EQ);
    t->cmp_64 = true;
  } else if (op == HVW_OP_I32_EQZ) {
    t->cmp_kind = 10;
  }
  if (t->cmp_kind >= 0) {
    t->cmp_start = start;
    t->cmp_fix = nfix;
    t->cmp_a = a.loc;
    t->cmp_b = in->in2 ? b.loc : 0;
  }
  if (op == HVW_OP_I32_ADD) {
    t->add_valid = true;
    t->add_start = start;
    t->add_fix = nfix;
    t->add_end = t->cu;
    t->add_a = a.loc;
    t->add_b = b.loc;
    t->add_dst_pos = dst_pos;
  }
  return OK;
}

/* The ten integer compares fuse with br_if/if (cmp_kind is their index); the fused branches come
 * in the same order, four (i32, i32 back, i64, i64 back) or two (back or not) per compare. */
#define SAME_CMP_ORDER(c)                                                                            \
  _Static_assert(HVW_OP_I64_##c - HVW_OP_I64_EQ == HVW_OP_I32_##c - HVW_OP_I32_EQ &&                \
                     HVW_OP_BR_##c##_I32 - HVW_OP_BR_EQ_I32 == 4 * (HVW_OP_I32_##c - HVW_OP_I32_EQ) && \
                     HVW_OP_BR_##c##_I64_BACK == HVW_OP_BR_##c##_I32 + 3 &&                          \
                     HVW_OP_ADD_BR_##c##_I32 - HVW_OP_ADD_BR_EQ_I32 == 2 * (HVW_OP_I32_##c - HVW_OP_I32_EQ) && \
                     HVW_OP_ADD_BR_##c##_I32_BACK == HVW_OP_ADD_BR_##c##_I32 + 1,                   \
                 "opcodes.def: the compare " #c " is out of order");
SAME_CMP_ORDER(EQ) SAME_CMP_ORDER(NE) SAME_CMP_ORDER(LT_S) SAME_CMP_ORDER(LT_U) SAME_CMP_ORDER(GT_S)
SAME_CMP_ORDER(GT_U) SAME_CMP_ORDER(LE_S) SAME_CMP_ORDER(LE_U) SAME_CMP_ORDER(GE_S) SAME_CMP_ORDER(GE_U)
#undef SAME_CMP_ORDER
_Static_assert(HVW_OP_I32_GE_U - HVW_OP_I32_EQ == 9 && HVW_OP_I64_GE_U - HVW_OP_I64_EQ == 9,
               "opcodes.def: the ten integer compares of each type are consecutive");
_Static_assert(HVW_OP_ADD_BR_IF_BACK == HVW_OP_ADD_BR_IF + 1 &&
                   HVW_OP_ADD_BR_UNLESS_BACK == HVW_OP_ADD_BR_UNLESS + 1,
               "opcodes.def: ADD_BR_IF and ADD_BR_UNLESS are each followed by their _BACK form");

/* When the address was computed by the i32.add just emitted (into a temporary nothing else reads),
 * removes that add: the memory operation adds the two operands itself (the _X forms). */
static bool fuse_address(tr *t, const ventry *addr) {
  if (!t->add_valid || t->add_end != t->cu || t->oom || addr->kind != K_TEMP ||
      t->code[t->add_dst_pos] != (TEMP_FLAG | addr->slot))
    return false;
  t->cu = t->add_start;
  t->nfix = t->add_fix;
  t->add_valid = false;
  return true;
}

/* HVW__OPS_MEM makes NAME_X the operation right after NAME. */
_Static_assert(HVW_OP_I32_LOAD_X == HVW_OP_I32_LOAD + 1 && HVW_OP_I64_STORE32_X == HVW_OP_I64_STORE32 + 1,
               "opcodes.def: a load's or store's _X form follows it");

static bool tr_load(tr *t, const instr_info *in, const imm *im) {
  ventry addr;
  if (!pop(t, in->in1, &addr)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (!t->emit) return true;
  if (fuse_address(t, &addr)) {
    emit_op(t, (hvw_op)(in->op + 1));
    uint32_t dst_pos = t->cu;
    emit_loc(t, TEMP_FLAG | slot);
    emit_loc(t, t->add_a);
    emit_loc(t, t->add_b);
    emit_u(t, im->offset);
    note_result(t, dst_pos, slot);
    return OK;
  }
  emit_op(t, (hvw_op)in->op);
  uint32_t dst_pos = t->cu;
  emit_loc(t, TEMP_FLAG | slot);
  emit_loc(t, addr.loc);
  emit_u(t, im->offset);
  note_result(t, dst_pos, slot);
  return OK;
}

static bool tr_store(tr *t, const instr_info *in, const imm *im) {
  ventry addr, val;
  if (!pop(t, in->in2, &val) || !pop(t, in->in1, &addr)) return false;
  if (!t->emit) return true;
  if (fuse_address(t, &addr)) {
    emit_op(t, (hvw_op)(in->op + 1));
    emit_loc(t, t->add_a);
    emit_loc(t, t->add_b);
  } else {
    emit_op(t, (hvw_op)in->op);
    emit_loc(t, addr.loc);
  }
  emit_loc(t, val.loc);
  emit_u(t, im->offset);
  invalidate_peephole(t);
  return OK;
}

/* An operation with a single result pushed on the stack: op d, then `n` operand units. */
static void emit_result_op(tr *t, hvw_op op, uint32_t slot, const uint32_t *locs, uint32_t nlocs,
                           const uint32_t *imms, uint32_t nimms) {
  emit_op(t, op);
  uint32_t dst_pos = t->cu;
  emit_loc(t, TEMP_FLAG | slot);
  for (uint32_t i = 0; i < nlocs; i++) emit_loc(t, locs[i]);
  for (uint32_t i = 0; i < nimms; i++) emit_u(t, imms[i]);
  note_result(t, dst_pos, slot);
}

static void emit_plain_op(tr *t, hvw_op op, const uint32_t *locs, uint32_t nlocs, const uint32_t *imms,
                          uint32_t nimms) {
  emit_op(t, op);
  for (uint32_t i = 0; i < nlocs; i++) emit_loc(t, locs[i]);
  for (uint32_t i = 0; i < nimms; i++) emit_u(t, imms[i]);
  invalidate_peephole(t);
}

static bool op_call(tr *t, uint32_t func, const hvw_functype *ft, bool indirect, uint32_t type_index,
                    uint32_t table) {
  ventry idx = {0};
  if (indirect && !pop(t, HVW_TYPE_I32, &idx)) return false;
  const hvw_valtype *params = ft->types;
  if (!check_top(t, params, ft->param_count)) return false;
  if (t->emit) materialize_top(t, ft->param_count);
  if (!pop_types(t, params, ft->param_count)) return false;
  uint32_t arg = TEMP_FLAG | t->cell_height;
  if (!push_types(t, ft->types + ft->param_count, ft->result_count)) return false;
  if (!t->emit) return true;
  if (indirect) {
    emit_op(t, HVW_OP_CALL_INDIRECT);
    emit_loc(t, arg);
    emit_loc(t, idx.loc);
    emit_u(t, type_index);
    emit_u(t, table);
  } else if (func < t->m->func_import_count) {
    emit_op(t, HVW_OP_CALL_IMPORT);
    emit_loc(t, arg);
    emit_u(t, func);
  } else {
    uintptr_t p = (uintptr_t)&t->m->funcs[func];
    emit_op(t, HVW_OP_CALL);
    emit_loc(t, arg);
    emit_u(t, (uint32_t)p);
    emit_u(t, (uint32_t)((uint64_t)p >> 32));
  }
  invalidate_peephole(t);
  return OK;
}

static bool tr_call(tr *t, const instr_info *in, const imm *im) {
  return op_call(t, im->x, &t->m->types[t->m->funcs[im->x].type_index], false, 0, 0);
}

static bool tr_call_indirect(tr *t, const instr_info *in, const imm *im) {
  if (t->m->tables[im->y].elem != HVW_TYPE_FUNCREF)
    return fail(t, HVW_INVALID, "type mismatch: call_indirect through a table of %s",
                type_name(t->m->tables[im->y].elem));
  return op_call(t, 0, &t->m->types[im->x], true, im->x, im->y);
}

static bool op_local_set(tr *t, uint32_t x, bool tee) {
  ventry v;
  bool retarget = t->emit && !t->oom && t->last_end == t->cu && t->lhead[x] < 0;
  uint32_t dst_pos = t->last_dst_pos, slot = t->last_dst_slot;
  if (!pop(t, t->ltypes[x], &v)) return false;
  if (t->emit) {
    uint32_t cell = t->lcell[x];
    if (retarget && v.kind == K_TEMP && v.slot == slot) {
      t->code[dst_pos] = cell; /* the producer writes the local directly; the fixup skips it */
    } else {
      if (t->lhead[x] >= 0) materialize_local(t, x);
      if (v.loc != cell) emit_copy(t, cell, v.loc, value_cells(t->ltypes[x]));
    }
  }
  invalidate_peephole(t);
  if (tee) return push_local(t, x);
  return OK;
}

static bool tr_local_get(tr *t, const instr_info *in, const imm *im) {
  invalidate_peephole(t);
  return push_local(t, im->x);
}

static bool tr_local_set(tr *t, const instr_info *in, const imm *im) {
  return op_local_set(t, im->x, false);
}

static bool tr_local_tee(tr *t, const instr_info *in, const imm *im) {
  return op_local_set(t, im->x, true);
}

/* GLOBAL_GET and GLOBAL_SET move one cell, their _V128 forms two. */
static bool tr_global_get(tr *t, const instr_info *in, const imm *im) {
  uint32_t slot = t->cell_height;
  uint8_t type = t->m->globals[im->x].type;
  hvw_op op = hvw__type_cells(type) == 2 ? HVW_OP_GLOBAL_GET_V128 : (hvw_op)in->op;
  if (!push(t, type)) return false;
  if (t->emit) emit_result_op(t, op, slot, NULL, 0, &im->x, 1);
  return OK;
}

static bool tr_global_set(tr *t, const instr_info *in, const imm *im) {
  ventry a;
  if (!t->m->globals[im->x].mutable_) return fail(t, HVW_INVALID, "global is immutable: %u", im->x);
  uint8_t type = t->m->globals[im->x].type;
  if (!pop(t, type, &a)) return false;
  hvw_op op = hvw__type_cells(type) == 2 ? HVW_OP_GLOBAL_SET_V128 : (hvw_op)in->op;
  if (t->emit) emit_plain_op(t, op, &a.loc, 1, &im->x, 1);
  return OK;
}

static bool tr_unreachable(tr *t, const instr_info *in, const imm *im) {
  if (t->emit) emit_op(t, (hvw_op)in->op);
  set_unreachable(t);
  return OK;
}

static bool tr_nop(tr *t, const instr_info *in, const imm *im) {
  return true;
}

static bool tr_block(tr *t, const instr_info *in, const imm *im) {
  return begin_block(t, C_BLOCK, &im->bt, NULL);
}

static bool tr_loop(tr *t, const instr_info *in, const imm *im) {
  return begin_block(t, C_LOOP, &im->bt, NULL);
}

static bool tr_if(tr *t, const instr_info *in, const imm *im) {
  cond cd;
  return pop_cond(t, &cd) && begin_block(t, C_IF, &im->bt, &cd);
}

static bool tr_else(tr *t, const instr_info *in, const imm *im) {
  return op_else(t);
}

static bool tr_end(tr *t, const instr_info *in, const imm *im) {
  return op_end(t);
}

static bool tr_br(tr *t, const instr_info *in, const imm *im) {
  return op_br(t, im->x);
}

static bool tr_br_if(tr *t, const instr_info *in, const imm *im) {
  return op_br_if(t, im->x);
}

static bool tr_br_table(tr *t, const instr_info *in, const imm *im) {
  return op_br_table(t);
}

static bool tr_return(tr *t, const instr_info *in, const imm *im) {
  const hvw_functype *ft = t->ft;
  if (!check_top(t, ft->types + ft->param_count, ft->result_count)) return false;
  if (t->emit) emit_return(t);
  set_unreachable(t);
  return OK;
}

static bool tr_drop(tr *t, const instr_info *in, const imm *im) {
  invalidate_peephole(t);
  return pop(t, 0, NULL);
}

/* select (im->type 0: numeric operands of one type) and select t */
static bool tr_select(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  uint8_t want = im->type;
  if (!pop(t, HVW_TYPE_I32, &c) || !pop(t, want, &b) || !pop(t, want, &a)) return false;
  uint8_t ty = want;
  if (!want) {
    if ((a.type != T_UNKNOWN && is_ref(a.type)) || (b.type != T_UNKNOWN && is_ref(b.type)))
      return fail(t, HVW_INVALID, "type mismatch: select without a type needs numeric or vector operands");
    if (a.type != b.type && a.type != T_UNKNOWN && b.type != T_UNKNOWN)
      return fail(t, HVW_INVALID, "type mismatch: select of %s and %s", type_name(a.type), type_name(b.type));
    ty = a.type == T_UNKNOWN ? b.type : a.type;
  }
  uint32_t slot = t->cell_height;
  hvw_op op = value_cells(ty) == 2 ? HVW_OP_SELECT_V128 : HVW_OP_SELECT;
  if (!push(t, ty)) return false;
  if (t->emit) emit_result_op(t, op, slot, (uint32_t[]){a.loc, b.loc, c.loc}, 3, NULL, 0);
  return OK;
}

static bool tr_table_get(tr *t, const instr_info *in, const imm *im) {
  ventry a;
  if (!pop(t, HVW_TYPE_I32, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, t->m->tables[im->x].elem)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, &a.loc, 1, &im->x, 1);
  return OK;
}

static bool tr_table_set(tr *t, const instr_info *in, const imm *im) {
  ventry a, b;
  if (!pop(t, t->m->tables[im->x].elem, &b) || !pop(t, HVW_TYPE_I32, &a)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc}, 2, &im->x, 1);
  return OK;
}

static bool tr_memory_size(tr *t, const instr_info *in, const imm *im) {
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, NULL, 0, NULL, 0);
  return OK;
}

static bool tr_memory_grow(tr *t, const instr_info *in, const imm *im) {
  ventry a;
  if (!pop(t, in->in1, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, &a.loc, 1, NULL, 0);
  return OK;
}

/* v128.const: two consecutive cells of the constant area (not deduplicated as a pair; scalar
 * constants with the same bits may share a half, which is harmless: constants are read-only). */
static bool tr_v128_const(tr *t, const instr_info *in, const imm *im) {
  invalidate_peephole(t);
  if (!t->emit) return push(t, in->out);
  if (!GROW(t, t->consts, t->constcap, t->nconst + 2)) return false;
  uint32_t cell = t->local_cells + t->nconst;
  t->consts[t->nconst++] = im->bits;
  t->consts[t->nconst++] = im->bits_hi;
  return push_entry(t, in->out, K_CONST, cell, 0);
}

/* Lane instructions: extract (d a lane) when the row has no second operand, else replace (d a b
 * lane). The row's `bytes` column is the lane count. */
static bool tr_lane(tr *t, const instr_info *in, const imm *im) {
  if (im->lane >= in->bytes) return fail(t, HVW_INVALID, "invalid lane index %u", im->lane);
  ventry a, b;
  if (in->in2 && !pop(t, in->in2, &b)) return false;
  if (!pop(t, in->in1, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  uint32_t lane = im->lane;
  if (!t->emit) return true;
  if (in->in2) emit_result_op(t, (hvw_op)in->op, slot, (uint32_t[]){a.loc, b.loc}, 2, &lane, 1);
  else emit_result_op(t, (hvw_op)in->op, slot, &a.loc, 1, &lane, 1);
  return OK;
}

/* i8x16.shuffle: 16 lane indices into the 32 bytes of both operands, as 4 operand units. */
static bool tr_shuffle(tr *t, const instr_info *in, const imm *im) {
  for (int i = 0; i < 16; i++) {
    uint8_t lane = (uint8_t)((i < 8 ? im->bits : im->bits_hi) >> (8 * (i % 8)));
    if (lane >= 32) return fail(t, HVW_INVALID, "invalid lane index %u", lane);
  }
  ventry a, b;
  if (!pop(t, in->in2, &b) || !pop(t, in->in1, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  uint32_t lanes[4] = {(uint32_t)im->bits, (uint32_t)(im->bits >> 32), (uint32_t)im->bits_hi,
                       (uint32_t)(im->bits_hi >> 32)};
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, (uint32_t[]){a.loc, b.loc}, 2, lanes, 4);
  return OK;
}

/* v128.loadN_lane: d addr v offset lane (the lane of v replaced by the N bytes at the address). */
static bool tr_load_lane(tr *t, const instr_info *in, const imm *im) {
  if (im->lane >= 16 / in->bytes) return fail(t, HVW_INVALID, "invalid lane index %u", im->lane);
  ventry addr, v;
  if (!pop(t, in->in2, &v) || !pop(t, in->in1, &addr)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit)
    emit_result_op(t, (hvw_op)in->op, slot, (uint32_t[]){addr.loc, v.loc}, 2, (uint32_t[]){im->offset, im->lane}, 2);
  return OK;
}

/* v128.storeN_lane: addr v offset lane. */
static bool tr_store_lane(tr *t, const instr_info *in, const imm *im) {
  if (im->lane >= 16 / in->bytes) return fail(t, HVW_INVALID, "invalid lane index %u", im->lane);
  ventry addr, v;
  if (!pop(t, in->in2, &v) || !pop(t, in->in1, &addr)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){addr.loc, v.loc}, 2, (uint32_t[]){im->offset, im->lane}, 2);
  return OK;
}

/* v128.bitselect: three v128 operands. */
static bool tr_bitselect(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (!pop(t, HVW_TYPE_V128, &c) || !pop(t, HVW_TYPE_V128, &b) || !pop(t, HVW_TYPE_V128, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, (uint32_t[]){a.loc, b.loc, c.loc}, 3, NULL, 0);
  return OK;
}

static bool tr_const(tr *t, const instr_info *in, const imm *im) {
  invalidate_peephole(t);
  return push_const(t, in->out, im->bits);
}

/* Reinterpretations cost nothing: the same bits get a new type. */
static bool tr_reinterpret(tr *t, const instr_info *in, const imm *im) {
  ctl *cf = &t->cs[t->cn - 1];
  if (t->vn == cf->height) return pop(t, in->in1, NULL) && push(t, in->out);
  ventry *e = &t->vs[t->vn - 1];
  if (e->type != in->in1 && e->type != T_UNKNOWN)
    return fail(t, HVW_INVALID, "type mismatch: expected %s, got %s", type_name(in->in1), type_name(e->type));
  HVW__DEBUG_ASSERT(value_cells(in->in1) == value_cells(in->out));
  e->type = in->out;
  /* the producer's destination may still be retargeted: the value did not move */
  return true;
}

static bool tr_ref_null(tr *t, const instr_info *in, const imm *im) {
  invalidate_peephole(t);
  return push_const(t, im->type, 0);
}

static bool tr_ref_is_null(tr *t, const instr_info *in, const imm *im) {
  ventry a;
  if (!pop(t, 0, &a)) return false;
  if (a.type != T_UNKNOWN && !is_ref(a.type))
    return fail(t, HVW_INVALID, "type mismatch: ref.is_null of %s", type_name(a.type));
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit) emit_result_op(t, HVW_OP_I64_EQZ, slot, &a.loc, 1, NULL, 0); /* null is 0 */
  return OK;
}

static bool tr_ref_func(tr *t, const instr_info *in, const imm *im) {
  if (!hvw__func_ref_declared(t->m, im->x)) return fail(t, HVW_INVALID, "undeclared function reference %u", im->x);
  uint32_t slot = t->cell_height;
  if (!push(t, in->out)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, NULL, 0, &im->x, 1);
  return OK;
}

/* Pops three i32 operands a, b, c (c on top). */
static bool pop_3_i32(tr *t, ventry *a, ventry *b, ventry *c) {
  return pop(t, HVW_TYPE_I32, c) && pop(t, HVW_TYPE_I32, b) && pop(t, HVW_TYPE_I32, a);
}

static bool tr_memory_init(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (!pop_3_i32(t, &a, &b, &c)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc, c.loc}, 3, &im->x, 1);
  return OK;
}

static bool tr_data_drop(tr *t, const instr_info *in, const imm *im) {
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, NULL, 0, &im->x, 1);
  return OK;
}

/* memory.copy and memory.fill */
static bool tr_memory_bulk(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (!pop_3_i32(t, &a, &b, &c)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc, c.loc}, 3, NULL, 0);
  return OK;
}

static bool tr_table_init(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (t->m->elems[im->y].type != t->m->tables[im->x].elem)
    return fail(t, HVW_INVALID, "type mismatch: table.init of %s elements into a %s table",
                type_name(t->m->elems[im->y].type), type_name(t->m->tables[im->x].elem));
  if (!pop_3_i32(t, &a, &b, &c)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc, c.loc}, 3, (uint32_t[]){im->x, im->y}, 2);
  return OK;
}

static bool tr_elem_drop(tr *t, const instr_info *in, const imm *im) {
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, NULL, 0, &im->x, 1);
  return OK;
}

static bool tr_table_copy(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (t->m->tables[im->x].elem != t->m->tables[im->y].elem)
    return fail(t, HVW_INVALID, "type mismatch: table.copy between %s and %s tables",
                type_name(t->m->tables[im->y].elem), type_name(t->m->tables[im->x].elem));
  if (!pop_3_i32(t, &a, &b, &c)) return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc, c.loc}, 3, (uint32_t[]){im->x, im->y}, 2);
  return OK;
}

static bool tr_table_grow(tr *t, const instr_info *in, const imm *im) {
  ventry a, b;
  if (!pop(t, HVW_TYPE_I32, &b) || !pop(t, t->m->tables[im->x].elem, &a)) return false;
  uint32_t slot = t->cell_height;
  if (!push(t, HVW_TYPE_I32)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, (uint32_t[]){a.loc, b.loc}, 2, &im->x, 1);
  return OK;
}

static bool tr_table_size(tr *t, const instr_info *in, const imm *im) {
  uint32_t slot = t->cell_height;
  if (!push(t, HVW_TYPE_I32)) return false;
  if (t->emit) emit_result_op(t, (hvw_op)in->op, slot, NULL, 0, &im->x, 1);
  return OK;
}

static bool tr_table_fill(tr *t, const instr_info *in, const imm *im) {
  ventry a, b, c;
  if (!pop(t, HVW_TYPE_I32, &c) || !pop(t, t->m->tables[im->x].elem, &b) || !pop(t, HVW_TYPE_I32, &a))
    return false;
  if (t->emit) emit_plain_op(t, (hvw_op)in->op, (uint32_t[]){a.loc, b.loc, c.loc}, 3, &im->x, 1);
  return OK;
}

/* The `ops` column: the operation an instruction owns (the first, for MEM), else HVW_OP_COUNT. */
#define OWN_OP_NONE(NAME) HVW_OP_COUNT
#define OWN_OP_U0(NAME) HVW_OP_##NAME
#define OWN_OP_U1(NAME) HVW_OP_##NAME
#define OWN_OP_U2(NAME) HVW_OP_##NAME
#define OWN_OP_U3(NAME) HVW_OP_##NAME
#define OWN_OP_U4(NAME) HVW_OP_##NAME
#define OWN_OP_U5(NAME) HVW_OP_##NAME
#define OWN_OP_U7(NAME) HVW_OP_##NAME
#define OWN_OP_NUM(NAME) HVW_OP_##NAME
#define OWN_OP_MEM(NAME) HVW_OP_##NAME
#define OWN_OP_VAR(NAME) HVW_OP_##NAME

/* Instructions by opcode: a byte indexes directly, 0xFC n is at 0x100 + n, 0xFD n after those. An
 * opcodes.def row outside the table fails to compile (index out of bounds), as does a duplicate
 * (-Woverride-init, part of -Wextra). */
#define FC_SLOTS 0x20u
#define FD_SLOTS 0x120u
#define INSTR_SLOTS (0x100u + FC_SLOTS + FD_SLOTS)
#define INSTR_INDEX(code)                                                                          \
  ((code) < 0x100u ? (code) : ((code) >> 16) == 0xFC ? 0x100u + ((code) & 0xFFFFu)                 \
                                                     : 0x100u + FC_SLOTS + ((code) & 0xFFFFu))
static const instr_info instr_table[INSTR_SLOTS] = {
#define HVW_INSTR(NAME, code, text, imm, translate, in1, in2, out, bytes, ops, gas)                       \
  [INSTR_INDEX(code)] = {tr_##translate, text, OWN_OP_##ops(NAME), IMM_##imm, HVW__TY_##in1, HVW__TY_##in2, \
                         HVW__TY_##out, bytes, GAS_##gas},
#define HVW_OP_ROW(NAME, units)
#include "opcodes.def"
};

static const instr_info *instr_at(uint32_t code) {
  if (code >= 0x100 && !((code >> 16 == 0xFC && (code & 0xFFFF) < FC_SLOTS) ||
                         (code >> 16 == 0xFD && (code & 0xFFFF) < FD_SLOTS)))
    return NULL;
  const instr_info *in = &instr_table[INSTR_INDEX(code)];
  return in->translate ? in : NULL;
}

bool hvw__opcode_known(uint8_t byte) {
  return byte == 0xFC || byte == 0xFD || instr_table[byte].translate;
}

/* One instruction; false on failure. */
static bool translate_one(tr *t) {
  uint8_t byte = 0;
  t->insn_offset = hvw_reader_offset(&t->r);
  t->instr_text = NULL;
  if (!hvw_read_u8(&t->r, &byte)) return false;
  t->opcode = byte;
  if (byte == 0xFC) {
    uint32_t sub = 0;
    if (!hvw_read_u32(&t->r, &sub)) return false;
    t->opcode = HVW_FC(sub & 0xFFFF);
    if (sub >= FC_SLOTS || !instr_at(t->opcode)) return fail(t, HVW_MALFORMED, "illegal opcode 0xFC %u", sub);
  } else if (byte == 0xFD) {
    uint32_t sub = 0;
    if (!hvw_read_u32(&t->r, &sub)) return false;
    t->opcode = HVW_FD(sub & 0xFFFF);
    if (sub >= FD_SLOTS || !instr_at(t->opcode)) return fail(t, HVW_MALFORMED, "illegal opcode 0xFD %u", sub);
  }
  const instr_info *in = instr_at(t->opcode);
  if (!in) return fail(t, HVW_MALFORMED, "illegal opcode 0x%02X", byte);
  t->instr_text = in->text;
  if (t->emit) t->seg_count += in->gas;
  imm im;
  if (!read_imm(t, in->imm, in->bytes, &im)) return false;
  return in->translate(t, in, &im);
}

/* ---- the function ------------------------------------------------------------------------- */

static void tr_free(tr *t) {
  free(t->ltypes);
  free(t->lcell);
  free(t->lhead);
  free(t->vs);
  free(t->refs);
  free(t->cs);
  free(t->code);
  free(t->fix);
  free(t->fw);
  free(t->consts);
  free(t->chash);
  free(t->segp);
  free(t->segl);
  free(t->stub_stamp);
  free(t->stub_pos);
}

/* A constant table larger than this is freed between functions rather than cleared. */
#define CHASH_KEEP_MAX 4096u

/* Clears the per-function state and keeps the buffers: translating a module's functions one
 * after the other then allocates only when a function needs more than any before it (malloc and
 * the page faults of fresh memory were a third of the translation time). */
static void tr_reset(tr *t) {
  memset(t, 0, TR_KEPT_FROM);
  if (t->chash_cap > CHASH_KEEP_MAX) {
    free(t->chash);
    t->chash = NULL;
    t->chash_cap = 0;
  } else if (t->chash) {
    memset(t->chash, 0, (size_t)t->chash_cap * sizeof *t->chash);
  }
}

static bool setup_locals(tr *t, const hvw_funcdecl *fd) {
  uint64_t n = t->ft->param_count;
  for (uint32_t i = 0; i < fd->local_run_count; i++) n += fd->local_runs[i].count;
  if (n > HVW_MAX_LOCALS) return fail(t, HVW_IMPL_LIMIT, "more than %u locals", HVW_MAX_LOCALS);
  t->nlocals = (uint32_t)n;
  if (!GROW(t, t->ltypes, t->ltypes_cap, (uint32_t)n) || !GROW(t, t->lcell, t->lcell_cap, (uint32_t)n) ||
      !GROW(t, t->lhead, t->lhead_cap, (uint32_t)n))
    return false;
  uint32_t k = 0;
  for (uint32_t i = 0; i < t->ft->param_count; i++) t->ltypes[k++] = t->ft->types[i];
  for (uint32_t i = 0; i < fd->local_run_count; i++)
    for (uint32_t j = 0; j < fd->local_runs[i].count; j++) t->ltypes[k++] = fd->local_runs[i].type;
  uint32_t cell = 0; /* at most HVW_MAX_VALUE_CELLS * HVW_MAX_LOCALS */
  for (uint32_t i = 0; i < n; i++) {
    t->lhead[i] = -1;
    if (!is_valtype(t->ltypes[i])) return fail(t, HVW_MALFORMED, "local %u has an unsupported type", i);
    t->lcell[i] = cell;
    cell += hvw__type_cells(t->ltypes[i]);
  }
  t->local_cells = cell;
  /* callers put the arguments in the first param_cells cells: the map must agree */
  uint32_t params_end = t->ft->param_count < n ? t->lcell[t->ft->param_count] : cell;
  if (HVW__NEVER(params_end != t->ft->param_cells))
    return fail(t, HVW_IMPL_LIMIT, "engine invariant broken: parameter cells disagree with the type");
  return true;
}

/* ---- code memory -------------------------------------------------------------------------- */

/* The translations of a module live in a few large chunks it owns rather than one malloc block
 * per function (hvw__pages_map says why); the last chunk's unused tail is given back once every
 * function is translated. */
struct hvw__code_chunk {
  struct hvw__code_chunk *next;
  size_t size; /* mapped bytes, this header included */
  size_t used;
};

#define CODE_ALIGN 16u
#define MIN_CHUNK ((size_t)4 << 10)

static size_t align_code(size_t n) { return (n + CODE_ALIGN - 1) / CODE_ALIGN * CODE_ALIGN; }

/* `bytes` of code memory of m (16-byte aligned), or NULL when out of memory. `expect` is how much
 * the module's remaining functions will likely need: the size of a new chunk. */
static void *code_alloc(struct hvw_module *m, size_t bytes, size_t expect) {
  struct hvw__code_chunk *c = m->code_chunks;
  size_t header = align_code(sizeof *c);
  bytes = align_code(bytes);
  if (!c || c->size - c->used < bytes) {
    if (bytes > SIZE_MAX / 2) return NULL;
    size_t size = bytes + header > expect ? bytes + header : expect;
    if (size < MIN_CHUNK) size = MIN_CHUNK;
    c = hvw__pages_map(&size);
    if (!c) return NULL;
    c->next = m->code_chunks;
    c->size = size;
    c->used = header;
    m->code_chunks = c;
  }
  void *p = (uint8_t *)c + c->used;
  c->used += bytes;
  return p;
}

void hvw__code_chunks_free(struct hvw__code_chunk *chunks) {
  while (chunks) {
    struct hvw__code_chunk *next = chunks->next;
    hvw__pages_unmap(chunks, chunks->size);
    chunks = next;
  }
}

/* Builds the immutable code object from the translator's buffers. */
static struct hvw_code *finish(tr *t) {
  uint32_t temps_base = t->local_cells + t->nconst;
  uint64_t frame = (uint64_t)temps_base + t->max_cells;
  if (frame >= TEMP_FLAG) {
    record_failure(t, HVW_IMPL_LIMIT, "function frame too large");
    return NULL;
  }
  for (uint32_t i = 0; i < t->nfix; i++) {
    uint32_t *u = &t->code[t->fix[i]];
    if (*u & TEMP_FLAG) *u = temps_base + (*u & ~TEMP_FLAG);
  }
  uint32_t local_cells = t->local_cells - t->ft->param_cells; /* declared locals only */
  uint32_t init_cells = local_cells + t->nconst;
  size_t bytes = sizeof(struct hvw_code) + (size_t)init_cells * sizeof(hvw_cell) + (size_t)t->cu * sizeof(uint32_t);
  struct hvw_code *code = code_alloc(t->m, bytes, t->code_expect);
  if (!code) {
    t->oom = true;
    return NULL;
  }
  hvw_cell *init = (hvw_cell *)(code + 1);
  memset(init, 0, (size_t)local_cells * sizeof *init);
  if (t->nconst) memcpy(init + local_cells, t->consts, (size_t)t->nconst * sizeof *init);
  uint32_t *ops = (uint32_t *)(init + init_cells);
  memcpy(ops, t->code, (size_t)t->cu * sizeof *ops);
  code->start = ops + 1;
  code->param_cells = t->ft->param_cells;
  code->result_cells = t->ft->result_cells;
  code->init_cells = init_cells;
  code->frame_cells = (uint32_t)frame;
  code->entry_cost = ops[0];
  code->func_index = t->func_index;
  code->local_cells = local_cells;
  code->const_count = t->nconst;
  code->type = t->ft;
  code->init = init;
  code->units = t->cu;
  code->bytes = bytes;
  return code;
}

/* Translates one function with t (reset first); the code goes to m->funcs[func_index].code.
 * code_expect: see tr. */
static hvw_status compile_function(tr *t, struct hvw_module *m, uint32_t func_index,
                                    size_t code_expect, hvw_error *err) {
  tr_reset(t);
  t->m = m;
  t->code_expect = code_expect;
  t->func_index = func_index;
  t->err = err;
  t->cmp_kind = -1;
  t->last_end = NO_POS;
  t->handlers = hvw__interp_handlers();
  hvw_funcdecl *fd = &m->funcs[func_index];
  t->ft = &m->types[fd->type_index];
  hvw_reader_init(&t->r, m->bytes, fd->body, fd->body_end, err);
  struct hvw_code *code = NULL;
  blocktype fbt = {0, t->ft->result_count, NULL, t->ft->types + t->ft->param_count, 0, t->ft->result_cells};

  if (!setup_locals(t, fd)) goto out;
  {
    /* typical output: about two units of code and half a fixup per byte of body */
    uint32_t body = (uint32_t)(fd->body_end - fd->body);
    if (!GROW(t, t->code, t->codecap, 2 * body + 16) || !GROW(t, t->fix, t->fixcap, body / 2 + 16) ||
        !GROW(t, t->vs, t->vcap, 64) || !GROW(t, t->cs, t->ccap, 16))
      goto out;
  }
  t->emit = true;
  if (!push_ctl(t, C_FUNC, &fbt)) goto out;
  emit_u(t, 0); /* the entry cost */
  seg_start(t);
  seg_attach(t, 0, 0);
  while (TOK(*t) && t->cn > 0) {
    if (hvw_reader_at_end(&t->r)) {
      t->insn_offset = hvw_reader_offset(&t->r);
      record_failure(t, HVW_MALFORMED, "unexpected end of function body: END opcode expected");
      break;
    }
    translate_one(t);
  }
  if (TOK(*t) && !hvw_reader_at_end(&t->r)) {
    t->insn_offset = hvw_reader_offset(&t->r);
    t->opcode = 0x0B;
    t->instr_text = instr_at(0x0B)->text;
    record_failure(t, HVW_MALFORMED, "section size mismatch: bytes after the function's final end");
  }
  if (TOK(*t)) code = finish(t);

out:
  if (t->oom && !t->failed) hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of memory translating function %u", func_index);
  if (t->r.failed && !t->failed && !t->oom) {
    char msg[HVW_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s", err->message);
    hvw__fail(err, err->status, "function %u: %s", func_index, msg);
  }
  hvw_status st = code ? HVW_OK : err->status;
  if (!code && st == HVW_OK) st = HVW_INVALID;
  if (code) fd->code = code;
  return code ? HVW_OK : st;
}

hvw_status hvw__compile_functions(struct hvw_module *m, hvw_error *err) {
  hvw_error local_err;
  if (!err) err = &local_err;
  tr *t = hvw__calloc(1, sizeof *t);
  if (!t) return hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of memory translating the functions");
  /* the code takes about 4 bytes per byte of body (bench/engine's 5 MB module: 3.9) */
  uint64_t body_bytes = 0;
  for (uint32_t i = m->func_import_count; i < m->func_count; i++)
    body_bytes += (uint64_t)(m->funcs[i].body_end - m->funcs[i].body);
  hvw_status st = HVW_OK;
  for (uint32_t i = m->func_import_count; i < m->func_count && st == HVW_OK; i++) {
    uint64_t expect = body_bytes * 4 + (m->func_count - i) * (uint64_t)sizeof(struct hvw_code);
    body_bytes -= (uint64_t)(m->funcs[i].body_end - m->funcs[i].body);
    st = compile_function(t, m, i, expect > HVW__HUGE_PAGE * 64 ? HVW__HUGE_PAGE * 64 : (size_t)expect, err);
    if (st != HVW_OK && err->status == HVW_OK) hvw__fail(err, st, "function %u: %s", i, hvw_status_text(st));
    if (st == HVW_OK) m->code_bytes += hvw__code_size(m->funcs[i].code);
  }
  if (m->code_chunks) hvw__pages_trim(m->code_chunks, &m->code_chunks->size, m->code_chunks->used);
  tr_free(t);
  free(t);
  return st;
}


/* ---- introspection (tests, tuning) --------------------------------------------------------- */

/* Generated from opcodes.def, like the enum: an operation without a name or a length cannot exist. */
static const char *const op_names[] = {
#define HVW_EACH_OP(NAME, units) #NAME,
#include "each_op.h"
};
static const uint8_t op_operand_units[] = {
#define HVW_EACH_OP(NAME, units) units,
#include "each_op.h"
};
_Static_assert(sizeof op_names / sizeof op_names[0] == HVW_OP_COUNT, "one name per operation");
_Static_assert(sizeof op_operand_units == HVW_OP_COUNT, "one length per operation");

const char *hvw__op_name(hvw_op op) { return (unsigned)op < HVW_OP_COUNT ? op_names[op] : "?"; }

static uint32_t operand_units(hvw_op op, const uint32_t *p) {
  uint32_t units = op_operand_units[op];
  if (units != HVW_OP_UNITS_VARIABLE) return units;
  HVW__DEBUG_ASSERT(op == HVW_OP_BR_TABLE);
  return 2 + 2 * (p[HVW_HANDLER_UNITS + 1] + 1); /* index n, then n + 1 (rel, cost) pairs */
}

uint32_t hvw__op_units(hvw_op op, const uint32_t *p) { return HVW_HANDLER_UNITS + operand_units(op, p); }

hvw_op hvw__op_at(const uint32_t *p) {
  uint64_t a = (uint64_t)p[0] | (uint64_t)p[1] << 32;
  const void *const *h = hvw__interp_handlers();
  for (int op = 0; op < HVW_OP_COUNT; op++)
    if ((uint64_t)(uintptr_t)h[op] == a) return (hvw_op)op;
  return HVW_OP_COUNT;
}

size_t hvw__code_size(const struct hvw_code *code) { return code ? code->bytes : 0; }
