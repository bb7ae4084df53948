/*
 * test_tenancy.c: wasm.worker_tenancy through the real server (docs/workers.md, "Tenancy"),
 * whatever HV_TEST_EXECUTOR says (these servers always run `wasm.executor: process`).
 *
 *   dedicated  three API keys in turn on two workers (the default tenancy): no worker process ever
 *              runs jobs of two keys, seen from outside; hypervisor_worker_recycles_total rises,
 *              one worker.recycled line per recycle, with the API key ids.
 *   spare      the same with the default worker_processes (four per thread, eight here): each key
 *              keeps a worker of its own, no recycle.
 *   shared     the same sequence: a worker runs jobs of several keys, no recycle.
 *   leak       two keys in turn on one worker, a recycle per request: the server's descriptors,
 *              children (one worker, no zombie) and memory stay where they were.
 *
 * Which worker ran a request is read from /proc alone, with no help from the server: requests go
 * one at a time; an idle worker sleeps in read() on its channel, so the one that ran the request
 * is the one whose voluntary context switches (/proc/PID/status) moved, or a new process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define MAX_WORKERS 16
#define ROTATION_JOBS 24
#define LEAK_JOBS 500

static const char *const api_keys[] = {HT_API_KEY, HT_OTHER_API_KEY, HT_THIRD_API_KEY};

/* The server's workers and how often each has slept (voluntary context switches). */
typedef struct snapshot {
  int n;
  int pid[MAX_WORKERS];
  long switches[MAX_WORKERS];
} snapshot;

/* The number after "\nNAME:" in /proc/PID/status; -1 when it is not there. */
static long status_field(int pid, const char *name) {
  char path[64], key[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  snprintf(key, sizeof key, "\n%s:", name);
  char *text = ht_read_text(path);
  const char *at = strstr(text, key);
  long v = at ? atol(at + strlen(key)) : -1;
  free(text);
  return v;
}

static snapshot take(pid_t server) {
  snapshot s = {0};
  s.n = ht_children(server, "hv-worker", false, s.pid, MAX_WORKERS);
  for (int k = 0; k < s.n; k++) s.switches[k] = status_field(s.pid[k], "voluntary_ctxt_switches");
  return s;
}

static bool same(const snapshot *a, const snapshot *b) {
  if (a->n != b->n) return false;
  for (int k = 0; k < a->n; k++)
    if (a->pid[k] != b->pid[k] || a->switches[k] != b->switches[k]) return false;
  return true;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Waits until every worker sleeps: the snapshot no longer changes over 30 ms. */
static snapshot settled(pid_t server) {
  snapshot s = take(server);
  for (int k = 0; k < 200; k++) {
    sleep_ms(30);
    snapshot t = take(server);
    if (same(&s, &t)) return s;
    s = t;
  }
  fail_msg("the workers never settled");
  return s;
}

/* Which worker processes ran keys[i] (a bit per key). */
typedef struct ledger {
  int n;
  int pid[256];
  unsigned keys[256];
} ledger;

/* Adds `key` to every worker that ran something between `before` and `after`: a new process or
 * one that slept again. Fails when none did. */
static void record(ledger *l, const snapshot *before, const snapshot *after, unsigned key) {
  int ran = 0;
  for (int k = 0; k < after->n; k++) {
    int was = 0;
    while (was < before->n && before->pid[was] != after->pid[k]) was++;
    if (was < before->n && before->switches[was] == after->switches[k]) continue;
    int at = 0;
    while (at < l->n && l->pid[at] != after->pid[k]) at++;
    if (at == l->n) {
      assert_true(l->n < 256);
      l->pid[l->n] = after->pid[k];
      l->keys[l->n++] = 0;
    }
    l->keys[at] |= 1u << key;
    ran++;
  }
  assert_true(ran > 0);
}

/* Worker processes that ran requests of more than one API key. */
static int mixed(const ledger *l) {
  int n = 0;
  for (int k = 0; k < l->n; k++) n += (l->keys[k] & (l->keys[k] - 1)) != 0;
  return n;
}

static long long recycles(ht_server *s) {
  ht_req req = {.path = "/metrics", .api_key = HT_API_KEY, .accept = "application/json"};
  ht_resp r = ht_http(s, &req);
  assert_int_equal(r.status, 200);
  json_t *v = json_object_get(r.json, "worker_recycles_total");
  assert_true(json_is_integer(v));
  long long n = json_integer_value(v);
  ht_resp_free(&r);
  return n;
}

static int count_lines(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* A sealed request for add(40, 2) (the caller frees it, *wasm and *ck). */
static json_t *add_request(ht_server *s, uint8_t **wasm, hv_client_key **ck) {
  size_t len;
  *wasm = ht_wasm("add", &len);
  json_t *req = ht_exec_request(s, *wasm, len, "add", NULL, ck);
  json_object_set_new(req, "arguments", json_pack("[{s:i},{s:i}]", "value", 40, "value", 2));
  return req;
}

/* Runs ROTATION_JOBS requests of the three API keys in turn on a server with `workers` worker
 * processes; returns how many of them ran requests of several keys. */
static int rotate(ht_server *s, int workers) {
  uint8_t *wasm = NULL;
  hv_client_key *ck = NULL;
  json_t *req = add_request(s, &wasm, &ck);
  ledger l = {0};
  snapshot before = settled(s->pid);
  assert_int_equal(before.n, workers);
  for (int k = 0; k < ROTATION_JOBS; k++) {
    unsigned key = (unsigned)k % 3;
    ht_resp r = ht_execute(s, req, api_keys[key]);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
    snapshot after = settled(s->pid);
    assert_int_equal(after.n, workers); /* the count of workers stays */
    record(&l, &before, &after, key);
    before = after;
  }
  json_decref(req);
  hv_client_key_free(ck);
  free(wasm);
  return mixed(&l);
}

/* The default tenancy is dedicated: no worker ever serves two API keys; with two workers for
 * three keys, some requests recycle one. */
static void test_dedicated(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_concurrent = 2, .third_key = true, .executor = "process",
                  .worker_processes = 2};
  ht_start(&s, &o);
  assert_int_equal(recycles(&s), 0);
  assert_int_equal(rotate(&s, 2), 0);
  long long n = recycles(&s);
  fprintf(stderr, "dedicated: %d requests of 3 API keys on 2 workers, %lld recycles\n",
          ROTATION_JOBS, n);
  assert_true(n > 0);
  char *log = ht_read_text(s.log);
  assert_int_equal(count_lines(log, "\"event\":\"worker.recycled\""), n);
  const char *line = strstr(log, "\"event\":\"worker.recycled\"");
  assert_non_null(line);
  assert_non_null(strstr(line, "\"api_key_id\":\""));
  assert_non_null(strstr(line, "\"next_api_key_id\":\""));
  assert_non_null(strstr(line, "\"replace_ms\":"));
  assert_int_equal(count_lines(log, "\"event\":\"worker.replaced\""), 0); /* no fault */
  const char *started = strstr(log, "\"event\":\"server.started\"");
  assert_non_null(started);
  assert_non_null(strstr(started, "\"worker_tenancy\":\"dedicated\""));
  free(log);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* By default a dedicated pool keeps four worker processes per thread (two threads here): the
 * three keys keep a worker each between their requests, and none is recycled. */
static void test_spare_workers(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_concurrent = 2, .third_key = true, .executor = "process"};
  ht_start(&s, &o);
  assert_int_equal(rotate(&s, 8), 0);
  assert_int_equal(recycles(&s), 0);
  char *log = ht_read_text(s.log);
  assert_null(strstr(log, "\"event\":\"worker.recycled\""));
  const char *started = strstr(log, "\"event\":\"server.started\"");
  assert_non_null(started);
  assert_non_null(strstr(started, "\"worker_processes\":8"));
  free(log);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* worker_tenancy: shared keeps one pool for every key: the same sequence mixes keys on a worker
 * (which also shows that rotate() can see it) and recycles nothing. */
static void test_shared(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_concurrent = 2, .third_key = true, .executor = "process",
                  .worker_tenancy = "shared"};
  ht_start(&s, &o);
  assert_true(rotate(&s, 2) > 0);
  assert_int_equal(recycles(&s), 0);
  char *log = ht_read_text(s.log);
  assert_null(strstr(log, "\"event\":\"worker.recycled\""));
  free(log);
  ht_stop(&s);
  ht_cleanup(&s);
}

static int open_fds(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
  int n = 0;
  DIR *d = opendir(path);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* Two API keys in turn on one worker: every request recycles it. Nothing piles up in the server. */
static void test_recycles_leak_nothing(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_concurrent = 1, .executor = "process", .worker_processes = 1};
  ht_start(&s, &o);
  uint8_t *wasm = NULL;
  hv_client_key *ck = NULL;
  json_t *req = add_request(&s, &wasm, &ck);
  for (int k = 0; k < 40; k++) { /* warm up: the HTTP daemon's and the audit writer's buffers */
    ht_resp r = ht_execute(&s, req, api_keys[k % 2]);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
  }
  long long was = recycles(&s);
  int fds = open_fds(s.pid);
  long rss = status_field(s.pid, "VmRSS"); /* KiB */
  double t0 = ht_now();
  for (int k = 0; k < LEAK_JOBS; k++) {
    ht_resp r = ht_execute(&s, req, api_keys[k % 2]);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
  }
  double took = ht_now() - t0;
  assert_int_equal(recycles(&s) - was, LEAK_JOBS);
  int pids[8];
  assert_int_equal(ht_children(s.pid, NULL, false, pids, 8), 1); /* the one worker */
  assert_int_equal(ht_children(s.pid, NULL, true, pids, 8), 0);  /* no zombie */
  int fds_after = open_fds(s.pid);
  long grown = status_field(s.pid, "VmRSS") - rss;
  fprintf(stderr,
          "leak: %d requests, each a recycle, in %.2f s (%.2f ms each); server descriptors %d -> "
          "%d, RSS %+ld KiB\n",
          LEAK_JOBS, took, took * 1e3 / LEAK_JOBS, fds, fds_after, grown);
  assert_true(fds_after <= fds + 4); /* connections still closing may come and go */
#ifndef HV_TEST_SANITIZED /* there ht_stop fails on a leak; ASan's quarantine holds memory */
  assert_true(grown < 16 * 1024);
#endif
  json_decref(req);
  hv_client_key_free(ck);
  free(wasm);
  ht_stop(&s);
  ht_cleanup(&s);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dedicated),
      cmocka_unit_test(test_shared),
      cmocka_unit_test(test_spare_workers),
      cmocka_unit_test(test_recycles_leak_nothing),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc + ht_failures();
}
