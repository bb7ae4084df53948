/*
 * test_http.c: the HTTP surface of the service that needs no execution: routes and aliases, methods,
 * authentication, the rate limit, health, keys, metrics, the request body cap, every way a request
 * can be malformed, the encryption errors (tampered ciphertext, AAD mismatch, unknown key_id, bad
 * client key), verify's errors, and what the log says (and never says).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "harness.h"

static ht_server server; /* one server for the whole file */

static int setup(void **state) {
  (void)state;
  ht_options o = {.max_body = 64 * 1024};
  ht_start(&server, &o);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ht_stop(&server);
  ht_cleanup(&server);
  return 0;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static bool is_uuid_v4(const char *id) {
  if (!id || strlen(id) != 36) return false;
  for (int i = 0; i < 36; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !strchr("0123456789abcdef", id[i])) return false;
  }
  return id[14] == '4' && strchr("89ab", id[19]) != NULL;
}

/* POSTs `body` to /v1/execute with the test key and asserts INVALID_REQUEST naming `field`. */
static void expect_invalid(const char *body, const char *field) {
  ht_resp r = ht_post(&server, "/v1/execute", HT_API_KEY, body);
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  if (field && !strstr(str(r.json, "message"), field))
    fail_msg("message '%s' does not name '%s'", str(r.json, "message"), field);
  assert_true(is_uuid_v4(str(r.json, "request_id")));
  assert_string_equal(r.request_id_header, str(r.json, "request_id"));
  ht_resp_free(&r);
}

/* ---- Open endpoints ----------------------------------------------------------------------- */

static void test_health(void **state) {
  (void)state;
  const char *paths[] = {"/health", "/v1/health"};
  for (int k = 0; k < 2; k++) {
    ht_resp r = ht_get(&server, paths[k], NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "application/json"));
    assert_string_equal(str(r.json, "status"), "ok");
    assert_string_equal(str(r.json, "storage"), "ok");
    assert_non_null(str(r.json, "version"));
    assert_true(json_is_integer(json_object_get(r.json, "uptime_seconds")));
    json_t *cap = json_object_get(r.json, "capacity");
    assert_int_equal(json_integer_value(json_object_get(cap, "max_concurrent_executions")), 100);
    assert_int_equal(json_integer_value(json_object_get(cap, "active_executions")), 0);
    assert_int_equal(json_integer_value(json_object_get(cap, "queued_executions")), 0);
    ht_resp_free(&r);
  }
  ht_req head = {.method = "HEAD", .path = "/health"};
  ht_resp r = ht_http(&server, &head);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
}

static void test_keys(void **state) {
  (void)state;
  ht_resp r = ht_get(&server, "/v1/keys", NULL);
  assert_int_equal(r.status, 200);
  json_t *suite = json_object_get(r.json, "suite");
  assert_int_equal(json_integer_value(json_object_get(suite, "kem_id")), 16);
  assert_int_equal(json_integer_value(json_object_get(suite, "kdf_id")), 1);
  assert_int_equal(json_integer_value(json_object_get(suite, "aead_id")), 2);
  json_t *keys = json_object_get(r.json, "keys");
  assert_true(json_array_size(keys) >= 1);
  size_t currents = 0, k;
  json_t *e;
  json_array_foreach(keys, k, e) {
    const char *b64 = str(e, "public_key");
    uint8_t *pk = NULL;
    size_t len = 0;
    assert_int_equal(hv_crypto_base64_decode(b64, strlen(b64), &pk, &len, NULL), HV_CRYPTO_OK);
    assert_int_equal(len, 65);
    assert_int_equal(pk[0], 0x04);
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_Digest(pk, len, d, &dl, EVP_sha256(), NULL);
    char id[17];
    for (int i = 0; i < 8; i++) snprintf(id + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(str(e, "key_id"), id);
    assert_int_equal(strlen(str(e, "created_at")), 24);
    assert_int_equal(strlen(str(e, "expires_at")), 24);
    assert_true(strcmp(str(e, "created_at"), str(e, "expires_at")) < 0);
    currents += json_is_true(json_object_get(e, "current"));
    free(pk);
  }
  assert_int_equal(currents, 1);
  ht_resp alias = ht_get(&server, "/keys", NULL);
  assert_int_equal(alias.status, 200);
  assert_true(json_equal(alias.json, r.json));
  ht_resp_free(&alias);
  ht_resp_free(&r);
}

static void test_unknown_routes(void **state) {
  (void)state;
  const char *paths[] = {"/", "/nope", "/v1/keys/extra", "/v1/verify/", "/v2/execute",
                         "/v1/verify/a/b", "/v1/execute/"};
  for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
    ht_resp r = ht_get(&server, paths[k], HT_API_KEY);
    ht_assert_error(&r, 404, "NOT_FOUND");
    assert_null(json_object_get(r.json, "request_id"));
    ht_resp_free(&r);
  }
}

static void test_wrong_method(void **state) {
  (void)state;
  ht_resp r = ht_get(&server, "/v1/execute", HT_API_KEY);
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  assert_string_equal(r.allow, "POST");
  ht_resp_free(&r);

  r = ht_post(&server, "/v1/keys", NULL, "{}");
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  assert_string_equal(r.allow, "GET, HEAD");
  ht_resp_free(&r);

  ht_req del = {.method = "DELETE", .path = "/health"};
  r = ht_http(&server, &del);
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  ht_resp_free(&r);
}

/* ---- Authentication, metrics, rate limit -------------------------------------------------- */

static void test_auth(void **state) {
  (void)state;
  const char *paths[] = {"/v1/execute", "/execute"};
  for (int k = 0; k < 2; k++) {
    ht_resp r = ht_post(&server, paths[k], NULL, "{}");
    ht_assert_error(&r, 401, "UNAUTHORIZED");
    assert_null(json_object_get(r.json, "request_id"));
    ht_resp_free(&r);
    r = ht_post(&server, paths[k], "not-the-key", "{}");
    ht_assert_error(&r, 401, "UNAUTHORIZED");
    ht_resp_free(&r);
    r = ht_post(&server, paths[k], "", "{}");
    ht_assert_error(&r, 401, "UNAUTHORIZED");
    ht_resp_free(&r);
  }
  /* A key that is a prefix of the real one is still wrong. */
  char prefix[16];
  snprintf(prefix, sizeof prefix, "%.15s", HT_API_KEY);
  ht_resp r = ht_get(&server, "/metrics", prefix);
  ht_assert_error(&r, 401, "UNAUTHORIZED");
  ht_resp_free(&r);
  r = ht_get(&server, "/metrics", NULL);
  ht_assert_error(&r, 401, "UNAUTHORIZED");
  ht_resp_free(&r);
  /* Both configured keys work; /execute is the same endpoint as /v1/execute. */
  r = ht_post(&server, "/execute", HT_OTHER_API_KEY, "{}");
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  ht_resp_free(&r);
}

static void test_metrics(void **state) {
  (void)state;
  ht_resp bad = ht_get(&server, "/metrics", "wrong");
  ht_resp_free(&bad);
  ht_resp r = ht_get(&server, "/metrics", HT_API_KEY);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const char *want[] = {
      "# TYPE hypervisor_executions_total counter",
      "hypervisor_executions_total{status=\"success\"}",
      "hypervisor_executions_total{status=\"EXECUTION_TIMEOUT\"}",
      "# TYPE hypervisor_errors_total counter",
      "# TYPE hypervisor_execution_duration_seconds histogram",
      "hypervisor_execution_duration_seconds_bucket{le=\"+Inf\"}",
      "hypervisor_compile_duration_seconds_count",
      /* the gauges' values: earlier tests on this shared server may still be closing */
      "hypervisor_executions_active ",
      "hypervisor_executions_queued ",
      "hypervisor_gas_used_total",
      "hypervisor_module_cache_hits_total 0",
      "hypervisor_module_cache_misses_total 0",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
  };
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
    if (!strstr(r.body, want[k])) fail_msg("metrics lack '%s':\n%s", want[k], r.body);
  /* At least the 401 just above was counted. */
  const char *u = strstr(r.body, "hypervisor_errors_total{code=\"UNAUTHORIZED\"} ");
  assert_non_null(u);
  assert_true(atol(u + strlen("hypervisor_errors_total{code=\"UNAUTHORIZED\"} ")) >= 1);
  ht_resp_free(&r);

  ht_req jr = {.path = "/v1/metrics", .api_key = HT_API_KEY, .accept = "application/json"};
  r = ht_http(&server, &jr);
  assert_int_equal(r.status, 200);
  assert_non_null(r.json);
  assert_true(json_integer_value(json_object_get(json_object_get(r.json, "errors_total"),
                                                 "UNAUTHORIZED")) >= 1);
  assert_non_null(json_object_get(json_object_get(r.json, "executions_total"), "success"));
  assert_non_null(json_object_get(json_object_get(r.json, "execution_duration_seconds"), "buckets"));
  assert_true(json_integer_value(json_object_get(r.json, "process_resident_memory_bytes")) > 0);
  assert_int_equal(json_integer_value(json_object_get(r.json, "module_cache_hits_total")), 0);
  ht_resp_free(&r);
}

static void test_rate_limit(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.rps = 1, .burst = 3};
  ht_start(&s, &o);
  /* 1 per second with a burst of 3: a quick series runs out (however slow the machine, 50
   * requests cannot take 47 s). */
  int limited = 0;
  for (int k = 0; k < 50 && !limited; k++) {
    ht_resp r = ht_get(&s, "/metrics", HT_API_KEY);
    if (r.status == 429) {
      ht_assert_error(&r, 429, "RATE_LIMITED");
      assert_true(atoi(r.retry_after) >= 1);
      limited++;
    } else {
      assert_int_equal(r.status, 200);
    }
    ht_resp_free(&r);
  }
  assert_true(limited >= 1);
  /* The limit is per key: the other key still has its whole burst. */
  ht_resp r = ht_get(&s, "/metrics", HT_OTHER_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  /* Execute is limited by the same bucket. */
  bool execute_limited = false;
  for (int k = 0; k < 50 && !execute_limited; k++) {
    r = ht_post(&s, "/v1/execute", HT_API_KEY, "{}");
    execute_limited = r.status == 429;
    if (execute_limited) ht_assert_error(&r, 429, "RATE_LIMITED");
    ht_resp_free(&r);
  }
  assert_true(execute_limited);
  ht_stop(&s);
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"event\":\"rate.limited\",\"security\":true"));
  free(log);
  ht_cleanup(&s);
}

/* ---- Malformed requests ------------------------------------------------------------------- */

static void test_malformed_json(void **state) {
  (void)state;
  expect_invalid("{", "malformed JSON");
  expect_invalid("", "empty");
  expect_invalid("[1, 2]", "JSON object");
  expect_invalid("{\"function_name\": \"a\"} trailing", "malformed JSON");
  expect_invalid("{\"function_name\": \"a\", \"function_name\": \"b\"}", "duplicate");
  expect_invalid("{\"function_name\": \"\xff\xfe\"}", "malformed JSON");
  expect_invalid("{\"function_name\": \"\xc3\x28\"}", "malformed JSON");
}

static void test_fields(void **state) {
  (void)state;
  char body[8192];
  expect_invalid("{}", "encrypted_wasm");
  expect_invalid("{\"encrypted_wasm\": 5}", "encrypted_wasm");
  expect_invalid("{\"encrypted_wasm\": \"\"}", "encrypted_wasm");
  expect_invalid("{\"encrypted_wasm\": \"!!!!\"}", "encrypted_wasm");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\"}", "function_name");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": 5}", "function_name");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"\"}", "function_name");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"a\\u0000b\"}", "malformed JSON");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"f\"}", "public_key");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"f\", \"public_key\": []}",
                 "public_key");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"f\", \"public_key\": \"@@\"}",
                 "public_key");
  expect_invalid("{\"encrypted_wasm\": \"AAAA\", \"function_name\": \"f\", \"nonsense\": 1}",
                 "nonsense");

  /* The rest need a valid client key to get past public_key. */
  uint8_t *wasm;
  size_t wasm_len;
  wasm = ht_wasm("add", &wasm_len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&server, wasm, wasm_len, "add", NULL, &key);
  /* {substring the message must contain, JSON of the member} */
  struct {
    const char *field;
    const char *json;
  } cases[] = {
      {"key_id", "\"xyz\""},
      {"key_id", "\"0123456789ABCDEF\""},
      {"key_id", "17"},
      {"arguments", "{}"},
      {"arguments", "[5]"},
      {"arguments[0].value", "[{\"type\": \"i32\"}]"},
      {"arguments[0].value", "[{\"value\": true}]"},
      {"arguments[1].type", "[{\"value\": 1}, {\"value\": 2, \"type\": \"u8\"}]"},
      {"arguments[0]", "[{\"value\": 1, \"extra\": 2}]"},
      {"request_metadata", "[]"},
      {"request_metadata", "\"x\""},
      {"timeout_seconds", "0"},
      {"timeout_seconds", "301"},
      {"timeout_seconds", "\"5\""},
      {"timeout_seconds", "2.5"},
      {"gas_limit", "0"},
      {"gas_limit", "-5"},
      {"gas_limit", "\"100\""},
  };
  static const char *field_of[] = {"key_id", "key_id", "key_id", "arguments", "arguments",
                                   "arguments", "arguments", "arguments", "arguments",
                                   "request_metadata", "request_metadata", "timeout_seconds",
                                   "timeout_seconds", "timeout_seconds", "timeout_seconds",
                                   "gas_limit", "gas_limit", "gas_limit"};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    json_t *copy = json_deep_copy(req);
    json_t *v = json_loads(cases[k].json, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    json_object_set_new(copy, field_of[k], v);
    char *text = json_dumps(copy, JSON_COMPACT);
    expect_invalid(text, cases[k].field);
    free(text);
    json_decref(copy);
  }
  /* request_metadata over 4 KiB */
  json_t *copy = json_deep_copy(req);
  memset(body, 'a', 5000);
  body[5000] = '\0';
  json_t *meta = json_object();
  json_object_set_new(meta, "note", json_string(body));
  json_object_set_new(copy, "request_metadata", meta);
  char *text = json_dumps(copy, JSON_COMPACT);
  expect_invalid(text, "request_metadata");
  free(text);
  json_decref(copy);

  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
}

static void test_payload_too_large(void **state) {
  (void)state;
  size_t n = 200 * 1024; /* the server's cap is 64 KiB */
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  /* Content-Length over the cap: refused from the headers, before the body is read. */
  ht_req req = {.method = "POST", .path = "/v1/execute", .api_key = HT_API_KEY, .body = big,
                .body_len = n};
  ht_resp r = ht_http(&server, &req);
  ht_assert_error(&r, 413, "PAYLOAD_TOO_LARGE");
  ht_resp_free(&r);
  /* Chunked: refused once the body passes the cap (nothing past it is kept), before any work, so
   * before a request_id exists. */
  req.chunked = true;
  r = ht_http(&server, &req);
  ht_assert_error(&r, 413, "PAYLOAD_TOO_LARGE");
  assert_null(json_object_get(r.json, "request_id"));
  ht_resp_free(&r);
  /* Just under the cap is read and parsed (and found lacking). */
  req.chunked = false;
  req.body_len = 60 * 1024;
  big[req.body_len - 1] = '}';
  r = ht_http(&server, &req);
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  ht_resp_free(&r);
  free(big);
}

/* ---- Encryption errors (decryption happens before any execution) -------------------------- */

static void test_encryption_errors(void **state) {
  (void)state;
  size_t wasm_len;
  uint8_t *wasm = ht_wasm("add", &wasm_len);
  hv_client_key *key = NULL;

  /* Tampered ciphertext: one bit of the AEAD part flipped. */
  json_t *req = ht_exec_request(&server, wasm, wasm_len, "add", NULL, &key);
  const char *b64 = str(req, "encrypted_wasm");
  uint8_t *ct = NULL;
  size_t ct_len = 0;
  assert_int_equal(hv_crypto_base64_decode(b64, strlen(b64), &ct, &ct_len, NULL), HV_CRYPTO_OK);
  ct[ct_len - 20] ^= 0x01;
  char *tampered = NULL;
  assert_int_equal(hv_crypto_base64_encode(ct, ct_len, &tampered, NULL, NULL), HV_CRYPTO_OK);
  json_t *copy = json_deep_copy(req);
  json_object_set_new(copy, "encrypted_wasm", json_string(tampered));
  ht_resp r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  assert_true(is_uuid_v4(str(r.json, "request_id")));
  assert_null(json_object_get(r.json, "execution_summary"));
  ht_resp_free(&r);
  json_decref(copy);

  /* The same without key_id: the server tries its live keys, and all fail. */
  copy = json_deep_copy(req);
  json_object_set_new(copy, "encrypted_wasm", json_string(tampered));
  json_object_del(copy, "key_id");
  r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);
  json_decref(copy);
  free(tampered);
  free(ct);

  /* Truncated to less than the encapsulated key. */
  copy = json_deep_copy(req);
  json_object_set_new(copy, "encrypted_wasm", json_string("AAAA"));
  r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);
  json_decref(copy);

  /* A well-formed key_id the server does not have. */
  copy = json_deep_copy(req);
  json_object_set_new(copy, "key_id", json_string("0000000000000000"));
  r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  assert_non_null(strstr(str(r.json, "message"), "key"));
  ht_resp_free(&r);
  json_decref(copy);

  /* Another client key than the one the module was sealed with (the AAD binds it). */
  hv_client_key *other = NULL;
  char *other_pub = NULL;
  assert_int_equal(hv_client_key_generate(&other, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_client_key_public_base64(other, &other_pub, NULL), HV_CRYPTO_OK);
  copy = json_deep_copy(req);
  json_object_set_new(copy, "public_key", json_string(other_pub));
  r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);
  json_decref(copy);
  free(other_pub);
  hv_client_key_free(other);

  /* A client public key that is not a point on the curve. */
  uint8_t bad[65];
  memset(bad, 0x11, sizeof bad);
  bad[0] = 0x04;
  char *bad_b64 = NULL;
  assert_int_equal(hv_crypto_base64_encode(bad, sizeof bad, &bad_b64, NULL, NULL), HV_CRYPTO_OK);
  copy = json_deep_copy(req);
  json_object_set_new(copy, "public_key", json_string(bad_b64));
  r = ht_execute(&server, copy, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  assert_non_null(strstr(str(r.json, "message"), "public_key"));
  ht_resp_free(&r);
  json_decref(copy);
  free(bad_b64);
  json_decref(req);
  hv_client_key_free(key);

  /* AAD mismatch: sealed for "other", sent to call "add". */
  req = ht_exec_request(&server, wasm, wasm_len, "add", "other", &key);
  r = ht_execute(&server, req, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
}

/* ---- Verify ------------------------------------------------------------------------------- */

static void test_verify_errors(void **state) {
  (void)state;
  const char *unknown = "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab";
  ht_resp r = ht_get(&server, unknown, NULL);
  ht_assert_error(&r, 404, "NOT_FOUND");
  ht_resp_free(&r);
  r = ht_get(&server, "/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab", NULL);
  ht_assert_error(&r, 404, "NOT_FOUND");
  ht_resp_free(&r);

  const char *bad[] = {
      "/v1/verify/not-a-uuid",
      "/v1/verify/6f1c2a9e2b4d4c1e9f3a0123456789ab",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789zz",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab?commitment_type=bogus&hash_value="
      "0000000000000000000000000000000000000000000000000000000000000000",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab?commitment_type=result&hash_value=xyz",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab?commitment_type=result",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab?hash_value="
      "0000000000000000000000000000000000000000000000000000000000000000",
      "/v1/verify/6f1c2a9e-2b4d-4c1e-9f3a-0123456789ab?type=result",
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    r = ht_get(&server, bad[k], NULL);
    ht_assert_error(&r, 400, "INVALID_REQUEST");
    ht_resp_free(&r);
  }
}

/* A failed request is recorded too: verify finds it with its status and no commitments. */
static void test_verify_failed_request(void **state) {
  (void)state;
  ht_resp r = ht_post(&server, "/v1/execute", HT_API_KEY, "{\"oops\": ");
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  char id[64], path[256];
  snprintf(id, sizeof id, "%s", str(r.json, "request_id"));
  ht_resp_free(&r);

  snprintf(path, sizeof path, "/v1/verify/%s", id);
  r = ht_get(&server, path, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "request_id"), id);
  assert_string_equal(str(r.json, "status"), "INVALID_REQUEST");
  assert_int_equal(strlen(str(r.json, "recorded_at")), 24);
  json_t *c = json_object_get(r.json, "commitments");
  assert_true(json_is_null(json_object_get(c, "result")));
  assert_true(json_is_null(json_object_get(c, "program")));
  assert_true(json_is_null(json_object_get(c, "arguments")));
  json_t *sum = json_object_get(r.json, "execution_summary");
  assert_string_equal(str(sum, "status"), "INVALID_REQUEST");
  ht_resp_free(&r);

  /* Upper case is the same id; a hash check on a record without commitments is false. */
  for (char *p = id; *p; p++)
    if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
  snprintf(path, sizeof path,
           "/verify/%s?commitment_type=program&hash_value="
           "0000000000000000000000000000000000000000000000000000000000000000",
           id);
  r = ht_get(&server, path, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(str(r.json, "commitment_type"), "program");
  assert_true(json_is_false(json_object_get(r.json, "verified")));
  assert_string_equal(str(r.json, "status"), "INVALID_REQUEST");
  ht_resp_free(&r);
}

/* The log: one line per request, security events marked, no secrets. */
static void test_log(void **state) {
  (void)state;
  char *log = ht_read_text(server.log);
  assert_non_null(strstr(log, "\"event\":\"server.started\""));
  assert_non_null(strstr(log, "\"event\":\"http.request\""));
  assert_non_null(strstr(log, "\"path\":\"/v1/execute\""));
  assert_non_null(strstr(log, "\"event\":\"auth.rejected\",\"security\":true"));
  assert_non_null(strstr(log, "\"event\":\"decrypt.failed\",\"security\":true"));
  assert_null(strstr(log, HT_API_KEY));
  assert_null(strstr(log, HT_OTHER_API_KEY));
  assert_null(strstr(log, "not-the-key"));
  /* Every line is one JSON object. */
  for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
    json_t *o = json_loads(line, 0, NULL);
    if (!o) fail_msg("not a JSON line: %s", line);
    json_decref(o);
  }
  free(log);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_unknown_routes),
      cmocka_unit_test(test_wrong_method),
      cmocka_unit_test(test_auth),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_payload_too_large),
      cmocka_unit_test(test_encryption_errors),
      cmocka_unit_test(test_verify_errors),
      cmocka_unit_test(test_verify_failed_request),
      cmocka_unit_test(test_log),
      cmocka_unit_test(test_rate_limit),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  return rc + ht_failures(); /* a failed stop in the group teardown counts too */
}
