/*
 * test_cors.c: server.cors_origins over real HTTP (docs/service.md, "CORS"). Three servers: one
 * without the key (the default: no CORS headers at all), one with two exact origins, one with "*".
 * Checked for each: the headers of simple requests and of error replies, preflights (OPTIONS with
 * Access-Control-Request-Method) from allowed and refused origins, and that no reply ever carries
 * Access-Control-Allow-Credentials.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define APP "https://app.example"
#define DEV "http://localhost:5173"

static ht_server plain, exact, any;

static int setup(void **state) {
  (void)state;
  ht_start(&plain, NULL);
  ht_options o = {.cors_origins = "[\"" APP "\", \"" DEV "\"]"};
  ht_start(&exact, &o);
  ht_options w = {.cors_origins = "[\"*\"]"};
  ht_start(&any, &w);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ht_server *all[] = {&plain, &exact, &any};
  for (size_t k = 0; k < 3; k++) {
    ht_stop(all[k]);
    ht_cleanup(all[k]);
  }
  return 0;
}

/* A request with an Origin (NULL: none) and, for a preflight, Access-Control-Request-* headers. */
static ht_resp request(ht_server *s, const char *method, const char *path, const char *origin,
                       const char *preflight_method, const char *api_key) {
  char o[160], m[96];
  const char *headers[4] = {0};
  size_t n = 0;
  if (origin) {
    snprintf(o, sizeof o, "Origin: %s", origin);
    headers[n++] = o;
  }
  if (preflight_method) {
    snprintf(m, sizeof m, "Access-Control-Request-Method: %s", preflight_method);
    headers[n++] = m;
    headers[n++] = "Access-Control-Request-Headers: x-api-key, content-type";
  }
  ht_req req = {.method = method, .path = path, .api_key = api_key, .headers = headers};
  if (method && strcmp(method, "POST") == 0) req.body = "{}";
  return ht_http(s, &req);
}

static void expect_header(const ht_resp *r, const char *name, const char *value) {
  char got[512];
  if (!ht_resp_header(r, name, got, sizeof got))
    fail_msg("no %s header (want '%s'); headers:\n%s", name, value, r->headers);
  if (strcmp(got, value) != 0) fail_msg("%s: '%s', want '%s'", name, got, value);
}

static void expect_no_header(const ht_resp *r, const char *name) {
  char got[512];
  if (ht_resp_header(r, name, got, sizeof got))
    fail_msg("unexpected %s: %s (status %ld)", name, got, r->status);
}

/* No Access-Control-* header at all, and never credentials. */
static void expect_no_cors(const ht_resp *r) {
  expect_no_header(r, "Access-Control-Allow-Origin");
  expect_no_header(r, "Access-Control-Allow-Methods");
  expect_no_header(r, "Access-Control-Allow-Headers");
  expect_no_header(r, "Access-Control-Max-Age");
  expect_no_header(r, "Access-Control-Expose-Headers");
  expect_no_header(r, "Access-Control-Allow-Credentials");
}

/* ---- CORS off (the default) ---------------------------------------------------------------- */

static void test_default_sends_no_cors_headers(void **state) {
  (void)state;
  ht_resp r = request(&plain, NULL, "/health", APP, NULL, NULL);
  assert_int_equal(r.status, 200);
  expect_no_cors(&r);
  expect_no_header(&r, "Vary");
  ht_resp_free(&r);
  /* A preflight is an OPTIONS request like any other: the routes do not accept it. */
  r = request(&plain, "OPTIONS", "/v1/execute", APP, "POST", NULL);
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  assert_string_equal(r.allow, "POST");
  expect_no_cors(&r);
  ht_resp_free(&r);
}

/* ---- Exact origins ------------------------------------------------------------------------- */

static void test_allowed_origin_is_echoed(void **state) {
  (void)state;
  const char *origins[] = {APP, DEV};
  const char *paths[] = {"/health", "/v1/health", "/v1/keys", "/keys"};
  for (size_t o = 0; o < 2; o++)
    for (size_t p = 0; p < 4; p++) {
      ht_resp r = request(&exact, NULL, paths[p], origins[o], NULL, NULL);
      assert_int_equal(r.status, 200);
      expect_header(&r, "Access-Control-Allow-Origin", origins[o]);
      expect_header(&r, "Vary", "Origin");
      expect_header(&r, "Access-Control-Expose-Headers", "X-Request-Id, Retry-After, Allow");
      expect_no_header(&r, "Access-Control-Allow-Credentials");
      expect_no_header(&r, "Access-Control-Allow-Methods");
      ht_resp_free(&r);
    }
  /* The metrics, with the key, and HEAD. */
  ht_resp r = request(&exact, NULL, "/metrics", APP, NULL, HT_API_KEY);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  ht_resp_free(&r);
  r = request(&exact, "HEAD", "/health", DEV, NULL, NULL);
  assert_int_equal(r.status, 200);
  expect_header(&r, "Access-Control-Allow-Origin", DEV);
  ht_resp_free(&r);
}

/* A page must be able to read the error of a refused request: error replies carry the headers. */
static void test_error_replies_carry_cors_headers(void **state) {
  (void)state;
  ht_resp r = request(&exact, "POST", "/v1/execute", APP, NULL, NULL);
  ht_assert_error(&r, 401, "UNAUTHORIZED");
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  expect_header(&r, "Vary", "Origin");
  ht_resp_free(&r);
  r = request(&exact, "POST", "/v1/execute", APP, NULL, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  ht_resp_free(&r);
  r = request(&exact, NULL, "/nowhere", APP, NULL, NULL);
  ht_assert_error(&r, 404, "NOT_FOUND");
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  ht_resp_free(&r);
  r = request(&exact, "DELETE", "/v1/keys", APP, NULL, NULL);
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  ht_resp_free(&r);
}

/* A sealed execution from an allowed origin: the 200 reply is readable by the page. */
static void test_execute_from_allowed_origin(void **state) {
  (void)state;
  size_t len = 0;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *body = ht_exec_request(&exact, wasm, len, "answer", NULL, &key);
  json_object_set_new(body, "arguments", json_array());
  char *text = json_dumps(body, JSON_COMPACT);
  assert_non_null(text);
  const char *headers[] = {"Origin: " DEV, NULL};
  ht_req req = {.method = "POST", .path = "/v1/execute", .api_key = HT_API_KEY, .body = text,
                .headers = headers};
  ht_resp r = ht_http(&exact, &req);
  if (r.status != 200) fail_msg("execute: HTTP %ld: %s", r.status, r.body);
  expect_header(&r, "Access-Control-Allow-Origin", DEV);
  expect_header(&r, "Vary", "Origin");
  expect_no_header(&r, "Access-Control-Allow-Credentials");
  hvw_value none[1];
  hv_result_document *doc = ht_open_result(&r, key, "answer", wasm, len, none, 0);
  assert_int_equal(doc->result_count, 1);
  assert_int_equal(doc->results[0].num.of.i32, 42);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  free(text);
  json_decref(body);
  hv_client_key_free(key);
  free(wasm);
}

static void test_preflight_from_allowed_origin(void **state) {
  (void)state;
  struct {
    const char *path, *method, *methods;
  } cases[] = {
      {"/v1/execute", "POST", "POST"},
      {"/execute", "POST", "POST"},
      {"/v1/keys", "GET", "GET, HEAD"},
      {"/health", "GET", "GET, HEAD"},
      {"/metrics", "GET", "GET, HEAD"},
      {"/v1/metrics", "GET", "GET, HEAD"},
      {"/v1/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a", "GET", "GET, HEAD"},
      /* The browser compares the method itself: the answer lists what the route accepts. */
      {"/v1/execute", "PUT", "POST"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    /* No API key: browsers send preflights without the page's headers. */
    ht_resp r = request(&exact, "OPTIONS", cases[k].path, APP, cases[k].method, NULL);
    if (r.status != 204) fail_msg("OPTIONS %s: HTTP %ld: %s", cases[k].path, r.status, r.body);
    assert_int_equal(r.len, 0);
    expect_header(&r, "Access-Control-Allow-Origin", APP);
    expect_header(&r, "Access-Control-Allow-Methods", cases[k].methods);
    expect_header(&r, "Access-Control-Allow-Headers", "X-API-Key, Content-Type, Authorization");
    expect_header(&r, "Access-Control-Max-Age", "600");
    expect_header(&r, "Vary", "Origin");
    expect_no_header(&r, "Access-Control-Allow-Credentials");
    ht_resp_free(&r);
  }
  /* A route that does not exist has nothing to allow. */
  ht_resp r = request(&exact, "OPTIONS", "/v1/nowhere", APP, "GET", NULL);
  ht_assert_error(&r, 404, "NOT_FOUND");
  expect_no_header(&r, "Access-Control-Allow-Methods");
  ht_resp_free(&r);
  /* OPTIONS without Access-Control-Request-Method is no preflight. */
  r = request(&exact, "OPTIONS", "/health", APP, NULL, NULL);
  ht_assert_error(&r, 405, "INVALID_REQUEST");
  expect_header(&r, "Access-Control-Allow-Origin", APP);
  expect_no_header(&r, "Access-Control-Allow-Methods");
  ht_resp_free(&r);
}

static void test_refused_origins(void **state) {
  (void)state;
  /* Near misses of the configured origins: comparison is exact. */
  const char *refused[] = {"https://evil.example", "https://app.example.evil.example",
                           "http://app.example", "https://APP.example", "https://app.example:443",
                           "http://localhost:5174", "null", "https://app.example/"};
  for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
    ht_resp r = request(&exact, NULL, "/health", refused[k], NULL, NULL);
    assert_int_equal(r.status, 200);
    expect_no_cors(&r);
    expect_header(&r, "Vary", "Origin"); /* the answer depends on the Origin */
    ht_resp_free(&r);
    /* The preflight gets no CORS headers: the browser refuses the call. */
    r = request(&exact, "OPTIONS", "/v1/execute", refused[k], "POST", NULL);
    ht_assert_error(&r, 405, "INVALID_REQUEST");
    expect_no_cors(&r);
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "message")),
                           "server.cors_origins"));
    ht_resp_free(&r);
  }
  /* No Origin at all (curl, servers): served as always, no CORS headers. */
  ht_resp r = request(&exact, NULL, "/v1/keys", NULL, NULL, NULL);
  assert_int_equal(r.status, 200);
  expect_no_cors(&r);
  ht_resp_free(&r);
}

/* ---- "*" ----------------------------------------------------------------------------------- */

static void test_any_origin(void **state) {
  (void)state;
  const char *origins[] = {APP, "https://anything.example:8443", "null"};
  for (size_t k = 0; k < 3; k++) {
    ht_resp r = request(&any, NULL, "/v1/keys", origins[k], NULL, NULL);
    assert_int_equal(r.status, 200);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_no_header(&r, "Access-Control-Allow-Credentials");
    ht_resp_free(&r);
    r = request(&any, "OPTIONS", "/v1/execute", origins[k], "POST", NULL);
    assert_int_equal(r.status, 204);
    expect_header(&r, "Access-Control-Allow-Origin", "*");
    expect_header(&r, "Access-Control-Allow-Methods", "POST");
    expect_no_header(&r, "Access-Control-Allow-Credentials");
    ht_resp_free(&r);
  }
  ht_resp r = request(&any, NULL, "/health", NULL, NULL, NULL);
  expect_no_cors(&r);
  ht_resp_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_sends_no_cors_headers),
      cmocka_unit_test(test_allowed_origin_is_echoed),
      cmocka_unit_test(test_error_replies_carry_cors_headers),
      cmocka_unit_test(test_execute_from_allowed_origin),
      cmocka_unit_test(test_preflight_from_allowed_origin),
      cmocka_unit_test(test_refused_origins),
      cmocka_unit_test(test_any_origin),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  return rc + ht_failures();
}
