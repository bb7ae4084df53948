/*
 * test_decode.c: the decoder and module-level validator (src/engine/decode.c) on hand-written
 * binaries: good modules and each class of malformed, invalid and over-the-limit module.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "limits.h"
#include "module_int.h"
#include "wasm_builder.h"
#include "wasm_engine.h"

/* Loads `w` and expects failure with `status`, the message containing each of `parts` (NULL-ended). */
static void expect_failure(const wbuf *w, hvw_status status, ...) {
  hvw_error err;
  hvw_module *m = hvw_module_load(w->b, w->n, &err);
  if (m) {
    hvw_module_free(m);
    fail_msg("module loaded; expected %s", hvw_status_name(status));
  }
  if (err.status != status)
    fail_msg("expected %s, got %s: %s", hvw_status_name(status), hvw_status_name(err.status), err.message);
  va_list ap;
  va_start(ap, status);
  for (const char *part = va_arg(ap, const char *); part; part = va_arg(ap, const char *))
    if (!strstr(err.message, part)) fail_msg("message \"%s\" lacks \"%s\"", err.message, part);
  va_end(ap);
}

static hvw_module *expect_load(const wbuf *w) {
  hvw_error err;
  hvw_module *m = hvw_module_load(w->b, w->n, &err);
  if (!m) fail_msg("load failed: %s: %s", hvw_status_name(err.status), err.message);
  return m;
}

/* type 0: (i32) -> i32 ; type 1: () -> () */
static void add_types(wbuf *w) { WB_SECTION(w, SEC_TYPE, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00); }

/* ---- Good modules ------------------------------------------------------------------------------ */

static void test_empty_module_loads(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  hvw_module *m = expect_load(&w);
  assert_int_equal(hvw_module_import_count(m), 0);
  assert_int_equal(hvw_module_export_count(m), 0);
  hvw_module_stats st;
  hvw_module_get_stats(m, &st);
  assert_int_equal(st.hvw_bytes, 8);
  hvw_module_free(m);
  wb_free(&w);
}

static void test_good_module_introspection(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x01, 0x01, 0x03); /* 1..3 pages */
  WB_SECTION(&w, SEC_GLOBAL, 0x01, 0x7e, 0x01, 0x42, 0x2a, 0x0b); /* mut i64 = 42 */
  WB_SECTION(&w, SEC_EXPORT, 0x03, 0x04, 'm', 'a', 'i', 'n', 0x00, 0x00, 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01, 'g',
             0x03, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x04, 0x00, 0x20, 0x00, 0x0b); /* local.get 0 */
  hvw_module *m = expect_load(&w);

  assert_int_equal(hvw_module_export_count(m), 3);
  hvw_export_info e;
  assert_true(hvw_module_export(m, 0, &e));
  assert_int_equal(e.name_len, 4);
  assert_memory_equal(e.name, "main", 4);
  assert_int_equal(e.type.kind, HVW_EXTERN_FUNC);
  assert_int_equal(e.type.func.param_count, 1);
  assert_int_equal(e.type.func.params[0], HVW_TYPE_I32);
  assert_int_equal(e.type.func.result_count, 1);
  assert_int_equal(e.type.func.results[0], HVW_TYPE_I32);
  assert_true(hvw_module_export(m, 1, &e));
  assert_int_equal(e.type.kind, HVW_EXTERN_MEMORY);
  assert_int_equal(e.type.memory.min, 1);
  assert_true(e.type.memory.has_max);
  assert_int_equal(e.type.memory.max, 3);
  assert_true(hvw_module_export(m, 2, &e));
  assert_int_equal(e.type.kind, HVW_EXTERN_GLOBAL);
  assert_int_equal(e.type.global.type, HVW_TYPE_I64);
  assert_true(e.type.global.mutable_);
  assert_false(hvw_module_export(m, 3, &e));

  hvw_functype_view ft;
  assert_true(hvw_module_find_func_export(m, "main", 4, &ft));
  assert_int_equal(ft.param_count, 1);
  assert_false(hvw_module_find_func_export(m, "mem", 3, &ft)); /* not a function */
  assert_false(hvw_module_find_func_export(m, "mai", 3, &ft));
  assert_false(hvw_module_find_func_export(m, "nope", 4, &ft));

  hvw_module_stats st;
  hvw_module_get_stats(m, &st);
  assert_int_equal(st.hvw_bytes, w.n);
  assert_true(st.code_bytes > 0);

  /* the module keeps its own copy: the caller's bytes may go */
  memset(w.b, 0xff, w.n);
  assert_true(hvw_module_find_func_export(m, "main", 4, &ft));
  hvw_module_free(m);
  wb_free(&w);
}

static void test_imports_introspection(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x04,
             0x01, 'm', 0x01, 'f', 0x00, 0x00,                   /* func type 0 */
             0x01, 'm', 0x01, 't', 0x01, 0x6f, 0x01, 0x02, 0x05, /* table externref 2..5 */
             0x01, 'm', 0x02, 'm', 'm', 0x02, 0x00, 0x01,        /* memory 1.. */
             0x01, 'm', 0x01, 'g', 0x03, 0x7d, 0x00);            /* global f32 */
  hvw_module *m = expect_load(&w);
  assert_int_equal(hvw_module_import_count(m), 4);
  hvw_import_info info;
  assert_true(hvw_module_import(m, 0, &info));
  assert_int_equal(info.module_name_len, 1);
  assert_memory_equal(info.module_name, "m", 1);
  assert_int_equal(info.type.kind, HVW_EXTERN_FUNC);
  assert_int_equal(info.type.func.param_count, 1);
  assert_true(hvw_module_import(m, 1, &info));
  assert_int_equal(info.type.kind, HVW_EXTERN_TABLE);
  assert_int_equal(info.type.table.elem, HVW_TYPE_EXTERNREF);
  assert_int_equal(info.type.table.limits.min, 2);
  assert_int_equal(info.type.table.limits.max, 5);
  assert_true(hvw_module_import(m, 2, &info));
  assert_int_equal(info.name_len, 2);
  assert_int_equal(info.type.kind, HVW_EXTERN_MEMORY);
  assert_int_equal(info.type.memory.min, 1);
  assert_false(info.type.memory.has_max);
  assert_true(hvw_module_import(m, 3, &info));
  assert_int_equal(info.type.kind, HVW_EXTERN_GLOBAL);
  assert_int_equal(info.type.global.type, HVW_TYPE_F32);
  assert_false(info.type.global.mutable_);
  assert_false(hvw_module_import(m, 4, &info));
  hvw_module_free(m);
  wb_free(&w);
}

static void test_custom_sections_anywhere(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, 0, 0x03, 'a', 'b', 'c', 0xff, 0x00, 0x80); /* contents are not interpreted */
  add_types(&w);
  WB_SECTION(&w, 0, 0x00);                                  /* empty name */
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  WB_SECTION(&w, 0, 0x04, 0xe2, 0x82, 0xac, 'x');           /* "€x": valid UTF-8 */
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  WB_SECTION(&w, 0, 0x01, 'z', 0x01, 0x02, 0x03);
  hvw_module *m = expect_load(&w);
  hvw_module_free(m);
  wb_free(&w);
}

/* All eight element segment encodings, and C.refs from segments, exports and global initializers. */
static void test_element_segment_encodings(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01);
  WB_SECTION(&w, SEC_TABLE, 0x02, 0x70, 0x00, 0x0a, 0x70, 0x00, 0x0a);
  WB_SECTION(&w, SEC_GLOBAL, 0x01, 0x70, 0x00, 0xd2, 0x03, 0x0b); /* funcref = ref.func 3 */
  WB_SECTION(&w, SEC_EXPORT, 0x01, 0x01, 'f', 0x00, 0x04);         /* export func 4 */
  WB_SECTION(&w, SEC_ELEMENT, 0x08,
             0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,                          /* 0: active table 0, funcs */
             0x01, 0x00, 0x01, 0x00,                                      /* 1: passive, elemkind, funcs */
             0x02, 0x01, 0x41, 0x01, 0x0b, 0x00, 0x01, 0x00,              /* 2: active table 1, elemkind */
             0x03, 0x00, 0x01, 0x01,                                      /* 3: declarative, funcs: 1 */
             0x04, 0x41, 0x02, 0x0b, 0x02, 0xd2, 0x00, 0x0b, 0xd0, 0x70, 0x0b, /* 4: active, exprs */
             0x05, 0x70, 0x01, 0xd0, 0x70, 0x0b,                          /* 5: passive, exprs */
             0x06, 0x01, 0x41, 0x03, 0x0b, 0x70, 0x01, 0xd2, 0x00, 0x0b,  /* 6: active table 1, exprs */
             0x07, 0x70, 0x01, 0xd2, 0x00, 0x0b);                         /* 7: declarative, exprs */
  WB_SECTION(&w, SEC_CODE, 0x05, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b, 0x02, 0x00,
             0x0b);
  hvw_module *m = expect_load(&w);
  assert_int_equal(m->elem_count, 8);
  assert_int_equal(m->elems[0].mode, HVW_SEGMENT_ACTIVE);
  assert_int_equal(m->elems[1].mode, HVW_SEGMENT_PASSIVE);
  assert_int_equal(m->elems[2].mode, HVW_SEGMENT_ACTIVE);
  assert_int_equal(m->elems[2].table_index, 1);
  assert_int_equal(m->elems[3].mode, HVW_SEGMENT_DECLARATIVE);
  assert_int_equal(m->elems[4].item_count, 2);
  assert_int_equal(m->elems[4].items[1].kind, HVW_CONST_REF_NULL);
  assert_int_equal(m->elems[5].mode, HVW_SEGMENT_PASSIVE);
  assert_int_equal(m->elems[6].table_index, 1);
  assert_int_equal(m->elems[7].mode, HVW_SEGMENT_DECLARATIVE);
  assert_true(hvw__func_ref_declared(m, 0));  /* element segments */
  assert_true(hvw__func_ref_declared(m, 1));  /* declarative segment */
  assert_false(hvw__func_ref_declared(m, 2)); /* named nowhere */
  assert_true(hvw__func_ref_declared(m, 3));  /* global initializer */
  assert_true(hvw__func_ref_declared(m, 4));  /* export */
  hvw_module_free(m);
  wb_free(&w);
}

static void test_data_segment_encodings(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA_COUNT, 0x03);
  WB_SECTION(&w, SEC_DATA, 0x03,
             0x00, 0x41, 0x00, 0x0b, 0x02, 'h', 'i',       /* active memory 0 */
             0x01, 0x01, 'p',                             /* passive */
             0x02, 0x00, 0x41, 0x08, 0x0b, 0x00);         /* active, explicit memory 0 */
  hvw_module *m = expect_load(&w);
  assert_true(m->has_data_count);
  assert_int_equal(m->data_segment_count, 3);
  assert_int_equal(m->datas[0].size, 2);
  assert_memory_equal(m->datas[0].bytes, "hi", 2);
  assert_int_equal(m->datas[1].mode, HVW_SEGMENT_PASSIVE);
  assert_int_equal(m->datas[2].offset.value[0], 8);
  hvw_module_free(m);
  wb_free(&w);
}

/* ---- Header and section framing ------------------------------------------------------------------ */

static void test_bad_header(void **state) {
  (void)state;
  wbuf w = {0};
  wb_put(&w, "\0asn\1\0\0\0", 8);
  expect_failure(&w, HVW_MALFORMED, "magic header not detected", NULL);
  w.n = 0;
  wb_put(&w, "\0asm\2\0\0\0", 8);
  expect_failure(&w, HVW_MALFORMED, "unknown binary version", NULL);
  w.n = 0;
  wb_put(&w, "\0asm\1\0", 6);
  expect_failure(&w, HVW_MALFORMED, "unexpected end", NULL);
  w.n = 0;
  expect_failure(&w, HVW_MALFORMED, "unexpected end", NULL);
  wb_free(&w);
}

static void test_truncated_section(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  wb_put(&w, "\x01\x07\x01\x60\x00\x00", 6); /* type section says 7 bytes, 4 follow */
  expect_failure(&w, HVW_MALFORMED, "unexpected end", "byte offset", NULL);
  /* a function body that claims more bytes than the section has */
  w.n = 0;
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x09, 0x00, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "code section", "function 0", "unexpected end", NULL);
  wb_free(&w);
}

static void test_section_size_mismatch(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x00, 0x00, 0x00); /* one byte more than the type needs */
  expect_failure(&w, HVW_MALFORMED, "type section", "section size mismatch", NULL);
  /* smaller than its contents: the type runs past the section's end */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x01);
  WB_SECTION(&w, 0, 0x00);
  expect_failure(&w, HVW_MALFORMED, "type section", NULL);
  wb_free(&w);
}

static void test_section_order(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x00);
  WB_SECTION(&w, SEC_TYPE, 0x00);
  expect_failure(&w, HVW_MALFORMED, "type section", "out of order", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x00);
  WB_SECTION(&w, SEC_TYPE, 0x00);
  expect_failure(&w, HVW_MALFORMED, "out of order or repeated", NULL);
  /* the data count section goes between element and code */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_CODE, 0x00);
  WB_SECTION(&w, SEC_DATA_COUNT, 0x00);
  expect_failure(&w, HVW_MALFORMED, "data count section", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_DATA_COUNT, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x00);
  WB_SECTION(&w, SEC_DATA, 0x00);
  hvw_module *m = expect_load(&w);
  hvw_module_free(m);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, 13, 0x00);
  expect_failure(&w, HVW_MALFORMED, "malformed section id", NULL);
  wb_free(&w);
}

static void test_function_and_code_counts(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  expect_failure(&w, HVW_MALFORMED, "function and code section have inconsistent lengths", NULL);
  WB_SECTION(&w, SEC_CODE, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "code section", "inconsistent lengths", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "inconsistent lengths", NULL);
  wb_free(&w);
}

static void test_data_count_mismatch(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA_COUNT, 0x02);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x01, 0x00);
  expect_failure(&w, HVW_MALFORMED, "data count and data section have inconsistent lengths", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_DATA_COUNT, 0x01);
  expect_failure(&w, HVW_MALFORMED, "data count and data section have inconsistent lengths", NULL);
  wb_free(&w);
}

/* ---- Counts and limits --------------------------------------------------------------------------- */

/* A count the remaining bytes cannot hold fails before anything is allocated for it: a 4-billion
 * entry calloc would fail (OUT_OF_HOST_MEMORY) or take minutes; MALFORMED comes straight back. */
static void test_oversized_counts_rejected_before_allocation(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x60, 0x00, 0x00);
  expect_failure(&w, HVW_MALFORMED, "type section", "do not fit", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0xbf, 0x84, 0x3d, 0x00); /* 999999 functions: under the limit, 1 byte left */
  expect_failure(&w, HVW_MALFORMED, "function section", "do not fit", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'); /* 4 GiB of data, 1 byte given */
  expect_failure(&w, HVW_MALFORMED, "data section", "unexpected end", NULL);
  /* a name longer than what is left */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, 0, 0xff, 0xff, 0x03, 'a');
  expect_failure(&w, HVW_MALFORMED, "custom section", NULL);
  /* local declarations: a run count the body cannot hold */
  w.n = 0;
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x07, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "function 0", "do not fit", NULL);
  wb_free(&w);
}

static void test_count_over_implementation_limit(void **state) {
  (void)state;
  /* HVW_MAX_EXPORTS + 1 exports, with enough bytes that only the limit can reject them */
  uint32_t n = HVW_MAX_EXPORTS + 1;
  wbuf content = {0};
  wb_uleb(&content, n);
  for (uint32_t i = 0; i < n; i++) wb_put(&content, "\x00\x00\x00", 3);
  wbuf w = {0};
  wb_header(&w);
  wb_section(&w, SEC_EXPORT, content.b, content.n);
  expect_failure(&w, HVW_IMPL_LIMIT, "export section", "too many exports", NULL);
  wb_free(&content);
  wb_free(&w);
}

static void test_too_many_locals(void **state) {
  (void)state;
  wbuf w = {0};
  /* more than 2^32 - 1 locals: malformed, as the binary format says */
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x0a, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x02, 0x7e, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "function 0", "too many locals", NULL);
  /* over HVW_MAX_LOCALS (params included): the engine's limit */
  w.n = 0;
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00); /* type 0 has one parameter */
  WB_SECTION(&w, SEC_CODE, 0x01, 0x06, 0x01, 0xd0, 0x86, 0x03, 0x7f, 0x0b); /* 50000 locals + 1 param */
  expect_failure(&w, HVW_IMPL_LIMIT, "function 0", "too many locals", NULL);
  /* exactly at the limit loads */
  w.n = 0;
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x08, 0x01, 0xcf, 0x86, 0x03, 0x7f, 0x20, 0x00, 0x0b); /* 49999 + 1 */
  hvw_module *m = expect_load(&w);
  assert_int_equal(m->funcs[0].local_count, 49999);
  assert_int_equal(m->funcs[0].local_run_count, 1);
  hvw_module_free(m);
  wb_free(&w);
}

/* ---- Names ----------------------------------------------------------------------------------- */

static void test_malformed_utf8(void **state) {
  (void)state;
  static const uint8_t bad[][4] = {
      {0x02, 0xc0, 0x80},       /* overlong NUL */
      {0x03, 0xed, 0xa0, 0x80}, /* surrogate U+D800 */
      {0x01, 0xff},             /* never valid */
      {0x02, 0xe2, 0x82},       /* truncated sequence */
      {0x01, 0x80},             /* lone continuation byte */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t len = (size_t)bad[i][0] + 1;
    wbuf w = {0}, content = {0};
    /* export name */
    wb_header(&w);
    wb_put(&content, "\x01", 1);
    wb_put(&content, bad[i], len);
    wb_put(&content, "\x02\x00", 2);
    WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x00);
    wb_section(&w, SEC_EXPORT, content.b, content.n);
    expect_failure(&w, HVW_MALFORMED, "export section", "malformed UTF-8", NULL);
    /* custom section name */
    w.n = 0;
    wb_header(&w);
    wb_section(&w, 0, bad[i], len);
    expect_failure(&w, HVW_MALFORMED, "custom section", "malformed UTF-8", NULL);
    /* import module name */
    content.n = 0;
    w.n = 0;
    wb_header(&w);
    wb_put(&content, "\x01", 1);
    wb_put(&content, bad[i], len);
    wb_put(&content, "\x01g\x03\x7f\x00", 5);
    wb_section(&w, SEC_IMPORT, content.b, content.n);
    expect_failure(&w, HVW_MALFORMED, "import section", "malformed UTF-8", NULL);
    wb_free(&w);
    wb_free(&content);
  }
}

static void test_duplicate_export(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x00);
  WB_SECTION(&w, SEC_GLOBAL, 0x01, 0x7f, 0x00, 0x41, 0x00, 0x0b);
  WB_SECTION(&w, SEC_EXPORT, 0x03, 0x01, 'a', 0x02, 0x00, 0x01, 'b', 0x03, 0x00, 0x01, 'a', 0x03, 0x00);
  expect_failure(&w, HVW_INVALID, "export section", "duplicate export name", NULL);
  /* names differing only in length are distinct */
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x00);
  WB_SECTION(&w, SEC_EXPORT, 0x03, 0x01, 'a', 0x02, 0x00, 0x02, 'a', 'a', 0x02, 0x00, 0x00, 0x02, 0x00);
  hvw_module *m = expect_load(&w);
  hvw_module_free(m);
  wb_free(&w);
}

/* ---- Types, limits, imports, exports ------------------------------------------------------------ */

static void test_limits(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x01, 0x02, 0x01); /* min 2 > max 1 */
  expect_failure(&w, HVW_INVALID, "memory section", "minimum must not be greater than maximum", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x01, 0x03, 0x02);
  expect_failure(&w, HVW_INVALID, "table section", "minimum must not be greater than maximum", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x81, 0x80, 0x04); /* 65537 pages */
  expect_failure(&w, HVW_INVALID, "memory size must be at most 65536", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x01, 0x00, 0x81, 0x80, 0x04);
  expect_failure(&w, HVW_INVALID, "memory size must be at most 65536", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x80, 0x80, 0x04); /* exactly 65536: valid */
  hvw_module *m = expect_load(&w);
  hvw_module_free(m);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x02, 0x00, 0x01); /* flags 2 (shared) are not 2.0 */
  expect_failure(&w, HVW_MALFORMED, "limits", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x02, 0x00, 0x00, 0x00, 0x00);
  expect_failure(&w, HVW_INVALID, "multiple memories", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'm', 0x02, 0x00, 0x00);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x00);
  expect_failure(&w, HVW_INVALID, "multiple memories", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f); /* a valid but huge table */
  expect_failure(&w, HVW_IMPL_LIMIT, "table section", "over the limit", NULL);
  wb_free(&w);
}

/* Values are laid out in cells through hvw__type_cells: one per 2.0 type, two for a v128. */
static void test_value_cells(void **state) {
  (void)state;
  const hvw_valtype one_cell[] = {HVW_TYPE_I32, HVW_TYPE_I64, HVW_TYPE_F32, HVW_TYPE_F64,
                                   HVW_TYPE_FUNCREF, HVW_TYPE_EXTERNREF};
  for (size_t i = 0; i < sizeof one_cell; i++) assert_int_equal(hvw__type_cells(one_cell[i]), 1);
  assert_int_equal(hvw__type_cells(HVW_TYPE_V128), 2);
  assert_int_equal(hvw__type_cells(0x40), 0);
  assert_int_equal(hvw__types_cells(one_cell, 6), 6);
  const hvw_valtype mixed[] = {HVW_TYPE_I32, HVW_TYPE_V128, HVW_TYPE_F64};
  assert_int_equal(hvw__types_cells(mixed, 3), 4);

  /* (i32 i64 f32) -> (f64 externref): the type's cell counts */
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x03, 0x7f, 0x7e, 0x7d, 0x02, 0x7c, 0x6f);
  hvw_module *m = expect_load(&w);
  assert_int_equal(m->types[0].param_cells, 3);
  assert_int_equal(m->types[0].result_cells, 2);
  hvw_module_free(m);
  wb_free(&w);
}

static void test_types_and_kinds(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x61, 0x00, 0x00);
  expect_failure(&w, HVW_MALFORMED, "type section", "function type", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x01, 0x40, 0x00); /* 0x40 is not a value type */
  expect_failure(&w, HVW_MALFORMED, "value type", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x01, 0x7b, 0x00); /* (v128) -> (): a v128 takes two cells */
  hvw_module *m = expect_load(&w);
  assert_int_equal(m->types[0].param_cells, 2);
  hvw_module_free(m);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x7f, 0x00, 0x00); /* i32 table */
  expect_failure(&w, HVW_MALFORMED, "reference type", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'x', 0x04, 0x00);
  expect_failure(&w, HVW_MALFORMED, "import section", "import kind", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'x', 0x00, 0x05); /* unknown type 5 */
  expect_failure(&w, HVW_INVALID, "import section", "unknown type 5", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_IMPORT, 0x01, 0x01, 'm', 0x01, 'x', 0x03, 0x7f, 0x02); /* mutability 2 */
  expect_failure(&w, HVW_MALFORMED, "mutability", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_EXPORT, 0x01, 0x01, 'e', 0x04, 0x00);
  expect_failure(&w, HVW_MALFORMED, "export kind", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_EXPORT, 0x01, 0x01, 'e', 0x00, 0x00);
  expect_failure(&w, HVW_INVALID, "export section", "unknown function 0", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  expect_failure(&w, HVW_INVALID, "function section", "unknown type 0", NULL);
  wb_free(&w);
}

static void test_start_function(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x02, 0x00, 0x01);
  WB_SECTION(&w, SEC_START, 0x00); /* function 0 is (i32) -> i32 */
  WB_SECTION(&w, SEC_CODE, 0x02, 0x04, 0x00, 0x20, 0x00, 0x0b, 0x02, 0x00, 0x0b);
  expect_failure(&w, HVW_INVALID, "start section", "start function", NULL);
  w.n = 0;
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x02, 0x00, 0x01);
  WB_SECTION(&w, SEC_START, 0x01);
  WB_SECTION(&w, SEC_CODE, 0x02, 0x04, 0x00, 0x20, 0x00, 0x0b, 0x02, 0x00, 0x0b);
  hvw_module *m = expect_load(&w);
  assert_true(m->has_start);
  assert_int_equal(m->start_func, 1);
  hvw_module_free(m);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_START, 0x00);
  expect_failure(&w, HVW_INVALID, "start section", "unknown function 0", NULL);
  wb_free(&w);
}

/* ---- Constant expressions ------------------------------------------------------------------------ */

/* A module importing an immutable i32 (global 0) and a mutable i32 (global 1), then `global` as its
 * global section contents. */
static void global_module(wbuf *w, const uint8_t *global, size_t n) {
  w->n = 0;
  wb_header(w);
  WB_SECTION(w, SEC_IMPORT, 0x02, 0x01, 'm', 0x01, 'a', 0x03, 0x7f, 0x00, 0x01, 'm', 0x01, 'b', 0x03, 0x7f, 0x01);
  wb_section(w, SEC_GLOBAL, global, n);
}

static void test_constant_expressions(void **state) {
  (void)state;
  wbuf w = {0};
  hvw_module *m;
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x23, 0x00, 0x0b)); /* global.get of the immutable import */
  m = expect_load(&w);
  assert_int_equal(m->global_inits[2].kind, HVW_CONST_GLOBAL_GET);
  hvw_module_free(m);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x23, 0x01, 0x0b)); /* of the mutable one */
  expect_failure(&w, HVW_INVALID, "global section", "constant expression required", NULL);
  global_module(&w, WB_BYTES(0x02, 0x7f, 0x00, 0x41, 0x00, 0x0b, 0x7f, 0x00, 0x23, 0x02, 0x0b)); /* a defined one */
  expect_failure(&w, HVW_INVALID, "unknown global 2", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7e, 0x00, 0x41, 0x00, 0x0b)); /* i32.const for an i64 */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x41, 0x00, 0x41, 0x00, 0x0b)); /* two values */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x0b)); /* no value */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x41, 0x00, 0x67, 0x0b)); /* i32.clz */
  expect_failure(&w, HVW_INVALID, "constant expression required", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x01, 0x0b)); /* nop */
  expect_failure(&w, HVW_INVALID, "constant expression required", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x06, 0x0b)); /* not an opcode */
  expect_failure(&w, HVW_MALFORMED, "illegal opcode", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7f, 0x00, 0x41, 0x00)); /* no end */
  expect_failure(&w, HVW_MALFORMED, "unexpected end", NULL);
  global_module(&w, WB_BYTES(0x01, 0x6f, 0x00, 0xd0, 0x6f, 0x0b)); /* ref.null extern */
  m = expect_load(&w);
  hvw_module_free(m);
  global_module(&w, WB_BYTES(0x01, 0x6f, 0x00, 0xd0, 0x70, 0x0b)); /* ref.null func for externref */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  global_module(&w, WB_BYTES(0x01, 0x70, 0x00, 0xd2, 0x00, 0x0b)); /* ref.func of no function */
  expect_failure(&w, HVW_INVALID, "unknown function 0", NULL);
  global_module(&w, WB_BYTES(0x01, 0x7d, 0x00, 0x43, 0x00, 0x00, 0xc0, 0x7f, 0x0b)); /* f32 NaN */
  m = expect_load(&w);
  assert_int_equal(m->global_inits[2].value[0], 0x7fc00000u);
  hvw_module_free(m);
  global_module(&w, WB_BYTES(0x01, 0x7e, 0x00, 0x42, 0x7f, 0x0b)); /* i64.const -1 */
  m = expect_load(&w);
  assert_int_equal(m->global_inits[2].value[0], UINT64_MAX);
  hvw_module_free(m);
  wb_free(&w);
}

static void test_segment_errors(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  add_types(&w);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x01);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x00, 0x01);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x01, 0x01, 0x00); /* elemkind 0x01 */
  WB_SECTION(&w, SEC_CODE, 0x01, 0x02, 0x00, 0x0b);
  expect_failure(&w, HVW_MALFORMED, "element section", "element kind", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x08, 0x00, 0x00, 0x00);
  expect_failure(&w, HVW_MALFORMED, "element segment kind", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00); /* no table */
  expect_failure(&w, HVW_INVALID, "element section", "unknown table 0", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x6f, 0x00, 0x01);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00); /* funcref segment, externref table */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x00, 0x01);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x00, 0x42, 0x00, 0x0b, 0x00); /* i64 offset */
  expect_failure(&w, HVW_INVALID, "type mismatch", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_TABLE, 0x01, 0x70, 0x00, 0x01);
  WB_SECTION(&w, SEC_ELEMENT, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x05); /* function 5 */
  expect_failure(&w, HVW_INVALID, "unknown function 5", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x00); /* no memory */
  expect_failure(&w, HVW_INVALID, "data section", "unknown memory 0", NULL);
  w.n = 0;
  wb_header(&w);
  WB_SECTION(&w, SEC_MEMORY, 0x01, 0x00, 0x01);
  WB_SECTION(&w, SEC_DATA, 0x01, 0x03, 0x00);
  expect_failure(&w, HVW_MALFORMED, "data segment kind", NULL);
  wb_free(&w);
}

/* Decoding errors outrank validation errors found earlier, as in the spec's reference interpreter. */
static void test_malformed_outranks_invalid(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_EXPORT, 0x01, 0x01, 'e', 0x00, 0x07); /* invalid: no function 7 */
  WB_SECTION(&w, SEC_DATA, 0x01, 0x09);                    /* malformed: segment kind 9 */
  expect_failure(&w, HVW_MALFORMED, "data section", NULL);
  wb_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty_module_loads),
      cmocka_unit_test(test_good_module_introspection),
      cmocka_unit_test(test_imports_introspection),
      cmocka_unit_test(test_custom_sections_anywhere),
      cmocka_unit_test(test_element_segment_encodings),
      cmocka_unit_test(test_data_segment_encodings),
      cmocka_unit_test(test_bad_header),
      cmocka_unit_test(test_truncated_section),
      cmocka_unit_test(test_section_size_mismatch),
      cmocka_unit_test(test_section_order),
      cmocka_unit_test(test_function_and_code_counts),
      cmocka_unit_test(test_data_count_mismatch),
      cmocka_unit_test(test_oversized_counts_rejected_before_allocation),
      cmocka_unit_test(test_count_over_implementation_limit),
      cmocka_unit_test(test_too_many_locals),
      cmocka_unit_test(test_malformed_utf8),
      cmocka_unit_test(test_duplicate_export),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_value_cells),
      cmocka_unit_test(test_types_and_kinds),
      cmocka_unit_test(test_start_function),
      cmocka_unit_test(test_constant_expressions),
      cmocka_unit_test(test_segment_errors),
      cmocka_unit_test(test_malformed_outranks_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
