/*
 * spectest.c: `hypervisor spectest FILE.json...`: runs the command lists that wabt's wast2json makes
 * from the official .wast files, against the engine, with the standard `spectest` host module.
 *
 * Pass criteria per directive (docs/cli.md has the table and why):
 *   module                 loads, its imports resolve, and it instantiates
 *   action                 the invoke or get completes without a trap
 *   assert_return          completes, and each result matches (NaN patterns, reference patterns,
 *                          v128 lane by lane)
 *   assert_trap            traps, and the expected text starts with the engine's trap message
 *   assert_exhaustion      traps with "call stack exhausted"
 *   assert_malformed/invalid  a binary module fails to load (malformed, invalid or over a limit); a
 *                          text-format module (.wat) passes without being read: see docs/cli.md
 *   assert_unlinkable      loads, and an import is unknown or instantiation says HVW_UNLINKABLE
 *   assert_uninstantiable  loads, links, and instantiation traps with the expected text
 *   register               not a test (as in wabt's spectest-interp); a failure still counts as one
 *
 * One store per file, with limits for the testsuite rather than the service.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_file.h"
#include "valtext.h"
#include "wasm_engine.h"

#define ST_REASON_MAX 512
#define ST_DEFAULT_TIMEOUT_NS (60ull * 1000000000u) /* per directive: a hung engine fails, not hangs */
#define ST_GAS_LIMIT 1000000000000ull                /* per file; the whole suite uses far less */
#define ST_MAX_MEMORY_PAGES 65536u                   /* what the spec allows a 32-bit memory */
#define ST_MAX_VALUES 100000u                        /* arguments or results of one call */
#define ST_MAX_FILENAME 4096u

/* A name bound to an instance: `(module $M ...)` names and `(register "as")` names. */
typedef struct st_binding {
  char *name;
  size_t name_len;
  hvw_instance *instance;
} st_binding;

typedef struct st_bindings {
  st_binding *items;
  size_t count, cap;
} st_bindings;

/* One export of the `spectest` host module. */
typedef struct st_host_item {
  const char *name;
  hvw_extern ext;
} st_host_item;

#define ST_HOST_MAX 16

/* How a result is compared with what the command file expects. */
typedef enum st_match {
  ST_EXACT,           /* same type and bits */
  ST_NAN_CANONICAL,   /* a NaN with only the quiet bit of the payload set, either sign */
  ST_NAN_ARITHMETIC,  /* a NaN with the quiet bit set */
  ST_REF_NULL,        /* a null reference of the type */
  ST_REF_NONNULL,     /* any non-null reference of the type */
  ST_V128_LANES,      /* a v128 checked lane by lane: each lane ST_EXACT or a NaN pattern */
} st_match;

/* A v128's shape in the command file: "lane_type" i8, i16, i32, i64, f32 or f64. */
typedef struct st_shape {
  unsigned lane_bytes; /* 1, 2, 4 or 8: 16 / lane_bytes lanes */
  bool is_float;
} st_shape;

typedef struct st_expect {
  st_match match;
  hvw_value value; /* type always set; the value for ST_EXACT, the exact lanes for ST_V128_LANES */
  st_shape shape;   /* ST_V128_LANES: the lanes */
  st_match lanes[16]; /* ST_V128_LANES: how each lane is compared (ST_EXACT or a NaN pattern) */
} st_expect;

typedef struct st_file {
  const char *path;   /* the .json as given */
  char *dir;          /* where its .wasm files are */
  const char *source; /* the .wast, for failure lines */
  hvw_store *store;
  hvw_watchdog *watchdog;
  hvw_pool *pool;     /* every file's store takes its memories and stacks from it */
  uint64_t timeout_ns;
  hvw_module **modules; /* every module loaded; freed after the store */
  size_t module_count, module_cap;
  hvw_instance *current; /* the last module instantiated; NULL if it failed */
  st_bindings named;
  st_bindings registered;
  st_host_item host[ST_HOST_MAX];
  size_t host_count;
  unsigned long passed, failed;
} st_file;

/* ---- Small helpers ------------------------------------------------------------------------- */

static bool st_grow(void **items, size_t *cap, size_t count, size_t item_size) {
  if (count < *cap) return true;
  size_t next = *cap ? *cap * 2 : 8;
  if (next > SIZE_MAX / item_size) return false;
  void *grown = realloc(*items, next * item_size);
  if (!grown) return false;
  *items = grown;
  *cap = next;
  return true;
}

__attribute__((format(printf, 3, 4))) static bool st_why(char *why, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
  return false;
}

/* A string member and its length (names may hold NUL bytes); NULL if absent or not a string. */
static const char *st_string(const json_t *obj, const char *key, size_t *len) {
  const json_t *v = json_object_get(obj, key);
  if (!json_is_string(v)) return NULL;
  if (len) *len = json_string_length(v);
  return json_string_value(v);
}

/* A name for a failure line: at most 48 bytes, control characters escaped. */
static void st_quote(const char *s, size_t len, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; i < len && i < 48 && o + 5 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  if (len > 48 && o + 4 < size) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

static bool st_name_eq(const char *a, size_t a_len, const char *b, size_t b_len) {
  return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static bool st_bind(st_bindings *b, const char *name, size_t len, hvw_instance *instance) {
  if (!st_grow((void **)&b->items, &b->cap, b->count, sizeof *b->items)) return false;
  char *copy = malloc(len + 1);
  if (!copy) return false;
  memcpy(copy, name, len);
  copy[len] = '\0';
  b->items[b->count++] = (st_binding){copy, len, instance};
  return true;
}

/* The latest binding of `name` (a later register or module name shadows an earlier one). */
static hvw_instance *st_lookup(const st_bindings *b, const char *name, size_t len) {
  for (size_t i = b->count; i-- > 0;)
    if (st_name_eq(b->items[i].name, b->items[i].name_len, name, len)) return b->items[i].instance;
  return NULL;
}

static void st_bindings_free(st_bindings *b) {
  for (size_t i = 0; i < b->count; i++) free(b->items[i].name);
  free(b->items);
  *b = (st_bindings){0};
}

/* The lane `i` of the shape in the 16 bytes of a v128 (little-endian). */
static uint64_t st_lane(const uint8_t *bytes, st_shape shape, unsigned i) {
  uint64_t bits = 0;
  for (unsigned b = 0; b < shape.lane_bytes; b++) bits |= (uint64_t)bytes[i * shape.lane_bytes + b] << (8 * b);
  return bits;
}

/* "v128:f32x4 0x3f800000 nan:canonical 0x00000000 0x7fc00000": the lanes of `bytes` in the shape,
 * in hex; where `lanes` (may be NULL) has a NaN pattern, the pattern instead. */
static void st_describe_v128(const uint8_t *bytes, st_shape shape, const st_match *lanes, char *buf, size_t size) {
  unsigned count = 16 / shape.lane_bytes;
  size_t o = (size_t)snprintf(buf, size, "v128:%c%ux%u", shape.is_float ? 'f' : 'i', 8 * shape.lane_bytes, count);
  for (unsigned i = 0; i < count && o < size; i++) {
    st_match m = lanes ? lanes[i] : ST_EXACT;
    if (m == ST_NAN_CANONICAL || m == ST_NAN_ARITHMETIC)
      o += (size_t)snprintf(buf + o, size - o, " nan:%s", m == ST_NAN_CANONICAL ? "canonical" : "arithmetic");
    else
      o += (size_t)snprintf(buf + o, size - o, " 0x%0*llx", (int)(2 * shape.lane_bytes),
                            (unsigned long long)st_lane(bytes, shape, i));
  }
}

/* "i32:5", "f32:1.5 (0x3fc00000)", "externref:3", "funcref:null"; a v128 in the i32x4 shape. */
static void st_describe_value(const hvw_value *v, char *buf, size_t size) {
  const char *tname = hvw_valtype_name(v->type);
  char text[VALTEXT_FORMAT_MAX];
  switch (v->type) {
    case HVW_TYPE_F32:
      valtext_format(v, text, sizeof text);
      snprintf(buf, size, "f32:%s (0x%08x)", text, (unsigned)v->of.f32_bits);
      break;
    case HVW_TYPE_F64:
      valtext_format(v, text, sizeof text);
      snprintf(buf, size, "f64:%s (0x%016llx)", text, (unsigned long long)v->of.f64_bits);
      break;
    case HVW_TYPE_EXTERNREF:
      if (v->of.externref == 0) snprintf(buf, size, "externref:null");
      else snprintf(buf, size, "externref:%llu", (unsigned long long)(v->of.externref - 1));
      break;
    case HVW_TYPE_FUNCREF:
      snprintf(buf, size, "funcref:%s", v->of.funcref ? "non-null" : "null");
      break;
    case HVW_TYPE_V128:
      st_describe_v128(v->of.v128, (st_shape){4, false}, NULL, buf, size);
      break;
    default:
      valtext_format(v, text, sizeof text);
      snprintf(buf, size, "%s:%s", tname ? tname : "?", text);
      break;
  }
}

static void st_describe_expect(const st_expect *e, char *buf, size_t size) {
  const char *tname = hvw_valtype_name(e->value.type);
  switch (e->match) {
    case ST_EXACT: st_describe_value(&e->value, buf, size); break;
    case ST_NAN_CANONICAL: snprintf(buf, size, "%s:nan:canonical", tname); break;
    case ST_NAN_ARITHMETIC: snprintf(buf, size, "%s:nan:arithmetic", tname); break;
    case ST_REF_NULL: snprintf(buf, size, "%s:null", tname); break;
    case ST_REF_NONNULL: snprintf(buf, size, "%s:non-null", tname); break;
    case ST_V128_LANES: st_describe_v128(e->value.of.v128, e->shape, e->lanes, buf, size); break;
  }
}

/* A result as the expectation shows it: a v128 in the expected lanes' shape. */
static void st_describe_actual(const st_expect *e, const hvw_value *v, char *buf, size_t size) {
  if (e->match == ST_V128_LANES && v->type == HVW_TYPE_V128) st_describe_v128(v->of.v128, e->shape, NULL, buf, size);
  else st_describe_value(v, buf, size);
}

/* ---- Values from the command file ----------------------------------------------------------- */

static bool st_parse_type(const char *name, hvw_valtype *out) {
  static const struct {
    const char *name;
    hvw_valtype type;
  } types[] = {{"i32", HVW_TYPE_I32},         {"i64", HVW_TYPE_I64},
               {"f32", HVW_TYPE_F32},         {"f64", HVW_TYPE_F64},
               {"v128", HVW_TYPE_V128},       {"funcref", HVW_TYPE_FUNCREF},
               {"externref", HVW_TYPE_EXTERNREF}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (name && strcmp(name, types[i].name) == 0) {
      *out = types[i].type;
      return true;
    }
  return false;
}

/* "nan:canonical" or "nan:arithmetic" as a match; ST_EXACT for anything else. */
static st_match st_nan_pattern(const char *text) {
  if (strcmp(text, "nan:canonical") == 0) return ST_NAN_CANONICAL;
  if (strcmp(text, "nan:arithmetic") == 0) return ST_NAN_ARITHMETIC;
  return ST_EXACT;
}

/* An unsigned decimal bit pattern of `bytes` bytes (no 0x: the command file never writes one). */
static bool st_parse_bits(const char *text, unsigned bytes, uint64_t *out) {
  if (text[0] == '0' && text[1] == 'x') return false;
  if (valtext_parse_u64(text, out) != VALTEXT_OK) return false;
  return bytes == 8 || *out < (uint64_t)1 << (8 * bytes);
}

/*
 * The lanes of a v128 object: {"type": "v128", "lane_type": "i8".."f64", "value": [16 / width
 * lanes]}, each lane an unsigned decimal bit pattern, or for an expected float lane a NaN pattern
 * (`expect` non-NULL: its shape and lanes are set).
 */
static bool st_parse_v128(const json_t *obj, hvw_value *out, st_expect *expect, char *why, size_t n) {
  static const struct {
    const char *name;
    st_shape shape;
  } shapes[] = {{"i8", {1, false}}, {"i16", {2, false}}, {"i32", {4, false}},
                {"i64", {8, false}}, {"f32", {4, true}},  {"f64", {8, true}}};
  const char *lane_type = st_string(obj, "lane_type", NULL);
  size_t k = 0;
  while (k < sizeof shapes / sizeof shapes[0] && !(lane_type && strcmp(lane_type, shapes[k].name) == 0)) k++;
  if (k == sizeof shapes / sizeof shapes[0])
    return st_why(why, n, "v128 with unknown lane_type '%.16s'", lane_type ? lane_type : "?");
  st_shape shape = shapes[k].shape;
  unsigned count = 16 / shape.lane_bytes;
  const json_t *lanes = json_object_get(obj, "value");
  if (!json_is_array(lanes) || json_array_size(lanes) != count)
    return st_why(why, n, "v128 %sx%u needs %u lanes", lane_type, count, count);
  for (unsigned i = 0; i < count; i++) {
    const json_t *lane = json_array_get(lanes, i);
    const char *text = json_is_string(lane) ? json_string_value(lane) : NULL;
    if (!text) return st_why(why, n, "v128 lane %u is not a string", i);
    st_match m = expect && shape.is_float ? st_nan_pattern(text) : ST_EXACT;
    uint64_t bits = 0;
    if (m == ST_EXACT && !st_parse_bits(text, shape.lane_bytes, &bits))
      return st_why(why, n, "bad %s lane %u '%.40s'", lane_type, i, text);
    if (expect) expect->lanes[i] = m;
    for (unsigned b = 0; b < shape.lane_bytes; b++) out->of.v128[i * shape.lane_bytes + b] = (uint8_t)(bits >> (8 * b));
  }
  if (expect) expect->shape = shape;
  return true;
}

/*
 * Parses a {"type", "value"} object. Numbers are unsigned decimal bit patterns; references are
 * "null", or for externref "N", which is host value N + 1 (0 being null). For an expected value
 * (`expect` non-NULL) floats may be "nan:canonical"/"nan:arithmetic", and a funcref "N" (what
 * wast2json writes for `(ref.func)`) or a reference without a value means any non-null one. A v128
 * is as st_parse_v128 reads it.
 */
static bool st_parse_value(const json_t *obj, hvw_value *out, st_expect *expect, char *why, size_t n) {
  hvw_valtype type;
  const char *tname = st_string(obj, "type", NULL);
  if (!st_parse_type(tname, &type)) return st_why(why, n, "unknown value type '%s'", tname ? tname : "?");
  const char *text = st_string(obj, "value", NULL);
  *out = (hvw_value){.type = type};
  st_match match = ST_EXACT;
  uint64_t bits = 0;

  switch (type) {
    case HVW_TYPE_I32:
    case HVW_TYPE_F32:
    case HVW_TYPE_I64:
    case HVW_TYPE_F64:
      if (!text) return st_why(why, n, "%s value missing", tname);
      if (expect && (type == HVW_TYPE_F32 || type == HVW_TYPE_F64) && st_nan_pattern(text) != ST_EXACT) {
        match = st_nan_pattern(text);
        break;
      }
      if (!st_parse_bits(text, type == HVW_TYPE_I32 || type == HVW_TYPE_F32 ? 4 : 8, &bits))
        return st_why(why, n, "bad %s value '%.40s'", tname, text);
      if (type == HVW_TYPE_I32) out->of.i32 = (int32_t)(uint32_t)bits;
      else if (type == HVW_TYPE_F32) out->of.f32_bits = (uint32_t)bits;
      else if (type == HVW_TYPE_I64) out->of.i64 = (int64_t)bits;
      else out->of.f64_bits = bits;
      break;
    case HVW_TYPE_FUNCREF:
      if (!text) {
        if (!expect) return st_why(why, n, "funcref argument without a value");
        match = ST_REF_NONNULL;
      } else if (strcmp(text, "null") == 0) {
        match = ST_REF_NULL;
      } else if (expect && valtext_parse_u64(text, &bits) == VALTEXT_OK) {
        match = ST_REF_NONNULL; /* wast2json's `(ref.func)`; which function cannot be told */
      } else {
        return st_why(why, n, "funcref value '%.40s' cannot be made by this runner", text);
      }
      break;
    case HVW_TYPE_EXTERNREF:
      if (!text) {
        if (!expect) return st_why(why, n, "externref argument without a value");
        match = ST_REF_NONNULL;
      } else if (strcmp(text, "null") == 0) {
        match = ST_REF_NULL;
      } else {
        if (valtext_parse_u64(text, &bits) != VALTEXT_OK || bits >= UINTPTR_MAX)
          return st_why(why, n, "bad externref value '%.40s'", text);
        out->of.externref = (uintptr_t)bits + 1;
      }
      break;
    case HVW_TYPE_V128:
      if (expect) *expect = (st_expect){.match = ST_V128_LANES};
      if (!st_parse_v128(obj, out, expect, why, n)) return false;
      if (expect) expect->value = *out;
      return true;
    default:
      return st_why(why, n, "%s values are not supported", tname);
  }
  if (expect) *expect = (st_expect){.match = match, .value = *out};
  return true;
}

/* Whether the float `bits` (`bytes` 4 or 8 wide) fit a NaN pattern, as the spec's interpreter
 * checks them: canonical is a NaN whose payload is exactly the quiet bit, either sign; arithmetic
 * any NaN with the quiet bit set. */
static bool st_nan_matches(st_match pattern, uint64_t bits, unsigned bytes) {
  uint64_t quiet_nan = bytes == 4 ? 0x7fc00000u : 0x7ff8000000000000u;
  uint64_t magnitude = bytes == 4 ? 0x7fffffffu : 0x7fffffffffffffffu;
  if (pattern == ST_NAN_CANONICAL) return (bits & magnitude) == quiet_nan;
  return (bits & quiet_nan) == quiet_nan;
}

static bool st_matches(const st_expect *e, const hvw_value *actual) {
  if (actual->type != e->value.type) return false;
  switch (e->match) {
    case ST_EXACT:
      switch (actual->type) {
        case HVW_TYPE_I32: return actual->of.i32 == e->value.of.i32;
        case HVW_TYPE_F32: return actual->of.f32_bits == e->value.of.f32_bits;
        case HVW_TYPE_I64: return actual->of.i64 == e->value.of.i64;
        case HVW_TYPE_F64: return actual->of.f64_bits == e->value.of.f64_bits;
        case HVW_TYPE_EXTERNREF: return actual->of.externref == e->value.of.externref;
        default: return false;
      }
    case ST_NAN_CANONICAL:
    case ST_NAN_ARITHMETIC:
      if (actual->type == HVW_TYPE_F32) return st_nan_matches(e->match, actual->of.f32_bits, 4);
      return st_nan_matches(e->match, actual->of.f64_bits, 8);
    case ST_REF_NULL:
      return actual->type == HVW_TYPE_FUNCREF ? actual->of.funcref == NULL : actual->of.externref == 0;
    case ST_REF_NONNULL:
      return actual->type == HVW_TYPE_FUNCREF ? actual->of.funcref != NULL : actual->of.externref != 0;
    case ST_V128_LANES:
      for (unsigned i = 0; i < 16 / e->shape.lane_bytes; i++) {
        uint64_t got = st_lane(actual->of.v128, e->shape, i);
        bool ok = e->lanes[i] == ST_EXACT ? got == st_lane(e->value.of.v128, e->shape, i)
                                          : st_nan_matches(e->lanes[i], got, e->shape.lane_bytes);
        if (!ok) return false;
      }
      return true;
  }
  return false;
}

/* ---- The spectest host module --------------------------------------------------------------- */

static hvw_status st_host_print(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  return HVW_OK; /* the prints print nothing: the output is the pass/fail report */
}

static bool st_add_host(st_file *f, const char *name, hvw_extern ext) {
  if (f->host_count >= ST_HOST_MAX) return false;
  f->host[f->host_count++] = (st_host_item){name, ext};
  return true;
}

static bool st_host_init(st_file *f, char *why, size_t n) {
  static const hvw_valtype i32[] = {HVW_TYPE_I32}, i64[] = {HVW_TYPE_I64}, f32[] = {HVW_TYPE_F32},
                            f64[] = {HVW_TYPE_F64}, i32_f32[] = {HVW_TYPE_I32, HVW_TYPE_F32},
                            f64_f64[] = {HVW_TYPE_F64, HVW_TYPE_F64};
  static const struct {
    const char *name;
    uint32_t count;
    const hvw_valtype *params;
  } prints[] = {{"print", 0, NULL},         {"print_i32", 1, i32},         {"print_i64", 1, i64},
                {"print_f32", 1, f32},      {"print_f64", 1, f64},         {"print_i32_f32", 2, i32_f32},
                {"print_f64_f64", 2, f64_f64}};
  hvw_error err = {0};
  for (size_t i = 0; i < sizeof prints / sizeof prints[0]; i++) {
    hvw_functype_view type = {prints[i].count, prints[i].params, 0, NULL};
    hvw_func *fn = hvw_func_new_host(f->store, type, st_host_print, NULL, &err);
    if (!fn) return st_why(why, n, "spectest.%s: %s", prints[i].name, err.message);
    st_add_host(f, prints[i].name, (hvw_extern){.kind = HVW_EXTERN_FUNC, .of.func = fn});
  }

  hvw_table *table = hvw_table_new(f->store, HVW_TYPE_FUNCREF, (hvw_limits_decl){10, 20, true},
                                     (hvw_value){.type = HVW_TYPE_FUNCREF}, &err);
  if (!table) return st_why(why, n, "spectest.table: %s", err.message);
  st_add_host(f, "table", (hvw_extern){.kind = HVW_EXTERN_TABLE, .of.table = table});

  hvw_memory *memory = hvw_memory_new(f->store, (hvw_limits_decl){1, 2, true}, &err);
  if (!memory) return st_why(why, n, "spectest.memory: %s", err.message);
  st_add_host(f, "memory", (hvw_extern){.kind = HVW_EXTERN_MEMORY, .of.memory = memory});

  float f32_value = 666.6f;
  double f64_value = 666.6;
  hvw_value globals[4] = {{.type = HVW_TYPE_I32, .of.i32 = 666},
                           {.type = HVW_TYPE_I64, .of.i64 = 666},
                           {.type = HVW_TYPE_F32},
                           {.type = HVW_TYPE_F64}};
  memcpy(&globals[2].of.f32_bits, &f32_value, sizeof f32_value);
  memcpy(&globals[3].of.f64_bits, &f64_value, sizeof f64_value);
  static const char *const global_names[4] = {"global_i32", "global_i64", "global_f32", "global_f64"};
  for (size_t i = 0; i < 4; i++) {
    hvw_global *g = hvw_global_new(f->store, globals[i].type, false, globals[i], &err);
    if (!g) return st_why(why, n, "spectest.%s: %s", global_names[i], err.message);
    st_add_host(f, global_names[i], (hvw_extern){.kind = HVW_EXTERN_GLOBAL, .of.global = g});
  }
  return true;
}

/* ---- Modules -------------------------------------------------------------------------------- */

/* Loads `filename` (next to the .json). NULL with err filled on a load failure, or with err->status
 * HVW_OK and `why` set when the file could not be read. The module is kept until the file ends. */
static hvw_module *st_load(st_file *f, const json_t *cmd, hvw_error *err, char *why, size_t n) {
  *err = (hvw_error){0};
  const char *name = st_string(cmd, "filename", NULL);
  if (!name || strlen(name) > ST_MAX_FILENAME) {
    st_why(why, n, "no usable \"filename\"");
    return NULL;
  }
  size_t path_len = strlen(f->dir) + 1 + strlen(name) + 1;
  char *path = malloc(path_len);
  if (!path) {
    st_why(why, n, "out of memory");
    return NULL;
  }
  snprintf(path, path_len, "%s/%s", f->dir, name);
  size_t size = 0;
  char reason[256];
  uint8_t *bytes = cli_read_file(path, CLI_FILE_MAX, &size, reason, sizeof reason);
  if (!bytes) {
    st_why(why, n, "cannot read %s: %s", path, reason);
    free(path);
    return NULL;
  }
  free(path);
  hvw_module *module = hvw_module_load(bytes, size, err);
  free(bytes);
  if (!module) {
    if (err->status == HVW_OK) err->status = HVW_MALFORMED; /* an engine that forgot to say */
    st_why(why, n, "%s: %s", hvw_status_name(err->status), err->message);
    return NULL;
  }
  if (!st_grow((void **)&f->modules, &f->module_cap, f->module_count, sizeof *f->modules)) {
    hvw_module_free(module);
    *err = (hvw_error){.status = HVW_OUT_OF_HOST_MEMORY};
    st_why(why, n, "out of memory");
    return NULL;
  }
  f->modules[f->module_count++] = module;
  return module;
}

/*
 * Finds an extern for every import: "spectest" is the host module, any other module name must
 * have been registered. Returns false with `why` when it cannot, and *unknown set if that is
 * because an import is unknown (rather than out of memory); *out is the caller's to free either way.
 */
static bool st_resolve_imports(st_file *f, const hvw_module *module, hvw_extern **out, size_t *count,
                               bool *unknown, char *why, size_t n) {
  *unknown = false;
  uint32_t total = hvw_module_import_count(module);
  *count = total;
  *out = calloc(total ? total : 1, sizeof **out);
  if (!*out) return st_why(why, n, "out of memory");
  for (uint32_t i = 0; i < total; i++) {
    hvw_import_info info;
    if (!hvw_module_import(module, i, &info)) return st_why(why, n, "import %u cannot be read", i);
    bool found = false;
    if (st_name_eq(info.module_name, info.module_name_len, "spectest", 8)) {
      for (size_t h = 0; h < f->host_count && !found; h++)
        if (st_name_eq(info.name, info.name_len, f->host[h].name, strlen(f->host[h].name))) {
          (*out)[i] = f->host[h].ext;
          found = true;
        }
    } else {
      hvw_instance *from = st_lookup(&f->registered, info.module_name, info.module_name_len);
      found = from && hvw_instance_export(from, info.name, info.name_len, &(*out)[i]);
    }
    if (!found) {
      char mod[200], name[200];
      st_quote(info.module_name, info.module_name_len, mod, sizeof mod);
      st_quote(info.name, info.name_len, name, sizeof name);
      *unknown = true;
      return st_why(why, n, "unknown import \"%s\".\"%s\"", mod, name);
    }
  }
  return true;
}

/* Instantiates under the watchdog. NULL with err filled on failure. */
static hvw_instance *st_instantiate(st_file *f, const hvw_module *module, const hvw_extern *imports,
                                     size_t count, hvw_error *err) {
  *err = (hvw_error){0};
  uint64_t ticket = hvw_watchdog_arm(f->watchdog, f->store, f->timeout_ns);
  hvw_instance *instance = hvw_instance_new(f->store, module, imports, count, err);
  if (ticket) hvw_watchdog_disarm(f->watchdog, ticket);
  hvw_store_clear_interrupt(f->store); /* a timeout must not leak into the next directive */
  if (!instance && err->status == HVW_OK) err->status = HVW_TRAP;
  return instance;
}

/* Describes a failed engine call: "trap: integer divide by zero", "execution timeout: ...". */
static void st_describe_error(const hvw_error *err, char *buf, size_t size) {
  if (err->status == HVW_TRAP)
    snprintf(buf, size, "trap: %s", hvw_trap_message(err->trap));
  else
    snprintf(buf, size, "%s: %.*s", hvw_status_text(err->status), (int)sizeof err->message, err->message);
}

/* True if the engine trapped with a message that the expected text starts with. The spec's own
 * interpreter reports some traps with detail ("uninitialized element 2"), hence the prefix. */
static bool st_trap_matches(const hvw_error *err, const char *expected) {
  if (err->status != HVW_TRAP || err->trap == HVW_TRAP_NONE) return false;
  const char *msg = hvw_trap_message(err->trap);
  return expected && strncmp(expected, msg, strlen(msg)) == 0;
}

/* ---- Actions -------------------------------------------------------------------------------- */

typedef struct st_outcome {
  hvw_status status; /* HVW_OK, an engine outcome, or HVW_NOT_FOUND etc. for runner problems */
  hvw_error err;
  hvw_value *results; /* malloc'ed; result_count values */
  uint32_t result_count;
} st_outcome;

/*
 * Runs an "invoke" or "get" action. Returns false (with `why`) when the action could not be run at
 * all (unknown module or export, bad arguments in the file); otherwise true with out->status saying
 * how the call ended. out->results is the caller's to free.
 */
static bool st_action(st_file *f, const json_t *action, st_outcome *out, char *why, size_t n) {
  *out = (st_outcome){0};
  size_t mod_len = 0, field_len = 0;
  const char *mod = st_string(action, "module", &mod_len);
  const char *field = st_string(action, "field", &field_len);
  const char *type = st_string(action, "type", NULL);
  if (!field || !type) return st_why(why, n, "action without \"type\" or \"field\"");
  hvw_instance *instance = mod ? st_lookup(&f->named, mod, mod_len) : f->current;
  char qfield[200];
  st_quote(field, field_len, qfield, sizeof qfield);
  if (!instance && mod) return st_why(why, n, "no module named %.64s", mod);
  if (!instance) return st_why(why, n, "no module instantiated");
  hvw_extern ext;
  if (!hvw_instance_export(instance, field, field_len, &ext)) return st_why(why, n, "no export \"%s\"", qfield);

  if (strcmp(type, "get") == 0) {
    if (ext.kind != HVW_EXTERN_GLOBAL) return st_why(why, n, "export \"%s\" is not a global", qfield);
    out->results = malloc(sizeof *out->results);
    if (!out->results) return st_why(why, n, "out of memory");
    out->results[0] = hvw_global_get(ext.of.global);
    out->result_count = 1;
    out->status = HVW_OK;
    return true;
  }
  if (strcmp(type, "invoke") != 0) return st_why(why, n, "unknown action type '%.32s'", type);
  if (ext.kind != HVW_EXTERN_FUNC) return st_why(why, n, "export \"%s\" is not a function", qfield);

  const json_t *jargs = json_object_get(action, "args");
  size_t arg_count = json_is_array(jargs) ? json_array_size(jargs) : 0;
  hvw_functype_view ftype = hvw_func_type(ext.of.func);
  if (arg_count > ST_MAX_VALUES || ftype.result_count > ST_MAX_VALUES)
    return st_why(why, n, "too many arguments or results");
  hvw_value *args = calloc(arg_count ? arg_count : 1, sizeof *args);
  out->results = calloc(ftype.result_count ? ftype.result_count : 1, sizeof *out->results);
  if (!args || !out->results) {
    free(args);
    return st_why(why, n, "out of memory");
  }
  for (size_t i = 0; i < arg_count; i++) {
    char reason[200];
    if (!st_parse_value(json_array_get(jargs, i), &args[i], NULL, reason, sizeof reason)) {
      free(args);
      return st_why(why, n, "argument %zu: %s", i, reason);
    }
  }
  for (uint32_t i = 0; i < ftype.result_count; i++) out->results[i].type = ftype.results[i];
  out->result_count = ftype.result_count;

  uint64_t ticket = hvw_watchdog_arm(f->watchdog, f->store, f->timeout_ns);
  out->status = hvw_func_call(f->store, ext.of.func, args, arg_count, out->results, ftype.result_count,
                               &out->err);
  if (ticket) hvw_watchdog_disarm(f->watchdog, ticket);
  hvw_store_clear_interrupt(f->store);
  if (out->status != HVW_OK && out->err.status == HVW_OK) out->err.status = out->status;
  free(args);
  return true;
}

/* ---- Directives ----------------------------------------------------------------------------- */

static bool st_cmd_module(st_file *f, const json_t *cmd, char *why, size_t n) {
  hvw_error err;
  f->current = NULL; /* later actions must not silently run against an older module */
  hvw_module *module = st_load(f, cmd, &err, why, n);
  if (!module) return false;
  hvw_extern *imports = NULL;
  size_t count = 0;
  bool unknown;
  bool ok = st_resolve_imports(f, module, &imports, &count, &unknown, why, n);
  if (ok) {
    hvw_instance *instance = st_instantiate(f, module, imports, count, &err);
    if (!instance) {
      char desc[300];
      st_describe_error(&err, desc, sizeof desc);
      ok = st_why(why, n, "instantiation failed: %s", desc);
    } else {
      f->current = instance;
      size_t name_len = 0;
      const char *name = st_string(cmd, "name", &name_len);
      if (name && !st_bind(&f->named, name, name_len, instance)) ok = st_why(why, n, "out of memory");
    }
  }
  free(imports);
  return ok;
}

static bool st_cmd_register(st_file *f, const json_t *cmd, char *why, size_t n) {
  size_t as_len = 0, name_len = 0;
  const char *as = st_string(cmd, "as", &as_len);
  const char *name = st_string(cmd, "name", &name_len);
  if (!as) return st_why(why, n, "register without \"as\"");
  hvw_instance *instance = name ? st_lookup(&f->named, name, name_len) : f->current;
  if (!instance) return st_why(why, n, "nothing to register (the module was not instantiated)");
  if (!st_bind(&f->registered, as, as_len, instance)) return st_why(why, n, "out of memory");
  return true;
}

static bool st_cmd_action(st_file *f, const json_t *cmd, char *why, size_t n) {
  st_outcome out;
  bool ok = st_action(f, json_object_get(cmd, "action"), &out, why, n);
  if (ok && out.status != HVW_OK) {
    char desc[300];
    st_describe_error(&out.err, desc, sizeof desc);
    ok = st_why(why, n, "%s", desc);
  }
  free(out.results);
  return ok;
}

static bool st_cmd_assert_return(st_file *f, const json_t *cmd, char *why, size_t n) {
  st_outcome out;
  if (!st_action(f, json_object_get(cmd, "action"), &out, why, n)) {
    free(out.results);
    return false;
  }
  bool ok = true;
  if (out.status != HVW_OK) {
    char desc[300];
    st_describe_error(&out.err, desc, sizeof desc);
    ok = st_why(why, n, "%s", desc);
    goto done;
  }
  const json_t *expected = json_object_get(cmd, "expected");
  size_t count = json_is_array(expected) ? json_array_size(expected) : 0;
  if (count != out.result_count) {
    ok = st_why(why, n, "expected %zu results, got %u", count, out.result_count);
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    st_expect e;
    hvw_value unused;
    char reason[200];
    if (!st_parse_value(json_array_get(expected, i), &unused, &e, reason, sizeof reason)) {
      ok = st_why(why, n, "result %zu: %s", i, reason);
      goto done;
    }
    if (!st_matches(&e, &out.results[i])) {
      char want[200], got[200];
      st_describe_expect(&e, want, sizeof want);
      st_describe_actual(&e, &out.results[i], got, sizeof got);
      ok = st_why(why, n, "result %zu: expected %s, got %s", i, want, got);
      goto done;
    }
  }
done:
  free(out.results);
  return ok;
}

static bool st_cmd_assert_trap(st_file *f, const json_t *cmd, bool exhaustion, char *why, size_t n) {
  st_outcome out;
  if (!st_action(f, json_object_get(cmd, "action"), &out, why, n)) {
    free(out.results);
    return false;
  }
  const char *text = exhaustion ? "call stack exhausted" : st_string(cmd, "text", NULL);
  bool ok = true;
  if (out.status == HVW_OK) {
    ok = st_why(why, n, "expected trap \"%.100s\", returned normally", text ? text : "");
  } else if (!st_trap_matches(&out.err, text) ||
             (exhaustion && out.err.trap != HVW_TRAP_CALL_STACK_EXHAUSTED)) {
    char desc[300];
    st_describe_error(&out.err, desc, sizeof desc);
    ok = st_why(why, n, "expected trap \"%.100s\", got %s", text ? text : "", desc);
  }
  free(out.results);
  return ok;
}

/* assert_malformed and assert_invalid. */
static bool st_cmd_assert_rejected(st_file *f, const json_t *cmd, const char *kind, char *why, size_t n) {
  const char *module_type = st_string(cmd, "module_type", NULL);
  if (module_type && strcmp(module_type, "text") == 0) {
    /* a text-format error, for a text parser: passes unread, as in wabt (docs/cli.md) */
    return true;
  }
  hvw_error err;
  hvw_module *module = st_load(f, cmd, &err, why, n);
  if (module) return st_why(why, n, "module loaded, expected it to be %s", kind);
  switch (err.status) {
    case HVW_MALFORMED:
    case HVW_INVALID:
    case HVW_IMPL_LIMIT: return true;
    case HVW_OK: return false; /* the file could not be read: `why` says so */
    default: return st_why(why, n, "expected a %s module, got %s", kind, hvw_status_name(err.status));
  }
}

static bool st_cmd_assert_unlinkable(st_file *f, const json_t *cmd, char *why, size_t n) {
  hvw_error err;
  hvw_module *module = st_load(f, cmd, &err, why, n);
  if (!module) return false;
  hvw_extern *imports = NULL;
  size_t count = 0;
  bool unknown;
  if (!st_resolve_imports(f, module, &imports, &count, &unknown, why, n)) {
    free(imports);
    return unknown; /* an unknown import is unlinkable */
  }
  hvw_instance *instance = st_instantiate(f, module, imports, count, &err);
  free(imports);
  if (instance) return st_why(why, n, "module instantiated, expected it to be unlinkable");
  if (err.status != HVW_UNLINKABLE) {
    char desc[300];
    st_describe_error(&err, desc, sizeof desc);
    return st_why(why, n, "expected unlinkable, got %s", desc);
  }
  return true;
}

static bool st_cmd_assert_uninstantiable(st_file *f, const json_t *cmd, char *why, size_t n) {
  hvw_error err;
  hvw_module *module = st_load(f, cmd, &err, why, n);
  if (!module) return false;
  hvw_extern *imports = NULL;
  size_t count = 0;
  bool unknown;
  if (!st_resolve_imports(f, module, &imports, &count, &unknown, why, n)) {
    free(imports);
    return false;
  }
  hvw_instance *instance = st_instantiate(f, module, imports, count, &err);
  free(imports);
  const char *text = st_string(cmd, "text", NULL);
  if (instance) return st_why(why, n, "module instantiated, expected trap \"%.100s\"", text ? text : "");
  if (!st_trap_matches(&err, text)) {
    char desc[300];
    st_describe_error(&err, desc, sizeof desc);
    return st_why(why, n, "expected trap \"%.100s\", got %s", text ? text : "", desc);
  }
  return true;
}

/* Runs one directive; returns whether it passed. */
static bool st_directive(st_file *f, const json_t *cmd, const char *type, char *why, size_t n) {
  const char *module_type = st_string(cmd, "module_type", NULL);
  bool text_module = module_type && strcmp(module_type, "text") == 0;
  if (strcmp(type, "module") == 0) return st_cmd_module(f, cmd, why, n);
  if (strcmp(type, "register") == 0) return st_cmd_register(f, cmd, why, n);
  if (strcmp(type, "action") == 0) return st_cmd_action(f, cmd, why, n);
  if (strcmp(type, "assert_return") == 0) return st_cmd_assert_return(f, cmd, why, n);
  if (strcmp(type, "assert_trap") == 0) return st_cmd_assert_trap(f, cmd, false, why, n);
  if (strcmp(type, "assert_exhaustion") == 0) return st_cmd_assert_trap(f, cmd, true, why, n);
  if (strcmp(type, "assert_malformed") == 0) return st_cmd_assert_rejected(f, cmd, "malformed", why, n);
  if (strcmp(type, "assert_invalid") == 0) return st_cmd_assert_rejected(f, cmd, "invalid", why, n);
  if (text_module) return st_why(why, n, "text-format modules are not supported here");
  if (strcmp(type, "assert_unlinkable") == 0) return st_cmd_assert_unlinkable(f, cmd, why, n);
  if (strcmp(type, "assert_uninstantiable") == 0) return st_cmd_assert_uninstantiable(f, cmd, why, n);
  return st_why(why, n, "unknown directive");
}

/* ---- Files ---------------------------------------------------------------------------------- */

static void st_file_free(st_file *f) {
  if (f->store) hvw_store_free(f->store);
  for (size_t i = 0; i < f->module_count; i++) hvw_module_free(f->modules[i]);
  free(f->modules);
  st_bindings_free(&f->named);
  st_bindings_free(&f->registered);
  free(f->dir);
}

/* The source name for failure lines: the .wast's base name, else the .json's. */
static const char *st_base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static void st_fail_line(const st_file *f, long line, const char *directive, const char *why) {
  printf("  %s:%ld: %s: %s\n", f->source, line, directive, why);
}

/* Runs one command file; adds its counts to *passed and *failed. */
static void st_run_file(const char *path, hvw_watchdog *watchdog, hvw_pool *pool, uint64_t timeout_ns,
                        unsigned long *passed, unsigned long *failed) {
  st_file f = {.path = path, .watchdog = watchdog, .pool = pool, .timeout_ns = timeout_ns,
               .source = st_base_name(path)};
  char why[ST_REASON_MAX], reason[256];
  json_t *root = NULL;
  size_t size = 0;
  uint8_t *text = cli_read_file(path, CLI_FILE_MAX, &size, reason, sizeof reason);
  if (!text) snprintf(why, sizeof why, "cannot read: %s", reason);

  const char *slash = strrchr(path, '/');
  f.dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
  if (slash == path) { /* "/x.json": the root directory */
    free(f.dir);
    f.dir = strdup("");
  }
  if (!f.dir) {
    snprintf(why, sizeof why, "out of memory");
    goto broken;
  }
  if (!text) goto broken;
  json_error_t jerr;
  root = json_loadb((const char *)text, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
  free(text);
  text = NULL;
  if (!root) {
    snprintf(why, sizeof why, "bad JSON at line %d: %s", jerr.line, jerr.text);
    goto broken;
  }
  const json_t *commands = json_object_get(root, "commands");
  if (!json_is_array(commands)) {
    snprintf(why, sizeof why, "no \"commands\" array: not wast2json output");
    goto broken;
  }
  const char *source = st_string(root, "source_filename", NULL);
  if (source) f.source = st_base_name(source);

  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = ST_GAS_LIMIT;
  limits.max_memory_pages = ST_MAX_MEMORY_PAGES;
  hvw_error err = {0};
  f.store = hvw_store_new_in_pool(&limits, f.pool, &err);
  if (!f.store) {
    snprintf(why, sizeof why, "cannot create a store: %s", err.message);
    goto broken;
  }
  if (!st_host_init(&f, why, sizeof why)) goto broken;

  for (size_t i = 0; i < json_array_size(commands); i++) {
    const json_t *cmd = json_array_get(commands, i);
    const char *type = st_string(cmd, "type", NULL);
    long line = (long)json_integer_value(json_object_get(cmd, "line"));
    why[0] = '\0';
    if (!type) {
      f.failed++;
      st_fail_line(&f, line, "?", "command without a \"type\"");
      continue;
    }
    bool ok = st_directive(&f, cmd, type, why, sizeof why);
    if (!ok) {
      f.failed++;
      st_fail_line(&f, line, type, why[0] ? why : "failed");
    } else if (strcmp(type, "register") != 0) {
      f.passed++; /* register is not a test, as in wabt's spectest-interp */
    }
  }
  goto report;

broken:
  f.failed++;
  st_fail_line(&f, 0, "file", why);
report:
  printf("%s: %lu passed, %lu failed\n", path, f.passed, f.failed);
  fflush(stdout);
  *passed += f.passed;
  *failed += f.failed;
  json_decref(root);
  free(text);
  st_file_free(&f);
}

__attribute__((format(printf, 1, 2))) static int st_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hypervisor spectest: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: " CLI_SPECTEST_USAGE "\n", stderr);
  return CLI_EXIT_USAGE;
}

int cli_spectest(int argc, char **argv) {
  uint64_t timeout_ns = ST_DEFAULT_TIMEOUT_NS;
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0') break;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      return cli_print_usage(CLI_SPECTEST_USAGE);
    }
    int m = cli_option(argc, argv, &i, "--timeout", &value);
    if (m < 0) return st_usage("%s needs a value", arg);
    if (m == 0) return st_usage("unknown option '%s'", arg);
    if (!cli_parse_seconds(value, 3600.0, &timeout_ns))
      return st_usage("--timeout takes seconds, more than 0 and at most 3600 (got '%s')", value);
  }
  if (i >= argc) return st_usage("%s", "missing FILE.json");

  hvw_error err = {0};
  hvw_watchdog *watchdog = hvw_watchdog_new(&err);
  if (!watchdog) {
    fprintf(stderr, "hypervisor spectest: cannot start the watchdog: %s\n", err.message);
    return CLI_EXIT_FAILURE;
  }
  /* One pool for every file, as the server's threads have: the suite then runs on reused memory
   * slots and stacks, each zeroed between files (docs/engine.md, "Pools"). Slots as large as the
   * memories here may grow; the rest (more memories at once) are mapped as without a pool. */
  hvw_pool_config pool_config;
  hvw_pool_config_default(&pool_config);
  pool_config.slot_pages = ST_MAX_MEMORY_PAGES;
  hvw_pool *pool = hvw_pool_new(&pool_config, &err);
  if (!pool) {
    fprintf(stderr, "hypervisor spectest: cannot make an engine pool: %s\n", err.message);
    hvw_watchdog_free(watchdog);
    return CLI_EXIT_FAILURE;
  }
  unsigned long passed = 0, failed = 0;
  for (; i < argc; i++) st_run_file(argv[i], watchdog, pool, timeout_ns, &passed, &failed);
  hvw_pool_free(pool);
  hvw_watchdog_free(watchdog);
  printf("%lu passed, %lu failed\n", passed, failed);
  if (fflush(stdout) != 0) return CLI_EXIT_FAILURE;
  return failed ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
