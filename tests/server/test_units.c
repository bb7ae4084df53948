/*
 * test_units.c: the server's pure parts without a server: argument conversion by type, the token
 * bucket (with an injected monotonic time), the bounded buffer, UUIDs, and the executor's
 * admission control.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "srv_int.h"

static void test_arg_convert(void **state) {
  (void)state;
  char why[EXEC_WHY_MAX];
  wasm_value v;
  exec_arg a = {.kind = EXEC_ARG_INT, .i = 4294967295LL};
  assert_true(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
  assert_int_equal(v.of.i32, -1);
  a.i = 4294967296LL;
  assert_false(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
  assert_non_null(strstr(why, "out of range"));
  a.i = -2147483648LL;
  assert_true(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
  assert_int_equal(v.of.i32, INT32_MIN);

  a = (exec_arg){.kind = EXEC_ARG_REAL, .d = 3.0};
  assert_true(exec_arg_convert(&a, WASM_TYPE_I64, &v, why, sizeof why));
  assert_int_equal(v.of.i64, 3);
  a.d = 2.5;
  assert_false(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
  a.d = 1e39;
  assert_false(exec_arg_convert(&a, WASM_TYPE_F32, &v, why, sizeof why));
  a.d = 0.1;
  assert_true(exec_arg_convert(&a, WASM_TYPE_F64, &v, why, sizeof why));
  double d;
  memcpy(&d, &v.of.f64_bits, sizeof d);
  assert_true(d == 0.1);

  a = (exec_arg){.kind = EXEC_ARG_TEXT, .text = "18446744073709551615"};
  assert_true(exec_arg_convert(&a, WASM_TYPE_I64, &v, why, sizeof why));
  assert_int_equal(v.of.i64, -1);
  a.text = "nan";
  assert_true(exec_arg_convert(&a, WASM_TYPE_F32, &v, why, sizeof why));
  assert_int_equal(v.of.f32_bits, 0x7fc00000u);
  a.text = "-inf";
  assert_true(exec_arg_convert(&a, WASM_TYPE_F64, &v, why, sizeof why));
  assert_true(v.of.f64_bits == 0xfff0000000000000ull);
  a.text = "12abc";
  assert_false(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));

  a = (exec_arg){.kind = EXEC_ARG_INT, .i = 1, .declared = WASM_TYPE_I64};
  assert_false(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
  assert_non_null(strstr(why, "declared type i64"));
  a.declared = WASM_TYPE_I32;
  assert_true(exec_arg_convert(&a, WASM_TYPE_I32, &v, why, sizeof why));
}

static void test_token_bucket(void **state) {
  (void)state;
  srv_ratelimit *rl = srv_ratelimit_new(2, 2, 3); /* 2 per second, burst 3 */
  assert_non_null(rl);
  uint32_t retry = 0;
  uint64_t t = 1000000000ull;
  for (int k = 0; k < 3; k++) assert_true(srv_ratelimit_take(rl, 0, t, &retry));
  assert_false(srv_ratelimit_take(rl, 0, t, &retry));
  assert_int_equal(retry, 1);
  /* Key 1 has its own bucket. */
  assert_true(srv_ratelimit_take(rl, 1, t, &retry));
  /* Half a second later one token is back, and only one. */
  t += 500000000ull;
  assert_true(srv_ratelimit_take(rl, 0, t, &retry));
  assert_false(srv_ratelimit_take(rl, 0, t, &retry));
  /* A long pause refills to the burst, not beyond. */
  t += 3600ull * 1000000000ull;
  for (int k = 0; k < 3; k++) assert_true(srv_ratelimit_take(rl, 0, t, &retry));
  assert_false(srv_ratelimit_take(rl, 0, t, &retry));
  assert_int_equal(srv_ratelimit_refused(rl), 3);
  assert_false(srv_ratelimit_take(rl, 5, t, &retry)); /* no such key */
  srv_ratelimit_free(rl);
}

static void test_buffer(void **state) {
  (void)state;
  srv_buf b;
  srv_buf_init(&b, 16);
  assert_true(srv_buf_printf(&b, "%s", "0123456789"));
  assert_false(srv_buf_append(&b, "0123456789", 10)); /* would pass the cap */
  assert_null(srv_buf_take(&b, NULL));                /* a failed buffer yields nothing */
  srv_buf_init(&b, 64);
  assert_true(srv_buf_printf(&b, "%d-%s", 7, "x"));
  size_t len;
  char *s = srv_buf_take(&b, &len);
  assert_string_equal(s, "7-x");
  assert_int_equal(len, 3);
  free(s);
}

static void test_uuid(void **state) {
  (void)state;
  char a[SRV_UUID_SIZE], b[SRV_UUID_SIZE];
  assert_true(srv_uuid_v4(a));
  assert_true(srv_uuid_v4(b));
  assert_string_not_equal(a, b);
  assert_true(hv_audit_request_id_valid(a));
  assert_int_equal(a[14], '4');
  assert_non_null(strchr("89ab", a[19]));
}

static void test_admission(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(2, 1, why, sizeof why);
  assert_non_null(ex);
  assert_int_equal(ex->ops->reserve(ex), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex), EXEC_CAPACITY);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.capacity, 2);
  assert_int_equal(c.queued, 2);
  assert_int_equal(c.threads, 1);
  ex->ops->release(ex);
  assert_int_equal(ex->ops->reserve(ex), EXEC_OK);
  ex->ops->release(ex);
  ex->ops->release(ex);

  /* A job on a reserved slot: a module that is not WebAssembly is INVALID_WASM. */
  assert_int_equal(ex->ops->reserve(ex), EXEC_OK);
  static const uint8_t junk[] = {1, 2, 3};
  exec_job job = {.wasm = junk, .wasm_len = sizeof junk, .function_name = "main",
                  .limits = {.gas_limit = 1000, .max_memory_pages = 16, .timeout_ns = 1000000000u}};
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_INVALID_WASM);
  exec_outcome_free(out);

  ex->ops->shutdown(ex, 1000000000u);
  assert_int_equal(ex->ops->reserve(ex), EXEC_SHUTTING_DOWN);
  ex->ops->destroy(ex);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arg_convert), cmocka_unit_test(test_token_bucket),
      cmocka_unit_test(test_buffer),      cmocka_unit_test(test_uuid),
      cmocka_unit_test(test_admission),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
