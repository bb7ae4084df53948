/*
 * test_workers.c: the process executor's promises through the real server (docs/workers.md),
 * whatever HV_TEST_EXECUTOR says (these servers always run `wasm.executor: process`).
 *
 *   kill     SIGKILL of random workers while concurrent clients send execute requests: every 200
 *            verifies through /v1/verify, every other answer is 500 INTERNAL_ERROR with a
 *            request_id whose audit record says INTERNAL_ERROR, and the server goes on serving.
 *   memory   a scan of every live worker's memory (/proc/PID/maps and /proc/PID/mem) for the
 *            server's HPKE private key (from the key file in its data directory) finds nothing,
 *            and the same scan of the server process finds it (so the scan can fail). Needs the
 *            right to read another process's memory (root): skipped with one line otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define CLIENTS 8
#define MAX_ANSWERS 100000
#define LOAD_SECONDS 2
#define KILLS 10

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* The pids of `parent`'s live children running hv-worker, at most `max`. */
static int workers_of(pid_t parent, int *pids, int max) {
  return ht_children(parent, "hv-worker", false, pids, max);
}

/* ---- SIGKILL of random workers under load ------------------------------------------------- */

typedef struct answer {
  char request_id[37];
  char result_commitment[65];
  bool ok; /* 200; else 500 INTERNAL_ERROR */
} answer;

typedef struct load {
  ht_server *s;
  char *body;
  atomic_bool stop;
  pthread_mutex_t mu;
  answer *answers;
  size_t count;
  atomic_ulong unexpected; /* answers that are neither 200 nor 500 INTERNAL_ERROR with an id */
} load;

/* Every answer must be a 200 or a 500 INTERNAL_ERROR with a request id (a killed worker); the
 * ids are kept to be verified. */
static bool on_answer(void *ctx, const ht_load_answer *r) {
  load *l = ctx;
  json_t *j = r->ok && r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
  answer a = {.ok = r->status == 200};
  const char *id = j ? str(j, "request_id") : NULL;
  bool fine = j && id && strlen(id) == 36 &&
              (r->status == 200 || (r->status == 500 && str(j, "error_code") &&
                                    strcmp(str(j, "error_code"), "INTERNAL_ERROR") == 0));
  if (!fine) {
    if (atomic_fetch_add(&l->unexpected, 1) < 3)
      fprintf(stderr, "unexpected answer: %s, HTTP %ld: %s\n", r->ok ? "answered" : "no answer",
              r->status, r->body ? r->body : "");
  } else {
    snprintf(a.request_id, sizeof a.request_id, "%s", id);
    if (a.ok) snprintf(a.result_commitment, sizeof a.result_commitment, "%s",
                       str(j, "result_commitment"));
    pthread_mutex_lock(&l->mu);
    if (l->count < MAX_ANSWERS) l->answers[l->count++] = a;
    pthread_mutex_unlock(&l->mu);
  }
  json_decref(j);
  return true;
}

static void *client(void *arg) {
  load *l = arg;
  ht_load_client(l->s, &l->body, 1, &l->stop, on_answer, l);
  return NULL;
}

static void test_kill_workers_under_load(void **state) {
  (void)state;
  ht_server s;
  /* One worker per thread (worker_processes is raised to the threads): every worker killed is one
   * that runs jobs of this one key, not an idle spare. */
  ht_options o = {.max_concurrent = 100, .rps = 1000000, .burst = 1000000, .executor = "process",
                  .worker_processes = 1};
  ht_start(&s, &o);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *ck = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "add", NULL, &ck);
  json_t *args = json_pack("[{s:i},{s:i}]", "value", 40, "value", 2);
  json_object_set_new(req, "arguments", args);

  load l = {.s = &s, .body = json_dumps(req, JSON_COMPACT)};
  l.answers = calloc(MAX_ANSWERS, sizeof *l.answers);
  assert_non_null(l.answers);
  pthread_mutex_init(&l.mu, NULL);
  atomic_init(&l.stop, false);
  atomic_init(&l.unexpected, 0);
  pthread_t threads[CLIENTS];
  for (int i = 0; i < CLIENTS; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, client, &l), 0);

  /* KILLS random workers, spread over the load. */
  unsigned seed = (unsigned)time(NULL);
  fprintf(stderr, "worker kill test: seed %u\n", seed);
  int killed = 0;
  for (int k = 0; k < KILLS; k++) {
    struct timespec ts = {0, LOAD_SECONDS * 1000000000L / KILLS};
    nanosleep(&ts, NULL);
    int pids[64];
    int n = workers_of(s.pid, pids, 64);
    assert_true(n > 0);
    if (kill(pids[rand_r(&seed) % n], SIGKILL) == 0) killed++;
  }
  atomic_store(&l.stop, true);
  for (int i = 0; i < CLIENTS; i++) pthread_join(threads[i], NULL);

  size_t ok = 0, failed = 0;
  for (size_t i = 0; i < l.count; i++) {
    if (l.answers[i].ok) ok++;
    else failed++;
  }
  fprintf(stderr, "worker kill test: %d workers killed, %zu answered 200, %zu INTERNAL_ERROR\n",
          killed, ok, failed);
  assert_int_equal(atomic_load(&l.unexpected), 0);
  assert_int_equal(killed, KILLS);
  assert_true(ok >= 20); /* the load did run */

  /* Every 200 verifies; every failure has its audit record, which says INTERNAL_ERROR. */
  for (size_t i = 0; i < l.count; i++) {
    const answer *a = &l.answers[i];
    char path[256];
    if (a->ok)
      snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=result&hash_value=%s",
               a->request_id, a->result_commitment);
    else
      snprintf(path, sizeof path, "/v1/verify/%s", a->request_id);
    ht_resp r = ht_get(&s, path, NULL);
    assert_int_equal(r.status, 200);
    if (a->ok)
      assert_true(json_is_true(json_object_get(r.json, "verified")));
    else
      assert_string_equal(str(r.json, "status"), "INTERNAL_ERROR");
    ht_resp_free(&r);
  }

  /* The server goes on: a full set of workers, and requests answered. */
  int pids[64];
  assert_true(workers_of(s.pid, pids, 64) > 0);
  for (int k = 0; k < 4; k++) {
    ht_resp r = ht_execute(&s, req, HT_API_KEY);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
  }
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "worker.replaced"));
  /* The start-up line says what confinement the workers got (and the fallback, if any). */
  const char *started = strstr(log, "\"event\":\"server.started\"");
  assert_non_null(started);
  assert_non_null(strstr(started, "\"executor\":\"process\""));
  assert_non_null(strstr(started, "\"worker_namespaces\":\""));
  assert_null(strstr(started, "\"worker_namespaces\":\"\""));
  free(log);

  ht_stop(&s);
  ht_cleanup(&s);
  pthread_mutex_destroy(&l.mu);
  free(l.answers);
  free(l.body);
  json_decref(req);
  hv_client_key_free(ck);
  free(wasm);
}

/* ---- No private key in a worker's memory ------------------------------------------------- */

/* The private key of the server's current key ring entry, from its file in DIR/data/keys
 * (src/crypto/keyring.c: "private_key <hex>"), into sk. */
static size_t private_key_of(ht_server *s, uint8_t sk[64]) {
  char dir[400];
  snprintf(dir, sizeof dir, "%s/data/keys", s->dir);
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  size_t n = 0;
  while ((e = readdir(d)) && n == 0) {
    size_t len = strlen(e->d_name);
    if (len < 5 || strcmp(e->d_name + len - 4, ".key") != 0 || e->d_name[0] == '.') continue;
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    char *text = ht_read_text(path);
    const char *hex = text ? strstr(text, "\nprivate_key ") : NULL;
    if (hex) {
      hex += strlen("\nprivate_key ");
      unsigned byte;
      while (n < 64 && sscanf(hex + 2 * n, "%2x", &byte) == 1 && hex[2 * n] != '\n')
        sk[n++] = (uint8_t)byte;
    }
    if (text) {
      memset(text, 0, strlen(text));
      free(text);
    }
  }
  closedir(d);
  assert_true(n == 32); /* P-256 */
  return n;
}

/* 1: `needle` (or its bytes reversed: a BIGNUM's limbs on a little-endian machine) is in the
 * readable memory of `pid`; 0: it is not; -1: the memory cannot be read (no permission). */
static int memory_holds(pid_t pid, const uint8_t *needle, size_t n) {
  uint8_t rev[64];
  for (size_t k = 0; k < n; k++) rev[k] = needle[n - 1 - k];
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *maps = fopen(path, "r");
  if (!maps) {
    close(fd);
    return -1;
  }
  int found = 0;
  size_t cap = 1 << 20;
  uint8_t *buf = malloc(cap + 64);
  assert_non_null(buf);
  char line[512];
  unsigned regions = 0, read_ok = 0;
  while (!found && fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r') continue;
    if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]")) continue;
    /* Reservations of a gigabyte or more are address space, not data: AddressSanitizer's shadow
     * (terabytes of zero pages in a sanitized build). Keys and heaps are in smaller mappings. */
    if (hi - lo >= (1ul << 30)) continue;
    regions++;
    /* In chunks that overlap by n - 1 bytes, so a key across a boundary is found. */
    for (unsigned long at = lo; at < hi && !found;) {
      size_t want = hi - at < cap ? hi - at : cap;
      ssize_t got = pread(fd, buf, want, (off_t)at);
      if (got <= 0) break;
      read_ok++;
      for (ssize_t k = 0; k + (ssize_t)n <= got; k++)
        if ((buf[k] == needle[0] && memcmp(buf + k, needle, n) == 0) ||
            (buf[k] == rev[0] && memcmp(buf + k, rev, n) == 0)) {
          found = 1;
          break;
        }
      if ((size_t)got < want || at + (unsigned long)got >= hi) break;
      at += (unsigned long)got - (n - 1);
    }
  }
  explicit_bzero(buf, cap + 64);
  free(buf);
  fclose(maps);
  close(fd);
  if (!found && regions > 0 && read_ok == 0) return -1; /* nothing could be read */
  return found;
}

static void test_no_key_in_worker_memory(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.executor = "process"};
  ht_start(&s, &o);
  /* Some work first, so that workers have run a job (and the server has used its key). */
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *ck = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "add", NULL, &ck);
  json_object_set_new(req, "arguments", json_pack("[{s:i},{s:i}]", "value", 1, "value", 2));
  for (int k = 0; k < 8; k++) {
    ht_resp r = ht_execute(&s, req, HT_API_KEY);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
  }
  uint8_t sk[64];
  size_t n = private_key_of(&s, sk);
  int in_server = memory_holds(s.pid, sk, n);
  if (in_server < 0) {
    fprintf(stderr, "SKIP test_no_key_in_worker_memory: cannot read another process's memory "
                    "(needs root or CAP_SYS_PTRACE)\n");
  } else {
    assert_int_equal(in_server, 1); /* the scan finds the key where it is */
    int pids[64];
    int workers = workers_of(s.pid, pids, 64);
    assert_true(workers > 0);
    for (int k = 0; k < workers; k++) {
      int in_worker = memory_holds(pids[k], sk, n);
      assert_int_not_equal(in_worker, -1); /* root reads a non-dumpable process too */
      assert_int_equal(in_worker, 0);
    }
    fprintf(stderr, "memory scan: the key is in the server process, in none of %d workers\n",
            workers);
  }
  explicit_bzero(sk, sizeof sk);
  ht_stop(&s);
  ht_cleanup(&s);
  json_decref(req);
  hv_client_key_free(ck);
  free(wasm);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_workers_under_load),
      cmocka_unit_test(test_no_key_in_worker_memory),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc + ht_failures();
}
