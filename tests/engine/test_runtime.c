/*
 * test_runtime.c: stores, extern objects, import matching, segment initialization, memory and table
 * growth against the store's caps, host functions and calls (src/engine/runtime.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_int.h"
#include "wasm_builder.h"
#include "wasm_engine.h"

static hvw_module *load(const wbuf *w) {
  hvw_error err;
  hvw_module *m = hvw_module_load(w->b, w->n, &err);
  if (!m) fail_msg("load failed: %s: %s", hvw_status_name(err.status), err.message);
  return m;
}

static hvw_store *new_store(uint32_t max_pages, uint32_t max_table_elements) {
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  if (max_pages) limits.max_memory_pages = max_pages;
  if (max_table_elements) limits.max_table_elements = max_table_elements;
  hvw_error err;
  hvw_store *s = hvw_store_new(&limits, &err);
  assert_non_null(s);
  return s;
}

static const hvw_valtype I32_I32[] = {HVW_TYPE_I32, HVW_TYPE_I32};

static hvw_status host_add(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  (void)env;
  (void)err;
  results[0].of.i32 = args[0].of.i32 + args[1].of.i32;
  return HVW_OK;
}

static hvw_status host_identity(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  (void)env;
  (void)err;
  results[0] = args[0];
  return HVW_OK;
}

static hvw_status host_fail(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  (void)env;
  (void)args;
  (void)results;
  err->status = HVW_TRAP;
  err->trap = HVW_TRAP_HOST;
  strcpy(err->message, "host said no");
  return HVW_TRAP;
}

static hvw_status host_count(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  (void)args;
  (void)results;
  (void)err;
  (*(int *)env)++;
  return HVW_OK;
}

/* ---- Stores and objects ------------------------------------------------------------------------ */

static void test_store_limits_default(void **state) {
  (void)state;
  hvw_store_limits l;
  hvw_store_limits_default(&l);
  assert_int_equal(l.gas_limit, 10000000000ull);
  assert_int_equal(l.max_memory_pages, 1024);
  assert_int_equal(l.max_table_elements, 1000000);
  assert_int_equal(l.max_call_depth, 10000);
  assert_int_equal(l.max_stack_cells, 1u << 20);
  hvw_store *s = hvw_store_new(NULL, NULL);
  assert_non_null(s);
  hvw_store_stats st;
  hvw_store_get_stats(s, &st);
  assert_int_equal(st.gas_used, 0);
  assert_int_equal(st.memory_peak_bytes, 0);
  hvw_store_interrupt(s);
  assert_int_equal(atomic_load(&s->interrupt), 1);
  hvw_store_clear_interrupt(s);
  assert_int_equal(atomic_load(&s->interrupt), 0);
  hvw_store_free(s);
}

static void test_memory_grow_against_cap(void **state) {
  (void)state;
  hvw_store *s = new_store(4, 0);
  hvw_error err;
  hvw_memory *mem = hvw_memory_new(s, (hvw_limits_decl){1, 0, false}, &err);
  assert_non_null(mem);
  uint8_t *data = hvw_memory_data(mem);
  assert_non_null(data);
  assert_int_equal(hvw_memory_size_bytes(mem), HVW_PAGE_SIZE);
  data[HVW_PAGE_SIZE - 1] = 1;

  assert_int_equal(hvw__memory_grow(s, mem, 0), 1);
  assert_int_equal(hvw__memory_grow(s, mem, 2), 1); /* within the cap */
  assert_false(s->memory_grow_refused);
  assert_int_equal(hvw_memory_size_bytes(mem), 3 * HVW_PAGE_SIZE);
  assert_ptr_equal(hvw_memory_data(mem), data); /* never moves */
  data[3 * HVW_PAGE_SIZE - 1] = 7;              /* the new pages are usable */
  assert_int_equal(data[HVW_PAGE_SIZE - 1], 1);

  assert_int_equal(hvw__memory_grow(s, mem, 2), -1); /* 5 pages > cap 4 */
  assert_true(s->memory_grow_refused);
  assert_int_equal(hvw_memory_size_bytes(mem), 3 * HVW_PAGE_SIZE);
  assert_int_equal(hvw__memory_grow(s, mem, 1), 3); /* exactly the cap */

  hvw_store_stats st;
  hvw_store_get_stats(s, &st);
  assert_int_equal(st.memory_peak_bytes, 4 * HVW_PAGE_SIZE);

  /* a declared max below the cap refuses without blaming the cap */
  s->memory_grow_refused = false;
  hvw_memory *small = hvw_memory_new(s, (hvw_limits_decl){0, 2, true}, &err);
  assert_non_null(small);
  assert_non_null(hvw_memory_data(small)); /* zero pages still get a valid pointer */
  assert_int_equal(hvw_memory_size_bytes(small), 0);
  assert_int_equal(hvw__memory_grow(s, small, 3), -1);
  assert_false(s->memory_grow_refused);
  assert_int_equal(hvw__memory_grow(s, small, 2), 0);
  assert_int_equal(hvw__memory_grow(s, small, 1), -1);
  assert_false(s->memory_grow_refused);
  hvw_store_get_stats(s, &st);
  assert_int_equal(st.memory_peak_bytes, 6 * HVW_PAGE_SIZE);

  /* a declared max above the cap: the cap refuses */
  hvw_memory *big = hvw_memory_new(s, (hvw_limits_decl){0, 100, true}, &err);
  assert_non_null(big);
  assert_int_equal(hvw__memory_grow(s, big, 5), -1);
  assert_true(s->memory_grow_refused);

  /* a minimum over the cap */
  assert_null(hvw_memory_new(s, (hvw_limits_decl){5, 0, false}, &err));
  assert_int_equal(err.status, HVW_MEMORY_EXCEEDED);
  assert_null(hvw_memory_new(s, (hvw_limits_decl){3, 2, true}, &err));
  assert_int_equal(err.status, HVW_BAD_ARGUMENTS);
  hvw_store_free(s);
}

static void test_table_grow(void **state) {
  (void)state;
  hvw_store *s = new_store(0, 5);
  hvw_error err;
  hvw_value null_ref = {.type = HVW_TYPE_EXTERNREF, .of.externref = 0};
  hvw_table *t = hvw_table_new(s, HVW_TYPE_EXTERNREF, (hvw_limits_decl){1, 3, true}, null_ref, &err);
  assert_non_null(t);
  assert_int_equal(hvw__table_grow(s, t, 2, 0x55), 1);
  assert_int_equal(t->size, 3);
  assert_int_equal(t->elems[0], 0);
  assert_int_equal(t->elems[1], 0x55);
  assert_int_equal(t->elems[2], 0x55);
  assert_int_equal(hvw__table_grow(s, t, 1, 0), -1); /* declared max 3 */
  assert_int_equal(hvw__table_grow(s, t, 0, 0), 3);

  hvw_value init = {.type = HVW_TYPE_EXTERNREF, .of.externref = 9};
  hvw_table *u = hvw_table_new(s, HVW_TYPE_EXTERNREF, (hvw_limits_decl){2, 0, false}, init, &err);
  assert_non_null(u);
  assert_int_equal(u->elems[1], 9);
  for (int i = 0; i < 3; i++) assert_int_equal(hvw__table_grow(s, u, 1, 1), 2 + i);
  assert_int_equal(hvw__table_grow(s, u, 1, 0), -1); /* the store's cap of 5 */
  assert_int_equal(hvw__table_grow(s, u, UINT32_MAX, 0), -1);
  assert_int_equal(u->size, 5);

  assert_null(hvw_table_new(s, HVW_TYPE_EXTERNREF, (hvw_limits_decl){6, 0, false}, init, &err));
  assert_int_equal(err.status, HVW_MEMORY_EXCEEDED);
  assert_null(hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){1, 0, false}, init, &err));
  assert_int_equal(err.status, HVW_BAD_ARGUMENTS); /* init of the wrong type */
  hvw_store_free(s);
}

static void test_globals(void **state) {
  (void)state;
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  hvw_global *g = hvw_global_new(s, HVW_TYPE_F64, true, (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x7ff8000000000001ull}, &err);
  assert_non_null(g);
  hvw_value v = hvw_global_get(g);
  assert_int_equal(v.type, HVW_TYPE_F64);
  assert_int_equal(v.of.f64_bits, 0x7ff8000000000001ull); /* NaN payload kept */
  assert_null(hvw_global_new(s, HVW_TYPE_I32, false, (hvw_value){.type = HVW_TYPE_I64}, &err));
  assert_int_equal(err.status, HVW_BAD_ARGUMENTS);
  hvw_store_free(s);
}

/* ---- Host functions ------------------------------------------------------------------------------ */

static void test_host_function_call(void **state) {
  (void)state;
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  hvw_functype_view ft = {2, I32_I32, 1, I32_I32};
  hvw_func *add = hvw_func_new_host(s, ft, host_add, NULL, &err);
  assert_non_null(add);
  hvw_functype_view got = hvw_func_type(add);
  assert_int_equal(got.param_count, 2);
  assert_int_equal(got.result_count, 1);
  assert_int_equal(got.results[0], HVW_TYPE_I32);

  hvw_value args[2] = {{.type = HVW_TYPE_I32, .of.i32 = 40}, {.type = HVW_TYPE_I32, .of.i32 = 2}};
  hvw_value res[1];
  assert_int_equal(hvw_func_call(s, add, args, 2, res, 1, &err), HVW_OK);
  assert_int_equal(res[0].type, HVW_TYPE_I32);
  assert_int_equal(res[0].of.i32, 42);

  assert_int_equal(hvw_func_call(s, add, args, 1, res, 1, &err), HVW_BAD_ARGUMENTS);
  assert_int_equal(hvw_func_call(s, add, args, 2, res, 0, &err), HVW_BAD_ARGUMENTS);
  args[1].type = HVW_TYPE_I64;
  assert_int_equal(hvw_func_call(s, add, args, 2, res, 1, &err), HVW_BAD_ARGUMENTS);
  assert_non_null(strstr(err.message, "argument 1"));

  /* values of every type cross the boundary unchanged */
  static const hvw_valtype types[] = {HVW_TYPE_I64, HVW_TYPE_F32, HVW_TYPE_F64, HVW_TYPE_EXTERNREF, HVW_TYPE_FUNCREF};
  hvw_value in[] = {{.type = HVW_TYPE_I64, .of.i64 = INT64_MIN},
                     {.type = HVW_TYPE_F32, .of.f32_bits = 0xffc00001u},
                     {.type = HVW_TYPE_F64, .of.f64_bits = 0x7ff0000000000001ull},
                     {.type = HVW_TYPE_EXTERNREF, .of.externref = 0x1234},
                     {.type = HVW_TYPE_FUNCREF, .of.funcref = add}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    hvw_func *id = hvw_func_new_host(s, (hvw_functype_view){1, &types[i], 1, &types[i]}, host_identity, NULL, &err);
    assert_non_null(id);
    hvw_value out;
    assert_int_equal(hvw_func_call(s, id, &in[i], 1, &out, 1, &err), HVW_OK);
    assert_int_equal(out.type, in[i].type);
    switch (out.type) {
      case HVW_TYPE_I64: assert_int_equal(out.of.i64, in[i].of.i64); break;
      case HVW_TYPE_F32: assert_int_equal(out.of.f32_bits, in[i].of.f32_bits); break;
      case HVW_TYPE_F64: assert_int_equal(out.of.f64_bits, in[i].of.f64_bits); break;
      case HVW_TYPE_EXTERNREF: assert_int_equal(out.of.externref, in[i].of.externref); break;
      default: assert_ptr_equal(out.of.funcref, in[i].of.funcref); break;
    }
  }

  hvw_func *bad = hvw_func_new_host(s, (hvw_functype_view){0, NULL, 0, NULL}, host_fail, NULL, &err);
  assert_non_null(bad);
  assert_int_equal(hvw_func_call(s, bad, NULL, 0, NULL, 0, &err), HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_HOST);
  assert_non_null(strstr(err.message, "host said no"));
  hvw_store_free(s);
}

/* ---- Import matching --------------------------------------------------------------------------- */

/* Imports: "m" "f" func (i32)->i32 ; "m" "t" table funcref 1..10 ; "m" "mem" memory 1..4 ;
 * "m" "g" global i32 ; "m" "gm" global mut i64. */
static void import_module(wbuf *w) {
  wb_header(w);
  WB_SECTION(w, SEC_TYPE, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f);
  WB_SECTION(w, SEC_IMPORT, 0x05,
             0x01, 'm', 0x01, 'f', 0x00, 0x00,
             0x01, 'm', 0x01, 't', 0x01, 0x70, 0x01, 0x01, 0x0a,
             0x01, 'm', 0x03, 'm', 'e', 'm', 0x02, 0x01, 0x01, 0x04,
             0x01, 'm', 0x01, 'g', 0x03, 0x7f, 0x00,
             0x01, 'm', 0x02, 'g', 'm', 0x03, 0x7e, 0x01);
}

typedef struct import_set {
  hvw_extern x[5];
} import_set;

static import_set matching_imports(hvw_store *s) {
  hvw_error err;
  import_set set;
  memset(&set, 0, sizeof set);
  set.x[0].kind = HVW_EXTERN_FUNC;
  set.x[0].of.func = hvw_func_new_host(s, (hvw_functype_view){1, I32_I32, 1, I32_I32}, host_identity, NULL, &err);
  set.x[1].kind = HVW_EXTERN_TABLE;
  set.x[1].of.table = hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){2, 5, true},
                                     (hvw_value){.type = HVW_TYPE_FUNCREF}, &err);
  set.x[2].kind = HVW_EXTERN_MEMORY;
  set.x[2].of.memory = hvw_memory_new(s, (hvw_limits_decl){1, 3, true}, &err);
  set.x[3].kind = HVW_EXTERN_GLOBAL;
  set.x[3].of.global = hvw_global_new(s, HVW_TYPE_I32, false, (hvw_value){.type = HVW_TYPE_I32, .of.i32 = 7}, &err);
  set.x[4].kind = HVW_EXTERN_GLOBAL;
  set.x[4].of.global = hvw_global_new(s, HVW_TYPE_I64, true, (hvw_value){.type = HVW_TYPE_I64}, &err);
  for (int i = 0; i < 5; i++) assert_non_null(set.x[i].of.func);
  return set;
}

static void test_import_matching_accepted(void **state) {
  (void)state;
  wbuf w = {0};
  import_module(&w);
  hvw_module *m = load(&w);
  hvw_store *s = new_store(0, 0);
  import_set set = matching_imports(s);
  hvw_error err;
  assert_non_null(hvw_instance_new(s, m, set.x, 5, &err));

  /* the current size counts, not the declared minimum: a memory grown to 2 pages meets "min 2" */
  hvw_memory *mem = hvw_memory_new(s, (hvw_limits_decl){1, 4, true}, &err);
  assert_int_equal(hvw__memory_grow(s, mem, 1), 1);
  {
    wbuf w2 = {0};
    wb_header(&w2);
    WB_SECTION(&w2, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'm', 0x02, 0x01, 0x02, 0x04);
    hvw_module *m2 = load(&w2);
    hvw_extern x = {.kind = HVW_EXTERN_MEMORY, .of.memory = mem};
    assert_non_null(hvw_instance_new(s, m2, &x, 1, &err));
    hvw_module_free(m2);
    wb_free(&w2);
  }
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

static void expect_unlinkable(hvw_store *s, const hvw_module *m, import_set set, size_t count, const char *name) {
  hvw_error err;
  assert_null(hvw_instance_new(s, m, set.x, count, &err));
  assert_int_equal(err.status, HVW_UNLINKABLE);
  if (name && !strstr(err.message, name)) fail_msg("message \"%s\" does not name %s", err.message, name);
}

static void test_import_matching_rejected(void **state) {
  (void)state;
  wbuf w = {0};
  import_module(&w);
  hvw_module *m = load(&w);
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  import_set good = matching_imports(s), set;
  hvw_value null_func = {.type = HVW_TYPE_FUNCREF};

  expect_unlinkable(s, m, good, 4, NULL); /* one import missing */

  set = good; /* function of another type */
  set.x[0].of.func = hvw_func_new_host(s, (hvw_functype_view){2, I32_I32, 1, I32_I32}, host_add, NULL, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"f\"");

  set = good; /* a table where a function is wanted */
  set.x[0] = good.x[1];
  expect_unlinkable(s, m, set, 5, "\"m\" \"f\"");

  set = good; /* externref table */
  set.x[1].of.table = hvw_table_new(s, HVW_TYPE_EXTERNREF, (hvw_limits_decl){2, 5, true},
                                     (hvw_value){.type = HVW_TYPE_EXTERNREF}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"t\"");

  set = good; /* table smaller than the minimum */
  set.x[1].of.table = hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){0, 5, true}, null_func, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"t\"");

  set = good; /* table without a max where a max of 10 is required */
  set.x[1].of.table = hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){2, 0, false}, null_func, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"t\"");

  set = good; /* table max over 10 */
  set.x[1].of.table = hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){2, 11, true}, null_func, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"t\"");

  set = good; /* memory of 0 pages, 1 required */
  set.x[2].of.memory = hvw_memory_new(s, (hvw_limits_decl){0, 4, true}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"mem\"");

  set = good; /* memory max 5 over 4 */
  set.x[2].of.memory = hvw_memory_new(s, (hvw_limits_decl){1, 5, true}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"mem\"");

  set = good; /* memory without a max */
  set.x[2].of.memory = hvw_memory_new(s, (hvw_limits_decl){1, 0, false}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"mem\"");

  set = good; /* global of another type */
  set.x[3].of.global = hvw_global_new(s, HVW_TYPE_I64, false, (hvw_value){.type = HVW_TYPE_I64}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"g\"");

  set = good; /* mutable where immutable is wanted */
  set.x[3].of.global = hvw_global_new(s, HVW_TYPE_I32, true, (hvw_value){.type = HVW_TYPE_I32}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"g\"");

  set = good; /* immutable where mutable is wanted */
  set.x[4].of.global = hvw_global_new(s, HVW_TYPE_I64, false, (hvw_value){.type = HVW_TYPE_I64}, &err);
  expect_unlinkable(s, m, set, 5, "\"m\" \"gm\"");

  assert_non_null(hvw_instance_new(s, m, good.x, 5, &err)); /* the store is still fine */
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

/* ---- Instantiation ------------------------------------------------------------------------------- */

static void test_memory_minimum_over_cap(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x05); /* 5 pages */
  hvw_module *m = load(&w);
  hvw_store *s = new_store(4, 0);
  hvw_error err;
  assert_null(hvw_instance_new(s, m, NULL, 0, &err));
  assert_int_equal(err.status, HVW_MEMORY_EXCEEDED);
  hvw_store_free(s);
  s = new_store(5, 0);
  assert_non_null(hvw_instance_new(s, m, NULL, 0, &err));
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

static void test_exports_and_global_initializers(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'g', 0x03, 0x7f, 0x00);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x02);
  WB_SECTION(&w, SEC_GLOBAL, 0x02, 0x7f, 0x00, 0x23, 0x00, 0x0b,  /* global 1 = global 0 */
             0x70, 0x00, 0xd2, 0x00, 0x0b);                         /* global 2 = ref.func 0 */
  WB_SECTION(&w, SEC_EXPORT, 0x04, 0x01, 'g', 0x03, 0x01, 0x01, 'r', 0x03, 0x02, 0x01, 'f', 0x00, 0x00, 0x03, 'm',
             'e', 'm', 0x02, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  hvw_module *m = load(&w);
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  hvw_extern imp = {.kind = HVW_EXTERN_GLOBAL};
  imp.of.global = hvw_global_new(s, HVW_TYPE_I32, false, (hvw_value){.type = HVW_TYPE_I32, .of.i32 = 7}, &err);
  hvw_instance *inst = hvw_instance_new(s, m, &imp, 1, &err);
  assert_non_null(inst);

  hvw_extern g, r, f, mem;
  assert_true(hvw_instance_export(inst, "g", 1, &g));
  assert_int_equal(g.kind, HVW_EXTERN_GLOBAL);
  assert_int_equal(hvw_global_get(g.of.global).of.i32, 7);
  assert_true(hvw_instance_export(inst, "f", 1, &f));
  assert_int_equal(f.kind, HVW_EXTERN_FUNC);
  assert_true(hvw_instance_export(inst, "r", 1, &r));
  assert_ptr_equal(hvw_global_get(r.of.global).of.funcref, f.of.func); /* ref.func is the instance's own function */
  assert_true(hvw_instance_export(inst, "mem", 3, &mem));
  assert_int_equal(mem.kind, HVW_EXTERN_MEMORY);
  assert_int_equal(hvw_memory_size_bytes(mem.of.memory), 2 * HVW_PAGE_SIZE);
  assert_false(hvw_instance_export(inst, "me", 2, &mem));
  assert_false(hvw_instance_export(inst, "x", 1, &mem));

  hvw_store_stats st;
  hvw_store_get_stats(s, &st);
  assert_int_equal(st.memory_peak_bytes, 2 * HVW_PAGE_SIZE);
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

static void test_segments_dropped_after_instantiation(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x00, 0x02);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_ELEMENT, 0x03, 0x00, 0x41, 0x01, 0x0b, 0x01, 0x00, /* active at 1 */
             0x01, 0x00, 0x02, 0x00, 0x00,                             /* passive, 2 elements */
             0x03, 0x00, 0x01, 0x00);                                  /* declarative */
  WB_SECTION(&w, SEC_DATA_COUNT, 0x02);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  WB_SECTION(&w, SEC_DATA, 0x02, 0x00, 0x41, 0x03, 0x0b, 0x01, 'a', 0x01, 0x02, 'b', 'c');
  hvw_module *m = load(&w);
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  hvw_instance *inst = hvw_instance_new(s, m, NULL, 0, &err);
  assert_non_null(inst);
  assert_int_equal(inst->elems[0].count, 0); /* active: dropped */
  assert_int_equal(inst->elems[1].count, 2); /* passive: kept */
  assert_int_equal(inst->elems[1].refs[0], (uintptr_t)inst->funcs[0]);
  assert_int_equal(inst->elems[2].count, 0); /* declarative: dropped */
  assert_int_equal(inst->tables[0]->elems[0], 0);
  assert_int_equal(inst->tables[0]->elems[1], (uintptr_t)inst->funcs[0]);
  assert_int_equal(inst->datas[0].size, 0);
  assert_int_equal(inst->datas[1].size, 2);
  assert_int_equal(inst->memory->data[3], 'a');
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

/* WebAssembly 2.0: segments are applied in order, and what an earlier one wrote to an imported
 * table or memory stays when a later one is out of bounds. */
static void test_out_of_bounds_segments_keep_earlier_writes(void **state) {
  (void)state;
  hvw_store *s = new_store(0, 0);
  hvw_error err;
  hvw_table *table = hvw_table_new(s, HVW_TYPE_FUNCREF, (hvw_limits_decl){3, 0, false},
                                     (hvw_value){.type = HVW_TYPE_FUNCREF}, &err);
  hvw_memory *mem = hvw_memory_new(s, (hvw_limits_decl){1, 0, false}, &err);
  hvw_extern imports[2] = {{.kind = HVW_EXTERN_TABLE, .of.table = table}, {.kind = HVW_EXTERN_MEMORY, .of.memory = mem}};

  /* element segment 1 (2 elements at 2, table of 3) is out of bounds: the data segment never runs */
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  WB_SECTION(&w, SEC_IMPORT, 0x02, 0x01, 'm', 0x01, 't', 0x01, 0x70, 0x00, 0x03, 0x01, 'm', 0x03, 'm', 'e', 'm',
             0x02, 0x00, 0x01);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_ELEMENT, 0x02, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, 0x00, 0x41, 0x02, 0x0b, 0x02, 0x00, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 'x', 'y');
  hvw_module *m = load(&w);
  assert_null(hvw_instance_new(s, m, imports, 2, &err));
  assert_int_equal(err.status, HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_TABLE_OOB);
  assert_non_null(strstr(err.message, "out of bounds table access"));
  assert_int_not_equal(table->elems[0], 0); /* segment 0 wrote its function */
  assert_int_equal(table->elems[2], 0);
  assert_int_equal(hvw_memory_data(mem)[0], 0);
  /* the function the table now holds stays valid: it belongs to the store */
  hvw_func *kept = (hvw_func *)(uintptr_t)table->elems[0];
  assert_int_equal(hvw_func_type(kept).param_count, 0);
  hvw_module_free(m);

  /* data segment 1 ("cd" at 65535) is out of bounds; segment 0 stays written, segment 2 never is */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA, 0x03, 0x00, 0x41, 0x00, 0x0b, 0x02, 'a', 'b', 0x00, 0x41, 0xff, 0xff, 0x03, 0x0b, 0x02,
             'c', 'd', 0x00, 0x41, 0x04, 0x0b, 0x01, 'e');
  m = load(&w);
  assert_null(hvw_instance_new(s, m, &imports[1], 1, &err));
  assert_int_equal(err.status, HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_MEMORY_OOB);
  uint8_t *data = hvw_memory_data(mem);
  assert_int_equal(data[0], 'a');
  assert_int_equal(data[1], 'b');
  assert_int_equal(data[4], 0);
  assert_int_equal(data[HVW_PAGE_SIZE - 1], 0);
  hvw_module_free(m);

  /* an empty segment past the end traps too; one exactly at the end does not */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x00, 0x41, 0x81, 0x80, 0x04, 0x0b, 0x00);
  m = load(&w);
  assert_null(hvw_instance_new(s, m, NULL, 0, &err));
  assert_int_equal(err.trap, HVW_TRAP_MEMORY_OOB);
  hvw_module_free(m);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x00, 0x41, 0x80, 0x80, 0x04, 0x0b, 0x00);
  m = load(&w);
  assert_non_null(hvw_instance_new(s, m, NULL, 0, &err));
  hvw_module_free(m);

  hvw_store_free(s);
  wb_free(&w);
}

/* ---- Calls into WebAssembly (these run the interpreter) ----------------------------------------- */

/* Imports "h" "hit" : () -> () ; functions: 1 id (i32)->i32, 2 start: call 0, 3 grow_trap:
 * memory.grow 100, drop, unreachable, 4 grow: memory.grow 100 ; memory of 1 page, no max. */
static hvw_module *call_module(void) {
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x03, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00, 0x60, 0x00, 0x01, 0x7f);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'h', 0x03, 'h', 'i', 't', 0x00, 0x01);
  WB_SECTION(&w, SEC_FUNCTION, 0x04, 0x00, 0x01, 0x01, 0x02);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_EXPORT, 0x03, 0x02, 'i', 'd', 0x00, 0x01, 0x09, 'g', 'r', 'o', 'w', '_', 't', 'r', 'a', 'p', 0x00,
             0x03, 0x04, 'g', 'r', 'o', 'w', 0x00, 0x04);
  WB_SECTION(&w, SEC_START, 0x02);
  WB_SECTION(&w, SEC_CODE, 0x04,
             0x04, 0x00, 0x20, 0x00, 0x0b,
             0x04, 0x00, 0x10, 0x00, 0x0b,
             0x09, 0x00, 0x41, 0xe4, 0x00, 0x40, 0x00, 0x1a, 0x00, 0x0b,
             0x07, 0x00, 0x41, 0xe4, 0x00, 0x40, 0x00, 0x0b);
  hvw_module *m = load(&w);
  wb_free(&w);
  return m;
}

static void test_calls_and_start_function(void **state) {
  (void)state;
  hvw_module *m = call_module();
  hvw_store *s = new_store(4, 0);
  hvw_error err;
  int hits = 0;
  hvw_extern imp = {.kind = HVW_EXTERN_FUNC};
  imp.of.func = hvw_func_new_host(s, (hvw_functype_view){0, NULL, 0, NULL}, host_count, &hits, &err);
  hvw_instance *inst = hvw_instance_new(s, m, &imp, 1, &err);
  if (!inst) fail_msg("instantiation failed: %s", err.message);
  assert_int_equal(hits, 1); /* the start function called the host */

  hvw_extern f;
  assert_true(hvw_instance_export(inst, "id", 2, &f));
  hvw_value arg = {.type = HVW_TYPE_I32, .of.i32 = -5}, res;
  assert_int_equal(hvw_func_call(s, f.of.func, &arg, 1, &res, 1, &err), HVW_OK);
  assert_int_equal(res.type, HVW_TYPE_I32);
  assert_int_equal(res.of.i32, -5);
  arg.type = HVW_TYPE_F32;
  assert_int_equal(hvw_func_call(s, f.of.func, &arg, 1, &res, 1, &err), HVW_BAD_ARGUMENTS);

  /* memory.grow past the cap returns -1: not an error by itself */
  assert_true(hvw_instance_export(inst, "grow", 4, &f));
  assert_int_equal(hvw_func_call(s, f.of.func, NULL, 0, &res, 1, &err), HVW_OK);
  assert_int_equal(res.of.i32, -1);
  assert_true(s->memory_grow_refused);

  /* but a trap after it is reported as the memory limit */
  assert_true(hvw_instance_export(inst, "grow_trap", 9, &f));
  assert_int_equal(hvw_func_call(s, f.of.func, NULL, 0, NULL, 0, &err), HVW_MEMORY_EXCEEDED);
  hvw_store_free(s);

  /* with a cap that allows it, the same trap is a plain trap */
  s = new_store(200, 0);
  hits = 0;
  imp.of.func = hvw_func_new_host(s, (hvw_functype_view){0, NULL, 0, NULL}, host_count, &hits, &err);
  inst = hvw_instance_new(s, m, &imp, 1, &err);
  assert_non_null(inst);
  assert_true(hvw_instance_export(inst, "grow_trap", 9, &f));
  assert_int_equal(hvw_func_call(s, f.of.func, NULL, 0, NULL, 0, &err), HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_UNREACHABLE);
  hvw_store_free(s);
  hvw_module_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_limits_default),
      cmocka_unit_test(test_memory_grow_against_cap),
      cmocka_unit_test(test_table_grow),
      cmocka_unit_test(test_globals),
      cmocka_unit_test(test_host_function_call),
      cmocka_unit_test(test_import_matching_accepted),
      cmocka_unit_test(test_import_matching_rejected),
      cmocka_unit_test(test_memory_minimum_over_cap),
      cmocka_unit_test(test_exports_and_global_initializers),
      cmocka_unit_test(test_segments_dropped_after_instantiation),
      cmocka_unit_test(test_out_of_bounds_segments_keep_earlier_writes),
      cmocka_unit_test(test_calls_and_start_function),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
