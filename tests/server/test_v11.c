/*
 * test_v11.c: protocol v1.1 over real HTTP against the real server: the invocation sealed in the
 * module's HPKE context, string and bytes arguments and results through the Canonical ABI, and
 * sealed errors (docs/protocol.md, "v1.1 additions"). The guest is tests/server/wat/strings.wat.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "harness.h"
#include "hv_client.h"

static ht_server server;
static uint8_t *wasm;
static size_t wasm_len;

static int setup(void **state) {
  (void)state;
  ht_start(&server, NULL);
  wasm = ht_wasm("strings", &wasm_len);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(wasm);
  ht_stop(&server);
  ht_cleanup(&server);
  return ht_failures();
}

/* A v1.1 request: the invocation (as text) sealed after the module in one HPKE context. */
typedef struct v11_call {
  hv_client_key *key;
  json_t *body;
} v11_call;

static v11_call v11_request_text(const char *invocation) {
  uint8_t pk[65];
  char key_id[17];
  ht_current_key(&server, pk, key_id);
  v11_call c = {0};
  assert_int_equal(hv_client_key_generate(&c.key, NULL), HV_CRYPTO_OK);
  hv_client_sealed sw, si;
  hv_crypto_err err = {0};
  if (hv_client_seal_request_v11(c.key, pk, sizeof pk, wasm, wasm_len,
                                 (const uint8_t *)invocation, strlen(invocation), &sw, &si,
                                 &err) != HV_CRYPTO_OK)
    fail_msg("seal: %s", err.message);
  char *pub = NULL;
  assert_int_equal(hv_client_key_public_base64(c.key, &pub, NULL), HV_CRYPTO_OK);
  c.body = json_object();
  json_object_set_new(c.body, "encrypted_wasm", json_string(sw.base64));
  json_object_set_new(c.body, "encrypted_invocation", json_string(si.base64));
  json_object_set_new(c.body, "key_id", json_string(key_id));
  json_object_set_new(c.body, "public_key", json_string(pub));
  free(pub);
  hv_client_sealed_free(&sw);
  hv_client_sealed_free(&si);
  return c;
}

static v11_call v11_request(const char *function_name, const hv_value *args, size_t n,
                            hv_type result_type) {
  char *inv = NULL;
  size_t inv_len = 0;
  hv_crypto_err err = {0};
  if (hv_client_invocation_build(function_name, args, n, result_type, &inv, &inv_len, &err) !=
      HV_CRYPTO_OK)
    fail_msg("invocation: %s", err.message);
  v11_call c = v11_request_text(inv);
  free(inv);
  return c;
}

static void v11_free(v11_call *c) {
  hv_client_key_free(c->key);
  json_decref(c->body);
}

/* Opens the reply's encrypted_error: its code must be the reply's; returns the message. */
static char *open_error(const ht_resp *r, const hv_client_key *key) {
  const char *rid = json_string_value(json_object_get(r->json, "request_id"));
  const char *enc = json_string_value(json_object_get(r->json, "encrypted_error"));
  if (!rid || !enc) fail_msg("no request_id or encrypted_error: %s", r->body);
  char *code = NULL, *message = NULL;
  hv_crypto_err err = {0};
  if (hv_client_open_error_base64(key, rid, enc, strlen(enc), &code, &message, &err) !=
      HV_CRYPTO_OK)
    fail_msg("cannot open encrypted_error: %s", err.message);
  assert_string_equal(code, json_string_value(json_object_get(r->json, "error_code")));
  free(code);
  return message;
}

/* The clear message of a v1.1 failure names the code and nothing else. */
static void assert_generic(const ht_resp *r, const char *code) {
  const char *msg = json_string_value(json_object_get(r->json, "message"));
  assert_non_null(msg);
  char want[160];
  snprintf(want, sizeof want, "the request failed with %s; the details are in encrypted_error",
           code);
  assert_string_equal(msg, want);
}

static void test_sealed_numbers(void **state) {
  (void)state;
  hv_value args[2] = {hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 40}),
                      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 2})};
  v11_call c = v11_request("add", args, 2, 0);
  /* Nothing of the call in clear. */
  assert_null(json_object_get(c.body, "function_name"));
  assert_null(json_object_get(c.body, "arguments"));
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  hv_result_document *doc = ht_open_result_values(&r, c.key, "add", wasm, wasm_len, args, 2);
  assert_string_equal(doc->function_name, "add");
  assert_int_equal(doc->result_count, 1);
  assert_int_equal(doc->results[0].num.of.i32, 42);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  v11_free(&c);
}

static void test_string_round_trip(void **state) {
  (void)state;
  static const char text[] = "h\xc3\xa9llo \0 w\xc3\xb6rld \xf0\x9f\x94\x92";
  hv_value arg = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)text, sizeof text - 1);
  v11_call c = v11_request("echo", &arg, 1, HV_TYPE_STRING);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  hv_result_document *doc = ht_open_result_values(&r, c.key, "echo", wasm, wasm_len, &arg, 1);
  assert_int_equal(doc->result_count, 1);
  assert_int_equal(doc->results[0].type, HV_TYPE_STRING);
  assert_int_equal(doc->results[0].len, sizeof text - 1);
  assert_memory_equal(doc->results[0].data, text, sizeof text - 1);
  hv_commit_document_free(doc);

  /* The arguments commitment the client recomputed is the one the audit log holds. */
  const char *rid = json_string_value(json_object_get(r.json, "request_id"));
  const char *ac = json_string_value(json_object_get(r.json, "arguments_commitment"));
  char path[256];
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=arguments&hash_value=%s", rid, ac);
  ht_resp v = ht_get(&server, path, NULL);
  assert_int_equal(v.status, 200);
  assert_true(json_is_true(json_object_get(v.json, "verified")));
  ht_resp_free(&v);
  ht_resp_free(&r);
  v11_free(&c);
}

static void test_bytes_and_numbers_mixed(void **state) {
  (void)state;
  size_t n = 300 * 1024;
  uint8_t *bytes = malloc(n);
  assert_non_null(bytes);
  assert_int_equal(RAND_bytes(bytes, (int)n), 1);
  hv_value args[2] = {hv_value_blob(HV_TYPE_BYTES, bytes, n),
                      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 3})};
  v11_call c = v11_request("repeat", args, 2, HV_TYPE_BYTES);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  hv_result_document *doc = ht_open_result_values(&r, c.key, "repeat", wasm, wasm_len, args, 2);
  assert_int_equal(doc->results[0].type, HV_TYPE_BYTES);
  assert_int_equal(doc->results[0].len, 3 * n);
  for (size_t k = 0; k < 3; k++) assert_memory_equal(doc->results[0].data + k * n, bytes, n);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  v11_free(&c);

  /* An empty string is a value like any other: cabi_realloc(0, 0, 1, 0), then (ptr, 0). */
  hv_value empty = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"", 0);
  c = v11_request("length", &empty, 1, 0);
  r = ht_execute(&server, c.body, HT_API_KEY);
  doc = ht_open_result_values(&r, c.key, "length", wasm, wasm_len, &empty, 1);
  assert_int_equal(doc->results[0].num.of.i32, 0);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  v11_free(&c);
  free(bytes);
}

static void test_trap_detail_is_sealed(void **state) {
  (void)state;
  hv_value arg = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"patient record 4471", 19);
  v11_call c = v11_request("confidential_model_v7", &arg, 1, 0);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 422, "EXECUTION_TRAP");
  assert_generic(&r, "EXECUTION_TRAP");
  assert_null(strstr(r.body, "unreachable"));
  assert_null(strstr(r.body, "confidential_model_v7"));
  char *detail = open_error(&r, c.key);
  assert_non_null(strstr(detail, "unreachable"));
  free(detail);
  ht_resp_free(&r);
  v11_free(&c);

  /* A missing export: its name is in the sealed detail only. */
  c = v11_request("secret_export_name_q9", NULL, 0, 0);
  r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 422, "FUNCTION_NOT_FOUND");
  assert_generic(&r, "FUNCTION_NOT_FOUND");
  assert_null(strstr(r.body, "secret_export_name_q9"));
  detail = open_error(&r, c.key);
  assert_non_null(strstr(detail, "secret_export_name_q9"));
  free(detail);
  ht_resp_free(&r);
  v11_free(&c);

  /* Nothing of it reached the log. */
  char *log = ht_read_text(server.log);
  assert_non_null(log);
  assert_null(strstr(log, "confidential_model_v7"));
  assert_null(strstr(log, "secret_export_name_q9"));
  assert_null(strstr(log, "patient record"));
  free(log);
}

static void test_guest_lies(void **state) {
  (void)state;
  static const struct {
    const char *name;
    hv_type result;
    const char *in_detail;
  } lies[] = {
      {"lie_pointer", HV_TYPE_BYTES, "65530"},
      {"lie_misaligned", HV_TYPE_STRING, "align"},
      {"lie_utf8", HV_TYPE_STRING, "UTF-8"},
      {"lie_huge", HV_TYPE_BYTES, "2147483647"},
  };
  for (size_t k = 0; k < sizeof lies / sizeof lies[0]; k++) {
    v11_call c = v11_request(lies[k].name, NULL, 0, lies[k].result);
    ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
    ht_assert_error(&r, 422, "EXECUTION_TRAP");
    assert_generic(&r, "EXECUTION_TRAP");
    char *detail = open_error(&r, c.key);
    if (!strstr(detail, lies[k].in_detail))
      fail_msg("%s: detail '%s' lacks '%s'", lies[k].name, detail, lies[k].in_detail);
    free(detail);
    ht_resp_free(&r);
    v11_free(&c);
  }
  /* The server is still up and right. */
  hv_value args[2] = {hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 1}),
                      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 2})};
  v11_call c = v11_request("add", args, 2, 0);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  hv_result_document *doc = ht_open_result_values(&r, c.key, "add", wasm, wasm_len, args, 2);
  assert_int_equal(doc->results[0].num.of.i32, 3);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  v11_free(&c);
}

static void test_bad_results_declarations(void **state) {
  (void)state;
  /* A string result from an export that returns an i64: not the Canonical ABI's retptr. */
  v11_call c = v11_request("wide", NULL, 0, HV_TYPE_STRING);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_ARGUMENTS");
  assert_generic(&r, "INVALID_ARGUMENTS");
  free(open_error(&r, c.key));
  ht_resp_free(&r);
  v11_free(&c);

  static const char *const documents[] = {
      "{\"function_name\":\"add\",\"results\":[\"string\",\"i32\"]}", /* not alone */
      "{\"function_name\":\"add\",\"results\":[\"utf16\"]}",          /* unknown type */
      "{\"function_name\":\"add\",\"results\":\"i32\"}",              /* not a list */
      "{\"function_name\":\"add\",\"colour\":1}",                     /* unknown member */
      "{\"function_name\":",                                          /* not JSON */
  };
  for (size_t k = 0; k < sizeof documents / sizeof documents[0]; k++) {
    c = v11_request_text(documents[k]);
    r = ht_execute(&server, c.body, HT_API_KEY);
    ht_assert_error(&r, 400, "INVALID_REQUEST");
    assert_generic(&r, "INVALID_REQUEST");
    char *detail = open_error(&r, c.key);
    assert_non_null(strstr(detail, "invocation: "));
    free(detail);
    ht_resp_free(&r);
    v11_free(&c);
  }

  /* Too few arguments: the sealed detail counts the core parameters they make. */
  c = v11_request_text("{\"function_name\":\"add\",\"arguments\":[{\"value\":1}]}");
  r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_ARGUMENTS");
  assert_generic(&r, "INVALID_ARGUMENTS");
  char *count_detail = open_error(&r, c.key);
  assert_string_equal(count_detail, "add takes 2 core parameters (i32, i32); the arguments make 1 "
                                    "(a string or bytes makes two)");
  free(count_detail);
  ht_resp_free(&r);
  v11_free(&c);

  /* Declared numeric results must be the export's. */
  c = v11_request_text("{\"function_name\":\"add\",\"arguments\":[{\"value\":1},{\"value\":2}],"
                       "\"results\":[\"i64\"]}");
  r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_ARGUMENTS");
  free(open_error(&r, c.key));
  ht_resp_free(&r);
  v11_free(&c);
}

static void test_invocation_tampered_or_foreign(void **state) {
  (void)state;
  /* One flipped bit of the invocation's ciphertext. */
  v11_call c = v11_request("add", NULL, 0, 0);
  const char *b64 = json_string_value(json_object_get(c.body, "encrypted_invocation"));
  char *flipped = strdup(b64);
  flipped[4] = flipped[4] == 'A' ? 'B' : 'A';
  json_object_set_new(c.body, "encrypted_invocation", json_string(flipped));
  free(flipped);
  ht_resp r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);

  /* The invocation of another request (another HPKE context) beside this module. */
  v11_call other = v11_request("add", NULL, 0, 0);
  json_object_set(c.body, "encrypted_invocation",
                  json_object_get(other.body, "encrypted_invocation"));
  r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);

  /* The module's ciphertext where the invocation belongs: sequence numbers differ. */
  v11_free(&c);
  c = v11_request("add", NULL, 0, 0);
  const char *sealed_wasm = json_string_value(json_object_get(c.body, "encrypted_wasm"));
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  assert_int_equal(hv_crypto_base64_decode(sealed_wasm, strlen(sealed_wasm), &raw, &raw_len, NULL),
                   HV_CRYPTO_OK);
  char *ct_only = NULL;
  assert_int_equal(hv_crypto_base64_encode(raw + HPKE_ENC_LEN, raw_len - HPKE_ENC_LEN, &ct_only,
                                           NULL, NULL),
                   HV_CRYPTO_OK);
  json_object_set_new(c.body, "encrypted_invocation", json_string(ct_only));
  free(ct_only);
  free(raw);
  r = ht_execute(&server, c.body, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);

  /* function_name beside encrypted_invocation. */
  json_object_set_new(other.body, "function_name", json_string("add"));
  r = ht_execute(&server, other.body, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  assert_non_null(strstr(json_string_value(json_object_get(r.json, "message")),
                         "encrypted_invocation"));
  ht_resp_free(&r);
  json_object_del(other.body, "function_name");
  json_object_set_new(other.body, "arguments", json_array());
  r = ht_execute(&server, other.body, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  ht_resp_free(&r);
  v11_free(&other);
  v11_free(&c);
}

static void test_v1_errors_sealed_too(void **state) {
  (void)state;
  /* A v1 request keeps its clear message (the trap's name, as v1 says) and gains the detail. */
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&server, wasm, wasm_len, "confidential_model_v7", NULL, &key);
  json_t *args = json_object_get(req, "arguments");
  json_array_append_new(args, json_pack("{s:i}", "value", 1));
  json_array_append_new(args, json_pack("{s:i}", "value", 2));
  ht_resp r = ht_execute(&server, req, HT_API_KEY);
  ht_assert_error(&r, 422, "EXECUTION_TRAP");
  assert_string_equal(json_string_value(json_object_get(r.json, "message")), "unreachable");
  char *detail = open_error(&r, key);
  assert_non_null(strstr(detail, "unreachable"));
  free(detail);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sealed_numbers),
      cmocka_unit_test(test_string_round_trip),
      cmocka_unit_test(test_bytes_and_numbers_mixed),
      cmocka_unit_test(test_trap_detail_is_sealed),
      cmocka_unit_test(test_guest_lies),
      cmocka_unit_test(test_bad_results_declarations),
      cmocka_unit_test(test_invocation_tampered_or_foreign),
      cmocka_unit_test(test_v1_errors_sealed_too),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
