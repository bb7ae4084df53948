/*
 * decode.c: WebAssembly binary -> struct hvw_module (module_int.h), with module-level validation,
 * and the hvw_module_* part of the public API.
 *
 * Decoding and validation are one pass over the sections, but the two kinds of failure are kept
 * apart as the spec's reference interpreter does (it decodes everything, then validates): a
 * decoding error (HVW_MALFORMED) or a limit (HVW_IMPL_LIMIT) stops at once, while the first
 * validation error (HVW_INVALID) is recorded and reported only once the whole binary has decoded,
 * so a module that is both is reported malformed. Function bodies are handed to code.c afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "module_int.h"
#include "reader.h"

typedef struct decoder {
  hvw_module *m;
  hvw_reader r;
  hvw_error *err;
  const char *section; /* name used in messages */
  bool invalid;        /* a validation error is recorded in `invalid_err` */
  hvw_error invalid_err;
  uint32_t defined_func_count; /* from the function section */
  bool seen_code;
  bool seen_data;
} decoder;

static const char *section_name(uint8_t id) {
  switch (id) {
    case HVW_SECTION_CUSTOM: return "custom";
    case HVW_SECTION_TYPE: return "type";
    case HVW_SECTION_IMPORT: return "import";
    case HVW_SECTION_FUNCTION: return "function";
    case HVW_SECTION_TABLE: return "table";
    case HVW_SECTION_MEMORY: return "memory";
    case HVW_SECTION_GLOBAL: return "global";
    case HVW_SECTION_EXPORT: return "export";
    case HVW_SECTION_START: return "start";
    case HVW_SECTION_ELEMENT: return "element";
    case HVW_SECTION_CODE: return "code";
    case HVW_SECTION_DATA: return "data";
    case HVW_SECTION_DATA_COUNT: return "data count";
    default: return "unknown";
  }
}

/* Position of a non-custom section in the required order (data count sits between element and code). */
static int section_order(uint8_t id) {
  switch (id) {
    case HVW_SECTION_DATA_COUNT: return 10;
    case HVW_SECTION_CODE: return 11;
    case HVW_SECTION_DATA: return 12;
    default: return id; /* 1..9 */
  }
}

/* Records the first validation error (with section and offset) and lets decoding go on. */
HVW__PRINTF(3, 0)
static void vdefer_fail(decoder *d, hvw_status status, const char *fmt, va_list ap) {
  /* the first error wins, except that being invalid outranks being over a limit */
  if (d->invalid && !(status == HVW_INVALID && d->invalid_err.status != HVW_INVALID)) return;
  d->invalid = true;
  char what[HVW_ERROR_MESSAGE_MAX];
  vsnprintf(what, sizeof what, fmt, ap);
  hvw__fail(&d->invalid_err, status, "%s section: %s at byte offset %zu", d->section, what,
             hvw_reader_offset(&d->r));
}

HVW__PRINTF(2, 3)
static void invalid(decoder *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdefer_fail(d, HVW_INVALID, fmt, ap);
  va_end(ap);
}

/* A limit that only applies to a module that is otherwise valid: deferred the same way. */
HVW__PRINTF(3, 4)
static void defer_fail(decoder *d, hvw_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vdefer_fail(d, status, fmt, ap);
  va_end(ap);
}

HVW__PRINTF(2, 3)
static void prefix_error(decoder *d, const char *fmt, ...);

/* Out of host memory while decoding: stops like a decoding error. */
static bool oom(decoder *d) {
  if (!d->r.failed) {
    d->r.failed = true;
    hvw__fail(d->err, HVW_OUT_OF_HOST_MEMORY, "out of host memory at byte offset %zu", hvw_reader_offset(&d->r));
  }
  return false;
}

/* Grows `*array` (of `count` items of `size` bytes) to `new_count` items, zeroing the new ones. */
static bool grow_array(decoder *d, void **array, size_t count, size_t new_count, size_t size) {
  void *p = hvw__reallocarray(*array, new_count, size);
  if (!p) return oom(d);
  if (new_count > count) memset((uint8_t *)p + count * size, 0, (new_count - count) * size);
  *array = p;
  return true;
}

/* ---- Types ------------------------------------------------------------------------------------ */

static bool is_numtype(uint8_t t) {
  return t == HVW_TYPE_I32 || t == HVW_TYPE_I64 || t == HVW_TYPE_F32 || t == HVW_TYPE_F64;
}
static bool is_reftype(uint8_t t) { return t == HVW_TYPE_FUNCREF || t == HVW_TYPE_EXTERNREF; }

static bool read_valtype(decoder *d, hvw_valtype *out) {
  uint8_t b = 0;
  if (!hvw_read_u8(&d->r, &b)) return false;
  if (!is_numtype(b) && b != HVW_TYPE_V128 && !is_reftype(b)) {
    d->r.pos--;
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed value type 0x%02x", b);
  }
  *out = b;
  return true;
}

static bool read_reftype(decoder *d, hvw_valtype *out) {
  uint8_t b = 0;
  if (!hvw_read_u8(&d->r, &b)) return false;
  if (!is_reftype(b)) {
    d->r.pos--;
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed reference type 0x%02x", b);
  }
  *out = b;
  return true;
}

/* limits ::= 0x00 min | 0x01 min max. `bound` is the largest valid value (validation). */
static bool read_limits(decoder *d, hvw_limits_decl *out, uint64_t bound, const char *what) {
  uint8_t flags = 0;
  uint32_t min = 0, max = 0;
  if (!hvw_read_u8(&d->r, &flags)) return false;
  if (flags > 1) {
    d->r.pos--;
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed limits flags 0x%02x", flags);
  }
  if (!hvw_read_u32(&d->r, &min)) return false;
  if (flags == 1 && !hvw_read_u32(&d->r, &max)) return false;
  out->min = min;
  out->max = flags ? max : 0;
  out->has_max = flags == 1;
  if (min > bound) invalid(d, "%s size must be at most %llu", what, (unsigned long long)bound);
  if (flags == 1 && max > bound) invalid(d, "%s size must be at most %llu", what, (unsigned long long)bound);
  if (flags == 1 && min > max) invalid(d, "size minimum must not be greater than maximum");
  return true;
}

static bool read_tabletype(decoder *d, hvw_tabletype *out) {
  return read_reftype(d, &out->elem) && read_limits(d, &out->limits, UINT32_MAX, "table");
}

static bool read_globaltype(decoder *d, hvw_globaltype *out) {
  uint8_t mut = 0;
  if (!read_valtype(d, &out->type) || !hvw_read_u8(&d->r, &mut)) return false;
  if (mut > 1) {
    d->r.pos--;
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed mutability 0x%02x", mut);
  }
  out->mutable_ = mut == 1;
  return true;
}

bool hvw__functype_equal(const hvw_functype *a, const hvw_functype *b) {
  if (a == b) return true;
  if (a->param_count != b->param_count || a->result_count != b->result_count) return false;
  size_t n = (size_t)a->param_count + a->result_count;
  return n == 0 || memcmp(a->types, b->types, n) == 0;
}

hvw_functype_view hvw__functype_view(const hvw_functype *type) {
  hvw_functype_view v;
  v.param_count = type->param_count;
  v.params = type->types;
  v.result_count = type->result_count;
  v.results = type->types + type->param_count;
  return v;
}

static const hvw_functype *func_type(const hvw_module *m, uint32_t func_index) {
  if (func_index >= m->func_count) return NULL;
  uint32_t t = m->funcs[func_index].type_index;
  return t < m->type_count ? &m->types[t] : NULL;
}

/* ---- Sections --------------------------------------------------------------------------------- */

static bool decode_type_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* a type is at least 0x60 and two empty vectors */
  if (!hvw_read_count(&d->r, 3, HVW_MAX_TYPES, "types", &count)) return false;
  m->types = hvw__calloc(count, sizeof *m->types);
  if (!m->types) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    uint8_t form = 0;
    if (!hvw_read_u8(&d->r, &form)) return false;
    if (form != 0x60) {
      d->r.pos--;
      return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed function type form 0x%02x (type %u)", form, i);
    }
    uint32_t np = 0, nr = 0;
    if (!hvw_read_count(&d->r, 1, HVW_MAX_PARAMS, "parameters", &np)) return false;
    const uint8_t *params = d->r.pos;
    /* parameter types are checked in place and copied once the result count is known */
    for (uint32_t k = 0; k < np; k++) {
      hvw_valtype t;
      if (!read_valtype(d, &t)) return false;
    }
    if (!hvw_read_count(&d->r, 1, HVW_MAX_RESULTS, "results", &nr)) return false;
    hvw_functype *ft = &m->types[i];
    ft->types = hvw__calloc((size_t)np + nr, 1);
    if (!ft->types) return oom(d);
    m->type_count = i + 1; /* from here on hvw_module_free frees it */
    ft->param_count = np;
    ft->result_count = nr;
    memcpy(ft->types, params, np);
    for (uint32_t k = 0; k < nr; k++)
      if (!read_valtype(d, &ft->types[np + k])) return false;
    ft->param_cells = hvw__types_cells(ft->types, np);
    ft->result_cells = hvw__types_cells(ft->types + np, nr);
  }
  return true;
}

static bool decode_import_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* two names, a kind and a descriptor of at least one byte */
  if (!hvw_read_count(&d->r, 4, HVW_MAX_IMPORTS, "imports", &count)) return false;
  m->imports = hvw__calloc(count, sizeof *m->imports);
  /* every index space gets room for all imports up front: no growing one entry at a time */
  m->funcs = hvw__calloc(count, sizeof *m->funcs);
  m->tables = hvw__calloc(count, sizeof *m->tables);
  m->memories = hvw__calloc(count, sizeof *m->memories);
  m->globals = hvw__calloc(count, sizeof *m->globals);
  if (!m->imports || !m->funcs || !m->tables || !m->memories || !m->globals) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    hvw_import *imp = &m->imports[i];
    uint8_t kind = 0;
    if (!hvw_read_name(&d->r, &imp->module_name, &imp->module_name_len)) return false;
    if (!hvw_read_name(&d->r, &imp->name, &imp->name_len)) return false;
    if (!hvw_read_u8(&d->r, &kind)) return false;
    switch (kind) {
      case HVW_EXTERN_FUNC: {
        uint32_t type_index = 0;
        if (!hvw_read_u32(&d->r, &type_index)) return false;
        if (type_index >= m->type_count) invalid(d, "import %u: unknown type %u", i, type_index);
        if (m->func_count >= HVW_MAX_FUNCTIONS)
          return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many functions (limit %u)", HVW_MAX_FUNCTIONS);
        m->funcs[m->func_count].type_index = type_index;
        m->funcs[m->func_count].imported = true;
        imp->index = m->func_count++;
        m->func_import_count++;
        break;
      }
      case HVW_EXTERN_TABLE: {
        hvw_tabletype tt;
        if (!read_tabletype(d, &tt)) return false;
        if (m->table_count >= HVW_MAX_TABLES)
          return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many tables (limit %u)", HVW_MAX_TABLES);
        m->tables[m->table_count] = tt;
        imp->index = m->table_count++;
        m->table_import_count++;
        break;
      }
      case HVW_EXTERN_MEMORY: {
        hvw_limits_decl lim;
        if (!read_limits(d, &lim, HVW_MAX_MEMORY_PAGES, "memory")) return false;
        if (m->memory_count >= HVW_MAX_MEMORIES) invalid(d, "multiple memories");
        m->memories[m->memory_count] = lim;
        imp->index = m->memory_count++;
        m->memory_import_count++;
        break;
      }
      case HVW_EXTERN_GLOBAL: {
        hvw_globaltype gt;
        if (!read_globaltype(d, &gt)) return false;
        if (m->global_count >= HVW_MAX_GLOBALS)
          return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many globals (limit %u)", HVW_MAX_GLOBALS);
        m->globals[m->global_count] = gt;
        imp->index = m->global_count++;
        m->global_import_count++;
        break;
      }
      default:
        d->r.pos--;
        return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed import kind 0x%02x (import %u)", kind, i);
    }
    imp->kind = (hvw_extern_kind)kind;
    m->import_count = i + 1;
  }
  return true;
}

static bool decode_function_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  if (!hvw_read_count(&d->r, 1, HVW_MAX_FUNCTIONS, "functions", &count)) return false;
  if ((uint64_t)m->func_count + count > HVW_MAX_FUNCTIONS)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many functions: %llu (limit %u)",
                            (unsigned long long)m->func_count + count, HVW_MAX_FUNCTIONS);
  size_t total = (size_t)m->func_count + count;
  if (!grow_array(d, (void **)&m->funcs, m->func_count, total, sizeof *m->funcs)) return false;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t type_index = 0;
    if (!hvw_read_u32(&d->r, &type_index)) return false;
    if (type_index >= m->type_count) invalid(d, "function %u: unknown type %u", m->func_count, type_index);
    m->funcs[m->func_count].type_index = type_index;
    m->funcs[m->func_count].imported = false;
    m->func_count++;
  }
  d->defined_func_count = count;
  return true;
}

static bool decode_table_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  if (!hvw_read_count(&d->r, 3, HVW_MAX_TABLES, "tables", &count)) return false;
  if ((uint64_t)m->table_count + count > HVW_MAX_TABLES)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many tables (limit %u)", HVW_MAX_TABLES);
  if (!grow_array(d, (void **)&m->tables, m->table_count, (size_t)m->table_count + count, sizeof *m->tables))
    return false;
  for (uint32_t i = 0; i < count; i++) {
    hvw_tabletype *tt = &m->tables[m->table_count];
    if (!read_tabletype(d, tt)) return false;
    /* deferred like a validation error: an invalid module is reported invalid, not over a limit */
    if (tt->limits.min > HVW_MAX_TABLE_INIT_ELEMENTS)
      defer_fail(d, HVW_IMPL_LIMIT, "table %u: minimum size %u over the limit %u", m->table_count,
                 tt->limits.min, HVW_MAX_TABLE_INIT_ELEMENTS);
    m->table_count++;
  }
  return true;
}

static bool decode_memory_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* more than one memory is invalid (not malformed) in 2.0: the count is only bounded by the bytes */
  if (!hvw_read_count(&d->r, 2, UINT32_MAX, "memories", &count)) return false;
  if ((uint64_t)m->memory_count + count > HVW_MAX_MEMORIES) invalid(d, "multiple memories");
  if (!grow_array(d, (void **)&m->memories, m->memory_count, (size_t)m->memory_count + count,
                  sizeof *m->memories))
    return false;
  for (uint32_t i = 0; i < count; i++) {
    if (!read_limits(d, &m->memories[m->memory_count], HVW_MAX_MEMORY_PAGES, "memory")) return false;
    m->memory_count++;
  }
  return true;
}

/* Marks a function as C.refs (ref.func may name it in a body). */
static bool declare_func_ref(decoder *d, uint32_t func_index) {
  hvw_module *m = d->m;
  if (!m->declared_func_refs) {
    m->declared_func_refs = hvw__calloc(((size_t)m->func_count + 63) / 64, sizeof(uint64_t));
    if (!m->declared_func_refs) return oom(d);
  }
  if (func_index < m->func_count) m->declared_func_refs[func_index / 64] |= (uint64_t)1 << (func_index % 64);
  return true;
}

/*
 * A constant expression of WebAssembly 2.0: exactly one constant instruction, then `end`; global.get
 * may only name an imported immutable global. `expected` is the required type (0: any reference
 * type, used by element expressions whose type comes from the segment).
 */
static bool read_constexpr(decoder *d, hvw_constexpr *out, hvw_valtype expected, const char *what) {
  hvw_module *m = d->m;
  unsigned n = 0;
  memset(out, 0, sizeof *out);
  for (;;) {
    uint8_t op = 0;
    if (!hvw_read_u8(&d->r, &op)) return false;
    if (op == 0x0B) break;
    hvw_constexpr e;
    memset(&e, 0, sizeof e);
    switch (op) {
      case 0x41: {
        int32_t v = 0;
        if (!hvw_read_s32(&d->r, &v)) return false;
        e.kind = HVW_CONST_VALUE;
        e.type = HVW_TYPE_I32;
        e.value[0] = (uint32_t)v;
        break;
      }
      case 0x42: {
        int64_t v = 0;
        if (!hvw_read_s64(&d->r, &v)) return false;
        e.kind = HVW_CONST_VALUE;
        e.type = HVW_TYPE_I64;
        e.value[0] = (uint64_t)v;
        break;
      }
      case 0x43: {
        uint32_t v = 0;
        if (!hvw_read_f32_bits(&d->r, &v)) return false;
        e.kind = HVW_CONST_VALUE;
        e.type = HVW_TYPE_F32;
        e.value[0] = v;
        break;
      }
      case 0x44: {
        uint64_t v = 0;
        if (!hvw_read_f64_bits(&d->r, &v)) return false;
        e.kind = HVW_CONST_VALUE;
        e.type = HVW_TYPE_F64;
        e.value[0] = v;
        break;
      }
      case 0xFD: { /* of the SIMD instructions only v128.const is constant */
        uint32_t sub = 0;
        if (!hvw_read_u32(&d->r, &sub)) return false;
        if (sub != 12)
          return hvw_reader_fail(&d->r, HVW_INVALID, "%s: constant expression required (opcode 0xFD %u)", what, sub);
        if (!hvw_read_f64_bits(&d->r, &e.value[0]) || !hvw_read_f64_bits(&d->r, &e.value[1])) return false;
        e.kind = HVW_CONST_VALUE;
        e.type = HVW_TYPE_V128;
        break;
      }
      case 0xD0: {
        hvw_valtype t;
        if (!read_reftype(d, &t)) return false;
        e.kind = HVW_CONST_REF_NULL;
        e.type = t;
        break;
      }
      case 0xD2: {
        uint32_t f = 0;
        if (!hvw_read_u32(&d->r, &f)) return false;
        if (f >= m->func_count) invalid(d, "%s: unknown function %u", what, f);
        else if (!declare_func_ref(d, f)) return false;
        e.kind = HVW_CONST_REF_FUNC;
        e.type = HVW_TYPE_FUNCREF;
        e.index = f;
        break;
      }
      case 0x23: {
        uint32_t g = 0;
        if (!hvw_read_u32(&d->r, &g)) return false;
        e.kind = HVW_CONST_GLOBAL_GET;
        e.index = g;
        if (g >= m->global_import_count) {
          invalid(d, "%s: unknown global %u", what, g);
          e.type = expected ? expected : HVW_TYPE_FUNCREF;
        } else {
          if (m->globals[g].mutable_) invalid(d, "%s: constant expression required (global %u is mutable)", what, g);
          e.type = m->globals[g].type;
        }
        break;
      }
      default:
        d->r.pos--;
        /* no instruction at all is malformed; a known one that is not constant, invalid */
        if (!hvw__opcode_known(op))
          return hvw_reader_fail(&d->r, HVW_MALFORMED, "%s: illegal opcode 0x%02x", what, op);
        /* the instruction's immediates are not decoded: stop here, as invalid */
        return hvw_reader_fail(&d->r, HVW_INVALID, "%s: constant expression required (opcode 0x%02x)", what, op);
    }
    if (n == 0) *out = e;
    n++;
  }
  if (n != 1) {
    invalid(d, "%s: type mismatch: a constant expression must produce exactly one value", what);
    if (n == 0) out->type = expected;
    return true;
  }
  if (expected ? out->type != expected : !is_reftype(out->type))
    invalid(d, "%s: type mismatch: expected %s, got %s", what, expected ? hvw_valtype_name(expected) : "a reference",
            hvw_valtype_name(out->type));
  return true;
}

static bool decode_global_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* a global is at least a type, a mutability and `end` (invalid, but not malformed) */
  if (!hvw_read_count(&d->r, 3, HVW_MAX_GLOBALS, "globals", &count)) return false;
  if ((uint64_t)m->global_count + count > HVW_MAX_GLOBALS)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many globals (limit %u)", HVW_MAX_GLOBALS);
  size_t total = (size_t)m->global_count + count;
  if (!grow_array(d, (void **)&m->globals, m->global_count, total, sizeof *m->globals)) return false;
  m->global_inits = hvw__calloc(total, sizeof *m->global_inits);
  if (!m->global_inits) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t index = m->global_count;
    char what[48];
    snprintf(what, sizeof what, "global %u", index);
    if (!read_globaltype(d, &m->globals[index])) return false;
    if (!read_constexpr(d, &m->global_inits[index], m->globals[index].type, what)) return false;
    m->global_count++;
  }
  return true;
}

static int name_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen) {
  uint32_t n = alen < blen ? alen : blen;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c;
  return alen < blen ? -1 : alen > blen;
}

/* qsort has no context argument: the exports being sorted are reached through this pointer, which
 * is only set while one decoder's export section is being sorted (decode has no other shared state). */
static _Thread_local const hvw_export *sort_exports;

static int export_order_cmp(const void *pa, const void *pb) {
  const hvw_export *a = &sort_exports[*(const uint32_t *)pa];
  const hvw_export *b = &sort_exports[*(const uint32_t *)pb];
  return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static bool decode_export_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  if (!hvw_read_count(&d->r, 3, HVW_MAX_EXPORTS, "exports", &count)) return false;
  m->exports = hvw__calloc(count, sizeof *m->exports);
  m->export_order = hvw__calloc(count, sizeof *m->export_order);
  if (!m->exports || !m->export_order) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    hvw_export *e = &m->exports[i];
    uint8_t kind = 0;
    if (!hvw_read_name(&d->r, &e->name, &e->name_len)) return false;
    if (!hvw_read_u8(&d->r, &kind)) return false;
    if (kind > HVW_EXTERN_GLOBAL) {
      d->r.pos--;
      return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed export kind 0x%02x (export %u)", kind, i);
    }
    if (!hvw_read_u32(&d->r, &e->index)) return false;
    e->kind = (hvw_extern_kind)kind;
    switch (e->kind) {
      case HVW_EXTERN_FUNC:
        if (e->index >= m->func_count) invalid(d, "export %u: unknown function %u", i, e->index);
        else if (!declare_func_ref(d, e->index)) return false;
        break;
      case HVW_EXTERN_TABLE:
        if (e->index >= m->table_count) invalid(d, "export %u: unknown table %u", i, e->index);
        break;
      case HVW_EXTERN_MEMORY:
        if (e->index >= m->memory_count) invalid(d, "export %u: unknown memory %u", i, e->index);
        break;
      case HVW_EXTERN_GLOBAL:
        if (e->index >= m->global_count) invalid(d, "export %u: unknown global %u", i, e->index);
        break;
    }
    m->export_order[i] = i;
    m->export_count = i + 1;
  }
  sort_exports = m->exports;
  qsort(m->export_order, count, sizeof *m->export_order, export_order_cmp);
  sort_exports = NULL;
  for (uint32_t i = 1; i < count; i++) {
    const hvw_export *a = &m->exports[m->export_order[i - 1]], *b = &m->exports[m->export_order[i]];
    if (name_cmp(a->name, a->name_len, b->name, b->name_len) == 0) {
      invalid(d, "duplicate export name \"%.*s\"", (int)(b->name_len > 64 ? 64 : b->name_len), (const char *)b->name);
      break;
    }
  }
  return true;
}

static bool decode_start_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t f = 0;
  if (!hvw_read_u32(&d->r, &f)) return false;
  m->has_start = true;
  m->start_func = f;
  const hvw_functype *ft = func_type(m, f);
  if (f >= m->func_count) invalid(d, "unknown function %u", f);
  else if (ft && (ft->param_count || ft->result_count)) invalid(d, "start function %u must have type [] -> []", f);
  return true;
}

static bool decode_element_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* the shortest segment is flags 1, elemkind, an empty vector */
  if (!hvw_read_count(&d->r, 3, HVW_MAX_ELEM_SEGMENTS, "element segments", &count)) return false;
  m->elems = hvw__calloc(count, sizeof *m->elems);
  if (!m->elems) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    hvw_elem_segment *seg = &m->elems[i];
    char what[48];
    m->elem_count = i + 1; /* from here on hvw_module_free frees its items */
    uint32_t flags = 0;
    if (!hvw_read_u32(&d->r, &flags)) return false;
    if (flags > 7) return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed element segment kind %u (segment %u)", flags, i);
    bool passive_or_decl = flags & 1, explicit_table = flags & 2, exprs = flags & 4;
    seg->type = HVW_TYPE_FUNCREF;
    if (!passive_or_decl) {
      seg->mode = HVW_SEGMENT_ACTIVE;
      if (explicit_table && !hvw_read_u32(&d->r, &seg->table_index)) return false;
      snprintf(what, sizeof what, "element segment %u offset", i);
      if (!read_constexpr(d, &seg->offset, HVW_TYPE_I32, what)) return false;
    } else {
      seg->mode = explicit_table ? HVW_SEGMENT_DECLARATIVE : HVW_SEGMENT_PASSIVE;
    }
    if (flags & 3) { /* an element kind or reference type follows */
      if (exprs) {
        if (!read_reftype(d, &seg->type)) return false;
      } else {
        uint8_t kind = 0;
        if (!hvw_read_u8(&d->r, &kind)) return false;
        if (kind != 0x00) {
          d->r.pos--;
          return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed element kind 0x%02x (segment %u)", kind, i);
        }
      }
    }
    uint32_t n = 0;
    if (!hvw_read_count(&d->r, 1, HVW_MAX_TABLE_INIT_ELEMENTS, "segment elements", &n)) return false;
    seg->items = hvw__calloc(n, sizeof *seg->items);
    if (!seg->items) return oom(d);
    seg->item_count = n;
    snprintf(what, sizeof what, "element segment %u", i);
    for (uint32_t k = 0; k < n; k++) {
      hvw_constexpr *item = &seg->items[k];
      if (exprs) {
        if (!read_constexpr(d, item, seg->type, what)) return false;
      } else {
        uint32_t f = 0;
        if (!hvw_read_u32(&d->r, &f)) return false;
        item->kind = HVW_CONST_REF_FUNC;
        item->type = HVW_TYPE_FUNCREF;
        item->index = f;
        if (f >= m->func_count) invalid(d, "%s: unknown function %u", what, f);
        else if (!declare_func_ref(d, f)) return false;
      }
    }
    if (seg->mode == HVW_SEGMENT_ACTIVE) {
      if (seg->table_index >= m->table_count) invalid(d, "%s: unknown table %u", what, seg->table_index);
      else if (m->tables[seg->table_index].elem != seg->type)
        invalid(d, "%s: type mismatch: %s segment for a %s table", what, hvw_valtype_name(seg->type),
                hvw_valtype_name(m->tables[seg->table_index].elem));
    }
  }
  return true;
}

static bool decode_data_count_section(decoder *d) {
  hvw_module *m = d->m;
  if (!hvw_read_u32(&d->r, &m->data_count)) return false;
  if (m->data_count > HVW_MAX_DATA_SEGMENTS)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many data segments: %u (limit %u)", m->data_count,
                            HVW_MAX_DATA_SEGMENTS);
  m->has_data_count = true;
  return true;
}

/* One entry of the code section: its size, its local declarations; the body is code.c's. */
static bool decode_code_entry(decoder *d, uint32_t index) {
  hvw_module *m = d->m;
  hvw_funcdecl *f = &m->funcs[index];
  uint32_t size = 0;
  if (!hvw_read_u32(&d->r, &size)) return false;
  if (size > HVW_MAX_FUNCTION_BODY_BYTES)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "body of %u bytes over the limit %u", size,
                            HVW_MAX_FUNCTION_BODY_BYTES);
  if (size > hvw_reader_remaining(&d->r))
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "unexpected end: body size %u past the section", size);
  const uint8_t *body_end = d->r.pos + size;
  const uint8_t *section_end = d->r.end;
  d->r.end = body_end;
  uint32_t runs = 0;
  if (!hvw_read_count(&d->r, 2, UINT32_MAX, "local declarations", &runs)) return false;
  if (runs) {
    f->local_runs = hvw__calloc(runs, sizeof *f->local_runs);
    if (!f->local_runs) return oom(d);
  }
  const hvw_functype *ft = func_type(m, index);
  uint64_t total = 0, params = ft ? ft->param_count : 0;
  for (uint32_t k = 0; k < runs; k++) {
    uint32_t n = 0;
    if (!hvw_read_u32(&d->r, &n)) return false;
    total += n; /* fewer than 2^32 runs of less than 2^32: cannot overflow 64 bits */
    f->local_runs[k].count = n;
    if (!read_valtype(d, &f->local_runs[k].type)) return false;
    f->local_run_count = k + 1;
  }
  /* the binary format's own bound first (malformed), then the engine's (a limit) */
  if (total > UINT32_MAX)
    return hvw_reader_fail(&d->r, HVW_MALFORMED, "too many locals: %llu", (unsigned long long)total);
  if (total + params > HVW_MAX_LOCALS)
    return hvw_reader_fail(&d->r, HVW_IMPL_LIMIT, "too many locals: %llu with the parameters (limit %u)",
                            (unsigned long long)(total + params), HVW_MAX_LOCALS);
  f->local_count = (uint32_t)total;
  f->body = d->r.pos;
  f->body_end = body_end;
  d->r.pos = body_end;
  d->r.end = section_end;
  return true;
}

static bool decode_code_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* an entry is at least its size, an empty local vector and `end` */
  if (!hvw_read_count(&d->r, 3, HVW_MAX_FUNCTIONS, "function bodies", &count)) return false;
  if (count != d->defined_func_count)
    return hvw_reader_fail(&d->r, HVW_MALFORMED,
                            "function and code section have inconsistent lengths (%u functions, %u bodies)",
                            d->defined_func_count, count);
  d->seen_code = true;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t index = m->func_import_count + i;
    if (!decode_code_entry(d, index)) {
      prefix_error(d, "function %u: ", index);
      return false;
    }
  }
  return true;
}

static bool decode_data_section(decoder *d) {
  hvw_module *m = d->m;
  uint32_t count = 0;
  /* the shortest segment is flags 1 and an empty byte vector */
  if (!hvw_read_count(&d->r, 2, HVW_MAX_DATA_SEGMENTS, "data segments", &count)) return false;
  if (m->has_data_count && count != m->data_count)
    return hvw_reader_fail(&d->r, HVW_MALFORMED,
                            "data count and data section have inconsistent lengths (%u and %u)", m->data_count,
                            count);
  d->seen_data = true;
  m->datas = hvw__calloc(count, sizeof *m->datas);
  if (!m->datas) return oom(d);
  for (uint32_t i = 0; i < count; i++) {
    hvw_data_segment *seg = &m->datas[i];
    uint32_t flags = 0;
    if (!hvw_read_u32(&d->r, &flags)) return false;
    if (flags > 2) return hvw_reader_fail(&d->r, HVW_MALFORMED, "malformed data segment kind %u (segment %u)", flags, i);
    if (flags == 1) {
      seg->mode = HVW_SEGMENT_PASSIVE;
    } else {
      char what[48];
      seg->mode = HVW_SEGMENT_ACTIVE;
      if (flags == 2 && !hvw_read_u32(&d->r, &seg->memory_index)) return false;
      snprintf(what, sizeof what, "data segment %u offset", i);
      if (!read_constexpr(d, &seg->offset, HVW_TYPE_I32, what)) return false;
      if (seg->memory_index >= m->memory_count) invalid(d, "data segment %u: unknown memory %u", i, seg->memory_index);
    }
    uint32_t size = 0;
    if (!hvw_read_u32(&d->r, &size)) return false;
    if (!hvw_read_bytes(&d->r, size, &seg->bytes)) return false;
    seg->size = size;
    m->data_segment_count = i + 1;
  }
  return true;
}

static bool decode_custom_section(decoder *d) {
  const uint8_t *name = NULL;
  uint32_t len = 0;
  if (!hvw_read_name(&d->r, &name, &len)) return false;
  d->r.pos = d->r.end; /* contents are not interpreted */
  return true;
}

static bool decode_section(decoder *d, uint8_t id) {
  switch (id) {
    case HVW_SECTION_CUSTOM: return decode_custom_section(d);
    case HVW_SECTION_TYPE: return decode_type_section(d);
    case HVW_SECTION_IMPORT: return decode_import_section(d);
    case HVW_SECTION_FUNCTION: return decode_function_section(d);
    case HVW_SECTION_TABLE: return decode_table_section(d);
    case HVW_SECTION_MEMORY: return decode_memory_section(d);
    case HVW_SECTION_GLOBAL: return decode_global_section(d);
    case HVW_SECTION_EXPORT: return decode_export_section(d);
    case HVW_SECTION_START: return decode_start_section(d);
    case HVW_SECTION_ELEMENT: return decode_element_section(d);
    case HVW_SECTION_CODE: return decode_code_section(d);
    case HVW_SECTION_DATA: return decode_data_section(d);
    case HVW_SECTION_DATA_COUNT: return decode_data_count_section(d);
    default: return false;
  }
}

/* Prefixes the error message with `prefix` (truncating its end if need be), unless already there. */
static void prefix_message(hvw_error *err, const char *prefix) {
  char *msg = err->message;
  size_t cap = sizeof err->message;
  size_t plen = strlen(prefix);
  if (plen >= cap || strncmp(msg, prefix, plen) == 0) return;
  size_t len = strnlen(msg, cap - 1);
  if (len > cap - 1 - plen) len = cap - 1 - plen;
  memmove(msg + plen, msg, len);
  memcpy(msg, prefix, plen);
  msg[plen + len] = '\0';
}

HVW__PRINTF(2, 3)
static void prefix_error(decoder *d, const char *fmt, ...) {
  if (!d->err) return;
  char prefix[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  prefix_message(d->err, prefix);
}

static bool decode_module(decoder *d) {
  hvw_reader *r = &d->r;
  const uint8_t *magic = NULL, *version = NULL;
  d->section = NULL;
  if (!hvw_read_bytes(r, 4, &magic)) return false;
  if (memcmp(magic, "\0asm", 4) != 0) {
    r->pos = magic;
    return hvw_reader_fail(r, HVW_MALFORMED, "magic header not detected");
  }
  if (!hvw_read_bytes(r, 4, &version)) return false;
  if (memcmp(version, "\1\0\0\0", 4) != 0) {
    r->pos = version;
    return hvw_reader_fail(r, HVW_MALFORMED, "unknown binary version");
  }
  int last_order = 0;
  while (!hvw_reader_at_end(r)) {
    uint8_t id = 0;
    uint32_t len = 0;
    d->section = NULL;
    if (!hvw_read_u8(r, &id)) return false;
    if (id > HVW_SECTION_DATA_COUNT) {
      r->pos--;
      return hvw_reader_fail(r, HVW_MALFORMED, "malformed section id %u", id);
    }
    d->section = section_name(id);
    if (id != HVW_SECTION_CUSTOM) {
      int order = section_order(id);
      if (order <= last_order) {
        r->pos--;
        return hvw_reader_fail(r, HVW_MALFORMED, "unexpected content after last section: %s section out of order or repeated",
                                d->section);
      }
      last_order = order;
    }
    if (!hvw_read_u32(r, &len)) return false;
    if (len > hvw_reader_remaining(r))
      return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end: section size %u past the end of the module", len);
    const uint8_t *section_end = r->pos + len;
    const uint8_t *module_end = r->end;
    r->end = section_end;
    bool ok = decode_section(d, id);
    if (ok && !hvw_reader_at_end(r))
      ok = hvw_reader_fail(r, HVW_MALFORMED, "section size mismatch: %zu bytes left over", hvw_reader_remaining(r));
    if (!ok) return false;
    r->end = module_end;
  }
  d->section = NULL; /* the checks below are about the module as a whole */
  hvw_module *m = d->m;
  if (d->defined_func_count && !d->seen_code)
    return hvw_reader_fail(r, HVW_MALFORMED, "function and code section have inconsistent lengths (%u functions, no code section)",
                            d->defined_func_count);
  if (m->has_data_count && m->data_count && !d->seen_data)
    return hvw_reader_fail(r, HVW_MALFORMED,
                            "data count and data section have inconsistent lengths (%u and no data section)",
                            m->data_count);
  if (!m->declared_func_refs && !declare_func_ref(d, UINT32_MAX)) return false;
  return true;
}

hvw_module *hvw_module_load(const uint8_t *bytes, size_t size, hvw_error *err) {
  hvw__error_clear(err);
  if (size > HVW_MAX_MODULE_BYTES) { /* before copying it */
    hvw__fail(err, HVW_IMPL_LIMIT, "module of %zu bytes over the limit of %u bytes", size, HVW_MAX_MODULE_BYTES);
    return NULL;
  }
  if (!bytes && size) {
    hvw__fail(err, HVW_BAD_ARGUMENTS, "no module bytes");
    return NULL;
  }
  hvw_module *m = calloc(1, sizeof *m);
  if (!m) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  m->bytes_mapped = size;
  m->bytes = hvw__pages_map(&m->bytes_mapped);
  if (!m->bytes) {
    free(m);
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  if (size) memcpy(m->bytes, bytes, size);
  m->size = size;

  decoder d;
  memset(&d, 0, sizeof d);
  d.m = m;
  d.err = err;
  hvw_reader_init(&d.r, m->bytes, m->bytes, m->bytes + size, err);
  if (!decode_module(&d)) {
    if (d.section) prefix_error(&d, "%s section: ", d.section);
    goto fail;
  }
  if (d.invalid) {
    if (err) *err = d.invalid_err;
    goto fail;
  }
  uint64_t start = hvw__now_ns();
  if (hvw__compile_functions(m, err) != HVW_OK) goto fail;
  m->translate_ns = hvw__now_ns() - start;
  return m;

fail:
  hvw_module_free(m);
  return NULL;
}

void hvw_module_free(hvw_module *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->type_count; i++) free(m->types[i].types);
  free(m->types);
  free(m->imports);
  if (m->funcs) {
    for (uint32_t i = m->func_import_count; i < m->func_count; i++) free(m->funcs[i].local_runs);
  }
  hvw__code_chunks_free(m->code_chunks);
  free(m->funcs);
  free(m->tables);
  free(m->memories);
  free(m->globals);
  free(m->global_inits);
  free(m->exports);
  free(m->export_order);
  for (uint32_t i = 0; i < m->elem_count; i++) free(m->elems[i].items);
  free(m->elems);
  free(m->datas);
  free(m->declared_func_refs);
  hvw__pages_unmap(m->bytes, m->bytes_mapped);
  free(m);
}

/* ---- Introspection ---------------------------------------------------------------------------- */

static void extern_type(const hvw_module *m, hvw_extern_kind kind, uint32_t index, hvw_externtype *out) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  switch (kind) {
    case HVW_EXTERN_FUNC: {
      const hvw_functype *ft = func_type(m, index);
      if (ft) out->func = hvw__functype_view(ft);
      break;
    }
    case HVW_EXTERN_TABLE:
      out->table.elem = m->tables[index].elem;
      out->table.limits = m->tables[index].limits;
      break;
    case HVW_EXTERN_MEMORY:
      out->memory = m->memories[index];
      break;
    case HVW_EXTERN_GLOBAL:
      out->global.type = m->globals[index].type;
      out->global.mutable_ = m->globals[index].mutable_;
      break;
  }
}

uint32_t hvw_module_import_count(const hvw_module *module) { return module ? module->import_count : 0; }

bool hvw_module_import(const hvw_module *module, uint32_t index, hvw_import_info *out) {
  if (!module || index >= module->import_count || !out) return false;
  const hvw_import *imp = &module->imports[index];
  out->module_name = (const char *)imp->module_name;
  out->module_name_len = imp->module_name_len;
  out->name = (const char *)imp->name;
  out->name_len = imp->name_len;
  extern_type(module, imp->kind, imp->index, &out->type);
  return true;
}

uint32_t hvw_module_export_count(const hvw_module *module) { return module ? module->export_count : 0; }

bool hvw_module_export(const hvw_module *module, uint32_t index, hvw_export_info *out) {
  if (!module || index >= module->export_count || !out) return false;
  const hvw_export *e = &module->exports[index];
  out->name = (const char *)e->name;
  out->name_len = e->name_len;
  extern_type(module, e->kind, e->index, &out->type);
  return true;
}

const hvw_export *hvw__module_find_export(const hvw_module *m, const char *name, size_t name_len) {
  if (!m || (!name && name_len) || name_len > UINT32_MAX) return NULL;
  uint32_t lo = 0, hi = m->export_count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const hvw_export *e = &m->exports[m->export_order[mid]];
    int c = name_cmp(e->name, e->name_len, (const uint8_t *)name, (uint32_t)name_len);
    if (c == 0) return e;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

bool hvw_module_find_func_export(const hvw_module *module, const char *name, size_t name_len,
                                  hvw_functype_view *out_type) {
  const hvw_export *e = hvw__module_find_export(module, name, name_len);
  if (!e || e->kind != HVW_EXTERN_FUNC) return false;
  if (out_type) *out_type = hvw__functype_view(func_type(module, e->index));
  return true;
}

void hvw_module_get_stats(const hvw_module *module, hvw_module_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (!module) return;
  out->hvw_bytes = module->size;
  out->code_bytes = module->code_bytes;
  out->translate_ns = module->translate_ns;
}
