/*
 * module_int.h: the decoded module. decode.c fills it; code.c translates its function bodies;
 * runtime.c instantiates it. Immutable after hvw_module_load() returns, so it may be shared by
 * threads. All pointers into the binary point into `bytes`, the module's own copy.
 */
#ifndef HVW_MODULE_INT_H
#define HVW_MODULE_INT_H

#include "engine_int.h"

/* Binary section ids. */
enum {
  HVW_SECTION_CUSTOM = 0, HVW_SECTION_TYPE = 1, HVW_SECTION_IMPORT = 2, HVW_SECTION_FUNCTION = 3,
  HVW_SECTION_TABLE = 4, HVW_SECTION_MEMORY = 5, HVW_SECTION_GLOBAL = 6, HVW_SECTION_EXPORT = 7,
  HVW_SECTION_START = 8, HVW_SECTION_ELEMENT = 9, HVW_SECTION_CODE = 10, HVW_SECTION_DATA = 11,
  HVW_SECTION_DATA_COUNT = 12,
};

typedef struct hvw_functype {
  uint32_t param_count;
  uint32_t result_count;
  hvw_valtype *types;  /* param_count params, then result_count results; owned by the module */
  uint32_t param_cells; /* hvw__types_cells of the params: their frame cells */
  uint32_t result_cells; /* and of the results */
} hvw_functype;

/* Structural equality, the rule call_indirect and import matching use. */
bool hvw__functype_equal(const hvw_functype *a, const hvw_functype *b);
hvw_functype_view hvw__functype_view(const hvw_functype *type);

typedef struct hvw_tabletype {
  hvw_valtype elem; /* HVW_TYPE_FUNCREF or HVW_TYPE_EXTERNREF */
  hvw_limits_decl limits;
} hvw_tabletype;

typedef struct hvw_globaltype {
  hvw_valtype type;
  bool mutable_;
} hvw_globaltype;

/* A constant expression: WebAssembly 2.0 allows exactly one of these instructions, then `end`. */
typedef enum hvw_constexpr_kind {
  HVW_CONST_VALUE,      /* t.const: `value` holds its cells */
  HVW_CONST_GLOBAL_GET, /* global.get of an imported immutable global: `index` */
  HVW_CONST_REF_NULL,   /* ref.null t */
  HVW_CONST_REF_FUNC,   /* ref.func `index` */
} hvw_constexpr_kind;

typedef struct hvw_constexpr {
  hvw_constexpr_kind kind;
  hvw_valtype type; /* the expression's result type */
  uint32_t index;
  hvw_cell value[HVW_MAX_VALUE_CELLS]; /* HVW_CONST_VALUE: hvw__type_cells(type) cells */
} hvw_constexpr;

typedef struct hvw_import {
  const uint8_t *module_name; /* into bytes; valid UTF-8 */
  uint32_t module_name_len;
  const uint8_t *name;
  uint32_t name_len;
  hvw_extern_kind kind;
  uint32_t index; /* index in its own index space (function, table, memory or global) */
} hvw_import;

typedef struct hvw_export {
  const uint8_t *name; /* into bytes; valid UTF-8; names are unique */
  uint32_t name_len;
  hvw_extern_kind kind;
  uint32_t index;
} hvw_export;

struct hvw_code; /* a translated body: defined by code.c, opaque elsewhere */

typedef struct hvw_local_run {
  uint32_t count;
  hvw_valtype type;
} hvw_local_run;

typedef struct hvw_funcdecl {
  uint32_t type_index;
  bool imported;
  /* defined functions only: */
  const uint8_t *body;     /* the expression after the local declarations, up to and including the final `end` */
  const uint8_t *body_end;
  uint32_t local_run_count; /* local declarations as written: (count, type) runs */
  hvw_local_run *local_runs;
  uint32_t local_count;    /* declared locals, params excluded; params + locals <= HVW_MAX_LOCALS */
  struct hvw_code *code;  /* set by hvw__compile_functions(); owned by the module */
} hvw_funcdecl;

typedef enum hvw_segment_mode {
  HVW_SEGMENT_ACTIVE,
  HVW_SEGMENT_PASSIVE,
  HVW_SEGMENT_DECLARATIVE,
} hvw_segment_mode;

typedef struct hvw_elem_segment {
  hvw_segment_mode mode;
  hvw_valtype type;       /* funcref or externref */
  uint32_t table_index;    /* active only */
  hvw_constexpr offset;   /* active only: i32 */
  uint32_t item_count;
  hvw_constexpr *items;   /* each yields a reference of `type` */
} hvw_elem_segment;

typedef struct hvw_data_segment {
  hvw_segment_mode mode;  /* active or passive */
  uint32_t memory_index;   /* active only */
  hvw_constexpr offset;   /* active only: i32 */
  const uint8_t *bytes;    /* into the module's bytes */
  uint32_t size;
} hvw_data_segment;

struct hvw_module {
  uint8_t *bytes; /* the module's own copy of the binary */
  size_t size;
  size_t bytes_mapped; /* what hvw__pages_map took for bytes */

  uint32_t type_count;
  hvw_functype *types;

  uint32_t import_count;
  hvw_import *imports;

  /* Index spaces: imports first, in import order, then the module's own definitions. */
  uint32_t func_count, func_import_count;
  hvw_funcdecl *funcs;
  uint32_t table_count, table_import_count;
  hvw_tabletype *tables;
  uint32_t memory_count, memory_import_count;
  hvw_limits_decl *memories; /* in pages */
  uint32_t global_count, global_import_count;
  hvw_globaltype *globals;
  hvw_constexpr *global_inits; /* global_count entries; only defined globals' are meaningful */

  uint32_t export_count;
  hvw_export *exports;
  uint32_t *export_order; /* added by decode.c: export indices sorted by name, for lookups */

  bool has_start;
  uint32_t start_func;

  uint32_t elem_count;
  hvw_elem_segment *elems;

  bool has_data_count;
  uint32_t data_count; /* from the data count section; must equal data_segment_count */
  uint32_t data_segment_count;
  hvw_data_segment *datas;

  /* C.refs of the spec: functions that ref.func may name in a body (those named in element
   * segments, exports and global initializers). Bit i of word i/64. */
  uint64_t *declared_func_refs;

  size_t code_bytes;     /* sum of the translated code sizes, for stats */
  uint64_t translate_ns; /* time spent in code.c */
  struct hvw__code_chunk *code_chunks; /* where the translations live (code.c) */
};

/* decode.c: the export named `name` (length-delimited), or NULL. O(log exports). */
const hvw_export *hvw__module_find_export(const struct hvw_module *m, const char *name, size_t name_len);

static inline bool hvw__func_ref_declared(const struct hvw_module *m, uint32_t func_index) {
  return (m->declared_func_refs[func_index / 64] >> (func_index % 64)) & 1u;
}

/*
 * code.c: validates the body of every defined function against the rest of the decoded module
 * (every other section is decoded when this runs) and translates it, in index order, stopping at
 * the first failure. Each translation goes to m->funcs[i].code, in memory of m->code_chunks (freed
 * with the module by hvw__code_chunks_free), and its size is added to m->code_bytes. Returns HVW_OK, or HVW_INVALID / HVW_MALFORMED /
 * HVW_IMPL_LIMIT / HVW_OUT_OF_HOST_MEMORY with a message naming the function index and byte
 * offset.
 */
hvw_status hvw__compile_functions(struct hvw_module *m, hvw_error *err);
void hvw__code_chunks_free(struct hvw__code_chunk *chunks);
/* code.c: whether an instruction can start with `byte` (a prefix counts), from opcodes.def. */
bool hvw__opcode_known(uint8_t byte);
size_t hvw__code_size(const struct hvw_code *code);

#endif /* HVW_MODULE_INT_H */
