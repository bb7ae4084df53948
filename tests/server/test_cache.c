/*
 * test_cache.c: the compiled-module cache through the real server. A cached module gives every
 * execution a fresh instance (state.wat: a mutable global, a memory cell, a data segment, a table
 * slot and a start function, all changed by each call, all found at their initial values by
 * every execution, concurrent ones included); `module_cached` and the cache metrics say what
 * really happened (a first execution compiles, the next ones hit; modules that fail decoding or
 * the sandbox policy are never kept).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* What bump() returns on an instance nobody else touched (see state.wat). */
#define FRESH_STATE 1000072

static ht_server server;

static int setup(void **state) {
  (void)state;
  ht_start(&server, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ht_stop(&server);
  ht_cleanup(&server);
  return 0;
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

typedef struct cache_counts {
  long long hits, misses, entries;
} cache_counts;

static cache_counts counts(void) {
  ht_req req = {.path = "/metrics", .api_key = HT_API_KEY, .accept = "application/json"};
  ht_resp r = ht_http(&server, &req);
  assert_int_equal(r.status, 200);
  cache_counts c = {
      .hits = json_integer_value(json_object_get(r.json, "module_cache_hits_total")),
      .misses = json_integer_value(json_object_get(r.json, "module_cache_misses_total")),
      .entries = json_integer_value(json_object_get(r.json, "module_cache_entries")),
  };
  ht_resp_free(&r);
  return c;
}

static bool cached_flag(const ht_resp *r) {
  json_t *v = json_object_get(json_object_get(r->json, "execution_summary"), "module_cached");
  assert_true(json_is_boolean(v));
  return json_is_true(v);
}

/* The record of a request says the same as its reply. */
static void expect_recorded_flag(const char *id, bool cached) {
  char path[128];
  snprintf(path, sizeof path, "/v1/verify/%s", id);
  ht_resp r = ht_get(&server, path, NULL);
  assert_int_equal(r.status, 200);
  assert_true(cached_flag(&r) == cached);
  ht_resp_free(&r);
}

/* Runs state.wat's bump() with a fresh seal; returns its result and whether it hit the cache. */
static int32_t bump(const uint8_t *wasm, size_t len, bool *cached) {
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&server, wasm, len, "bump", NULL, &key);
  ht_resp r = ht_execute(&server, req, HT_API_KEY);
  hv_result_document *doc = ht_open_result(&r, key, "bump", wasm, len, NULL, 0);
  assert_int_equal(doc->result_count, 1);
  int32_t v = doc->results[0].num.of.i32;
  *cached = cached_flag(&r);
  expect_recorded_flag(str(r.json, "request_id"), *cached);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  return v;
}

static void test_fresh_instance_per_execution(void **state) {
  (void)state;
  size_t len;
  uint8_t *wasm = ht_wasm("state", &len);
  cache_counts c0 = counts();
  bool cached = true;
  assert_int_equal(bump(wasm, len, &cached), FRESH_STATE);
  assert_false(cached); /* compiled */
  cache_counts c1 = counts();
  assert_int_equal(c1.misses, c0.misses + 1);
  assert_int_equal(c1.hits, c0.hits);
  assert_int_equal(c1.entries, c0.entries + 1);

  /* The cached module: a new instance, the initial state, every time. */
  for (int k = 0; k < 3; k++) {
    assert_int_equal(bump(wasm, len, &cached), FRESH_STATE);
    assert_true(cached);
  }
  cache_counts c2 = counts();
  assert_int_equal(c2.hits, c1.hits + 3);
  assert_int_equal(c2.misses, c1.misses);
  assert_int_equal(c2.entries, c1.entries);
  free(wasm);
}

typedef struct concurrent {
  const uint8_t *wasm;
  size_t len;
  int rounds;
  int fresh; /* executions that saw the initial state */
} concurrent;

static void *bumper(void *arg) {
  concurrent *c = arg;
  for (int k = 0; k < c->rounds; k++) {
    bool cached;
    if (bump(c->wasm, c->len, &cached) == FRESH_STATE) c->fresh++;
  }
  return NULL;
}

/* Executions of one cached module running at the same time never see each other's changes. */
static void test_concurrent_executions_share_no_state(void **state) {
  (void)state;
  size_t len;
  uint8_t *wasm = ht_wasm("state", &len);
  concurrent c[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    c[i] = (concurrent){.wasm = wasm, .len = len, .rounds = 5};
    assert_int_equal(pthread_create(&t[i], NULL, bumper, &c[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(c[i].fresh, c[i].rounds);
  }
  free(wasm);
}

/* A module that does not decode, or that imports, is compiled (a miss) every time, never kept. */
static void test_refused_modules_are_not_kept(void **state) {
  (void)state;
  size_t len;
  uint8_t *imports = ht_wasm("import", &len);
  uint8_t junk[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff};
  cache_counts c0 = counts();
  for (int k = 0; k < 2; k++) {
    const uint8_t *w = k == 0 ? imports : junk;
    size_t n = k == 0 ? len : sizeof junk;
    for (int rep = 0; rep < 2; rep++) {
      hv_client_key *key = NULL;
      json_t *req = ht_exec_request(&server, w, n, "main", NULL, &key);
      ht_resp r = ht_execute(&server, req, HT_API_KEY);
      ht_assert_error(&r, 422, "INVALID_WASM");
      assert_false(cached_flag(&r));
      ht_resp_free(&r);
      json_decref(req);
      hv_client_key_free(key);
    }
  }
  cache_counts c1 = counts();
  assert_int_equal(c1.misses, c0.misses + 4);
  assert_int_equal(c1.hits, c0.hits);
  assert_int_equal(c1.entries, c0.entries);
  free(imports);
}

/* Two different modules are two entries; each is cached on its own. */
static void test_distinct_modules(void **state) {
  (void)state;
  size_t len_a, len_b;
  uint8_t *a = ht_wasm("add", &len_a), *b = ht_wasm("state", &len_b);
  bool cached;
  (void)bump(b, len_b, &cached); /* state: cached by the tests before, or now */
  cache_counts c0 = counts();
  for (int k = 0; k < 2; k++) {
    hv_client_key *key = NULL;
    json_t *req = ht_exec_request(&server, a, len_a, "answer", NULL, &key);
    ht_resp r = ht_execute(&server, req, HT_API_KEY);
    hv_commit_document_free(ht_open_result(&r, key, "answer", a, len_a, NULL, 0));
    cache_counts c = counts();
    /* add.wat may have been cached already by an earlier test in this process: decide from k. */
    if (k == 1) assert_true(cached_flag(&r));
    assert_int_equal(c.hits + c.misses, c0.hits + c0.misses + k + 1);
    ht_resp_free(&r);
    json_decref(req);
    hv_client_key_free(key);
  }
  assert_int_equal(bump(b, len_b, &cached), FRESH_STATE);
  assert_true(cached);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_instance_per_execution),
      cmocka_unit_test(test_concurrent_executions_share_no_state),
      cmocka_unit_test(test_refused_modules_are_not_kept),
      cmocka_unit_test(test_distinct_modules),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  return rc + ht_failures(); /* a failed stop in the group teardown counts too */
}
