/*
 * test_execute.c: POST /v1/execute end to end, through the engine: the encrypted round trip with
 * every value type and all three commitments (checked here, by GET /v1/verify and by hvctl), then
 * each way an execution can fail (INVALID_WASM for bad bytes and for an import, FUNCTION_NOT_FOUND,
 * INVALID_ARGUMENTS, EXECUTION_TRAP, EXECUTION_TIMEOUT, GAS_EXHAUSTED, MEMORY_EXCEEDED) with its
 * execution_summary and its audit record, and the capacity limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static ht_server server;
static uint8_t *add_wasm;
static size_t add_len;

static int setup(void **state) {
  (void)state;
  ht_options o = {.max_exec_seconds = 10};
  ht_start(&server, &o);
  add_wasm = ht_wasm("add", &add_len);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ht_stop(&server);
  ht_cleanup(&server);
  free(add_wasm);
  return 0;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static json_t *arg(json_t *value, const char *type) {
  json_t *o = json_object();
  json_object_set_new(o, "value", value);
  if (type) json_object_set_new(o, "type", json_string(type));
  return o;
}

/* Runs `fn` of add.wat with `args` (stolen) and extra members (stolen, may be NULL). */
static ht_resp run(const char *fn, json_t *args, json_t *extra, hv_client_key **key) {
  json_t *req = ht_exec_request(&server, add_wasm, add_len, fn, NULL, key);
  json_object_set_new(req, "arguments", args ? args : json_array());
  if (extra) {
    json_object_update(req, extra);
    json_decref(extra);
  }
  ht_resp r = ht_execute(&server, req, HT_API_KEY);
  json_decref(req);
  return r;
}

static void check_summary(json_t *sum, const char *status) {
  assert_non_null(sum);
  assert_int_equal(json_object_size(sum), 8);
  assert_string_equal(str(sum, "status"), status);
  assert_true(json_is_number(json_object_get(sum, "execution_time_ms")));
  assert_true(json_is_number(json_object_get(sum, "compile_time_ms")));
  assert_true(json_is_integer(json_object_get(sum, "gas_used")));
  assert_true(json_is_integer(json_object_get(sum, "gas_limit")));
  assert_true(json_is_integer(json_object_get(sum, "memory_peak_bytes")));
  assert_true(json_is_integer(json_object_get(sum, "timeout_ms")));
  assert_true(json_is_boolean(json_object_get(sum, "module_cached"))); /* true once cached */
}

/* GET /v1/verify/{id}: the record's status. */
static void expect_record(const char *id, const char *status) {
  char path[128];
  snprintf(path, sizeof path, "/v1/verify/%s", id);
  ht_resp r = ht_get(&server, path, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "status"), status);
  check_summary(json_object_get(r.json, "execution_summary"), status);
  ht_resp_free(&r);
}

/* A failure reported by the executor: the code, the summary in the body, the record. */
static void expect_failure(ht_resp *r, const char *code) {
  ht_assert_error(r, strcmp(code, "INVALID_ARGUMENTS") == 0 ? 400 : 422, code);
  check_summary(json_object_get(r->json, "execution_summary"), code);
  expect_record(str(r->json, "request_id"), code);
}

/* ---- Success ------------------------------------------------------------------------------ */

static void test_round_trip(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  json_t *args = json_array();
  json_array_append_new(args, arg(json_integer(40), "i32"));
  json_array_append_new(args, arg(json_integer(2), NULL));
  json_t *meta = json_pack("{s:{s:s}}", "request_metadata", "job", "nightly");
  ht_resp r = run("add", args, meta, &key);
  hvw_value want[2] = {{.type = HVW_TYPE_I32, .of.i32 = 40}, {.type = HVW_TYPE_I32, .of.i32 = 2}};
  hv_result_document *doc = ht_open_result(&r, key, "add", add_wasm, add_len, want, 2);
  assert_int_equal(doc->result_count, 1);
  assert_int_equal(doc->results[0].type, HVW_TYPE_I32);
  assert_int_equal(doc->results[0].num.of.i32, 42);
  hv_commit_document_free(doc);

  const char *id = str(r.json, "request_id");
  assert_string_equal(r.request_id_header, id);
  char key_id[17];
  uint8_t pk[65];
  ht_current_key(&server, pk, key_id);
  assert_string_equal(str(r.json, "key_id"), key_id);
  json_t *sum = json_object_get(r.json, "execution_summary");
  check_summary(sum, "success");
  assert_int_equal(json_integer_value(json_object_get(sum, "gas_limit")), 10000000000LL);
  assert_int_equal(json_integer_value(json_object_get(sum, "timeout_ms")), 10000);
  assert_true(json_integer_value(json_object_get(sum, "gas_used")) > 0);

  /* Verify: each commitment, then a wrong one, then the listing. */
  const char *types[] = {"result", "program", "arguments"};
  for (int k = 0; k < 3; k++) {
    char field[32], path[256];
    snprintf(field, sizeof field, "%s_commitment", types[k]);
    snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=%s&hash_value=%s", id, types[k],
             str(r.json, field));
    ht_resp v = ht_get(&server, path, NULL);
    assert_int_equal(v.status, 200);
    assert_true(json_is_true(json_object_get(v.json, "verified")));
    assert_string_equal(str(v.json, "status"), "success");
    assert_string_equal(str(v.json, "commitment_type"), types[k]);
    ht_resp_free(&v);
    snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=%s&hash_value=%s", id,
             types[(k + 1) % 3], str(r.json, field));
    v = ht_get(&server, path, NULL);
    assert_int_equal(v.status, 200);
    assert_true(json_is_false(json_object_get(v.json, "verified")));
    ht_resp_free(&v);
  }
  char path[128];
  snprintf(path, sizeof path, "/verify/%s", id);
  ht_resp v = ht_get(&server, path, NULL);
  assert_int_equal(v.status, 200);
  json_t *c = json_object_get(v.json, "commitments");
  assert_string_equal(str(c, "result"), str(r.json, "result_commitment"));
  assert_string_equal(str(c, "program"), str(r.json, "program_commitment"));
  assert_string_equal(str(c, "arguments"), str(r.json, "arguments_commitment"));
  assert_true(json_equal(json_object_get(v.json, "execution_summary"), sum));
  ht_resp_free(&v);
  ht_resp_free(&r);
  hv_client_key_free(key);
}

static void test_value_forms(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  /* i64 beyond 2^53 as a decimal string, in and out. */
  json_t *args = json_array();
  json_array_append_new(args, arg(json_string("9007199254740993"), "i64"));
  json_array_append_new(args, arg(json_integer(-1), NULL));
  ht_resp r = run("add64", args, NULL, &key);
  hvw_value want[2] = {{.type = HVW_TYPE_I64, .of.i64 = 9007199254740993LL},
                        {.type = HVW_TYPE_I64, .of.i64 = -1}};
  hv_result_document *doc = ht_open_result(&r, key, "add64", add_wasm, add_len, want, 2);
  assert_int_equal(doc->results[0].num.of.i64, 9007199254740992LL);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  hv_client_key_free(key);

  /* f64: inf / inf is NaN; "inf" as a string. */
  args = json_array();
  json_array_append_new(args, arg(json_string("inf"), NULL));
  json_array_append_new(args, arg(json_string("-inf"), "f64"));
  r = run("divf", args, NULL, &key);
  uint64_t inf = 0x7ff0000000000000ull, ninf = 0xfff0000000000000ull;
  hvw_value fw[2] = {{.type = HVW_TYPE_F64, .of.f64_bits = inf},
                      {.type = HVW_TYPE_F64, .of.f64_bits = ninf}};
  doc = ht_open_result(&r, key, "divf", add_wasm, add_len, fw, 2);
  assert_int_equal(doc->results[0].type, HVW_TYPE_F64);
  assert_true((doc->results[0].num.of.f64_bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull &&
              (doc->results[0].num.of.f64_bits & 0x000fffffffffffffull) != 0);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  hv_client_key_free(key);

  /* f32 from JSON reals; multiple results. */
  args = json_array();
  json_array_append_new(args, arg(json_real(1.5), NULL));
  json_array_append_new(args, arg(json_integer(4), "f32"));
  r = run("mulf", args, NULL, &key);
  float a = 1.5f, b = 4.0f;
  hvw_value mw[2] = {{.type = HVW_TYPE_F32}, {.type = HVW_TYPE_F32}};
  memcpy(&mw[0].of.f32_bits, &a, 4);
  memcpy(&mw[1].of.f32_bits, &b, 4);
  doc = ht_open_result(&r, key, "mulf", add_wasm, add_len, mw, 2);
  float got;
  memcpy(&got, &doc->results[0].num.of.f32_bits, 4);
  assert_true(got == 6.0f);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  hv_client_key_free(key);

  args = json_array();
  json_array_append_new(args, arg(json_integer(7), NULL));
  r = run("pair", args, NULL, &key);
  hvw_value pw[1] = {{.type = HVW_TYPE_I32, .of.i32 = 7}};
  doc = ht_open_result(&r, key, "pair", add_wasm, add_len, pw, 1);
  assert_int_equal(doc->result_count, 2);
  assert_int_equal(doc->results[0].num.of.i32, 7);
  assert_int_equal(doc->results[1].num.of.i64, 8);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  hv_client_key_free(key);

  /* No key_id: the server finds the key itself; no arguments member at all. */
  json_t *req = ht_exec_request(&server, add_wasm, add_len, "answer", NULL, &key);
  json_object_del(req, "key_id");
  json_object_del(req, "arguments");
  r = ht_execute(&server, req, HT_API_KEY);
  doc = ht_open_result(&r, key, "answer", add_wasm, add_len, NULL, 0);
  assert_int_equal(doc->results[0].num.of.i32, 42);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
}

/* ---- Failures ----------------------------------------------------------------------------- */

static void test_invalid_wasm(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  const uint8_t junk[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff};
  json_t *req = ht_exec_request(&server, junk, sizeof junk, "main", NULL, &key);
  ht_resp r = ht_execute(&server, req, HT_API_KEY);
  expect_failure(&r, "INVALID_WASM");
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);

  size_t len;
  uint8_t *imp = ht_wasm("import", &len);
  req = ht_exec_request(&server, imp, len, "main", NULL, &key);
  r = ht_execute(&server, req, HT_API_KEY);
  expect_failure(&r, "INVALID_WASM");
  assert_non_null(strstr(str(r.json, "message"), "import"));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(imp);
}

static void test_function_not_found(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  const char *names[] = {"nope", "g", "takes_ref"};
  for (int k = 0; k < 2; k++) {
    ht_resp r = run(names[k], NULL, NULL, &key);
    expect_failure(&r, "FUNCTION_NOT_FOUND");
    ht_resp_free(&r);
    hv_client_key_free(key);
  }
  /* A funcref parameter cannot be passed. */
  json_t *args = json_array();
  json_array_append_new(args, arg(json_integer(0), NULL));
  ht_resp r = run(names[2], args, NULL, &key);
  expect_failure(&r, "INVALID_ARGUMENTS");
  ht_resp_free(&r);
  hv_client_key_free(key);
}

static void test_invalid_arguments(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  const char *cases[] = {
      "[{\"value\": 1}]",                                   /* too few */
      "[{\"value\": 1}, {\"value\": 2}, {\"value\": 3}]",   /* too many */
      "[{\"value\": 1.5}, {\"value\": 2}]",                 /* a fraction for i32 */
      "[{\"value\": 4294967296}, {\"value\": 2}]",          /* out of i32 range */
      "[{\"value\": \"abc\"}, {\"value\": 2}]",             /* not a number */
      "[{\"value\": 1, \"type\": \"i64\"}, {\"value\": 2}]", /* declared type differs */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    ht_resp r = run("add", json_loads(cases[k], 0, NULL), NULL, &key);
    expect_failure(&r, "INVALID_ARGUMENTS");
    ht_resp_free(&r);
    hv_client_key_free(key);
  }
}

static void test_trap(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  ht_resp r = run("div", json_loads("[{\"value\": 1}, {\"value\": 0}]", 0, NULL), NULL, &key);
  expect_failure(&r, "EXECUTION_TRAP");
  assert_non_null(strstr(str(r.json, "message"), "integer divide by zero"));
  ht_resp_free(&r);
  hv_client_key_free(key);

  r = run("boom", NULL, NULL, &key);
  expect_failure(&r, "EXECUTION_TRAP");
  assert_non_null(strstr(str(r.json, "message"), "unreachable"));
  ht_resp_free(&r);
  hv_client_key_free(key);

  r = run("deep", json_loads("[{\"value\": 0}]", 0, NULL), NULL, &key);
  expect_failure(&r, "EXECUTION_TRAP");
  assert_non_null(strstr(str(r.json, "message"), "call stack exhausted"));
  ht_resp_free(&r);
  hv_client_key_free(key);
}

static void test_timeout(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  ht_resp r = run("spin", NULL, json_pack("{s:i}", "timeout_seconds", 1), &key);
  expect_failure(&r, "EXECUTION_TIMEOUT");
  json_t *sum = json_object_get(r.json, "execution_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "timeout_ms")), 1000);
  /* The limit runs from when the request was accepted (its wait for a thread counts too), so the
   * run itself takes the limit less the moments before it started. */
  double ms = json_real_value(json_object_get(sum, "execution_time_ms"));
  assert_true(ms >= 900.0 && ms < 3000.0);
  ht_resp_free(&r);
  hv_client_key_free(key);
}

static void test_gas(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  ht_resp r = run("count", json_loads("[{\"value\": 1000000}]", 0, NULL),
                  json_pack("{s:i}", "gas_limit", 1000), &key);
  expect_failure(&r, "GAS_EXHAUSTED");
  json_t *sum = json_object_get(r.json, "execution_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "gas_limit")), 1000);
  ht_resp_free(&r);
  hv_client_key_free(key);

  /* A gas_limit above the configured one is capped by it. */
  r = run("count", json_loads("[{\"value\": 10}]", 0, NULL),
          json_pack("{s:I}", "gas_limit", (json_int_t)900000000000000LL), &key);
  assert_int_equal(r.status, 200);
  sum = json_object_get(r.json, "execution_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "gas_limit")), 10000000000LL);
  ht_resp_free(&r);
  hv_client_key_free(key);
}

static void test_memory(void **state) {
  (void)state;
  hv_client_key *key = NULL;
  /* 63 MiB more on top of the first page: over 64 MiB. */
  ht_resp r = run("grow", json_loads("[{\"value\": 1024}]", 0, NULL), NULL, &key);
  expect_failure(&r, "MEMORY_EXCEEDED");
  ht_resp_free(&r);
  hv_client_key_free(key);

  r = run("grow", json_loads("[{\"value\": 10}]", 0, NULL), NULL, &key);
  assert_int_equal(r.status, 200);
  json_t *sum = json_object_get(r.json, "execution_summary");
  assert_int_equal(json_integer_value(json_object_get(sum, "memory_peak_bytes")), 11 * 65536);
  ht_resp_free(&r);
  hv_client_key_free(key);

  size_t len;
  uint8_t *big = ht_wasm("bigmem", &len);
  json_t *req = ht_exec_request(&server, big, len, "main", NULL, &key);
  r = ht_execute(&server, req, HT_API_KEY);
  expect_failure(&r, "MEMORY_EXCEEDED");
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(big);
}

/* ---- hvctl -------------------------------------------------------------------------------- */

static char add_path[512];

static void test_hvctl(void **state) {
  (void)state;
  snprintf(add_path, sizeof add_path, "%s/add.wasm", HV_SERVER_WASM_DIR);
  char *out = NULL, *err = NULL;
  char *exec_argv[] = {HV_HVCTL_BIN, "exec", "--server", server.url, "--api-key", HT_API_KEY,
                       "--invoke", "add", add_path, "40", "-2", NULL};
  int rc = ht_run(exec_argv, NULL, &out, &err);
  if (rc != 0) fail_msg("hvctl exec: %d\n%s\n%s", rc, out, err);
  assert_true(strncmp(out, "38\nrequest_id: ", 15) == 0);
  assert_non_null(strstr(out, "commitments: verified"));
  char id[37];
  memcpy(id, out + 15, 36);
  id[36] = '\0';
  const char *rc_line = strstr(out, "result_commitment: ");
  assert_non_null(rc_line);
  char hash[65];
  memcpy(hash, rc_line + 19, 64);
  hash[64] = '\0';
  free(out);
  free(err);

  /* The API key from the environment; options after the command; verify. */
  char *verify_argv[] = {HV_HVCTL_BIN, "verify", id, "--server", server.url, "--type", "result",
                         "--hash", hash, NULL};
  rc = ht_run(verify_argv, NULL, &out, &err);
  if (rc != 0) fail_msg("hvctl verify: %d\n%s\n%s", rc, out, err);
  assert_non_null(strstr(out, "\"verified\": true"));
  free(out);
  free(err);
  hash[0] = hash[0] == '0' ? '1' : '0';
  rc = ht_run(verify_argv, NULL, &out, &err);
  assert_int_equal(rc, 1);
  free(out);
  free(err);

  char *fail_argv[] = {HV_HVCTL_BIN, "--server", server.url, "exec", "--invoke", "div", add_path,
                       "1", "0", NULL};
  rc = ht_run(fail_argv, "HYPERVISOR_API_KEY=" HT_API_KEY, &out, &err);
  assert_int_equal(rc, 1);
  /* The sealed detail (v1.1 by default): the code, then the server's message naming the trap. */
  assert_non_null(strstr(err, "EXECUTION_TRAP: "));
  assert_non_null(strstr(err, "integer divide by zero"));
  free(out);
  free(err);

  char *bad_key_argv[] = {HV_HVCTL_BIN, "--server", server.url, "--api-key", "wrong", "exec",
                          "--invoke", "answer", add_path, NULL};
  rc = ht_run(bad_key_argv, NULL, &out, &err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "UNAUTHORIZED: "));
  free(out);
  free(err);

  char *keys_argv[] = {HV_HVCTL_BIN, "--server", server.url, "keys", NULL};
  rc = ht_run(keys_argv, NULL, &out, &err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "\"kem_id\": 16"));
  free(out);
  free(err);
  char *health_argv[] = {HV_HVCTL_BIN, "--server", server.url, "health", NULL};
  rc = ht_run(health_argv, NULL, &out, &err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "\"status\": \"ok\""));
  free(out);
  free(err);
  char *metrics_argv[] = {HV_HVCTL_BIN, "--server", server.url, "--api-key", HT_API_KEY, "metrics",
                          NULL};
  rc = ht_run(metrics_argv, NULL, &out, &err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "hypervisor_executions_total{status=\"success\"}"));
  free(out);
  free(err);
}

/* ---- Capacity ----------------------------------------------------------------------------- */

typedef struct spin_call {
  ht_server *s;
  json_t *req;
  long status;
  char code[64];
} spin_call;

static void *spin_thread(void *arg) {
  spin_call *c = arg;
  ht_resp r = ht_execute(c->s, c->req, HT_API_KEY);
  c->status = r.status;
  snprintf(c->code, sizeof c->code, "%s",
           r.json && str(r.json, "error_code") ? str(r.json, "error_code") : "");
  ht_resp_free(&r);
  return NULL;
}

static bool two_busy(void *arg) {
  ht_server *s = arg;
  ht_resp r = ht_get(s, "/health", NULL);
  json_t *cap = json_object_get(r.json, "capacity");
  json_int_t n = json_integer_value(json_object_get(cap, "active_executions")) +
                 json_integer_value(json_object_get(cap, "queued_executions"));
  ht_resp_free(&r);
  return n == 2;
}

static void test_capacity(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_concurrent = 2, .max_exec_seconds = 5};
  ht_start(&s, &o);
  spin_call calls[2];
  pthread_t threads[2];
  hv_client_key *keys[3];
  for (int k = 0; k < 2; k++) {
    calls[k] = (spin_call){.s = &s};
    calls[k].req = ht_exec_request(&s, add_wasm, add_len, "spin", NULL, &keys[k]);
    assert_int_equal(pthread_create(&threads[k], NULL, spin_thread, &calls[k]), 0);
  }
  assert_true(ht_wait_for(two_busy, &s, 30));
  json_t *req = ht_exec_request(&s, add_wasm, add_len, "answer", NULL, &keys[2]);
  ht_resp r = ht_execute(&s, req, HT_API_KEY);
  ht_assert_error(&r, 503, "CAPACITY_EXCEEDED");
  assert_true(atoi(r.retry_after) >= 1);
  ht_resp_free(&r);
  for (int k = 0; k < 2; k++) {
    pthread_join(threads[k], NULL);
    assert_int_equal(calls[k].status, 422);
    assert_string_equal(calls[k].code, "EXECUTION_TIMEOUT");
    json_decref(calls[k].req);
    hv_client_key_free(keys[k]);
  }
  /* Slots free again. */
  r = ht_execute(&s, req, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(keys[2]);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- The audit store unavailable: no 200 without a durable record ------------------------- */

static bool healthy(void *arg) {
  ht_resp r = ht_get(arg, "/health", NULL);
  bool ok = r.status == 200;
  ht_resp_free(&r);
  return ok;
}

static void test_storage_unavailable(void **state) {
  (void)state;
  char db_path[400];
  snprintf(db_path, sizeof db_path, "%s/data/audit.db", server.dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
  /* Another writer holds the database past the store's busy timeout. */
  assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  hv_client_key *key = NULL;
  ht_resp r = run("answer", NULL, NULL, &key);
  /* An outage is a capacity answer the client can retry, not a fault. */
  ht_assert_error(&r, 503, "CAPACITY_EXCEEDED");
  assert_string_equal(r.retry_after, "5");
  assert_null(json_object_get(r.json, "encrypted_result"));
  assert_non_null(strstr(str(r.json, "message"), "audit"));
  ht_resp_free(&r);
  hv_client_key_free(key);
  r = ht_get(&server, "/health", NULL);
  assert_int_equal(r.status, 503);
  assert_string_equal(str(r.json, "status"), "unavailable");
  assert_string_equal(str(r.json, "storage"), "unavailable");
  ht_resp_free(&r);
  assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_true(ht_wait_for(healthy, &server, 30));
  r = run("answer", NULL, NULL, &key);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  hv_client_key_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_value_forms),
      cmocka_unit_test(test_invalid_wasm),
      cmocka_unit_test(test_function_not_found),
      cmocka_unit_test(test_invalid_arguments),
      cmocka_unit_test(test_trap),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_gas),
      cmocka_unit_test(test_memory),
      cmocka_unit_test(test_hvctl),
      cmocka_unit_test(test_capacity),
      cmocka_unit_test(test_storage_unavailable),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  return rc + ht_failures(); /* a failed stop in the group teardown counts too */
}
