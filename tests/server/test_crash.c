/*
 * test_crash.c: crash safety. Concurrent clients drive the real server; the server is killed with
 * SIGKILL while requests are in flight, then started again on the same data directory. Every
 * request that was answered 200 before the kill must verify afterwards (its record was durable
 * before its reply: 0 lost records), and the key ring must be intact: the same current key, and
 * every key that decrypted a request before the kill still listed (and still decrypting).
 *
 * Two keys are live during the load (the clock is moved past one rotation first), so the requests
 * are sealed to both the previous and the current key. Bounded: a few seconds of load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "harness.h"

#define CLIENTS 8
#define MAX_ANSWERS 200000
#define LOAD_SECONDS 2

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

typedef struct answer {
  char request_id[37];
  char result_commitment[65];
  char key_id[17];
} answer;

typedef struct load {
  ht_server *s;
  char *bodies[2]; /* sealed to the previous and to the current key */
  atomic_bool stop;
  pthread_mutex_t mu;
  answer *answers; /* 200s received */
  size_t count;
  atomic_ulong failures; /* transport errors (expected once the server is killed) */
} load;

/* Records a 200's ids; a transport error (expected once the server is killed) stops the client. */
static bool on_answer(void *ctx, const ht_load_answer *r) {
  load *l = ctx;
  if (!r->ok) {
    atomic_fetch_add(&l->failures, 1);
    return false; /* the server is gone */
  }
  json_t *j = r->status == 200 && r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
  if (j) {
    pthread_mutex_lock(&l->mu);
    if (l->count < MAX_ANSWERS) {
      answer *a = &l->answers[l->count++];
      snprintf(a->request_id, sizeof a->request_id, "%s", str(j, "request_id"));
      snprintf(a->result_commitment, sizeof a->result_commitment, "%s",
               str(j, "result_commitment"));
      snprintf(a->key_id, sizeof a->key_id, "%s", str(j, "key_id"));
    }
    pthread_mutex_unlock(&l->mu);
    json_decref(j);
  }
  return true;
}

/* One client: a kept-alive connection sending execute requests (sealed to either key in turn)
 * until stopped or refused. */
static void *client(void *arg) {
  load *l = arg;
  ht_load_client(l->s, l->bodies, 2, &l->stop, on_answer, l);
  return NULL;
}

typedef struct keyring_view {
  char current[17];
  char ids[8][17];
  size_t count;
} keyring_view;

static void keys_of(ht_server *s, keyring_view *v) {
  memset(v, 0, sizeof *v);
  ht_resp r = ht_get(s, "/v1/keys", NULL);
  assert_int_equal(r.status, 200);
  size_t k;
  json_t *e;
  json_array_foreach(json_object_get(r.json, "keys"), k, e) {
    if (v->count < 8) snprintf(v->ids[v->count++], 17, "%s", str(e, "key_id"));
    if (json_is_true(json_object_get(e, "current"))) snprintf(v->current, 17, "%s", str(e, "key_id"));
  }
  ht_resp_free(&r);
}

static bool listed(const keyring_view *v, const char *id) {
  for (size_t k = 0; k < v->count; k++)
    if (strcmp(v->ids[k], id) == 0) return true;
  return false;
}

typedef struct two_keys {
  ht_server *s;
  char old[17];
} two_keys;

static bool rotated(void *arg) {
  two_keys *t = arg;
  keyring_view v;
  keys_of(t->s, &v);
  return v.count >= 2 && strcmp(v.current, t->old) != 0 && listed(&v, t->old);
}

static void test_sigkill_under_load(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.test_clock = true, .max_concurrent = 100, .rps = 1000000, .burst = 1000000};
  ht_start(&s, &o);

  /* A body sealed to the first key, then a rotation, then one sealed to the second. */
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *k1 = NULL, *k2 = NULL;
  json_t *req1 = ht_exec_request(&s, wasm, len, "add", NULL, &k1);
  two_keys t = {.s = &s};
  keyring_view before;
  keys_of(&s, &before);
  snprintf(t.old, sizeof t.old, "%s", before.current);
  ht_set_clock(&s, 3600 + 60);
  assert_true(ht_wait_for(rotated, &t, 30));
  json_t *req2 = ht_exec_request(&s, wasm, len, "add", NULL, &k2);
  json_t *args = json_pack("[{s:i},{s:i}]", "value", 40, "value", 2);
  json_object_set(req1, "arguments", args);
  json_object_set(req2, "arguments", args);
  json_decref(args);

  load l = {.s = &s};
  l.bodies[0] = json_dumps(req1, JSON_COMPACT);
  l.bodies[1] = json_dumps(req2, JSON_COMPACT);
  l.answers = calloc(MAX_ANSWERS, sizeof *l.answers);
  assert_non_null(l.answers);
  pthread_mutex_init(&l.mu, NULL);
  atomic_init(&l.stop, false);
  atomic_init(&l.failures, 0);
  keys_of(&s, &before);

  pthread_t threads[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) assert_int_equal(pthread_create(&threads[i], NULL, client, &l), 0);
  struct timespec ts = {LOAD_SECONDS, 0};
  nanosleep(&ts, NULL);
  /* Killed with requests in flight: the clients are still sending. */
  pthread_mutex_lock(&l.mu);
  size_t answered_before_kill = l.count;
  pthread_mutex_unlock(&l.mu);
  assert_int_equal(ht_stop_signal(&s, SIGKILL), -1);
  atomic_store(&l.stop, true);
  for (int i = 0; i < CLIENTS; i++) pthread_join(threads[i], NULL);
  fprintf(stderr, "crash test: %zu answered 200 (%zu when SIGKILL was sent), %lu transport errors\n",
          l.count, answered_before_kill, (unsigned long)atomic_load(&l.failures));
  assert_true(l.count >= 20); /* the load did run */

  ht_restart(&s);

  /* The key ring: the same current key, every earlier key still listed. */
  keyring_view after;
  keys_of(&s, &after);
  assert_string_equal(after.current, before.current);
  for (size_t k = 0; k < before.count; k++) assert_true(listed(&after, before.ids[k]));

  /* 0 lost records: every 200 verifies, with its result commitment. */
  size_t lost = 0;
  bool used_old = false, used_new = false;
  for (size_t i = 0; i < l.count; i++) {
    const answer *a = &l.answers[i];
    assert_true(listed(&after, a->key_id));
    used_old |= strcmp(a->key_id, t.old) == 0;
    used_new |= strcmp(a->key_id, before.current) == 0;
    char path[256];
    snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=result&hash_value=%s",
             a->request_id, a->result_commitment);
    ht_resp r = ht_get(&s, path, NULL);
    if (r.status != 200 || !json_is_true(json_object_get(r.json, "verified"))) {
      if (lost < 5) fprintf(stderr, "lost: %s (HTTP %ld) %s\n", a->request_id, r.status, r.body);
      lost++;
    }
    ht_resp_free(&r);
  }
  assert_int_equal(lost, 0);
  assert_true(used_old && used_new);

  /* Both keys still decrypt after the restart. */
  ht_resp r = ht_execute(&s, req1, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  r = ht_execute(&s, req2, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  ht_stop(&s);
  ht_cleanup(&s);
  pthread_mutex_destroy(&l.mu);
  free(l.answers);
  free(l.bodies[0]);
  free(l.bodies[1]);
  json_decref(req1);
  json_decref(req2);
  hv_client_key_free(k1);
  hv_client_key_free(k2);
  free(wasm);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sigkill_under_load),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc + ht_failures();
}
