/*
 * test_cabi.c: the Canonical ABI layer (include/hv_cabi.h, src/cabi/cabi.c) against real guests:
 * the modules of tests/cabi/wat, assembled at build time into HV_CABI_WASM_DIR. guest.wat's cabi_realloc
 * and cabi_post_echo do what the test asks (set_realloc, set_post) and record every call in
 * exported globals, which the tests read back; lying guests are made by writing the retptr area
 * and the memory directly.
 *
 * Every test asserts the exact status, and the bytes or values that came out (or that *out is
 * zeroed and err and detail say the right thing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv_cabi.h"

#ifndef HV_CABI_WASM_DIR
#error "HV_CABI_WASM_DIR must name the folder of the assembled test modules"
#endif

#define PAGE 65536u
#define NO_LIMIT UINT64_MAX
#define MAX_DEFAULT ((uint64_t)16 << 20)

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct guest {
  hvw_module *module;
  hvw_store *store;
  hvw_instance *inst;
} guest;

static guest g;
static hvw_error last_err;
static char last_detail[512];

static void open_guest_gas(const char *name, uint64_t gas) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_CABI_WASM_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  static uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  hvw_error err;
  g.module = hvw_module_load(buf, n, &err);
  if (!g.module) fail_msg("%s: %s", name, err.message);
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = gas;
  g.store = hvw_store_new(&limits, &err);
  assert_non_null(g.store);
  g.inst = hvw_instance_new(g.store, g.module, NULL, 0, &err);
  if (!g.inst) fail_msg("instantiating %s: %s", name, err.message);
}

static void open_guest(const char *name) { open_guest_gas(name, NO_LIMIT); }

static int teardown(void **state) {
  (void)state;
  if (g.store) hvw_store_free(g.store);
  if (g.module) hvw_module_free(g.module);
  g = (guest){0};
  return 0;
}

static hvw_memory *memory(void) {
  hvw_extern ext;
  assert_true(hvw_instance_export(g.inst, "memory", 6, &ext));
  assert_int_equal(ext.kind, HVW_EXTERN_MEMORY);
  return ext.of.memory;
}

static uint8_t *mem(void) { return hvw_memory_data(memory()); }
static uint64_t mem_size(void) { return hvw_memory_size_bytes(memory()); }

static void put_u32(uint32_t at, uint32_t v) {
  assert_true((uint64_t)at + 4 <= mem_size());
  uint8_t *m = mem();
  for (int k = 0; k < 4; k++) m[at + k] = (uint8_t)(v >> (8 * k));
}

/* Writes (ptr, len) at retptr and, when bytes is not NULL, the len bytes at ptr. */
static void put_result(uint32_t retptr, uint32_t ptr, uint32_t len, const void *bytes) {
  put_u32(retptr, ptr);
  put_u32(retptr + 4, len);
  if (bytes) memcpy(mem() + ptr, bytes, len);
}

static hvw_value global(const char *name) {
  hvw_extern ext;
  if (!hvw_instance_export(g.inst, name, strlen(name), &ext) || ext.kind != HVW_EXTERN_GLOBAL)
    fail_msg("no exported global %s", name);
  return hvw_global_get(ext.of.global);
}

static int32_t global_i32(const char *name) { return global(name).of.i32; }

static hvw_value I32(int32_t v) { return (hvw_value){.type = HVW_TYPE_I32, .of.i32 = v}; }

/* Calls a plain export (the setters) directly through the engine. */
static void engine_call(const char *name, const hvw_value *args, size_t n) {
  hvw_extern ext;
  assert_true(hvw_instance_export(g.inst, name, strlen(name), &ext));
  hvw_error err;
  if (hvw_func_call(g.store, ext.of.func, args, n, NULL, 0, &err) != HVW_OK)
    fail_msg("%s: %s", name, err.message);
}

static void set_realloc(int32_t mode, uint32_t fixed) {
  engine_call("set_realloc", (hvw_value[]){I32(mode), I32((int32_t)fixed)}, 2);
}

static void set_post(int32_t mode) { engine_call("set_post", (hvw_value[]){I32(mode)}, 1); }

static hv_value str(const char *s) { return hv_value_blob(HV_TYPE_STRING, (const uint8_t *)s, strlen(s)); }
static hv_value blob(hv_type t, const void *p, size_t n) { return hv_value_blob(t, p, n); }
static hv_value num(hvw_value v) { return hv_value_from_wasm(v); }

/* hv_cabi_call on the open guest; err and detail land in last_err and last_detail. Whatever the
 * status, checks what the header promises of *out, err and detail. */
static hv_cabi_status call(const char *name, const hv_value *args, size_t n, hv_type result_type,
                           uint64_t max, hv_cabi_result *out) {
  memset(&last_err, 0xAB, sizeof last_err);
  memset(last_detail, 'x', sizeof last_detail);
  memset(out, 0xAB, sizeof *out);
  hv_cabi_status st = hv_cabi_call(g.store, g.inst, name, strlen(name), args, n, result_type, max, out,
                                   &last_err, last_detail, sizeof last_detail);
  assert_non_null(memchr(last_detail, '\0', sizeof last_detail));
  if (st == HV_CABI_OK) {
    assert_string_equal(last_detail, "");
    assert_int_equal(last_err.status, HVW_OK);
  } else {
    assert_null(out->values);
    assert_int_equal(out->count, 0);
    assert_null(out->data);
    assert_true(last_detail[0] != '\0');
    if (st == HV_CABI_ENGINE)
      assert_int_not_equal(last_err.status, HVW_OK);
    else
      assert_int_equal(last_err.status, HVW_OK);
  }
  return st;
}

#define ARGS(...) ((const hv_value[]){__VA_ARGS__}), (sizeof((const hv_value[]){__VA_ARGS__}) / sizeof(hv_value))
#define NOARGS NULL, 0

static void expect_status(hv_cabi_status got, hv_cabi_status want) {
  if (got != want)
    fail_msg("got %s, wanted %s (detail: %s)", hv_cabi_status_name(got), hv_cabi_status_name(want), last_detail);
}

static void expect_detail_prefix(const char *prefix) {
  if (strncmp(last_detail, prefix, strlen(prefix)) != 0)
    fail_msg("detail '%s' does not start with '%s'", last_detail, prefix);
}

/* A call that must succeed with one blob result equal to want[0 .. len). */
static void expect_blob(hv_cabi_status st, const hv_cabi_result *r, hv_type type, const void *want, size_t len) {
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r->count, 1);
  assert_non_null(r->values);
  assert_int_equal(r->values[0].type, type);
  assert_int_equal(r->values[0].len, len);
  assert_ptr_equal(r->values[0].data, r->data);
  assert_non_null(r->data);
  if (len) assert_memory_equal(r->data, want, len);
}

/* ---- names, flat counts, UTF-8 ---------------------------------------------------------------- */

static void test_status_names_and_texts(void **state) {
  static const struct {
    hv_cabi_status st;
    const char *name;
  } all[] = {{HV_CABI_OK, "HV_CABI_OK"},
             {HV_CABI_SIGNATURE_MISMATCH, "HV_CABI_SIGNATURE_MISMATCH"},
             {HV_CABI_NO_REALLOC, "HV_CABI_NO_REALLOC"},
             {HV_CABI_BAD_POINTER, "HV_CABI_BAD_POINTER"},
             {HV_CABI_MISALIGNED, "HV_CABI_MISALIGNED"},
             {HV_CABI_BAD_UTF8, "HV_CABI_BAD_UTF8"},
             {HV_CABI_RESULT_TOO_LARGE, "HV_CABI_RESULT_TOO_LARGE"},
             {HV_CABI_ENGINE, "HV_CABI_ENGINE"},
             {HV_CABI_HOST_MEMORY, "HV_CABI_HOST_MEMORY"}};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
    assert_int_equal(all[k].st, (hv_cabi_status)k); /* numbers are stable */
    assert_string_equal(hv_cabi_status_name(all[k].st), all[k].name);
    assert_true(strlen(hv_cabi_status_text(all[k].st)) > 1);
  }
  assert_string_equal(hv_cabi_status_text(HV_CABI_OK), "ok");
  assert_string_equal(hv_cabi_status_text(HV_CABI_BAD_UTF8), "the program returned a string that is not valid UTF-8");
  assert_string_equal(hv_cabi_status_name((hv_cabi_status)999), "HV_CABI_UNKNOWN_STATUS");
  assert_string_equal(hv_cabi_status_text((hv_cabi_status)999), "unknown status");
}

static void test_flat_count(void **state) {
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_I32), 1);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_I64), 1);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_F32), 1);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_F64), 1);
  assert_int_equal(hv_cabi_flat_count(HV_TYPE_STRING), 2);
  assert_int_equal(hv_cabi_flat_count(HV_TYPE_BYTES), 2);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_V128), 0);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_FUNCREF), 0);
  assert_int_equal(hv_cabi_flat_count(HVW_TYPE_EXTERNREF), 0);
  assert_int_equal(hv_cabi_flat_count(0), 0);
}

/* One malformed (or well-formed) sample per class of UTF-8. */
typedef struct utf8_case {
  const char *what;
  const char *bytes;
  size_t len;
} utf8_case;

#define U8(what, s) {what, s, sizeof s - 1}
static const utf8_case utf8_bad[] = {
    U8("overlong 2-byte '/'", "\xC0\xAF"),
    U8("overlong 2-byte U+007F", "\xC1\xBF"),
    U8("overlong 3-byte '/'", "\xE0\x80\xAF"),
    U8("overlong 3-byte U+07FF", "\xE0\x9F\xBF"),
    U8("overlong 4-byte '/'", "\xF0\x80\x80\xAF"),
    U8("overlong 4-byte U+FFFF", "\xF0\x8F\xBF\xBF"),
    U8("surrogate U+D800", "\xED\xA0\x80"),
    U8("surrogate U+DFFF", "\xED\xBF\xBF"),
    U8("surrogate pair as CESU-8", "\xED\xA0\xBD\xED\xB8\x80"),
    U8("U+110000", "\xF4\x90\x80\x80"),
    U8("lead 0xF5", "\xF5\x80\x80\x80"),
    U8("lead 0xFE", "\xFE"),
    U8("lead 0xFF", "\xFF"),
    U8("lone continuation", "a\x80" "b"),
    U8("truncated 2-byte at the end", "ab\xC3"),
    U8("truncated 3-byte at the end", "\xE2\x82"),
    U8("truncated 4-byte at the end", "\xF0\x9F\x98"),
    U8("truncated by ASCII", "\xC3" "A"),
    U8("truncated 3-byte by ASCII", "\xE2\x82" "A"),
    U8("truncated by another lead", "\xE2\xC3\xA9"),
};
static const utf8_case utf8_good[] = {
    U8("empty", ""),
    U8("ASCII with NUL", "a\0b"),
    U8("U+0080", "\xC2\x80"),
    U8("U+07FF", "\xDF\xBF"),
    U8("U+0800", "\xE0\xA0\x80"),
    U8("U+D7FF", "\xED\x9F\xBF"),
    U8("U+E000", "\xEE\x80\x80"),
    U8("U+FFFF", "\xEF\xBF\xBF"),
    U8("U+10000", "\xF0\x90\x80\x80"),
    U8("U+10FFFF", "\xF4\x8F\xBF\xBF"),
    U8("mixed", "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
};
#undef U8

static void test_utf8_valid(void **state) {
  for (size_t k = 0; k < sizeof utf8_bad / sizeof utf8_bad[0]; k++)
    if (hv_cabi_utf8_valid((const uint8_t *)utf8_bad[k].bytes, utf8_bad[k].len))
      fail_msg("%s accepted", utf8_bad[k].what);
  for (size_t k = 0; k < sizeof utf8_good / sizeof utf8_good[0]; k++)
    if (!hv_cabi_utf8_valid((const uint8_t *)utf8_good[k].bytes, utf8_good[k].len))
      fail_msg("%s refused", utf8_good[k].what);
  assert_true(hv_cabi_utf8_valid(NULL, 0));
}

/* ---- hv_cabi_check ---------------------------------------------------------------------------- */

static hv_cabi_status check(const hvw_valtype *params, uint32_t np, const hvw_valtype *results, uint32_t nr,
                            const hv_type *args, size_t na, hv_type result_type) {
  hvw_functype_view ft = {.param_count = np, .params = params, .result_count = nr, .results = results};
  memset(last_detail, 'x', sizeof last_detail);
  hv_cabi_status st = hv_cabi_check(&ft, args, na, result_type, last_detail, sizeof last_detail);
  assert_non_null(memchr(last_detail, '\0', sizeof last_detail));
  if (st == HV_CABI_OK)
    assert_string_equal(last_detail, "");
  else
    assert_true(last_detail[0] != '\0');
  return st;
}

static void test_check_accepts_matching_shapes(void **state) {
  static const hvw_valtype p[] = {HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_I64,
                                   HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_F64, HVW_TYPE_F32};
  static const hvw_valtype r1[] = {HVW_TYPE_I32};
  static const hvw_valtype r2[] = {HVW_TYPE_F32, HVW_TYPE_I64};
  static const hv_type a[] = {HVW_TYPE_I32, HV_TYPE_STRING, HVW_TYPE_I64, HV_TYPE_BYTES, HVW_TYPE_F64,
                              HVW_TYPE_F32};
  expect_status(check(p, 8, r1, 1, a, 6, HV_TYPE_STRING), HV_CABI_OK);
  expect_status(check(p, 8, r1, 1, a, 6, HV_TYPE_BYTES), HV_CABI_OK);
  expect_status(check(p, 8, r2, 2, a, 6, 0), HV_CABI_OK); /* result_type 0: any core results */
  expect_status(check(p, 8, NULL, 0, a, 6, 0), HV_CABI_OK);
  expect_status(check(NULL, 0, NULL, 0, NULL, 0, 0), HV_CABI_OK);
  /* two i32 parameters are a string, a bytes, or two i32s: the caller's declaration decides */
  static const hv_type two_i32[] = {HVW_TYPE_I32, HVW_TYPE_I32};
  expect_status(check(p, 2, r1, 1, a + 1, 1, HV_TYPE_STRING), HV_CABI_OK);
  expect_status(check(p, 2, r1, 1, two_i32, 2, 0), HV_CABI_OK);
  /* no detail buffer */
  hvw_functype_view ft = {.param_count = 2, .params = p, .result_count = 1, .results = r1};
  assert_int_equal(hv_cabi_check(&ft, two_i32, 2, HV_TYPE_STRING, NULL, 0), HV_CABI_OK);
  assert_int_equal(hv_cabi_check(&ft, two_i32, 1, 0, NULL, 0), HV_CABI_SIGNATURE_MISMATCH);
}

static void test_check_mismatches(void **state) {
  static const hvw_valtype i32x2[] = {HVW_TYPE_I32, HVW_TYPE_I32};
  static const hvw_valtype i32_i64[] = {HVW_TYPE_I32, HVW_TYPE_I64};
  static const hvw_valtype r_i32[] = {HVW_TYPE_I32};
  static const hvw_valtype r_f32[] = {HVW_TYPE_F32};
  static const hvw_valtype r_i64[] = {HVW_TYPE_I64};
  static const hv_type s[] = {HV_TYPE_STRING, HV_TYPE_STRING};
  static const hv_type n[] = {HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_I32};
  static const hv_type f[] = {HVW_TYPE_F32, HVW_TYPE_I32};
  static const hv_type refs[] = {HVW_TYPE_FUNCREF};

  /* wrong count: too few, too many, a string that runs past the end */
  expect_status(check(i32x2, 2, NULL, 0, n, 1, 0), HV_CABI_SIGNATURE_MISMATCH);
  assert_non_null(strstr(last_detail, "the export takes 2 core parameters; the arguments make 1"));
  expect_status(check(i32x2, 2, NULL, 0, n, 3, 0), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(check(i32x2, 2, NULL, 0, s, 2, 0), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(check(i32x2, 1, NULL, 0, s, 1, 0), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(check(NULL, 0, NULL, 0, n, 1, 0), HV_CABI_SIGNATURE_MISMATCH);
  /* numeric type mismatch */
  expect_status(check(i32x2, 2, NULL, 0, f, 2, 0), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "argument 1 is f32, but core parameter 1 is i32");
  expect_status(check(i32_i64, 2, NULL, 0, n, 2, 0), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "argument 2 is i32, but core parameter 2 is i64");
  /* a string needs i32, i32 */
  expect_status(check(i32_i64, 2, NULL, 0, s, 1, 0), HV_CABI_SIGNATURE_MISMATCH);
  expect_detail_prefix("argument 1 (string) needs core parameters 1 and 2 to be i32, i32");
  /* not a protocol type */
  expect_status(check(i32x2, 1, NULL, 0, refs, 1, 0), HV_CABI_SIGNATURE_MISMATCH);
  /* a string or bytes result needs exactly one i32 result */
  expect_status(check(i32x2, 2, r_f32, 1, s, 1, HV_TYPE_STRING), HV_CABI_SIGNATURE_MISMATCH);
  assert_non_null(strstr(last_detail, "it returns 1 result, f32"));
  expect_status(check(i32x2, 2, r_i64, 1, s, 1, HV_TYPE_BYTES), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(check(i32x2, 2, i32x2, 2, s, 1, HV_TYPE_STRING), HV_CABI_SIGNATURE_MISMATCH);
  assert_non_null(strstr(last_detail, "it returns 2 results"));
  expect_status(check(i32x2, 2, NULL, 0, s, 1, HV_TYPE_STRING), HV_CABI_SIGNATURE_MISMATCH);
  /* a result type that is neither 0 nor string nor bytes */
  expect_status(check(i32x2, 2, r_i32, 1, s, 1, HVW_TYPE_I32), HV_CABI_SIGNATURE_MISMATCH);
  /* arguments counted but not given */
  expect_status(check(i32x2, 2, NULL, 0, NULL, 2, 0), HV_CABI_SIGNATURE_MISMATCH);
}

/* ---- arguments and results --------------------------------------------------------------------- */

static void test_string_argument_and_result(void **state) {
  open_guest("guest");
  const char *text = "h\xC3\xA9llo, w\xC3\xB6rld \xF0\x9F\x98\x80";
  hv_cabi_result r;
  hv_cabi_status st = call("echo", ARGS(str(text)), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, text, strlen(text));
  /* cabi_realloc(0, 0, 1, len), once */
  assert_int_equal(global_i32("realloc_calls"), 1);
  assert_int_equal(global_i32("ra_old_ptr"), 0);
  assert_int_equal(global_i32("ra_old_size"), 0);
  assert_int_equal(global_i32("ra_align"), 1);
  assert_int_equal(global_i32("ra_size"), (int32_t)strlen(text));
  assert_int_equal(global_i32("export_calls"), 1);
  /* the bump allocator's first block: the guest got its own pointer */
  assert_memory_equal(mem() + 1024, text, strlen(text));
  hv_cabi_result_free(&r);
  assert_null(r.values);
  assert_null(r.data);
  assert_int_equal(r.count, 0);
}

static void test_bytes_argument_and_result(void **state) {
  open_guest("guest");
  static const uint8_t bytes[] = {0x00, 0xFF, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0x00, 0x7F, 0x01};
  hv_cabi_result r;
  hv_cabi_status st = call("echo", ARGS(blob(HV_TYPE_BYTES, bytes, sizeof bytes)), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, bytes, sizeof bytes);
  hv_cabi_result_free(&r);
  /* bytes that are not UTF-8 may not be passed as a string */
  st = call("echo", ARGS(blob(HV_TYPE_STRING, bytes, sizeof bytes)), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_status(st, HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "argument 1 is a string but not valid UTF-8");
  assert_int_equal(global_i32("realloc_calls"), 1); /* nothing ran for the refused call */
}

static void test_zero_length_arguments(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  /* "" and empty bytes with no data pointer at all */
  hv_cabi_status st = call("echo", ARGS(str("")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "", 0);
  assert_int_equal(global_i32("realloc_calls"), 1); /* cabi_realloc is called for len 0 too */
  assert_int_equal(global_i32("ra_size"), 0);
  assert_int_equal(global_i32("ra_align"), 1);
  hv_cabi_result_free(&r);
  st = call("echo", ARGS(blob(HV_TYPE_BYTES, NULL, 0)), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, "", 0);
  assert_int_equal(global_i32("realloc_calls"), 2);
  assert_int_equal(global_i32("ra_size"), 0);
  hv_cabi_result_free(&r);
  /* a zero-length result with max_result_bytes 0 */
  st = call("echo", ARGS(str("")), HV_TYPE_STRING, 0, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "", 0);
  hv_cabi_result_free(&r);
  /* a zero-length argument at the very end of the memory is in bounds, one past it is not */
  set_realloc(1, PAGE);
  st = call("echo", ARGS(str("")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "", 0);
  hv_cabi_result_free(&r);
  set_realloc(1, PAGE + 1);
  expect_status(call("echo", ARGS(str("")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
}

static void test_embedded_nul(void **state) {
  open_guest("guest");
  static const char text[] = "a\0b\0\0c";
  hv_cabi_result r;
  hv_cabi_status st = call("echo", ARGS(blob(HV_TYPE_STRING, text, sizeof text)), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, text, sizeof text); /* the final NUL is a byte like the others */
  assert_int_equal(global_i32("ra_size"), (int32_t)sizeof text);
  hv_cabi_result_free(&r);
}

static void test_several_mib(void **state) {
  open_guest("guest");
  size_t len = (size_t)5 << 20 | 12345;
  uint8_t *big = malloc(len);
  assert_non_null(big);
  uint32_t x = 2463534242u;
  for (size_t k = 0; k < len; k++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    big[k] = (uint8_t)x;
  }
  hv_cabi_result r;
  hv_cabi_status st = call("echo", ARGS(blob(HV_TYPE_BYTES, big, len)), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, big, len);
  assert_true(mem_size() >= 1024 + len); /* cabi_realloc grew the memory from one page */
  assert_int_equal(global_i32("ra_size"), (int32_t)len);
  hv_cabi_result_free(&r);
  /* the same as a string of ASCII, with a limit just large enough */
  for (size_t k = 0; k < len; k++) big[k] = (uint8_t)('a' + k % 26);
  st = call("echo", ARGS(blob(HV_TYPE_STRING, big, len)), HV_TYPE_STRING, len, &r);
  expect_blob(st, &r, HV_TYPE_STRING, big, len);
  hv_cabi_result_free(&r);
  free(big);
}

static void test_mixed_arguments(void **state) {
  open_guest("guest");
  static const uint8_t bytes[] = {9, 8, 7, 0, 6};
  double c = -1.0 / 3.0;
  float d = 6.5f;
  uint64_t c_bits, d_bits = 0;
  memcpy(&c_bits, &c, 8);
  uint32_t d32;
  memcpy(&d32, &d, 4);
  d_bits = d32;
  hv_cabi_result r;
  hv_cabi_status st =
      call("record",
           ARGS(num(I32(-5)), str("str\xC3\xA9"),
                num((hvw_value){.type = HVW_TYPE_I64, .of.i64 = INT64_MIN + 3}),
                blob(HV_TYPE_BYTES, bytes, sizeof bytes),
                num((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = c_bits}),
                num((hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = d32})),
           0, MAX_DEFAULT, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 1);
  assert_null(r.data);
  assert_int_equal(r.values[0].type, HVW_TYPE_I32);
  assert_int_equal(r.values[0].num.type, HVW_TYPE_I32);
  assert_int_equal(r.values[0].num.of.i32, -4);
  hv_cabi_result_free(&r);

  assert_int_equal(global_i32("realloc_calls"), 2);
  assert_int_equal(global_i32("r_a"), -5);
  assert_int_equal(global("r_b").of.i64, INT64_MIN + 3);
  assert_int_equal(global("r_c").of.f64_bits, c_bits);
  assert_int_equal(global("r_d").of.f32_bits, d_bits);
  uint32_t sp = (uint32_t)global_i32("r_sp"), bp = (uint32_t)global_i32("r_bp");
  assert_int_equal(global_i32("r_sl"), 5);
  assert_int_equal(global_i32("r_bl"), (int32_t)sizeof bytes);
  assert_int_equal(sp, 1024);
  assert_int_equal(bp, 1029); /* the bump allocator, in argument order */
  assert_memory_equal(mem() + sp, "str\xC3\xA9", 5);
  assert_memory_equal(mem() + bp, bytes, sizeof bytes);
}

static void test_numeric_calls(void **state) {
  /* no memory and no cabi_realloc needed when nothing is a string or bytes */
  open_guest("no_memory");
  hv_cabi_result r;
  hv_cabi_status st = call("add", ARGS(num(I32(40)), num(I32(2))), 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 1);
  assert_int_equal(r.values[0].num.of.i32, 42);
  hv_cabi_result_free(&r);
  teardown(NULL);

  open_guest("guest");
  st = call("multi", NOARGS, 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 4);
  assert_int_equal(r.values[0].type, HVW_TYPE_I32);
  assert_int_equal(r.values[0].num.of.i32, -7);
  assert_int_equal(r.values[1].type, HVW_TYPE_I64);
  assert_int_equal(r.values[1].num.of.i64, 0x123456789);
  assert_int_equal(r.values[2].type, HVW_TYPE_F32);
  assert_int_equal(r.values[2].num.of.f32_bits, 0x3FC00000);
  assert_int_equal(r.values[3].type, HVW_TYPE_F64);
  assert_int_equal(r.values[3].num.of.f64_bits, 0xC002000000000000ull);
  assert_null(r.data);
  hv_cabi_result_free(&r);
  st = call("none", NOARGS, 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 0);
  assert_null(r.values);
  /* result_type 0 on an export with a retptr: the core result, and no cabi_post_echo */
  st = call("echo", ARGS(str("abc")), 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 1);
  assert_int_equal(r.values[0].num.of.i32, 8);
  assert_int_equal(global_i32("post_calls"), 0);
  hv_cabi_result_free(&r);
}

/* ---- result limits and lying guests ------------------------------------------------------------ */

static void test_result_size_limit(void **state) {
  open_guest("guest");
  uint8_t data[100];
  for (size_t k = 0; k < sizeof data; k++) data[k] = (uint8_t)('A' + k % 26);
  put_result(256, 512, sizeof data, data);
  hv_cabi_result r;
  /* exactly the limit */
  hv_cabi_status st = call("ret_at", ARGS(num(I32(256))), HV_TYPE_STRING, sizeof data, &r);
  expect_blob(st, &r, HV_TYPE_STRING, data, sizeof data);
  hv_cabi_result_free(&r);
  /* one byte over */
  expect_status(call("ret_at", ARGS(num(I32(256))), HV_TYPE_STRING, sizeof data - 1, &r),
                HV_CABI_RESULT_TOO_LARGE);
  assert_string_equal(last_detail, "the string result is 100 bytes; the limit is 99");
  expect_status(call("ret_at", ARGS(num(I32(256))), HV_TYPE_BYTES, sizeof data - 1, &r),
                HV_CABI_RESULT_TOO_LARGE);
  /* the size is checked before the range: a huge len is too large, not a bad pointer */
  put_result(256, 0xFFFFFF00u, 0xFFFFFFFFu, NULL);
  expect_status(call("ret_at", ARGS(num(I32(256))), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_RESULT_TOO_LARGE);
  /* and no cabi_post after a failed lift: echo with a result one byte over */
  expect_status(call("echo", ARGS(blob(HV_TYPE_BYTES, data, 10)), HV_TYPE_BYTES, 9, &r), HV_CABI_RESULT_TOO_LARGE);
  assert_int_equal(global_i32("export_calls"), 5);
  assert_int_equal(global_i32("post_calls"), 0);
  /* a limit of UINT64_MAX is no limit */
  put_result(256, 512, sizeof data, NULL);
  st = call("ret_at", ARGS(num(I32(256))), HV_TYPE_BYTES, UINT64_MAX, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, data, sizeof data);
  hv_cabi_result_free(&r);
}

static void test_realloc_out_of_range(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  /* entirely past the end */
  set_realloc(1, PAGE);
  expect_status(call("echo", ARGS(str("x")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  assert_string_equal(last_detail,
                      "cabi_realloc for argument 1 returned 65536 for 1 bytes; the memory has 65536 bytes");
  /* ptr + len wrapping past 2^32: 0xFFFFFFFF + 2 is 1 in 32 bits */
  set_realloc(1, 0xFFFFFFFFu);
  expect_status(call("echo", ARGS(str("xy")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  set_realloc(1, 0xFFFFFFF0u);
  expect_status(call("echo", ARGS(blob(HV_TYPE_BYTES, "0123456789abcdefXYZ", 19)), HV_TYPE_BYTES, MAX_DEFAULT, &r),
                HV_CABI_BAD_POINTER);
  /* near the end: one byte too far, then exactly to the end */
  set_realloc(1, PAGE - 3);
  expect_status(call("echo", ARGS(str("abcd")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  assert_int_equal(global_i32("export_calls"), 0); /* the export never ran */
  hv_cabi_status st = call("echo", ARGS(str("abc")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "abc", 3);
  assert_memory_equal(mem() + PAGE - 3, "abc", 3);
  hv_cabi_result_free(&r);
}

static void test_retptr_out_of_range_or_misaligned(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  /* the 8 bytes at retptr must be inside the memory */
  expect_status(call("ret_at", ARGS(num(I32((int32_t)(PAGE - 4)))), HV_TYPE_STRING, MAX_DEFAULT, &r),
                HV_CABI_BAD_POINTER);
  assert_string_equal(last_detail,
                      "the export returned retptr 65532; its 8 bytes are not inside the memory of 65536 bytes");
  expect_status(call("ret_at", ARGS(num(I32((int32_t)PAGE))), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  expect_status(call("ret_at", ARGS(num(I32((int32_t)0xFFFFFFFCu))), HV_TYPE_BYTES, MAX_DEFAULT, &r),
                HV_CABI_BAD_POINTER); /* retptr + 8 wraps in 32 bits */
  /* the last 8 bytes are fine */
  put_result(PAGE - 8, 100, 2, "hi");
  hv_cabi_status st = call("ret_at", ARGS(num(I32((int32_t)(PAGE - 8)))), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "hi", 2);
  hv_cabi_result_free(&r);
  /* 4-byte alignment, checked first */
  put_result(16, 100, 2, NULL);
  for (int32_t off = 1; off < 4; off++) {
    expect_status(call("ret_at", ARGS(num(I32(16 + off))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_MISALIGNED);
  }
  assert_string_equal(last_detail, "the export returned retptr 19, which is not 4-byte aligned");
  expect_status(call("ret_at", ARGS(num(I32((int32_t)0xFFFFFFFEu))), HV_TYPE_BYTES, MAX_DEFAULT, &r),
                HV_CABI_MISALIGNED);
}

static void test_result_range_out_of_memory(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  memcpy(mem() + PAGE - 6, "tail!!", 6);
  put_result(64, PAGE - 6, 7, NULL); /* one byte past the end */
  expect_status(call("ret_at", ARGS(num(I32(64))), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  assert_string_equal(last_detail, "the bytes result at retptr 64 is 7 bytes at 65530; the memory has 65536 bytes");
  put_result(64, PAGE - 6, 6, NULL); /* exactly to the end */
  hv_cabi_status st = call("ret_at", ARGS(num(I32(64))), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, "tail!!", 6);
  hv_cabi_result_free(&r);
  put_result(64, 0xFFFFFFFFu, 2, NULL); /* wraps to 1 in 32 bits */
  expect_status(call("ret_at", ARGS(num(I32(64))), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  put_result(64, 0xFFFFFFF8u, 16, NULL);
  expect_status(call("ret_at", ARGS(num(I32(64))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  put_result(64, PAGE, 1, NULL);
  expect_status(call("ret_at", ARGS(num(I32(64))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_POINTER);
  put_result(64, PAGE, 0, NULL); /* empty at the very end: fine */
  st = call("ret_at", ARGS(num(I32(64))), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "", 0);
  hv_cabi_result_free(&r);
}

static void test_result_overlapping_retptr(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  /* the result is the (ptr, len) pair itself */
  put_result(256, 256, 8, NULL);
  static const uint8_t pair[] = {0x00, 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00};
  hv_cabi_status st = call("ret_at", ARGS(num(I32(256))), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, pair, sizeof pair);
  hv_cabi_result_free(&r);
  /* a region around the retptr */
  memset(mem() + 248, 'z', 8);
  memset(mem() + 264, 'q', 8);
  put_result(256, 248, 24, NULL);
  st = call("ret_at", ARGS(num(I32(256))), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  static const uint8_t around[] = {'z', 'z', 'z', 'z', 'z', 'z', 'z', 'z', 0xF8, 0x00, 0x00, 0x00,
                                   0x18, 0x00, 0x00, 0x00, 'q', 'q', 'q', 'q', 'q', 'q', 'q', 'q'};
  expect_blob(st, &r, HV_TYPE_BYTES, around, sizeof around);
  hv_cabi_result_free(&r);
}

static void test_same_pointer_for_two_arguments(void **state) {
  open_guest("guest");
  set_realloc(1, 2048);
  hv_cabi_result r;
  hv_cabi_status st = call("pair", ARGS(str("abc"), blob(HV_TYPE_BYTES, "XY", 2)), 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  assert_int_equal(r.count, 0);
  /* the guest is called with the pointers it returned; the second copy is over the first */
  assert_int_equal(global_i32("realloc_calls"), 2);
  assert_int_equal(global_i32("r_sp"), 2048);
  assert_int_equal(global_i32("r_sl"), 3);
  assert_int_equal(global_i32("r_bp"), 2048);
  assert_int_equal(global_i32("r_bl"), 2);
  assert_memory_equal(mem() + 2048, "XYc", 3);
}

/* ---- missing or wrong exports ------------------------------------------------------------------ */

static void test_realloc_missing(void **state) {
  open_guest("no_realloc");
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("a")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_NO_REALLOC);
  assert_string_equal(last_detail, "a string or bytes argument needs the export cabi_realloc; there is none");
  expect_status(call("echo", ARGS(str("")), 0, 0, &r), HV_CABI_NO_REALLOC); /* len 0 needs it too */
  /* a result needs only the memory */
  hv_cabi_status st = call("ok", NOARGS, HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "ok", 2);
  hv_cabi_result_free(&r);
}

static void test_realloc_wrong_type(void **state) {
  hv_cabi_result r;
  const char *modules[] = {"realloc_type", "realloc_i64"};
  for (size_t k = 0; k < 2; k++) {
    open_guest(modules[k]);
    expect_status(call("echo", ARGS(blob(HV_TYPE_BYTES, "a", 1)), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_NO_REALLOC);
    assert_string_equal(last_detail, "the export cabi_realloc must have type (i32, i32, i32, i32) -> i32");
    teardown(NULL);
  }
}

static void test_realloc_traps(void **state) {
  open_guest("guest");
  set_realloc(2, 0);
  hv_cabi_result r;
  static const uint8_t b[] = {1};
  expect_status(call("record",
                     ARGS(num(I32(1)), str("s"), num((hvw_value){.type = HVW_TYPE_I64}), blob(HV_TYPE_BYTES, b, 1),
                          num((hvw_value){.type = HVW_TYPE_F64}), num((hvw_value){.type = HVW_TYPE_F32})),
                     0, 0, &r),
                HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_TRAP);
  assert_int_equal(last_err.trap, HVW_TRAP_UNREACHABLE);
  expect_detail_prefix("cabi_realloc for argument 2 trapped: unreachable");
  assert_int_equal(global_i32("realloc_calls"), 1);
  assert_int_equal(global_i32("export_calls"), 0);
  /* the store is still usable */
  set_realloc(0, 0);
  hv_cabi_status st = call("echo", ARGS(str("again")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "again", 5);
  hv_cabi_result_free(&r);
}

static void test_memory_missing(void **state) {
  open_guest("no_memory");
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("a")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_NO_REALLOC);
  assert_string_equal(last_detail, "a string or bytes argument needs the export memory; there is none");
  expect_status(call("echo", ARGS(str("a")), 0, 0, &r), HV_CABI_NO_REALLOC);
  expect_status(call("ret", NOARGS, HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_NO_REALLOC);
  assert_string_equal(last_detail, "a string or bytes result needs the export memory; there is none");
}

static void test_export_missing(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  expect_status(call("nope", NOARGS, 0, 0, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_NOT_FOUND);
  assert_string_equal(last_err.message, "no exported function 'nope'");
  assert_string_equal(last_detail, "no exported function 'nope'");
  expect_status(call("memory", NOARGS, 0, 0, &r), HV_CABI_ENGINE); /* not a function */
  assert_int_equal(last_err.status, HVW_NOT_FOUND);
  expect_status(call("realloc_calls", NOARGS, 0, 0, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_NOT_FOUND);
  /* the name is length-delimited: "echo" out of "echoXYZ" */
  hv_cabi_result r2;
  hvw_error err;
  char detail[128];
  assert_int_equal(hv_cabi_call(g.store, g.inst, "echoXYZ", 4, ARGS(str("abc")), HV_TYPE_STRING, MAX_DEFAULT, &r2,
                                &err, detail, sizeof detail),
                   HV_CABI_OK);
  assert_int_equal(global_i32("post_calls"), 1); /* cabi_post_echo, not cabi_post_echoXYZ */
  hv_cabi_result_free(&r2);
  /* err and detail may be left out */
  assert_int_equal(hv_cabi_call(g.store, g.inst, "nope", 4, NULL, 0, 0, 0, &r2, NULL, NULL, 0), HV_CABI_ENGINE);
}

static void test_call_signature_mismatch(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  /* a number where the export takes a string */
  expect_status(call("echo", ARGS(num(I32(1))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  /* declared i32 but holding an i64 */
  hv_value lie = {.type = HVW_TYPE_I32, .num = {.type = HVW_TYPE_I64, .of.i64 = 1}};
  expect_status(call("ret_at", ARGS(lie), 0, 0, &r), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "argument 1 is declared i32 but holds a value of type i64");
  /* string results on exports that do not return one i32 */
  expect_status(call("two", NOARGS, HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(call("f32ret", NOARGS, HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  expect_status(call("none", NOARGS, HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  /* more than a 32-bit memory can hold: refused before data is touched (it is one byte here) */
  hv_value huge = hv_value_blob(HV_TYPE_BYTES, (const uint8_t *)"x", (size_t)UINT32_MAX + 1);
  expect_status(call("echo", ARGS(huge), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "argument 1 (bytes) is 4294967296 bytes; a 32-bit memory takes at most 4294967295");
  /* data NULL with a length */
  expect_status(call("echo", ARGS(hv_value_blob(HV_TYPE_BYTES, NULL, 3)), HV_TYPE_BYTES, MAX_DEFAULT, &r),
                HV_CABI_SIGNATURE_MISMATCH);
  /* args NULL with a count */
  expect_status(call("echo", NULL, 1, HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  /* nothing ran for any of them */
  assert_int_equal(global_i32("realloc_calls"), 0);
  assert_int_equal(global_i32("export_calls"), 0);
}

static void test_post_wrong_type(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  expect_status(call("bad_post", ARGS(str("a")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "the export cabi_post_bad_post must be a function of type (i32) -> ()");
  expect_status(call("glob", ARGS(str("a")), HV_TYPE_BYTES, MAX_DEFAULT, &r), HV_CABI_SIGNATURE_MISMATCH);
  assert_string_equal(last_detail, "the export cabi_post_glob must be a function of type (i32) -> ()");
  assert_int_equal(global_i32("realloc_calls"), 0); /* refused before anything ran */
  /* result_type 0 has no cabi_post: the same export is fine */
  hv_cabi_status st = call("bad_post", ARGS(str("a")), 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  hv_cabi_result_free(&r);
}

/* ---- calls into the guest: memory growth, gas, interrupts, cabi_post ------------------------- */

static void test_memory_grow_inside_realloc(void **state) {
  open_guest("guest");
  set_realloc(4, 0); /* each call grows one page and returns its start */
  hv_cabi_result r;
  assert_int_equal(mem_size(), PAGE);
  hv_cabi_status st = call("pair", ARGS(str("grow"), blob(HV_TYPE_BYTES, "more", 4)), 0, 0, &r);
  expect_status(st, HV_CABI_OK);
  hv_cabi_result_free(&r);
  assert_int_equal(mem_size(), 3 * PAGE);
  assert_int_equal(global_i32("r_sp"), (int32_t)PAGE);
  assert_int_equal(global_i32("r_bp"), (int32_t)(2 * PAGE));
  assert_memory_equal(mem() + PAGE, "grow", 4);
  assert_memory_equal(mem() + 2 * PAGE, "more", 4);
  /* and an export that grows the memory and returns a retptr in the new page */
  st = call("grow_ret", NOARGS, HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "grown", 5);
  hv_cabi_result_free(&r);
  assert_int_equal(mem_size(), 4 * PAGE);
}

static void test_gas_exhausted_inside_realloc(void **state) {
  open_guest_gas("guest", 200000);
  set_realloc(3, 0);
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("spin")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_GAS_EXHAUSTED);
  expect_detail_prefix("cabi_realloc for argument 1 ran out of gas: ");
  assert_int_equal(global_i32("export_calls"), 0);
}

static void test_gas_exhausted_inside_post(void **state) {
  open_guest_gas("guest", 200000);
  set_post(2);
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("spin")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_GAS_EXHAUSTED);
  expect_detail_prefix("cabi_post_echo ran out of gas: ");
  assert_int_equal(global_i32("export_calls"), 1); /* the export ran; its result is discarded */
}

static void test_interrupt_stops_realloc(void **state) {
  open_guest_gas("guest", 100000000); /* should the interrupt be missed, gas ends it, quickly */
  set_realloc(3, 0);
  hvw_store_interrupt(g.store);
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("spin")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_TIMEOUT);
  expect_detail_prefix("cabi_realloc for argument 1 was interrupted: ");
  assert_int_equal(global_i32("export_calls"), 0);
  /* the store is usable once the interrupt is cleared */
  hvw_store_clear_interrupt(g.store);
  set_realloc(0, 0);
  hv_cabi_status st = call("echo", ARGS(str("ok")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "ok", 2);
  hv_cabi_result_free(&r);
}

static void test_post_called_once_with_retptr(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  hv_cabi_status st = call("echo", ARGS(str("one")), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_STRING, "one", 3);
  hv_cabi_result_free(&r);
  assert_int_equal(global_i32("post_calls"), 1);
  assert_int_equal(global_i32("post_arg"), 8);
  st = call("echo", ARGS(blob(HV_TYPE_BYTES, "two", 3)), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, "two", 3);
  hv_cabi_result_free(&r);
  assert_int_equal(global_i32("post_calls"), 2);
  /* an export without cabi_post_<name> gets none, and cabi_post_echo is not called for it */
  put_result(16, 100, 0, NULL);
  st = call("ret_at", ARGS(num(I32(16))), HV_TYPE_BYTES, MAX_DEFAULT, &r);
  expect_blob(st, &r, HV_TYPE_BYTES, "", 0);
  hv_cabi_result_free(&r);
  assert_int_equal(global_i32("post_calls"), 2);
  /* a string result that is not UTF-8 is not lifted, so cabi_post is not called either */
  st = call("echo", ARGS(blob(HV_TYPE_BYTES, "\xFF", 1)), HV_TYPE_STRING, MAX_DEFAULT, &r);
  expect_status(st, HV_CABI_BAD_UTF8);
  assert_int_equal(global_i32("post_calls"), 2);
}

static void test_post_trap_reported(void **state) {
  open_guest("guest");
  set_post(1);
  hv_cabi_result r;
  expect_status(call("echo", ARGS(str("x")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_TRAP);
  assert_int_equal(last_err.trap, HVW_TRAP_UNREACHABLE);
  expect_detail_prefix("cabi_post_echo trapped: unreachable");
  assert_int_equal(global_i32("export_calls"), 1);
}

static void test_export_trap_reported(void **state) {
  open_guest_gas("guest", 200000);
  hv_cabi_result r;
  /* cabi_realloc's loop spends the store's whole budget; then the export itself runs out */
  set_realloc(3, 0);
  expect_status(call("echo", ARGS(str("x")), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  expect_status(call("ret_at", ARGS(num(I32(8))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_ENGINE);
  assert_int_equal(last_err.status, HVW_GAS_EXHAUSTED);
  expect_detail_prefix("the export 'ret_at' ran out of gas: ");
}

static void test_bad_utf8_results(void **state) {
  open_guest("guest");
  hv_cabi_result r;
  for (size_t k = 0; k < sizeof utf8_bad / sizeof utf8_bad[0]; k++) {
    put_result(32, 4096, (uint32_t)utf8_bad[k].len, utf8_bad[k].bytes);
    hv_cabi_status st = call("ret_at", ARGS(num(I32(32))), HV_TYPE_STRING, MAX_DEFAULT, &r);
    if (st != HV_CABI_BAD_UTF8) fail_msg("%s: %s", utf8_bad[k].what, hv_cabi_status_name(st));
    /* the same bytes are fine as bytes */
    st = call("ret_at", ARGS(num(I32(32))), HV_TYPE_BYTES, MAX_DEFAULT, &r);
    expect_blob(st, &r, HV_TYPE_BYTES, utf8_bad[k].bytes, utf8_bad[k].len);
    hv_cabi_result_free(&r);
  }
  put_result(32, 4096, 2, "\xC0\xAF");
  expect_status(call("ret_at", ARGS(num(I32(32))), HV_TYPE_STRING, MAX_DEFAULT, &r), HV_CABI_BAD_UTF8);
  assert_string_equal(last_detail, "the string result (2 bytes at 4096) is not valid UTF-8");
  for (size_t k = 0; k < sizeof utf8_good / sizeof utf8_good[0]; k++) {
    put_result(32, 4096, (uint32_t)utf8_good[k].len, utf8_good[k].bytes);
    hv_cabi_status st = call("ret_at", ARGS(num(I32(32))), HV_TYPE_STRING, MAX_DEFAULT, &r);
    if (st != HV_CABI_OK) fail_msg("%s: %s", utf8_good[k].what, hv_cabi_status_name(st));
    expect_blob(st, &r, HV_TYPE_STRING, utf8_good[k].bytes, utf8_good[k].len);
    hv_cabi_result_free(&r);
  }
}

static void test_result_free_is_safe(void **state) {
  hv_cabi_result r = {0};
  hv_cabi_result_free(&r);
  hv_cabi_result_free(&r);
  hv_cabi_result_free(NULL);
  assert_null(r.values);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_names_and_texts),
      cmocka_unit_test(test_flat_count),
      cmocka_unit_test(test_utf8_valid),
      cmocka_unit_test(test_check_accepts_matching_shapes),
      cmocka_unit_test(test_check_mismatches),
      cmocka_unit_test_teardown(test_string_argument_and_result, teardown),
      cmocka_unit_test_teardown(test_bytes_argument_and_result, teardown),
      cmocka_unit_test_teardown(test_zero_length_arguments, teardown),
      cmocka_unit_test_teardown(test_embedded_nul, teardown),
      cmocka_unit_test_teardown(test_several_mib, teardown),
      cmocka_unit_test_teardown(test_mixed_arguments, teardown),
      cmocka_unit_test_teardown(test_numeric_calls, teardown),
      cmocka_unit_test_teardown(test_result_size_limit, teardown),
      cmocka_unit_test_teardown(test_realloc_out_of_range, teardown),
      cmocka_unit_test_teardown(test_retptr_out_of_range_or_misaligned, teardown),
      cmocka_unit_test_teardown(test_result_range_out_of_memory, teardown),
      cmocka_unit_test_teardown(test_result_overlapping_retptr, teardown),
      cmocka_unit_test_teardown(test_same_pointer_for_two_arguments, teardown),
      cmocka_unit_test_teardown(test_realloc_missing, teardown),
      cmocka_unit_test_teardown(test_realloc_wrong_type, teardown),
      cmocka_unit_test_teardown(test_realloc_traps, teardown),
      cmocka_unit_test_teardown(test_memory_missing, teardown),
      cmocka_unit_test_teardown(test_export_missing, teardown),
      cmocka_unit_test_teardown(test_call_signature_mismatch, teardown),
      cmocka_unit_test_teardown(test_post_wrong_type, teardown),
      cmocka_unit_test_teardown(test_memory_grow_inside_realloc, teardown),
      cmocka_unit_test_teardown(test_gas_exhausted_inside_realloc, teardown),
      cmocka_unit_test_teardown(test_gas_exhausted_inside_post, teardown),
      cmocka_unit_test_teardown(test_interrupt_stops_realloc, teardown),
      cmocka_unit_test_teardown(test_post_called_once_with_retptr, teardown),
      cmocka_unit_test_teardown(test_post_trap_reported, teardown),
      cmocka_unit_test_teardown(test_export_trap_reported, teardown),
      cmocka_unit_test_teardown(test_bad_utf8_results, teardown),
      cmocka_unit_test(test_result_free_is_safe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
