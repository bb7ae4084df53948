/*
 * wasm_gen.c: a structured generator of valid WebAssembly modules (see wasm_gen.h).
 *
 * Code is built as trees: gen_expr(t) emits instructions that leave exactly one value of type t,
 * gen_stmt() emits instructions that leave nothing, gen_values() a sequence of types. Every
 * construct checks that what it needs exists (a memory, a table of the right element type, a
 * label of the right type...) BEFORE it emits anything, and falls back to a leaf otherwise, so
 * the output is valid by construction. A budget of nodes per function and a nesting limit bound
 * the size whatever the input.
 */
#include "wasm_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  T_I32 = 0x7F, T_I64 = 0x7E, T_F32 = 0x7D, T_F64 = 0x7C, T_V128 = 0x7B, T_FUNCREF = 0x70,
  T_EXTERNREF = 0x6F,
};

#define G_MAX_TYPES 64
#define G_MAX_SIG 4          /* params or results of a signature or block type */
#define G_MAX_FUNCS 8        /* internal functions */
#define G_MAX_DEFINED (2 * G_MAX_FUNCS + 2) /* + wrappers, state, start */
#define G_MAX_TABLES 3
#define G_MAX_GLOBALS 8
#define G_MAX_DATAS 4
#define G_MAX_ELEMS 5        /* including the declarative one */
#define G_MAX_ELEM_ITEMS 6
#define G_MAX_LOCALS 160
#define G_MAX_LABELS 32
#define G_MAX_DEPTH 10       /* expression / block nesting */
#define G_MAX_STMTS 10       /* statements in one block */
#define G_LOOP_ITERS 4       /* deterministic mode: iterations of one loop entry */
#define G_MAX_LOOP_NEST 2    /* deterministic mode: nested counted loops */
#define G_FUEL 64            /* deterministic mode: calls per export */
#define G_DET_MAX_PAGES 4
#define G_DET_MAX_TABLE 32
#define G_TAP_GLOBAL 1       /* deterministic mode: the v128 global tap() folds SIMD results into */

/* ---- The byte source: every choice is read from the input; 0 once it runs out. -------------- */

typedef struct gsrc {
  const uint8_t *p;
  size_t n, pos;
} gsrc;

static uint32_t src_u8(gsrc *s) { return s->pos < s->n ? s->p[s->pos++] : 0; }

static uint32_t src_u32(gsrc *s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | src_u8(s);
  return v;
}

/* A number in [0, n); 0 when the input has run out. */
static uint32_t src_range(gsrc *s, uint32_t n) {
  if (n <= 1) return 0;
  return n <= 256 ? src_u8(s) % n : src_u32(s) % n;
}

/* True about pct% of the time on random bytes, and never once the input has run out. */
static bool src_more(gsrc *s, uint32_t pct) { return src_u8(s) % 100 >= 100 - pct; }

/* ---- Growing byte buffers (an allocation failure is remembered and reported at the end). ------ */

typedef struct gbuf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} gbuf;

static void b_raw(gbuf *b, const void *data, size_t len) {
  if (b->oom) return;
  if (b->n + len > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + len) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (len) memcpy(b->p + b->n, data, len);
  b->n += len;
}

static void b_u8(gbuf *b, uint32_t v) {
  uint8_t c = (uint8_t)v;
  b_raw(b, &c, 1);
}

static void b_uleb(gbuf *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7F;
    v >>= 7;
    b_u8(b, c | (v ? 0x80 : 0));
  } while (v);
}

static void b_sleb(gbuf *b, int64_t v) {
  for (;;) {
    uint8_t c = v & 0x7F;
    v >>= 7; /* arithmetic shift on every compiler we build with */
    bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
    b_u8(b, c | (done ? 0 : 0x80));
    if (done) return;
  }
}

static void b_le(gbuf *b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) b_u8(b, (uint32_t)(v >> (8 * i)));
}

static void b_name(gbuf *b, const char *name) {
  size_t len = strlen(name);
  b_uleb(b, len);
  b_raw(b, name, len);
}

/* Appends section `id` with the contents of `body`, then empties body. */
static void b_section(gbuf *out, uint8_t id, gbuf *body) {
  b_u8(out, id);
  b_uleb(out, body->n);
  b_raw(out, body->p, body->n);
  out->oom |= body->oom;
  body->n = 0;
}

/* ---- Interesting constants -------------------------------------------------------------------- */

static const uint32_t I32_VALUES[] = {
    0, 1, 2, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 8, 16, 31, 32, 63, 255, 256, 0xFFFF, 0x10000,
    0xFFFC, 7, 100, 0x80000001u, 0xFFFFFFFEu,
};
static const uint64_t I64_VALUES[] = {
    0, 1, 2, ~0ull, 0x7FFFFFFFFFFFFFFFull, 0x8000000000000000ull, 63, 64, 0xFFFFFFFFull,
    0x100000000ull, 0x80000000ull, 0xFFFFFFFF80000000ull, 255, 0x10000, 12345678901234ull,
};
static const uint32_t F32_VALUES[] = {
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0x7F800000, 0xFF800000,
    0x7FC00000, 0xFFC00000, 0x7FA00001, 0x4F000000, 0xCF000000, 0x5F000000, 0x4F800000,
    0x00000001, 0x7F7FFFFF, 0x3FC00000, 0xC0200000, 0x4B000001, 0xCF000001,
};
static const uint64_t F64_VALUES[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x3FF0000000000000ull, 0xBFF0000000000000ull,
    0x3FE0000000000000ull, 0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FF8000000000000ull,
    0xFFF8000000000000ull, 0x7FF4000000000001ull, 0x41E0000000000000ull, 0xC1E0000000200000ull,
    0x43E0000000000000ull, 0x41F0000000000000ull, 0x0000000000000001ull, 0x7FEFFFFFFFFFFFFFull,
    0x3FF8000000000000ull, 0xC004000000000000ull, 0x4330000000000001ull, 0xC3E0000000000001ull,
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Numeric operators, as ranges of opcodes with one signature each. ------------------------- */

typedef struct gop_range {
  uint8_t first, last, prefix; /* prefix 0 or 0xFC */
  uint8_t nin, in0, in1, out;
  uint8_t canon; /* deterministic mode: bit k = canonicalise NaNs of operand k */
} gop_range;

static const gop_range NUM_OPS[] = {
    {0x45, 0x45, 0, 1, T_I32, 0, T_I32, 0},       {0x67, 0x69, 0, 1, T_I32, 0, T_I32, 0},
    {0xC0, 0xC1, 0, 1, T_I32, 0, T_I32, 0},       {0x46, 0x4F, 0, 2, T_I32, T_I32, T_I32, 0},
    {0x6A, 0x78, 0, 2, T_I32, T_I32, T_I32, 0},   {0x50, 0x50, 0, 1, T_I64, 0, T_I32, 0},
    {0xA7, 0xA7, 0, 1, T_I64, 0, T_I32, 0},       {0x51, 0x5A, 0, 2, T_I64, T_I64, T_I32, 0},
    {0x5B, 0x60, 0, 2, T_F32, T_F32, T_I32, 0},   {0x61, 0x66, 0, 2, T_F64, T_F64, T_I32, 0},
    {0xA8, 0xA9, 0, 1, T_F32, 0, T_I32, 0},       {0xBC, 0xBC, 0, 1, T_F32, 0, T_I32, 1},
    {0x00, 0x01, 0xFC, 1, T_F32, 0, T_I32, 0},    {0xAA, 0xAB, 0, 1, T_F64, 0, T_I32, 0},
    {0x02, 0x03, 0xFC, 1, T_F64, 0, T_I32, 0},    {0x79, 0x7B, 0, 1, T_I64, 0, T_I64, 0},
    {0xC2, 0xC4, 0, 1, T_I64, 0, T_I64, 0},       {0x7C, 0x8A, 0, 2, T_I64, T_I64, T_I64, 0},
    {0xAC, 0xAD, 0, 1, T_I32, 0, T_I64, 0},       {0xAE, 0xAF, 0, 1, T_F32, 0, T_I64, 0},
    {0x04, 0x05, 0xFC, 1, T_F32, 0, T_I64, 0},    {0xB0, 0xB1, 0, 1, T_F64, 0, T_I64, 0},
    {0xBD, 0xBD, 0, 1, T_F64, 0, T_I64, 1},       {0x06, 0x07, 0xFC, 1, T_F64, 0, T_I64, 0},
    {0x8B, 0x91, 0, 1, T_F32, 0, T_F32, 0},       {0x92, 0x97, 0, 2, T_F32, T_F32, T_F32, 0},
    {0x98, 0x98, 0, 2, T_F32, T_F32, T_F32, 2},   {0xB2, 0xB3, 0, 1, T_I32, 0, T_F32, 0},
    {0xBE, 0xBE, 0, 1, T_I32, 0, T_F32, 0},       {0xB4, 0xB5, 0, 1, T_I64, 0, T_F32, 0},
    {0xB6, 0xB6, 0, 1, T_F64, 0, T_F32, 0},       {0x99, 0x9F, 0, 1, T_F64, 0, T_F64, 0},
    {0xA0, 0xA5, 0, 2, T_F64, T_F64, T_F64, 0},   {0xA6, 0xA6, 0, 2, T_F64, T_F64, T_F64, 2},
    {0xB7, 0xB8, 0, 1, T_I32, 0, T_F64, 0},       {0xB9, 0xBA, 0, 1, T_I64, 0, T_F64, 0},
    {0xBF, 0xBF, 0, 1, T_I64, 0, T_F64, 0},       {0xBB, 0xBB, 0, 1, T_F32, 0, T_F64, 0},
};

typedef struct gmem_op {
  uint8_t op, type, align; /* align: log2 of the natural alignment */
} gmem_op;

static const gmem_op LOADS[] = {
    {0x28, T_I32, 2}, {0x29, T_I64, 3}, {0x2A, T_F32, 2}, {0x2B, T_F64, 3}, {0x2C, T_I32, 0},
    {0x2D, T_I32, 0}, {0x2E, T_I32, 1}, {0x2F, T_I32, 1}, {0x30, T_I64, 0}, {0x31, T_I64, 0},
    {0x32, T_I64, 1}, {0x33, T_I64, 1}, {0x34, T_I64, 2}, {0x35, T_I64, 2},
};
static const gmem_op STORES[] = {
    {0x36, T_I32, 2}, {0x37, T_I64, 3}, {0x38, T_F32, 2}, {0x39, T_F64, 3}, {0x3A, T_I32, 0},
    {0x3B, T_I32, 1}, {0x3C, T_I64, 0}, {0x3D, T_I64, 1}, {0x3E, T_I64, 2},
};

/* ---- SIMD (0xFD) ------------------------------------------------------------------------------ */

/* Operations without immediates, as ranges of opcodes with one signature each. `canon` (the
 * deterministic mode): 4 or 8 when float lanes of that width may come out as NaNs whose bits the
 * spec leaves open; a v128's bits are visible to every integer and bitwise operation, so those
 * are canonicalised at once (a float operand of a splat or replace_lane is too, see gen_simd_op). */
typedef struct gsimd_range {
  uint8_t first, last;
  uint8_t nin, in0, in1, out;
  uint8_t canon;
} gsimd_range;

static const gsimd_range SIMD_OPS[] = {
    {14, 14, 2, T_V128, T_V128, T_V128, 0},   /* i8x16.swizzle */
    {15, 17, 1, T_I32, 0, T_V128, 0},         /* i8x16/i16x8/i32x4.splat */
    {18, 18, 1, T_I64, 0, T_V128, 0},         /* i64x2.splat */
    {19, 19, 1, T_F32, 0, T_V128, 0},         /* f32x4.splat */
    {20, 20, 1, T_F64, 0, T_V128, 0},         /* f64x2.splat */
    {35, 76, 2, T_V128, T_V128, T_V128, 0},   /* integer and float compares */
    {77, 77, 1, T_V128, 0, T_V128, 0},        /* v128.not */
    {78, 81, 2, T_V128, T_V128, T_V128, 0},   /* v128.and, andnot, or, xor */
    {83, 83, 1, T_V128, 0, T_I32, 0},         /* v128.any_true */
    {94, 94, 1, T_V128, 0, T_V128, 4},        /* f32x4.demote_f64x2_zero */
    {95, 95, 1, T_V128, 0, T_V128, 8},        /* f64x2.promote_low_f32x4 */
    {96, 98, 1, T_V128, 0, T_V128, 0},        /* i8x16.abs, neg, popcnt */
    {99, 100, 1, T_V128, 0, T_I32, 0},        /* i8x16.all_true, bitmask */
    {101, 102, 2, T_V128, T_V128, T_V128, 0}, /* i8x16.narrow_i16x8_s/u */
    {103, 106, 1, T_V128, 0, T_V128, 4},      /* f32x4.ceil, floor, trunc, nearest */
    {107, 109, 2, T_V128, T_I32, T_V128, 0},  /* i8x16 shifts */
    {110, 115, 2, T_V128, T_V128, T_V128, 0}, /* i8x16.add, add_sat, sub, sub_sat */
    {116, 117, 1, T_V128, 0, T_V128, 8},      /* f64x2.ceil, floor */
    {118, 121, 2, T_V128, T_V128, T_V128, 0}, /* i8x16.min, max */
    {122, 122, 1, T_V128, 0, T_V128, 8},      /* f64x2.trunc */
    {123, 123, 2, T_V128, T_V128, T_V128, 0}, /* i8x16.avgr_u */
    {124, 129, 1, T_V128, 0, T_V128, 0},      /* extadd_pairwise, i16x8.abs, neg */
    {130, 130, 2, T_V128, T_V128, T_V128, 0}, /* i16x8.q15mulr_sat_s */
    {131, 132, 1, T_V128, 0, T_I32, 0},       /* i16x8.all_true, bitmask */
    {133, 134, 2, T_V128, T_V128, T_V128, 0}, /* i16x8.narrow_i32x4_s/u */
    {135, 138, 1, T_V128, 0, T_V128, 0},      /* i16x8.extend_* */
    {139, 141, 2, T_V128, T_I32, T_V128, 0},  /* i16x8 shifts */
    {142, 147, 2, T_V128, T_V128, T_V128, 0}, /* i16x8.add, add_sat, sub, sub_sat */
    {148, 148, 1, T_V128, 0, T_V128, 8},      /* f64x2.nearest */
    {149, 153, 2, T_V128, T_V128, T_V128, 0}, /* i16x8.mul, min, max */
    {155, 159, 2, T_V128, T_V128, T_V128, 0}, /* i16x8.avgr_u, extmul_* */
    {160, 161, 1, T_V128, 0, T_V128, 0},      /* i32x4.abs, neg */
    {163, 164, 1, T_V128, 0, T_I32, 0},       /* i32x4.all_true, bitmask */
    {167, 170, 1, T_V128, 0, T_V128, 0},      /* i32x4.extend_* */
    {171, 173, 2, T_V128, T_I32, T_V128, 0},  /* i32x4 shifts */
    {174, 174, 2, T_V128, T_V128, T_V128, 0}, /* i32x4.add */
    {177, 177, 2, T_V128, T_V128, T_V128, 0}, /* i32x4.sub */
    {181, 186, 2, T_V128, T_V128, T_V128, 0}, /* i32x4.mul, min, max, dot_i16x8_s */
    {188, 191, 2, T_V128, T_V128, T_V128, 0}, /* i32x4.extmul_* */
    {192, 193, 1, T_V128, 0, T_V128, 0},      /* i64x2.abs, neg */
    {195, 196, 1, T_V128, 0, T_I32, 0},       /* i64x2.all_true, bitmask */
    {199, 202, 1, T_V128, 0, T_V128, 0},      /* i64x2.extend_* */
    {203, 205, 2, T_V128, T_I32, T_V128, 0},  /* i64x2 shifts */
    {206, 206, 2, T_V128, T_V128, T_V128, 0}, /* i64x2.add */
    {209, 209, 2, T_V128, T_V128, T_V128, 0}, /* i64x2.sub */
    {213, 223, 2, T_V128, T_V128, T_V128, 0}, /* i64x2.mul, compares, extmul_* */
    {224, 225, 1, T_V128, 0, T_V128, 0},      /* f32x4.abs, neg (bit operations) */
    {227, 227, 1, T_V128, 0, T_V128, 4},      /* f32x4.sqrt */
    {228, 233, 2, T_V128, T_V128, T_V128, 4}, /* f32x4.add, sub, mul, div, min, max */
    {234, 235, 2, T_V128, T_V128, T_V128, 0}, /* f32x4.pmin, pmax (select one operand) */
    {236, 237, 1, T_V128, 0, T_V128, 0},      /* f64x2.abs, neg */
    {239, 239, 1, T_V128, 0, T_V128, 8},      /* f64x2.sqrt */
    {240, 245, 2, T_V128, T_V128, T_V128, 8}, /* f64x2.add, sub, mul, div, min, max */
    {246, 247, 2, T_V128, T_V128, T_V128, 0}, /* f64x2.pmin, pmax */
    {248, 255, 1, T_V128, 0, T_V128, 0},      /* trunc_sat, convert */
};

/* extract_lane / replace_lane: opcode, lanes, the scalar type. */
typedef struct gsimd_lane {
  uint8_t op, lanes, type;
  bool replace;
} gsimd_lane;

static const gsimd_lane SIMD_LANE_OPS[] = {
    {21, 16, T_I32, false}, {22, 16, T_I32, false}, {23, 16, T_I32, true}, {24, 8, T_I32, false},
    {25, 8, T_I32, false},  {26, 8, T_I32, true},   {27, 4, T_I32, false}, {28, 4, T_I32, true},
    {29, 2, T_I64, false},  {30, 2, T_I64, true},   {31, 4, T_F32, false}, {32, 4, T_F32, true},
    {33, 2, T_F64, false},  {34, 2, T_F64, true},
};

/* v128 loads: opcode and log2 of the natural alignment. */
static const struct {
  uint8_t op, align;
} V128_LOADS[] = {{0, 4}, {1, 3}, {2, 3}, {3, 3}, {4, 3}, {5, 3}, {6, 3},
                  {7, 0}, {8, 1}, {9, 2}, {10, 3}, {92, 2}, {93, 3}};

/* ---- The module being built ------------------------------------------------------------------ */

typedef struct gsig {
  uint8_t np, nr;
  uint8_t p[G_MAX_SIG], r[2 * G_MAX_SIG]; /* a wrapper returns a v128 as two i64 */
} gsig;

typedef struct gtable {
  uint8_t elem;
  uint32_t min, max;
  bool has_max;
} gtable;

typedef struct gglobal {
  uint8_t type;
  bool mutable_;
  uint64_t bits;   /* numeric init; a v128's low 8 bytes */
  uint64_t hi;     /* a v128's high 8 bytes */
  int32_t func;    /* funcref init: a function index, or -1 for ref.null */
} gglobal;

typedef struct gdata {
  bool active;
  uint32_t offset, len;
  uint8_t bytes[16];
} gdata;

typedef struct gelem {
  uint8_t mode; /* 0 active, 1 passive, 2 declarative */
  uint8_t type;
  bool as_exprs; /* encode items as expressions (flags 4..7) rather than function indices */
  uint32_t table, offset, count;
  int32_t items[G_MAX_FUNCS > G_MAX_ELEM_ITEMS ? G_MAX_FUNCS : G_MAX_ELEM_ITEMS]; /* -1: null */
} gelem;

typedef struct gen {
  gsrc src;
  bool det;
  gsig types[G_MAX_TYPES];
  uint32_t ntypes;
  uint32_t nfuncs; /* internal functions: indices 0 .. nfuncs-1 */
  uint32_t ftype[G_MAX_FUNCS];
  uint32_t ndefined; /* every defined function: internal, wrappers, state, start */
  uint32_t dtype[G_MAX_DEFINED];
  gbuf body[G_MAX_DEFINED];
  bool has_mem, mem_has_max;
  uint32_t mem_min, mem_max;
  gtable tables[G_MAX_TABLES];
  uint32_t ntables;
  gglobal globals[G_MAX_GLOBALS];
  uint32_t nglobals;
  gdata datas[G_MAX_DATAS];
  uint32_t ndatas;
  gelem elems[G_MAX_ELEMS];
  uint32_t nelems;
  bool has_start;
  uint32_t start_func;
  uint32_t first_wrapper, state_func; /* deterministic mode */
} gen;

typedef struct glabel {
  uint8_t n;
  uint8_t t[2 * G_MAX_SIG]; /* a block may have a wrapper's type */
  bool loop;
} glabel;

/* The function whose body is being generated. */
typedef struct gfn {
  gen *g;
  gbuf *b;
  uint8_t locals[G_MAX_LOCALS]; /* params first */
  bool readonly[G_MAX_LOCALS];  /* loop counters: never written by generated code */
  uint32_t nparams, nlocals;
  uint32_t scratch[7]; /* one scratch local per type, for picks and canonicalisation */
  glabel labels[G_MAX_LABELS];
  uint32_t nlabels;
  const gsig *sig;
  int32_t budget;
  uint32_t depth, loop_nest;
  uint32_t self; /* the function's index */
} gfn;

static void gen_expr(gfn *f, uint8_t t);
static void gen_stmts(gfn *f);

static bool is_num(uint8_t t) { return t == T_I32 || t == T_I64 || t == T_F32 || t == T_F64; }

static uint8_t rand_numtype(gsrc *s) {
  static const uint8_t NUM[] = {T_I32, T_I64, T_F32, T_F64};
  return NUM[src_range(s, 4)];
}

/* Mostly a number; now and then a v128. */
static uint8_t rand_sigtype(gsrc *s) { return src_range(s, 5) == 4 ? T_V128 : rand_numtype(s); }

/* Mostly numeric; now and then a v128 or a reference. */
static uint8_t rand_valtype(gsrc *s) {
  uint32_t c = src_range(s, 15);
  return c >= 12 ? T_V128 : c == 10 ? T_FUNCREF : c == 11 ? T_EXTERNREF : rand_numtype(s);
}

static uint32_t type_slot(uint8_t t) {
  switch (t) {
    case T_I32: return 0;
    case T_I64: return 1;
    case T_F32: return 2;
    case T_F64: return 3;
    case T_FUNCREF: return 4;
    case T_V128: return 6;
    default: return 5;
  }
}

/* Adds a type; returns its index, or -1 when the table is full. */
static int32_t add_type(gen *g, const gsig *sig) {
  for (uint32_t i = 0; i < g->ntypes; i++)
    if (memcmp(&g->types[i], sig, sizeof *sig) == 0) return (int32_t)i;
  if (g->ntypes == G_MAX_TYPES) return -1;
  g->types[g->ntypes] = *sig;
  return (int32_t)g->ntypes++;
}

static void rand_sig(gsrc *s, gsig *sig) {
  memset(sig, 0, sizeof *sig);
  sig->np = (uint8_t)src_range(s, G_MAX_SIG + 1);
  sig->nr = (uint8_t)src_range(s, G_MAX_SIG);
  for (uint32_t i = 0; i < sig->np; i++) sig->p[i] = rand_sigtype(s);
  for (uint32_t i = 0; i < sig->nr; i++) sig->r[i] = rand_sigtype(s);
}

/* ---- Emitting pieces ------------------------------------------------------------------------- */

static void op(gfn *f, uint32_t code) { b_u8(f->b, code); }

static void op_fc(gfn *f, uint32_t sub) {
  b_u8(f->b, 0xFC);
  b_uleb(f->b, sub);
}

static void op_fd(gfn *f, uint32_t sub) {
  b_u8(f->b, 0xFD);
  b_uleb(f->b, sub);
}

static void op_idx(gfn *f, uint32_t code, uint32_t index) {
  b_u8(f->b, code);
  b_uleb(f->b, index);
}

static void emit_i32(gfn *f, uint32_t v) {
  b_u8(f->b, 0x41);
  b_sleb(f->b, (int32_t)v);
}

static uint32_t rand_i32(gsrc *s) {
  return src_range(s, 4) == 3 ? src_u32(s) : I32_VALUES[src_range(s, COUNT(I32_VALUES))];
}

/* 16 bytes of an interesting v128: lanes of one shape from the scalar tables, or random bytes. */
static void rand_v128(gsrc *s, uint8_t out[16]) {
  uint32_t shape = src_range(s, 6); /* i8, i16, i32, i64, f32, f64 lanes; 5: random */
  bool same = src_range(s, 3) == 0; /* a splat */
  uint64_t v = 0;
  for (uint32_t at = 0; at < 16;) {
    uint32_t width = shape <= 2 ? 1u << shape : shape == 3 || shape == 5 ? 8 : 4;
    if (!same || at == 0) {
      switch (shape) {
        case 0: case 1: case 2: v = rand_i32(s); break;
        case 3: v = I64_VALUES[src_range(s, COUNT(I64_VALUES))]; break;
        case 4: v = src_range(s, 2) ? F32_VALUES[src_range(s, COUNT(F32_VALUES))] : src_u32(s); break;
        default: v = src_range(s, 2) ? F64_VALUES[src_range(s, COUNT(F64_VALUES))]
                                     : (uint64_t)src_u32(s) << 32 | src_u32(s); break;
      }
    }
    for (uint32_t k = 0; k < width; k++) out[at + k] = (uint8_t)(v >> (8 * k));
    at += width;
  }
}

static void gen_const(gfn *f, uint8_t t) {
  gsrc *s = &f->g->src;
  bool random = src_range(s, 4) == 3;
  switch (t) {
    case T_I32: emit_i32(f, rand_i32(s)); break;
    case T_I64: {
      uint64_t v = random ? (uint64_t)src_u32(s) << 32 | src_u32(s)
                          : I64_VALUES[src_range(s, COUNT(I64_VALUES))];
      b_u8(f->b, 0x42);
      b_sleb(f->b, (int64_t)v);
      break;
    }
    case T_F32:
      b_u8(f->b, 0x43);
      b_le(f->b, random ? src_u32(s) : F32_VALUES[src_range(s, COUNT(F32_VALUES))], 4);
      break;
    case T_F64:
      b_u8(f->b, 0x44);
      b_le(f->b, random ? (uint64_t)src_u32(s) << 32 | src_u32(s)
                        : F64_VALUES[src_range(s, COUNT(F64_VALUES))], 8);
      break;
    case T_V128: {
      uint8_t v[16];
      rand_v128(s, v);
      op_fd(f, 12); /* v128.const */
      b_raw(f->b, v, sizeof v);
      break;
    }
    case T_FUNCREF:
      if (f->g->nfuncs && src_range(s, 2)) {
        op_idx(f, 0xD2, src_range(s, f->g->nfuncs)); /* ref.func: all internal ones are declared */
      } else {
        op(f, 0xD0);
        op(f, T_FUNCREF);
      }
      break;
    default:
      op(f, 0xD0);
      op(f, T_EXTERNREF);
      break;
  }
}

/* A new local of type t; -1 when the function has all it may have. */
static int32_t new_local(gfn *f, uint8_t t) {
  if (f->nlocals == G_MAX_LOCALS) return -1;
  f->locals[f->nlocals] = t;
  f->readonly[f->nlocals] = false;
  return (int32_t)f->nlocals++;
}

/* A random local of type t that generated code may read (writable: and write, so no loop counter). */
static int32_t pick_local(gfn *f, uint8_t t, bool writable) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < f->nlocals; i++)
    if (f->locals[i] == t && !(writable && f->readonly[i])) n++;
  if (n == 0) return -1;
  uint32_t k = src_range(&f->g->src, n);
  for (uint32_t i = 0; i < f->nlocals; i++)
    if (f->locals[i] == t && !(writable && f->readonly[i]) && k-- == 0) return (int32_t)i;
  return -1;
}

/* Deterministic mode: replaces a NaN on top of the stack by the canonical one (positive). */
static void canon(gfn *f, uint8_t t) {
  if (!f->g->det || (t != T_F32 && t != T_F64)) return;
  uint32_t s = f->scratch[type_slot(t)];
  op_idx(f, 0x22, s); /* local.tee s: x */
  if (t == T_F32) {
    op(f, 0x43);
    b_le(f->b, 0x7FC00000u, 4);
  } else {
    op(f, 0x44);
    b_le(f->b, 0x7FF8000000000000ull, 8);
  }
  op_idx(f, 0x20, s);
  op_idx(f, 0x20, s);
  op(f, t == T_F32 ? 0x5B : 0x61); /* x == x */
  op(f, 0x1B);                     /* select: x if not NaN, else the canonical NaN */
}

/* Deterministic mode: replaces the NaN lanes (of `lane_bytes` 4 or 8) of the v128 on top of the
 * stack by the canonical NaN: bitselect(x, canonical, x == x). The scratch local it goes through is
 * left holding the result: generated code reads that local too, and must never see the raw one. */
static void canon_v128(gfn *f, uint32_t lane_bytes) {
  if (!f->g->det || lane_bytes == 0) return;
  uint32_t s = f->scratch[type_slot(T_V128)];
  op_idx(f, 0x22, s);
  op_fd(f, 12);
  uint64_t nan = lane_bytes == 4 ? 0x7FC00000u : 0x7FF8000000000000ull;
  for (uint32_t i = 0; i < 16 / lane_bytes; i++) b_le(f->b, nan, (int)lane_bytes);
  op_idx(f, 0x20, s);
  op_idx(f, 0x20, s);
  op_fd(f, lane_bytes == 4 ? 65 : 71); /* f32x4.eq / f64x2.eq */
  op_fd(f, 82);                        /* v128.bitselect */
  op_idx(f, 0x22, s);
}

/*
 * Deterministic mode: folds the value of type t on top of the stack (a SIMD operation's result)
 * into the tap global, tap = tap * K + splat(value) in i64x2 lanes, and leaves the value. Random
 * expressions lose most of what their operands held (compares, selects, drops, traps later on),
 * so without this a wrong lane in a SIMD operation would seldom reach an export's result; the tap
 * global reaches `state` whatever happens next, a trap included.
 */
static void tap(gfn *f, uint8_t t) {
  if (!f->g->det) return;
  static const uint8_t SPLAT[] = {[0] = 17, [1] = 18, [2] = 19, [3] = 20}; /* by type_slot */
  uint32_t slot = type_slot(t), s = f->scratch[slot];
  op_idx(f, 0x22, s);
  if (t != T_V128) op_fd(f, SPLAT[slot]);
  op_idx(f, 0x23, G_TAP_GLOBAL);
  op_fd(f, 12);
  b_le(f->b, 0x100000001B3ull, 8); /* FNV's prime, in both lanes */
  b_le(f->b, 0x100000001B3ull, 8);
  op_fd(f, 213); /* i64x2.mul */
  op_fd(f, 206); /* i64x2.add */
  op_idx(f, 0x24, G_TAP_GLOBAL);
  op_idx(f, 0x20, s);
}

static void gen_leaf(gfn *f, uint8_t t) {
  if (src_range(&f->g->src, 3) == 1) {
    int32_t l = pick_local(f, t, false);
    if (l >= 0) {
      op_idx(f, 0x20, (uint32_t)l);
      return;
    }
  }
  gen_const(f, t);
}

static void gen_values(gfn *f, const uint8_t *types, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) gen_expr(f, types[i]);
}

static void drop_n(gfn *f, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) op(f, 0x1A);
}

/* Leaves only results[k] (of type t) of the values `results` on the stack. */
static void pick_result(gfn *f, const uint8_t *results, uint32_t n, uint32_t k) {
  uint32_t s = f->scratch[type_slot(results[k])];
  for (uint32_t j = n; j-- > 0;) {
    if (j == k) op_idx(f, 0x21, s);
    else op(f, 0x1A);
  }
  op_idx(f, 0x20, s);
}

/* Index of a result of type t in results (random among several), or -1. */
static int32_t find_result(gsrc *s, const uint8_t *results, uint32_t n, uint8_t t) {
  uint32_t count = 0;
  for (uint32_t i = 0; i < n; i++) count += results[i] == t;
  if (count == 0) return -1;
  uint32_t k = src_range(s, count);
  for (uint32_t i = 0; i < n; i++)
    if (results[i] == t && k-- == 0) return (int32_t)i;
  return -1;
}

static void push_label(gfn *f, const uint8_t *types, uint32_t n, bool loop) {
  glabel *l = &f->labels[f->nlabels++];
  l->n = (uint8_t)n;
  if (n) memcpy(l->t, types, n);
  l->loop = loop;
}

/* A label that code may branch to (deterministic mode: never a loop; counted loops branch back
 * by themselves), relative depth in *depth; false when there is none. */
static bool pick_label(gfn *f, uint32_t *depth) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < f->nlabels; i++) n += !(f->g->det && f->labels[i].loop);
  if (n == 0) return false;
  uint32_t k = src_range(&f->g->src, n);
  for (uint32_t i = 0; i < f->nlabels; i++) {
    if (f->g->det && f->labels[i].loop) continue;
    if (k-- == 0) {
      *depth = f->nlabels - 1 - i;
      return true;
    }
  }
  return false;
}

static const glabel *label_at(gfn *f, uint32_t depth) { return &f->labels[f->nlabels - 1 - depth]; }

static bool same_label_types(const glabel *a, const glabel *b) {
  return a->n == b->n && memcmp(a->t, b->t, a->n) == 0;
}

/* br_table to `depth` and other labels of the same types; the operands are emitted by the caller
 * before the index, which this emits. */
static void emit_br_table(gfn *f, uint32_t depth) {
  gsrc *s = &f->g->src;
  const glabel *target = label_at(f, depth);
  uint32_t targets[8], n = src_range(s, 8);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t d = src_range(s, f->nlabels);
    const glabel *l = label_at(f, d);
    targets[i] = (same_label_types(l, target) && !(f->g->det && l->loop)) ? d : depth;
  }
  if (src_range(s, 2)) emit_i32(f, src_range(s, n + 2));
  else gen_expr(f, T_I32);
  op(f, 0x0E);
  b_uleb(f->b, n);
  for (uint32_t i = 0; i < n; i++) b_uleb(f->b, targets[i]);
  b_uleb(f->b, depth);
}

/* ---- Memory, tables, globals ----------------------------------------------------------------- */

static void gen_addr(gfn *f) {
  gsrc *s = &f->g->src;
  uint32_t bytes = f->g->mem_min * 65536u, mask = 0xFF;
  while (mask < 0xFFFF && mask * 2 + 1 < bytes) mask = mask * 2 + 1;
  switch (src_range(s, 8)) {
    case 0: case 1: case 2: case 3: emit_i32(f, src_range(s, bytes + 16)); break;
    case 4: case 5:
      gen_expr(f, T_I32);
      emit_i32(f, mask);
      op(f, 0x71); /* i32.and: mostly in bounds */
      break;
    case 6: gen_expr(f, T_I32); break;
    default: emit_i32(f, rand_i32(s)); break;
  }
}

static void emit_memarg(gfn *f, uint8_t natural) {
  gsrc *s = &f->g->src;
  b_uleb(f->b, src_range(s, natural + 1u));
  uint32_t c = src_range(s, 16);
  b_uleb(f->b, c < 10 ? 0 : c < 15 ? src_range(s, 64) : rand_i32(s));
}

/* A length or count: mostly small. */
static void gen_count(gfn *f, uint32_t small) {
  gsrc *s = &f->g->src;
  if (src_range(s, 4) == 3) gen_expr(f, T_I32);
  else emit_i32(f, src_range(s, small));
}

/* A table of element type t (random among them), or -1. */
static int32_t pick_table(gfn *f, uint8_t t) {
  gen *g = f->g;
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->ntables; i++) n += g->tables[i].elem == t;
  if (n == 0) return -1;
  uint32_t k = src_range(&g->src, n);
  for (uint32_t i = 0; i < g->ntables; i++)
    if (g->tables[i].elem == t && k-- == 0) return (int32_t)i;
  return -1;
}

static void gen_table_index(gfn *f, uint32_t table) {
  gsrc *s = &f->g->src;
  if (src_range(s, 4) == 3) gen_expr(f, T_I32);
  else emit_i32(f, src_range(s, f->g->tables[table].min + 2));
}

static int32_t pick_global(gfn *f, uint8_t t, bool writable) {
  gen *g = f->g;
  uint32_t n = 0;
  for (uint32_t i = 0; i < g->nglobals; i++)
    n += g->globals[i].type == t && (!writable || (g->globals[i].mutable_ && !(g->det && i == 0)));
  if (n == 0) return -1;
  uint32_t k = src_range(&g->src, n);
  for (uint32_t i = 0; i < g->nglobals; i++)
    if (g->globals[i].type == t && (!writable || (g->globals[i].mutable_ && !(g->det && i == 0))) &&
        k-- == 0)
      return (int32_t)i;
  return -1;
}

/* ---- Expressions ----------------------------------------------------------------------------- */

static bool gen_simd_op(gfn *f, uint8_t t);

static bool gen_numop(gfn *f, uint8_t t) {
  if (t == T_V128) return gen_simd_op(f, t);
  uint32_t total = 0;
  for (size_t i = 0; i < COUNT(NUM_OPS); i++)
    if (NUM_OPS[i].out == t) total += NUM_OPS[i].last - NUM_OPS[i].first + 1u;
  if (total == 0) return false;
  uint32_t k = src_range(&f->g->src, total);
  for (size_t i = 0; i < COUNT(NUM_OPS); i++) {
    const gop_range *r = &NUM_OPS[i];
    if (r->out != t) continue;
    uint32_t span = r->last - r->first + 1u;
    if (k >= span) {
      k -= span;
      continue;
    }
    gen_expr(f, r->in0);
    if (r->canon & 1) canon(f, r->in0);
    if (r->nin == 2) {
      gen_expr(f, r->in1);
      if (r->canon & 2) canon(f, r->in1);
    }
    if (r->prefix) op_fc(f, r->first + k);
    else op(f, r->first + k);
    return true;
  }
  return false;
}

/* A SIMD operation whose result is t: from SIMD_OPS, a lane operation, a shuffle or bitselect. */
static bool gen_simd_op(gfn *f, uint8_t t) {
  gsrc *s = &f->g->src;
  uint32_t total = 0;
  for (size_t i = 0; i < COUNT(SIMD_OPS); i++)
    if (SIMD_OPS[i].out == t) total += SIMD_OPS[i].last - SIMD_OPS[i].first + 1u;
  uint32_t lanes = 0;
  for (size_t i = 0; i < COUNT(SIMD_LANE_OPS); i++)
    lanes += (SIMD_LANE_OPS[i].replace ? T_V128 : SIMD_LANE_OPS[i].type) == t;
  uint32_t extra = t == T_V128 ? 2 : 0; /* shuffle, bitselect */
  if (total + lanes + extra == 0) return false;
  uint32_t k = src_range(s, total + 4 * lanes + 4 * extra); /* lane ops, shuffles: more often */
  if (k >= total) {
    k = (k - total) / 4;
    if (k >= lanes) {
      gen_expr(f, T_V128);
      gen_expr(f, T_V128);
      if (k == lanes) { /* i8x16.shuffle: lane indices below 32 */
        op_fd(f, 13);
        for (int i = 0; i < 16; i++) b_u8(f->b, src_range(s, 32));
      } else {
        gen_expr(f, T_V128);
        op_fd(f, 82); /* v128.bitselect */
      }
      tap(f, t);
      return true;
    }
    for (size_t i = 0; i < COUNT(SIMD_LANE_OPS); i++) {
      const gsimd_lane *l = &SIMD_LANE_OPS[i];
      if ((l->replace ? T_V128 : l->type) != t || k-- != 0) continue;
      gen_expr(f, T_V128);
      if (l->replace) {
        gen_expr(f, l->type);
        canon(f, l->type);
      }
      op_fd(f, l->op);
      b_u8(f->b, src_range(s, l->lanes));
      tap(f, t);
      return true;
    }
    return false;
  }
  for (size_t i = 0; i < COUNT(SIMD_OPS); i++) {
    const gsimd_range *r = &SIMD_OPS[i];
    if (r->out != t) continue;
    uint32_t span = r->last - r->first + 1u;
    if (k >= span) {
      k -= span;
      continue;
    }
    gen_expr(f, r->in0);
    canon(f, r->in0); /* a float splatted: its bits become visible */
    if (r->nin == 2) gen_expr(f, r->in1);
    op_fd(f, r->first + k);
    canon_v128(f, r->canon);
    tap(f, t);
    return true;
  }
  return false;
}

/* A v128 load of any kind, lane loads included. */
static bool gen_v128_load(gfn *f) {
  gsrc *s = &f->g->src;
  uint32_t k = src_range(s, COUNT(V128_LOADS) + 4);
  gen_addr(f);
  if (k < COUNT(V128_LOADS)) {
    op_fd(f, V128_LOADS[k].op);
    emit_memarg(f, V128_LOADS[k].align);
  } else {
    k -= COUNT(V128_LOADS); /* v128.load8/16/32/64_lane */
    gen_expr(f, T_V128);
    op_fd(f, 84 + k);
    emit_memarg(f, (uint8_t)k);
    b_u8(f->b, src_range(s, 16u >> k));
  }
  tap(f, T_V128);
  return true;
}

static bool gen_load(gfn *f, uint8_t t) {
  if (f->g->has_mem && t == T_V128) return gen_v128_load(f);
  if (!f->g->has_mem || !is_num(t)) return false;
  uint32_t n = 0;
  for (size_t i = 0; i < COUNT(LOADS); i++) n += LOADS[i].type == t;
  uint32_t k = src_range(&f->g->src, n);
  for (size_t i = 0; i < COUNT(LOADS); i++) {
    if (LOADS[i].type != t || k-- != 0) continue;
    gen_addr(f);
    op(f, LOADS[i].op);
    emit_memarg(f, LOADS[i].align);
    return true;
  }
  return false;
}

static bool gen_call_pick(gfn *f, uint8_t t, bool indirect) {
  gen *g = f->g;
  gsrc *s = &g->src;
  if (g->nfuncs == 0) return false;
  int32_t table = -1;
  uint32_t ti;
  if (indirect) {
    table = pick_table(f, T_FUNCREF);
    if (table < 0) return false;
    ti = src_range(s, 4) == 0 ? src_range(s, g->ntypes) : g->ftype[src_range(s, g->nfuncs)];
  } else {
    ti = 0;
  }
  uint32_t callee = indirect ? 0 : src_range(s, g->nfuncs);
  if (!indirect && f->self + 1 < g->nfuncs && src_range(s, 4) != 0)
    callee = f->self + 1 + src_range(s, g->nfuncs - f->self - 1); /* mostly forward: less recursion */
  const gsig *sig = &g->types[indirect ? ti : g->ftype[callee]];
  int32_t k = -1;
  if (t) {
    k = find_result(s, sig->r, sig->nr, t);
    if (k < 0) return false;
  }
  gen_values(f, sig->p, sig->np);
  if (indirect) {
    gen_table_index(f, (uint32_t)table);
    op_idx(f, 0x11, ti);
    b_uleb(f->b, (uint32_t)table);
  } else {
    op_idx(f, 0x10, callee);
  }
  if (t) pick_result(f, sig->r, sig->nr, (uint32_t)k);
  else drop_n(f, sig->nr);
  return true;
}

/* Deterministic mode: the counter of a loop, set before the loop; -1 if no local is left. */
static int32_t loop_counter(gfn *f) {
  int32_t c = new_local(f, T_I32);
  if (c < 0) return -1;
  f->readonly[c] = true;
  emit_i32(f, 1 + src_range(&f->g->src, G_LOOP_ITERS));
  op_idx(f, 0x21, (uint32_t)c);
  return c;
}

/* The back edge of a loop whose label takes `params`: continue while --counter != 0 (counted), or
 * on a generated condition, or always (exec mode only: gas ends it). */
static void loop_back_edge(gfn *f, int32_t counter, const uint8_t *params, uint32_t np) {
  gsrc *s = &f->g->src;
  if (counter < 0 && src_range(s, 8) == 7) {
    gen_values(f, params, np);
    op_idx(f, 0x0C, 0); /* br 0: an endless loop, for the gas meter */
    return;
  }
  gen_values(f, params, np);
  if (counter >= 0) {
    op_idx(f, 0x20, (uint32_t)counter);
    emit_i32(f, 1);
    op(f, 0x6B);
    op_idx(f, 0x22, (uint32_t)counter);
  } else {
    gen_expr(f, T_I32);
  }
  op_idx(f, 0x0D, 0);
  drop_n(f, np);
}

/* At the start of a block body whose type takes params: moves them into fresh locals. */
static void take_params(gfn *f, const uint8_t *params, uint32_t np) {
  for (uint32_t j = np; j-- > 0;) {
    int32_t l = new_local(f, params[j]);
    if (l < 0) op(f, 0x1A);
    else op_idx(f, 0x21, (uint32_t)l);
  }
}

/*
 * block / loop / if with block type `bt` (-1: empty, -2: the single value `single`, else a type
 * index), leaving its results. kind: 0 block, 1 loop, 2 if.
 */
static bool gen_block(gfn *f, uint32_t kind, int32_t bt, uint8_t single) {
  gen *g = f->g;
  const uint8_t *params = NULL, *results = NULL;
  uint32_t np = 0, nr = 0;
  if (bt >= 0) {
    params = g->types[bt].p;
    np = g->types[bt].np;
    results = g->types[bt].r;
    nr = g->types[bt].nr;
  } else if (bt == -2) {
    results = &single;
    nr = 1;
  }
  if (f->nlabels == G_MAX_LABELS) return false;
  int32_t counter = -1;
  if (kind == 1 && g->det) {
    if (f->loop_nest >= G_MAX_LOOP_NEST) kind = 0;
    else if ((counter = loop_counter(f)) < 0) kind = 0;
  }
  gen_values(f, params, np);
  if (kind == 2) gen_expr(f, T_I32);
  op(f, kind == 0 ? 0x02 : kind == 1 ? 0x03 : 0x04);
  if (bt == -1) op(f, 0x40);
  else if (bt == -2) op(f, single);
  else b_sleb(f->b, bt);

  f->depth++;
  f->loop_nest += kind == 1;
  if (kind == 1) push_label(f, params, np, true);
  else push_label(f, results, nr, false);
  take_params(f, params, np);
  gen_stmts(f);
  if (kind == 1) loop_back_edge(f, counter, params, np);
  gen_values(f, results, nr);
  /* An if without else must map its params to its results: only [] -> [] may leave it out. */
  if (kind == 2 && (nr > 0 || np > 0 || src_range(&g->src, 2))) {
    op(f, 0x05);
    take_params(f, params, np);
    gen_stmts(f);
    gen_values(f, results, nr);
  }
  f->nlabels--;
  f->loop_nest -= kind == 1;
  f->depth--;
  op(f, 0x0B);
  return true;
}

/* A block type (type index) whose results include t (any results when t is 0): an existing one
 * or a new one; -1 if none can be had. */
static int32_t pick_block_type(gfn *f, uint8_t t) {
  gen *g = f->g;
  gsrc *s = &g->src;
  if (src_range(s, 2)) {
    uint32_t start = src_range(s, g->ntypes);
    for (uint32_t i = 0; i < g->ntypes; i++) {
      uint32_t ti = (start + i) % g->ntypes;
      if (t == 0 || find_result(s, g->types[ti].r, g->types[ti].nr, t) >= 0) return (int32_t)ti;
    }
  }
  gsig sig;
  rand_sig(s, &sig);
  if (t) {
    if (sig.nr == 0) sig.nr = 1;
    sig.r[src_range(s, sig.nr)] = t;
  }
  return add_type(g, &sig);
}

static bool gen_block_expr(gfn *f, uint8_t t) {
  gsrc *s = &f->g->src;
  uint32_t kind = src_range(s, 3);
  if (src_range(s, 3) == 0) {
    int32_t bt = pick_block_type(f, t);
    if (bt < 0) return false;
    const gsig *sig = &f->g->types[bt];
    int32_t k = find_result(s, sig->r, sig->nr, t);
    if (k < 0 || !gen_block(f, kind, bt, 0)) return false;
    pick_result(f, sig->r, sig->nr, (uint32_t)k);
    return true;
  }
  return gen_block(f, kind, -2, t);
}

/* Expressions that do not return: br, br_table, return, unreachable; or br_if with a value. */
static bool gen_branch_expr(gfn *f, uint8_t t) {
  gsrc *s = &f->g->src;
  uint32_t depth;
  switch (src_range(s, 6)) {
    case 0:
      op(f, 0x00); /* unreachable */
      return true;
    case 1:
      gen_values(f, f->sig->r, f->sig->nr);
      op(f, 0x0F);
      return true;
    case 2:
    case 3: {
      /* br_if to a label of type [t]: the value stays when the branch is not taken */
      if (!pick_label(f, &depth)) return false;
      const glabel *l = label_at(f, depth);
      if (l->n != 1 || l->t[0] != t) return false;
      gen_expr(f, t);
      gen_expr(f, T_I32);
      op_idx(f, 0x0D, depth);
      return true;
    }
    case 4: {
      if (!pick_label(f, &depth)) return false;
      const glabel *l = label_at(f, depth);
      gen_values(f, l->t, l->n);
      emit_br_table(f, depth);
      return true;
    }
    default: {
      if (!pick_label(f, &depth)) return false;
      const glabel *l = label_at(f, depth);
      gen_values(f, l->t, l->n);
      op_idx(f, 0x0C, depth);
      return true;
    }
  }
}

/* Instructions particular to a type. */
static bool gen_special(gfn *f, uint8_t t) {
  gen *g = f->g;
  gsrc *s = &g->src;
  int32_t table;
  if (is_num(t) && src_range(s, 3) == 0) return gen_simd_op(f, t); /* extract_lane, any_true... */
  if (t == T_I32) {
    switch (src_range(s, 4)) {
      case 0:
        if (!g->has_mem) return false;
        if (src_range(s, 2)) {
          op(f, 0x3F);
        } else {
          gen_count(f, 3);
          op(f, 0x40);
        }
        op(f, 0x00);
        return true;
      case 1: {
        uint8_t rt = src_range(s, 2) ? T_FUNCREF : T_EXTERNREF;
        gen_expr(f, rt);
        op(f, 0xD1); /* ref.is_null */
        return true;
      }
      default:
        if (g->ntables == 0) return false;
        table = (int32_t)src_range(s, g->ntables);
        if (src_range(s, 2)) {
          op_fc(f, 16); /* table.size */
        } else {
          gen_expr(f, g->tables[table].elem);
          gen_count(f, 4);
          op_fc(f, 15); /* table.grow */
        }
        b_uleb(f->b, (uint32_t)table);
        return true;
    }
  }
  if (t == T_FUNCREF || t == T_EXTERNREF) {
    table = pick_table(f, t);
    if (table < 0) return false;
    gen_table_index(f, (uint32_t)table);
    op_idx(f, 0x25, (uint32_t)table); /* table.get */
    return true;
  }
  return false;
}

static void gen_expr(gfn *f, uint8_t t) {
  gen *g = f->g;
  gsrc *s = &g->src;
  if (f->budget <= 0 || f->depth >= G_MAX_DEPTH || s->pos >= s->n) {
    gen_leaf(f, t);
    return;
  }
  f->budget--;
  f->depth++;
  bool done = false;
  int32_t i;
  switch (src_range(s, 18)) {
    case 0: break;
    case 1: case 2: case 3: case 4: case 5: done = gen_numop(f, t); break;
    case 6: done = gen_load(f, t); break;
    case 7:
      if ((i = pick_global(f, t, false)) >= 0) {
        op_idx(f, 0x23, (uint32_t)i);
        done = true;
      }
      break;
    case 8:
      if ((i = pick_local(f, t, true)) >= 0) {
        gen_expr(f, t);
        op_idx(f, 0x22, (uint32_t)i);
        done = true;
      }
      break;
    case 9:
      gen_expr(f, t);
      gen_expr(f, t);
      gen_expr(f, T_I32);
      if ((is_num(t) || t == T_V128) && src_range(s, 2)) {
        op(f, 0x1B);
      } else {
        op(f, 0x1C); /* select t */
        b_uleb(f->b, 1);
        op(f, t);
      }
      done = true;
      break;
    case 10: done = gen_call_pick(f, t, false); break;
    case 11: done = gen_call_pick(f, t, true); break;
    case 12: case 13: done = gen_block_expr(f, t); break;
    case 14: done = src_range(s, 3) == 0 && gen_branch_expr(f, t); break;
    case 15: case 16: done = gen_special(f, t); break;
    default: done = (is_num(t) || t == T_V128) && gen_numop(f, t); break;
  }
  if (!done) gen_leaf(f, t);
  f->depth--;
}

/* ---- Statements ------------------------------------------------------------------------------ */

static void gen_store(gfn *f) {
  if (!f->g->has_mem) return;
  gsrc *s = &f->g->src;
  uint32_t k = src_range(s, COUNT(STORES) + 3);
  if (k >= COUNT(STORES)) { /* v128.store, or a lane store */
    gen_addr(f);
    gen_expr(f, T_V128);
    if (k == COUNT(STORES)) {
      op_fd(f, 11);
      emit_memarg(f, 4);
    } else {
      uint32_t width = src_range(s, 4); /* v128.store8/16/32/64_lane */
      op_fd(f, 88 + width);
      emit_memarg(f, (uint8_t)width);
      b_u8(f->b, src_range(s, 16u >> width));
    }
    return;
  }
  const gmem_op *st = &STORES[k];
  gen_addr(f);
  gen_expr(f, st->type);
  canon(f, st->type);
  op(f, st->op);
  emit_memarg(f, st->align);
}

static void gen_bulk_memory(gfn *f) {
  gen *g = f->g;
  gsrc *s = &g->src;
  uint32_t c = src_range(s, 4);
  if (c >= 2 && g->ndatas == 0) return;
  if (c <= 2 && !g->has_mem) return;
  switch (c) {
    case 0: /* memory.fill d val n */
      gen_addr(f);
      gen_expr(f, T_I32);
      gen_count(f, 300);
      op_fc(f, 11);
      op(f, 0);
      break;
    case 1: /* memory.copy d s n */
      gen_addr(f);
      gen_addr(f);
      gen_count(f, 300);
      op_fc(f, 10);
      op(f, 0);
      op(f, 0);
      break;
    case 2: /* memory.init seg d s n */
      gen_addr(f);
      gen_count(f, 20);
      gen_count(f, 20);
      op_fc(f, 8);
      b_uleb(f->b, src_range(s, g->ndatas));
      op(f, 0);
      break;
    default:
      op_fc(f, 9); /* data.drop */
      b_uleb(f->b, src_range(s, g->ndatas));
      break;
  }
}

static void gen_table_op(gfn *f) {
  gen *g = f->g;
  gsrc *s = &g->src;
  if (g->ntables == 0) return;
  uint32_t x = src_range(s, g->ntables);
  uint8_t et = g->tables[x].elem;
  switch (src_range(s, 5)) {
    case 0: /* table.set */
      gen_table_index(f, x);
      gen_expr(f, et);
      op_idx(f, 0x26, x);
      break;
    case 1: /* table.fill i ref n */
      gen_table_index(f, x);
      gen_expr(f, et);
      gen_count(f, 6);
      op_fc(f, 17);
      b_uleb(f->b, x);
      break;
    case 2: { /* table.copy x y */
      int32_t y = pick_table(f, et);
      gen_table_index(f, x);
      gen_table_index(f, (uint32_t)y);
      gen_count(f, 6);
      op_fc(f, 14);
      b_uleb(f->b, x);
      b_uleb(f->b, (uint32_t)y);
      break;
    }
    case 3: { /* table.init x seg */
      uint32_t n = 0, k;
      for (uint32_t i = 0; i < g->nelems; i++) n += g->elems[i].type == et;
      if (n == 0) return;
      k = src_range(s, n);
      uint32_t seg = 0;
      for (uint32_t i = 0; i < g->nelems; i++)
        if (g->elems[i].type == et && k-- == 0) seg = i;
      gen_table_index(f, x);
      gen_count(f, 6);
      gen_count(f, 6);
      op_fc(f, 12);
      b_uleb(f->b, seg);
      b_uleb(f->b, x);
      break;
    }
    default:
      if (g->nelems == 0) return;
      op_fc(f, 13); /* elem.drop */
      b_uleb(f->b, src_range(s, g->nelems));
      break;
  }
}

static void gen_branch_stmt(gfn *f) {
  gsrc *s = &f->g->src;
  uint32_t depth;
  if (!pick_label(f, &depth)) return;
  const glabel *l = label_at(f, depth);
  gen_values(f, l->t, l->n);
  switch (src_range(s, 3)) {
    case 0:
      gen_expr(f, T_I32);
      op_idx(f, 0x0D, depth); /* br_if: the values stay when not taken */
      drop_n(f, l->n);
      break;
    case 1: emit_br_table(f, depth); break;
    default: op_idx(f, 0x0C, depth); break;
  }
}

static void gen_stmt(gfn *f) {
  gen *g = f->g;
  gsrc *s = &g->src;
  int32_t i;
  uint8_t t;
  if (f->budget <= 0) return;
  f->budget--;
  bool nest = f->depth < G_MAX_DEPTH;
  switch (src_range(s, 20)) {
    case 0: op(f, 0x01); break; /* nop */
    case 1: case 2: case 3:
      t = rand_valtype(s);
      if ((i = pick_local(f, t, true)) >= 0) {
        gen_expr(f, t);
        op_idx(f, 0x21, (uint32_t)i);
      }
      break;
    case 4:
      t = rand_valtype(s);
      if ((i = pick_global(f, t, true)) >= 0) {
        gen_expr(f, t);
        op_idx(f, 0x24, (uint32_t)i);
      }
      break;
    case 5: case 6: gen_store(f); break;
    case 7:
      gen_expr(f, rand_valtype(s));
      op(f, 0x1A);
      break;
    case 8: if (nest) gen_block(f, 2, -1, 0); break;
    case 9: if (nest) gen_block(f, 0, -1, 0); break;
    case 10: if (nest) gen_block(f, 1, -1, 0); break;
    case 11: if (nest && (i = pick_block_type(f, 0)) >= 0 && gen_block(f, src_range(s, 3), i, 0))
        drop_n(f, g->types[i].nr);
      break;
    case 12: gen_branch_stmt(f); break;
    case 13: gen_call_pick(f, 0, false); break;
    case 14: gen_call_pick(f, 0, true); break;
    case 15: gen_bulk_memory(f); break;
    case 16: gen_table_op(f); break;
    case 17:
      if (src_range(s, 16) == 0) {
        if (src_range(s, 2)) {
          op(f, 0x00);
        } else {
          gen_values(f, f->sig->r, f->sig->nr);
          op(f, 0x0F);
        }
      }
      break;
    default:
      t = rand_numtype(s);
      if ((i = pick_local(f, t, true)) >= 0) {
        gen_expr(f, t);
        op_idx(f, 0x21, (uint32_t)i);
      }
      break;
  }
}

static void gen_stmts(gfn *f) {
  gsrc *s = &f->g->src;
  for (uint32_t n = 0; n < G_MAX_STMTS && f->budget > 0 && src_more(s, 75); n++) gen_stmt(f);
}

/* ---- Functions ------------------------------------------------------------------------------- */

static void fn_init(gfn *f, gen *g, uint32_t defined, const gsig *sig) {
  memset(f, 0, sizeof *f);
  f->g = g;
  f->b = &g->body[defined];
  f->sig = sig;
  for (uint32_t i = 0; i < sig->np; i++) f->locals[f->nlocals++] = sig->p[i];
  f->nparams = f->nlocals;
  static const uint8_t ALL[7] = {T_I32, T_I64, T_F32, T_F64, T_FUNCREF, T_EXTERNREF, T_V128};
  for (uint32_t i = 0; i < 7; i++) f->scratch[i] = (uint32_t)new_local(f, ALL[i]);
}

/* Local declarations (runs of one type) then the code, as a code section entry expects. */
static void fn_finish(gfn *f, gbuf *code) {
  gbuf *out = f->b;
  gbuf decl = {0};
  uint32_t runs = 0;
  for (uint32_t i = f->nparams; i < f->nlocals;) {
    uint32_t j = i;
    while (j < f->nlocals && f->locals[j] == f->locals[i]) j++;
    b_uleb(&decl, j - i);
    b_u8(&decl, f->locals[i]);
    runs++;
    i = j;
  }
  gbuf entry = {0};
  b_uleb(&entry, runs);
  b_raw(&entry, decl.p, decl.n);
  b_raw(&entry, code->p, code->n);
  b_u8(&entry, 0x0B);
  b_uleb(out, entry.n);
  b_raw(out, entry.p, entry.n);
  out->oom |= decl.oom || entry.oom || code->oom;
  free(decl.p);
  free(entry.p);
}

static void gen_internal(gen *g, uint32_t index) {
  gfn f;
  gbuf code = {0};
  const gsig *sig = &g->types[g->ftype[index]];
  fn_init(&f, g, index, sig);
  f.self = index;
  f.b = &code;
  f.budget = 8 + (int32_t)src_range(&g->src, 160);
  push_label(&f, sig->r, sig->nr, false);
  if (g->det) {
    /* fuel: if (fuel == 0) unreachable; fuel -= 1 */
    op_idx(&f, 0x23, 0);
    op(&f, 0x45);
    op(&f, 0x04);
    op(&f, 0x40);
    op(&f, 0x00);
    op(&f, 0x0B);
    op_idx(&f, 0x23, 0);
    emit_i32(&f, 1);
    op(&f, 0x6B);
    op_idx(&f, 0x24, 0);
  }
  gen_stmts(&f);
  gen_values(&f, sig->r, sig->nr);
  f.b = &g->body[index];
  fn_finish(&f, &code);
  free(code.p);
}

/* Deterministic mode: `callee` with constant arguments after refuelling; its results as integers
 * (as_ints) or dropped. */
static void gen_wrapper(gen *g, uint32_t defined, uint32_t callee, bool as_ints) {
  gfn f;
  gbuf code = {0};
  const gsig *sig = &g->types[g->dtype[defined]];
  const gsig *csig = &g->types[g->ftype[callee]];
  fn_init(&f, g, defined, sig);
  f.b = &code;
  if (g->det) {
    emit_i32(&f, G_FUEL);
    op_idx(&f, 0x24, 0);
  }
  for (uint32_t i = 0; i < csig->np; i++) gen_const(&f, csig->p[i]);
  op_idx(&f, 0x10, callee);
  if (as_ints) {
    uint32_t l[G_MAX_SIG];
    for (uint32_t i = 0; i < csig->nr; i++) l[i] = (uint32_t)new_local(&f, csig->r[i]);
    for (uint32_t i = csig->nr; i-- > 0;) op_idx(&f, 0x21, l[i]);
    for (uint32_t i = 0; i < csig->nr; i++) {
      op_idx(&f, 0x20, l[i]);
      canon(&f, csig->r[i]);
      if (csig->r[i] == T_F32) op(&f, 0xBC);
      if (csig->r[i] == T_F64) op(&f, 0xBD);
      if (csig->r[i] == T_V128) { /* two i64: lane 0, lane 1 */
        op_fd(&f, 29);
        b_u8(f.b, 0);
        op_idx(&f, 0x20, l[i]);
        op_fd(&f, 29);
        b_u8(f.b, 1);
      }
    }
  } else {
    drop_n(&f, csig->nr);
  }
  f.b = &g->body[defined];
  fn_finish(&f, &code);
  free(code.p);
}

/* h = h * 31 ^ x, x an i64 on the stack; h is local `h`. */
static void mix(gfn *f, uint32_t h) {
  uint32_t x = f->scratch[type_slot(T_I64)];
  op_idx(f, 0x21, x);
  op_idx(f, 0x20, h);
  op(f, 0x42);
  b_sleb(f->b, 31);
  op(f, 0x7E); /* i64.mul */
  op_idx(f, 0x20, x);
  op(f, 0x85); /* i64.xor */
  op_idx(f, 0x21, h);
}

/* for (i = 0; ...; i += step): loop_open starts the frame, the caller emits the exit test
 * (br_if 1) and the body, loop_close steps and closes. */
static void loop_open(gfn *f, uint32_t i) {
  emit_i32(f, 0);
  op_idx(f, 0x21, i);
  op(f, 0x02);
  op(f, 0x40);
  op(f, 0x03);
  op(f, 0x40);
}

static void loop_close(gfn *f, uint32_t i, uint32_t step) {
  op_idx(f, 0x20, i);
  emit_i32(f, step);
  op(f, 0x6A);
  op_idx(f, 0x21, i);
  op_idx(f, 0x0C, 0);
  op(f, 0x0B);
  op(f, 0x0B);
}

/* Deterministic mode: "state", a hash of the globals, the memory and the tables. */
static void gen_state(gen *g, uint32_t defined) {
  gfn f;
  gbuf code = {0};
  fn_init(&f, g, defined, &g->types[g->dtype[defined]]);
  f.b = &code;
  uint32_t h = (uint32_t)new_local(&f, T_I64), i = (uint32_t)new_local(&f, T_I32);
  for (uint32_t k = 0; k < g->nglobals; k++) {
    uint8_t t = g->globals[k].type;
    op_idx(&f, 0x23, k);
    switch (t) {
      case T_I32: op(&f, 0xAD); break;
      case T_I64: break;
      case T_F32: canon(&f, t); op(&f, 0xBC); op(&f, 0xAD); break;
      case T_F64: canon(&f, t); op(&f, 0xBD); break;
      case T_V128: /* lane 1 mixed in here, lane 0 below */
        op_idx(&f, 0x22, f.scratch[type_slot(T_V128)]);
        op_fd(&f, 29);
        b_u8(f.b, 1);
        mix(&f, h);
        op_idx(&f, 0x20, f.scratch[type_slot(T_V128)]);
        op_fd(&f, 29);
        b_u8(f.b, 0);
        break;
      default: op(&f, 0xD1); op(&f, 0xAD); break;
    }
    mix(&f, h);
  }
  if (g->has_mem) {
    op(&f, 0x3F);
    op(&f, 0x00);
    op(&f, 0xAD);
    mix(&f, h);
    loop_open(&f, i);
    op_idx(&f, 0x20, i);
    op(&f, 0x3F);
    op(&f, 0x00);
    emit_i32(&f, 16);
    op(&f, 0x74); /* i32.shl: bytes */
    op(&f, 0x4F); /* i32.ge_u */
    op_idx(&f, 0x0D, 1);
    op_idx(&f, 0x20, i);
    op(&f, 0x29); /* i64.load */
    b_uleb(f.b, 3);
    b_uleb(f.b, 0);
    mix(&f, h);
    loop_close(&f, i, 8);
  }
  for (uint32_t x = 0; x < g->ntables; x++) {
    op_fc(&f, 16);
    b_uleb(f.b, x);
    op(&f, 0xAD);
    mix(&f, h);
    loop_open(&f, i);
    op_idx(&f, 0x20, i);
    op_fc(&f, 16);
    b_uleb(f.b, x);
    op(&f, 0x4F);
    op_idx(&f, 0x0D, 1);
    op_idx(&f, 0x20, i);
    op_idx(&f, 0x25, x);
    op(&f, 0xD1);
    op(&f, 0xAD);
    mix(&f, h);
    loop_close(&f, i, 1);
  }
  op_idx(&f, 0x20, h);
  f.b = &g->body[defined];
  fn_finish(&f, &code);
  free(code.p);
}

/* ---- Module-level declarations --------------------------------------------------------------- */

static void gen_decls(gen *g) {
  gsrc *s = &g->src;
  gsig sig;

  uint32_t ntypes = 1 + src_range(s, 6);
  for (uint32_t i = 0; i < ntypes; i++) {
    rand_sig(s, &sig);
    add_type(g, &sig);
  }
  g->nfuncs = 1 + src_range(s, G_MAX_FUNCS);
  for (uint32_t i = 0; i < g->nfuncs; i++) g->ftype[i] = src_range(s, g->ntypes);

  g->has_mem = src_range(s, 4) != 0;
  if (g->has_mem) {
    static const uint32_t MIN_PAGES[4] = {1, 1, 2, 0};
    g->mem_min = MIN_PAGES[src_range(s, 4)];
    g->mem_has_max = g->det || src_range(s, 2);
    g->mem_max = g->mem_min + src_range(s, g->det ? G_DET_MAX_PAGES - g->mem_min + 1 : 5);
  }

  g->ntables = src_range(s, G_MAX_TABLES + 1);
  for (uint32_t i = 0; i < g->ntables; i++) {
    gtable *t = &g->tables[i];
    t->elem = (i == 0 || src_range(s, 3)) ? T_FUNCREF : T_EXTERNREF;
    t->min = src_range(s, 9);
    t->has_max = g->det || src_range(s, 2);
    t->max = t->min + src_range(s, g->det ? G_DET_MAX_TABLE - t->min : 17);
  }

  g->nglobals = (g->det ? 2 : 0) + src_range(s, G_MAX_GLOBALS - 2);
  for (uint32_t i = 0; i < g->nglobals; i++) {
    gglobal *gl = &g->globals[i];
    if (g->det && i == 0) {
      *gl = (gglobal){.type = T_I32, .mutable_ = true, .func = -1}; /* the fuel */
      continue;
    }
    if (g->det && i == G_TAP_GLOBAL) {
      *gl = (gglobal){.type = T_V128, .mutable_ = true, .func = -1}; /* what SIMD made: see tap() */
      continue;
    }
    gl->type = rand_valtype(s);
    gl->mutable_ = src_range(s, 3) != 0;
    gl->bits = (uint64_t)src_u32(s) << 32 | src_u32(s);
    if (gl->type == T_V128) gl->hi = (uint64_t)src_u32(s) << 32 | src_u32(s);
    gl->func = (gl->type == T_FUNCREF && src_range(s, 2)) ? (int32_t)src_range(s, g->nfuncs) : -1;
  }

  g->ndatas = src_range(s, G_MAX_DATAS + 1);
  for (uint32_t i = 0; i < g->ndatas; i++) {
    gdata *d = &g->datas[i];
    d->len = src_range(s, 17);
    for (uint32_t k = 0; k < d->len; k++) d->bytes[k] = (uint8_t)src_u8(s);
    uint32_t bytes = g->mem_min * 65536u;
    d->active = g->has_mem && src_range(s, 2) && bytes >= d->len;
    if (d->active) {
      d->offset = src_range(s, bytes - d->len + 1);
      if (!g->det && src_range(s, 16) == 0) d->offset = rand_i32(s); /* may trap at instantiation */
    }
  }

  uint32_t nelems = src_range(s, G_MAX_ELEMS);
  for (uint32_t i = 0; i < nelems; i++) {
    gelem *e = &g->elems[g->nelems];
    memset(e, 0, sizeof *e);
    e->type = (g->ntables && src_range(s, 4) == 0) ? g->tables[src_range(s, g->ntables)].elem : T_FUNCREF;
    e->count = src_range(s, G_MAX_ELEM_ITEMS + 1);
    e->as_exprs = e->type != T_FUNCREF || src_range(s, 2);
    for (uint32_t k = 0; k < e->count; k++)
      e->items[k] = (e->type == T_FUNCREF && (!e->as_exprs || src_range(s, 4)))
                        ? (int32_t)src_range(s, g->nfuncs) : -1;
    e->mode = (uint8_t)src_range(s, 4);
    e->mode = e->mode == 0 ? 0 : e->mode - 1; /* active twice as often: call_indirect needs them */
    if (e->mode == 0) {
      uint32_t n = 0, k;
      for (uint32_t t = 0; t < g->ntables; t++)
        n += g->tables[t].elem == e->type && g->tables[t].min >= e->count;
      if (n == 0) {
        e->mode = 1;
      } else {
        k = src_range(s, n);
        for (uint32_t t = 0; t < g->ntables; t++)
          if (g->tables[t].elem == e->type && g->tables[t].min >= e->count && k-- == 0) e->table = t;
        e->offset = src_range(s, g->tables[e->table].min - e->count + 1);
        if (!g->det && src_range(s, 16) == 0) e->offset = rand_i32(s);
      }
    }
    g->nelems++;
  }
  /* Declares every internal function for ref.func. */
  gelem *decl = &g->elems[g->nelems++];
  memset(decl, 0, sizeof *decl);
  decl->mode = 2;
  decl->type = T_FUNCREF;
  decl->count = g->nfuncs;
  for (uint32_t k = 0; k < g->nfuncs; k++) decl->items[k] = (int32_t)k;
}

static void emit_limits(gbuf *b, uint32_t min, uint32_t max, bool has_max) {
  b_u8(b, has_max ? 1 : 0);
  b_uleb(b, min);
  if (has_max) b_uleb(b, max);
}

static void emit_const_i32(gbuf *b, uint32_t v) {
  b_u8(b, 0x41);
  b_sleb(b, (int32_t)v);
  b_u8(b, 0x0B);
}

static void emit_module(gen *g, gbuf *out) {
  gbuf sec = {0};
  static const uint8_t HEADER[8] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
  b_raw(out, HEADER, sizeof HEADER);

  b_uleb(&sec, g->ntypes);
  for (uint32_t i = 0; i < g->ntypes; i++) {
    const gsig *t = &g->types[i];
    b_u8(&sec, 0x60);
    b_uleb(&sec, t->np);
    b_raw(&sec, t->p, t->np);
    b_uleb(&sec, t->nr);
    b_raw(&sec, t->r, t->nr);
  }
  b_section(out, 1, &sec);

  b_uleb(&sec, g->ndefined);
  for (uint32_t i = 0; i < g->ndefined; i++) b_uleb(&sec, g->dtype[i]);
  b_section(out, 3, &sec);

  if (g->ntables) {
    b_uleb(&sec, g->ntables);
    for (uint32_t i = 0; i < g->ntables; i++) {
      b_u8(&sec, g->tables[i].elem);
      emit_limits(&sec, g->tables[i].min, g->tables[i].max, g->tables[i].has_max);
    }
    b_section(out, 4, &sec);
  }
  if (g->has_mem) {
    b_uleb(&sec, 1);
    emit_limits(&sec, g->mem_min, g->mem_max, g->mem_has_max);
    b_section(out, 5, &sec);
  }
  if (g->nglobals) {
    b_uleb(&sec, g->nglobals);
    for (uint32_t i = 0; i < g->nglobals; i++) {
      const gglobal *gl = &g->globals[i];
      b_u8(&sec, gl->type);
      b_u8(&sec, gl->mutable_);
      switch (gl->type) {
        case T_I32: emit_const_i32(&sec, (uint32_t)gl->bits); continue;
        case T_I64: b_u8(&sec, 0x42); b_sleb(&sec, (int64_t)gl->bits); break;
        case T_F32: b_u8(&sec, 0x43); b_le(&sec, gl->bits, 4); break;
        case T_F64: b_u8(&sec, 0x44); b_le(&sec, gl->bits, 8); break;
        case T_V128:
          b_u8(&sec, 0xFD);
          b_uleb(&sec, 12);
          b_le(&sec, gl->bits, 8);
          b_le(&sec, gl->hi, 8);
          break;
        default:
          if (gl->func >= 0) {
            b_u8(&sec, 0xD2);
            b_uleb(&sec, (uint32_t)gl->func);
          } else {
            b_u8(&sec, 0xD0);
            b_u8(&sec, gl->type);
          }
          break;
      }
      b_u8(&sec, 0x0B);
    }
    b_section(out, 6, &sec);
  }

  /* Exports */
  char name[16];
  uint32_t nexports = 0;
  gbuf ex = {0};
  if (g->det) {
    for (uint32_t i = 0; i < g->nfuncs; i++) {
      snprintf(name, sizeof name, "e%u", i);
      b_name(&ex, name);
      b_u8(&ex, 0);
      b_uleb(&ex, g->first_wrapper + i);
      nexports++;
    }
    b_name(&ex, "state");
    b_u8(&ex, 0);
    b_uleb(&ex, g->state_func);
    nexports++;
  } else {
    for (uint32_t i = 0; i < g->nfuncs; i++) {
      snprintf(name, sizeof name, "f%u", i);
      b_name(&ex, name);
      b_u8(&ex, 0);
      b_uleb(&ex, i);
      nexports++;
    }
    if (g->has_mem) {
      b_name(&ex, "mem");
      b_u8(&ex, 2);
      b_uleb(&ex, 0);
      nexports++;
    }
    if (g->ntables) {
      b_name(&ex, "tab0");
      b_u8(&ex, 1);
      b_uleb(&ex, 0);
      nexports++;
    }
    if (g->nglobals) {
      b_name(&ex, "g0");
      b_u8(&ex, 3);
      b_uleb(&ex, 0);
      nexports++;
    }
  }
  b_uleb(&sec, nexports);
  b_raw(&sec, ex.p, ex.n);
  sec.oom |= ex.oom;
  free(ex.p);
  b_section(out, 7, &sec);

  if (g->has_start) {
    b_uleb(&sec, g->start_func);
    b_section(out, 8, &sec);
  }

  b_uleb(&sec, g->nelems);
  for (uint32_t i = 0; i < g->nelems; i++) {
    const gelem *e = &g->elems[i];
    /* flags: bit 0 passive/declarative, bit 1 explicit table (active) or declarative, bit 2 exprs */
    uint32_t flags = e->as_exprs ? 4 : 0;
    if (e->mode == 0) flags |= e->table != 0 ? 2 : 0;
    else flags |= e->mode == 1 ? 1 : 3;
    b_uleb(&sec, flags);
    if (e->mode == 0) {
      if (flags & 2) b_uleb(&sec, e->table);
      emit_const_i32(&sec, e->offset);
    }
    if (e->mode != 0 || (flags & 2)) b_u8(&sec, e->as_exprs ? e->type : 0x00);
    b_uleb(&sec, e->count);
    for (uint32_t k = 0; k < e->count; k++) {
      if (!e->as_exprs) {
        b_uleb(&sec, (uint32_t)e->items[k]);
      } else if (e->items[k] >= 0) {
        b_u8(&sec, 0xD2);
        b_uleb(&sec, (uint32_t)e->items[k]);
        b_u8(&sec, 0x0B);
      } else {
        b_u8(&sec, 0xD0);
        b_u8(&sec, e->type);
        b_u8(&sec, 0x0B);
      }
    }
  }
  b_section(out, 9, &sec);

  if (g->ndatas) {
    b_uleb(&sec, g->ndatas);
    b_section(out, 12, &sec);
  }

  b_uleb(&sec, g->ndefined);
  for (uint32_t i = 0; i < g->ndefined; i++) {
    b_raw(&sec, g->body[i].p, g->body[i].n);
    sec.oom |= g->body[i].oom;
  }
  b_section(out, 10, &sec);

  if (g->ndatas) {
    b_uleb(&sec, g->ndatas);
    for (uint32_t i = 0; i < g->ndatas; i++) {
      const gdata *d = &g->datas[i];
      if (d->active) {
        b_u8(&sec, 0);
        emit_const_i32(&sec, d->offset);
      } else {
        b_u8(&sec, 1);
      }
      b_uleb(&sec, d->len);
      b_raw(&sec, d->bytes, d->len);
    }
    b_section(out, 11, &sec);
  }
  out->oom |= sec.oom;
  free(sec.p);
}

bool wgen_generate(const uint8_t *data, size_t size, const wgen_config *config, uint8_t **out,
                   size_t *out_size) {
  gen *g = calloc(1, sizeof *g);
  gbuf mod = {0};
  bool ok = false;
  *out = NULL;
  *out_size = 0;
  if (!g) return false;
  g->src = (gsrc){.p = data, .n = size};
  g->det = config && config->deterministic;

  gen_decls(g);
  g->ndefined = g->nfuncs;
  for (uint32_t i = 0; i < g->nfuncs; i++) g->dtype[i] = g->ftype[i];
  gsig sig;
  int32_t ti;
  if (g->det) {
    g->first_wrapper = g->ndefined;
    for (uint32_t i = 0; i < g->nfuncs; i++) {
      const gsig *c = &g->types[g->ftype[i]];
      memset(&sig, 0, sizeof sig);
      for (uint32_t k = 0; k < c->nr; k++) {
        sig.r[sig.nr++] = (c->r[k] == T_I32 || c->r[k] == T_F32) ? T_I32 : T_I64;
        if (c->r[k] == T_V128) sig.r[sig.nr++] = T_I64; /* the high lane */
      }
      if ((ti = add_type(g, &sig)) < 0) goto done; /* cannot happen: 7 + 8 + 2 < G_MAX_TYPES */
      g->dtype[g->ndefined++] = (uint32_t)ti;
    }
    memset(&sig, 0, sizeof sig);
    sig.nr = 1;
    sig.r[0] = T_I64;
    if ((ti = add_type(g, &sig)) < 0) goto done;
    g->state_func = g->ndefined;
    g->dtype[g->ndefined++] = (uint32_t)ti;
  }
  g->has_start = src_range(&g->src, g->det ? 8 : 3) == 1;
  uint32_t start_callee = src_range(&g->src, g->nfuncs);
  if (g->has_start) {
    memset(&sig, 0, sizeof sig);
    if ((ti = add_type(g, &sig)) < 0) goto done;
    g->start_func = g->ndefined;
    g->dtype[g->ndefined++] = (uint32_t)ti;
  }

  for (uint32_t i = 0; i < g->nfuncs; i++) gen_internal(g, i);
  if (g->det) {
    for (uint32_t i = 0; i < g->nfuncs; i++) gen_wrapper(g, g->first_wrapper + i, i, true);
    gen_state(g, g->state_func);
  }
  if (g->has_start) gen_wrapper(g, g->start_func, start_callee, false);

  emit_module(g, &mod);
  if (mod.oom) goto done;
  for (uint32_t i = 0; i < g->ndefined; i++)
    if (g->body[i].oom) goto done;
  *out = mod.p;
  *out_size = mod.n;
  mod.p = NULL;
  ok = true;
done:
  free(mod.p);
  for (uint32_t i = 0; i < G_MAX_DEFINED; i++) free(g->body[i].p);
  free(g);
  return ok;
}

void wgen_seed_bytes(uint64_t seed, uint8_t *out, size_t size) {
  uint64_t x = seed;
  for (size_t i = 0; i < size; i += 8) {
    x += 0x9E3779B97F4A7C15ull;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (size_t k = 0; k < 8 && i + k < size; k++) out[i + k] = (uint8_t)(z >> (8 * k));
  }
}
