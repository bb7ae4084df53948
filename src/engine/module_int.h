/*
 * module_int.h: the decoded module. decode.c fills it; code.c translates its function bodies;
 * runtime.c instantiates it. Immutable after wasm_module_load() returns, so it may be shared by
 * threads. All pointers into the binary point into `bytes`, the module's own copy.
 */
#ifndef WASM_MODULE_INT_H
#define WASM_MODULE_INT_H

#include "engine_int.h"

/* Binary section ids. */
enum {
  WASM_SECTION_CUSTOM = 0, WASM_SECTION_TYPE = 1, WASM_SECTION_IMPORT = 2, WASM_SECTION_FUNCTION = 3,
  WASM_SECTION_TABLE = 4, WASM_SECTION_MEMORY = 5, WASM_SECTION_GLOBAL = 6, WASM_SECTION_EXPORT = 7,
  WASM_SECTION_START = 8, WASM_SECTION_ELEMENT = 9, WASM_SECTION_CODE = 10, WASM_SECTION_DATA = 11,
  WASM_SECTION_DATA_COUNT = 12,
};

typedef struct wasm_functype {
  uint32_t param_count;
  uint32_t result_count;
  wasm_valtype *types;  /* param_count params, then result_count results; owned by the module */
  uint32_t param_cells; /* wasm__types_cells of the params: their frame cells */
  uint32_t result_cells; /* and of the results */
} wasm_functype;

/* Structural equality, the rule call_indirect and import matching use. */
bool wasm__functype_equal(const wasm_functype *a, const wasm_functype *b);
wasm_functype_view wasm__functype_view(const wasm_functype *type);

typedef struct wasm_tabletype {
  wasm_valtype elem; /* WASM_TYPE_FUNCREF or WASM_TYPE_EXTERNREF */
  wasm_limits_decl limits;
} wasm_tabletype;

typedef struct wasm_globaltype {
  wasm_valtype type;
  bool mutable_;
} wasm_globaltype;

/* A constant expression: WebAssembly 2.0 allows exactly one of these instructions, then `end`. */
typedef enum wasm_constexpr_kind {
  WASM_CONST_VALUE,      /* t.const: `value` holds its cells */
  WASM_CONST_GLOBAL_GET, /* global.get of an imported immutable global: `index` */
  WASM_CONST_REF_NULL,   /* ref.null t */
  WASM_CONST_REF_FUNC,   /* ref.func `index` */
} wasm_constexpr_kind;

typedef struct wasm_constexpr {
  wasm_constexpr_kind kind;
  wasm_valtype type; /* the expression's result type */
  uint32_t index;
  wasm_cell value[WASM_MAX_VALUE_CELLS]; /* WASM_CONST_VALUE: wasm__type_cells(type) cells */
} wasm_constexpr;

typedef struct wasm_import {
  const uint8_t *module_name; /* into bytes; valid UTF-8 */
  uint32_t module_name_len;
  const uint8_t *name;
  uint32_t name_len;
  wasm_extern_kind kind;
  uint32_t index; /* index in its own index space (function, table, memory or global) */
} wasm_import;

typedef struct wasm_export {
  const uint8_t *name; /* into bytes; valid UTF-8; names are unique */
  uint32_t name_len;
  wasm_extern_kind kind;
  uint32_t index;
} wasm_export;

struct wasm_code; /* a translated body: defined by code.c, opaque elsewhere */

typedef struct wasm_local_run {
  uint32_t count;
  wasm_valtype type;
} wasm_local_run;

typedef struct wasm_funcdecl {
  uint32_t type_index;
  bool imported;
  /* defined functions only: */
  const uint8_t *body;     /* the expression after the local declarations, up to and including the final `end` */
  const uint8_t *body_end;
  uint32_t local_run_count; /* local declarations as written: (count, type) runs */
  wasm_local_run *local_runs;
  uint32_t local_count;    /* declared locals, params excluded; params + locals <= WASM_MAX_LOCALS */
  struct wasm_code *code;  /* set by wasm__compile_functions(); owned by the module */
} wasm_funcdecl;

typedef enum wasm_segment_mode {
  WASM_SEGMENT_ACTIVE,
  WASM_SEGMENT_PASSIVE,
  WASM_SEGMENT_DECLARATIVE,
} wasm_segment_mode;

typedef struct wasm_elem_segment {
  wasm_segment_mode mode;
  wasm_valtype type;       /* funcref or externref */
  uint32_t table_index;    /* active only */
  wasm_constexpr offset;   /* active only: i32 */
  uint32_t item_count;
  wasm_constexpr *items;   /* each yields a reference of `type` */
} wasm_elem_segment;

typedef struct wasm_data_segment {
  wasm_segment_mode mode;  /* active or passive */
  uint32_t memory_index;   /* active only */
  wasm_constexpr offset;   /* active only: i32 */
  const uint8_t *bytes;    /* into the module's bytes */
  uint32_t size;
} wasm_data_segment;

struct wasm_module {
  uint8_t *bytes; /* the module's own copy of the binary */
  size_t size;
  size_t bytes_mapped; /* what wasm__pages_map took for bytes */

  uint32_t type_count;
  wasm_functype *types;

  uint32_t import_count;
  wasm_import *imports;

  /* Index spaces: imports first, in import order, then the module's own definitions. */
  uint32_t func_count, func_import_count;
  wasm_funcdecl *funcs;
  uint32_t table_count, table_import_count;
  wasm_tabletype *tables;
  uint32_t memory_count, memory_import_count;
  wasm_limits_decl *memories; /* in pages */
  uint32_t global_count, global_import_count;
  wasm_globaltype *globals;
  wasm_constexpr *global_inits; /* global_count entries; only defined globals' are meaningful */

  uint32_t export_count;
  wasm_export *exports;
  uint32_t *export_order; /* added by decode.c: export indices sorted by name, for lookups */

  bool has_start;
  uint32_t start_func;

  uint32_t elem_count;
  wasm_elem_segment *elems;

  bool has_data_count;
  uint32_t data_count; /* from the data count section; must equal data_segment_count */
  uint32_t data_segment_count;
  wasm_data_segment *datas;

  /* C.refs of the spec: functions that ref.func may name in a body (those named in element
   * segments, exports and global initializers). Bit i of word i/64. */
  uint64_t *declared_func_refs;

  size_t code_bytes;     /* sum of the translated code sizes, for stats */
  uint64_t translate_ns; /* time spent in code.c */
  struct wasm__code_chunk *code_chunks; /* where the translations live (code.c) */
};

/* decode.c: the export named `name` (length-delimited), or NULL. O(log exports). */
const wasm_export *wasm__module_find_export(const struct wasm_module *m, const char *name, size_t name_len);

static inline bool wasm__func_ref_declared(const struct wasm_module *m, uint32_t func_index) {
  return (m->declared_func_refs[func_index / 64] >> (func_index % 64)) & 1u;
}

/*
 * code.c: validates the body of every defined function against the rest of the decoded module
 * (every other section is decoded when this runs) and translates it, in index order, stopping at
 * the first failure. Each translation goes to m->funcs[i].code, in memory of m->code_chunks (freed
 * with the module by wasm__code_chunks_free), and its size is added to m->code_bytes. Returns WASM_OK, or WASM_INVALID / WASM_MALFORMED /
 * WASM_IMPL_LIMIT / WASM_OUT_OF_HOST_MEMORY with a message naming the function index and byte
 * offset.
 */
wasm_status wasm__compile_functions(struct wasm_module *m, wasm_error *err);
void wasm__code_chunks_free(struct wasm__code_chunk *chunks);
/* code.c: whether an instruction can start with `byte` (a prefix counts), from opcodes.def. */
bool wasm__opcode_known(uint8_t byte);
size_t wasm__code_size(const struct wasm_code *code);

#endif /* WASM_MODULE_INT_H */
