/*
 * test_worker.c: the process executor (src/worker/wk_pool.c) with real worker processes
 * (hv-worker-test, and hv-worker for what production must not do), checked from outside through
 * /proc: confinement (seccomp filter mode, no new privileges, one descriptor, limits, no
 * environment), executions, the worker's own deadline, and faults — a system call off the
 * allow-list, a crash, a hang past the deadline, a malformed or oversized outcome — each killing
 * and replacing only the worker concerned, with INTERNAL_ERROR for its request alone.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "wk_pool.h"

/* ---- Helpers -------------------------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint8_t *buf = malloc(1 << 20);
  assert_non_null(buf);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

/* The text of /proc/PID/NAME ("" when it cannot be read). */
static void proc_read(int pid, const char *name, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
  buf[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f) return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* The pids of this process's children (the workers), at most `max`: with `zombie` those that
 * ended and wait to be reaped, else the others. */
static int children_in(bool zombie, int *pids, int max) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char stat[512];
    proc_read(pid, "stat", stat, sizeof stat);
    const char *close_paren = strrchr(stat, ')');
    int ppid = 0;
    char state;
    if (close_paren && sscanf(close_paren + 2, "%c %d", &state, &ppid) == 2 && ppid == getpid() &&
        (state == 'Z') == zombie)
      pids[n++] = pid;
  }
  closedir(d);
  return n;
}

static int children(int *pids, int max) { return children_in(false, pids, max); }

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_reason[512];
static int replaced, started;
static wk_hello last_hello;
/* WK_EVENT_RECYCLED: how many, how long each took (the last RECYCLE_MAX), the last one's names. */
#define RECYCLE_MAX 4096
static int recycled;
static uint64_t recycle_ns[RECYCLE_MAX];
static char recycled_from[WK_TENANT_NAME_SIZE], recycled_for[WK_TENANT_NAME_SIZE];

static void on_event(void *arg, const wk_event *ev) {
  (void)arg;
  pthread_mutex_lock(&ev_mu);
  if (ev->kind == WK_EVENT_RECYCLED) {
    recycle_ns[recycled % RECYCLE_MAX] = ev->replace_ns;
    recycled++;
    snprintf(recycled_from, sizeof recycled_from, "%s", ev->tenant);
    snprintf(recycled_for, sizeof recycled_for, "%s", ev->next_tenant);
  } else if (ev->kind == WK_EVENT_REPLACED) {
    replaced++;
    snprintf(last_reason, sizeof last_reason, "%s", ev->reason);
  } else if (ev->kind == WK_EVENT_STARTED) {
    started++;
    last_hello = *ev->hello;
  } else {
    snprintf(last_reason, sizeof last_reason, "spawn failed: %s", ev->reason);
  }
  pthread_mutex_unlock(&ev_mu);
}

static int replaced_count(void) {
  pthread_mutex_lock(&ev_mu);
  int n = replaced;
  pthread_mutex_unlock(&ev_mu);
  return n;
}

static executor *pool(const char *bin, uint32_t workers) {
  wk_pool_opts opts = {.worker_path = bin,
                       .workers = workers,
                       .max_memory_mb = 64,
                       .max_job_bytes = 1 << 20,
                       .grace_ns = 300000000u,
                       .event = on_event};
  char why[256] = "";
  executor *ex = wk_pool_new(16, 16, &opts, why, sizeof why);
  if (!ex) fail_msg("wk_pool_new: %s", why);
  return ex;
}

static void pool_free(executor *ex) {
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
}

static uint8_t *add_wasm;
static size_t add_len;

/* Runs `name` of add.wasm with two i32 arguments under `timeout_ms`. */
static exec_outcome *run(executor *ex, const char *name, int64_t a, int64_t b, uint64_t timeout_ms) {
  exec_arg args[2] = {{.kind = EXEC_ARG_INT, .i = a}, {.kind = EXEC_ARG_INT, .i = b}};
  exec_job job = {.wasm = add_wasm,
                  .wasm_len = add_len,
                  .function_name = name,
                  .args = args,
                  .arg_count = strcmp(name, "add") == 0 ? 2 : 0,
                  .max_result_bytes = 1024,
                  .limits = {.gas_limit = UINT64_MAX / 2, .max_memory_pages = 1024,
                             .timeout_ns = timeout_ms * 1000000u},
                  .tenant = 1};
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  return out;
}

static void expect_add(executor *ex) {
  exec_outcome *out = run(ex, "add", 2, 3, 5000);
  assert_int_equal(out->code, OUTCOME_OK);
  assert_int_equal(out->result_count, 1);
  assert_int_equal(out->results[0].num.of.i32, 5);
  assert_int_equal(out->arg_count, 2);
  assert_true(out->ran);
  exec_outcome_free(out);
}

static int setup(void **state) {
  (void)state;
  add_wasm = read_file(HV_WORKER_WASM_DIR "/add.wasm", &add_len);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(add_wasm);
  return 0;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void test_confined(void **state) {
  (void)state;
  executor *ex = pool(HV_WORKER_TEST_BIN, 2);
  int pids[8];
  assert_int_equal(children(pids, 8), 2);
  for (int k = 0; k < 2; k++) {
    char buf[8192];
    proc_read(pids[k], "status", buf, sizeof buf);
    assert_non_null(strstr(buf, "\nSeccomp:\t2\n"));  /* filter mode */
    assert_non_null(strstr(buf, "\nNoNewPrivs:\t1\n"));
    proc_read(pids[k], "limits", buf, sizeof buf);
    assert_non_null(strstr(buf, "Max core file size        0                    0"));
    assert_non_null(strstr(buf, "Max open files            4                    4"));
    assert_non_null(strstr(buf, "Max file size             0                    0"));
    assert_non_null(strstr(buf, "Max address space"));
    assert_null(strstr(buf, "Max address space         unlimited"));
    proc_read(pids[k], "environ", buf, sizeof buf);
    assert_string_equal(buf, ""); /* none of the server's environment */
    /* One descriptor: the channel, at 3 (readable here as root, or as the same user). */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pids[k]);
    DIR *d = opendir(path);
    if (d) {
      int n = 0;
      struct dirent *e;
      while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        assert_string_equal(e->d_name, "3");
        n++;
      }
      closedir(d);
      assert_int_equal(n, 1);
    }
  }
  expect_add(ex);
  pool_free(ex);
  assert_int_equal(children(pids, 8), 0); /* reaped */
}

/* A system call off the allow-list kills the worker (SIGSYS); that request alone fails and the
 * worker is replaced. */
static void expect_killed(const char *hook, const char *signal_name) {
  executor *ex = pool(HV_WORKER_TEST_BIN, 1);
  int before[4], after[4];
  assert_int_equal(children(before, 4), 1);
  int was = replaced_count();
  exec_outcome *out = run(ex, hook, 0, 0, 5000);
  assert_int_equal(out->code, OUTCOME_INTERNAL_ERROR);
  assert_string_equal(out->message, "the execution's worker process failed; it was replaced");
  exec_outcome_free(out);
  assert_int_equal(replaced_count(), was + 1);
  pthread_mutex_lock(&ev_mu);
  if (!strstr(last_reason, signal_name)) fail_msg("%s: %s", hook, last_reason);
  pthread_mutex_unlock(&ev_mu);
  assert_int_equal(children(after, 4), 1);
  assert_int_not_equal(after[0], before[0]);
  expect_add(ex); /* the replacement works */
  pool_free(ex);
}

static void test_open_killed(void **state) {
  (void)state;
  expect_killed("hv-test:open", "SIGSYS");
}

static void test_socket_killed(void **state) {
  (void)state;
  expect_killed("hv-test:socket", "SIGSYS");
}

static void test_execve_killed(void **state) {
  (void)state;
  expect_killed("hv-test:execve", "SIGSYS");
}

static void test_segv_replaced(void **state) {
  (void)state;
  expect_killed("hv-test:segv", "SIGSEGV");
}

static void test_garbage_replaced(void **state) {
  (void)state;
  expect_killed("hv-test:garbage", "malformed outcome");
  expect_killed("hv-test:huge", "oversized outcome");
}

/* The production worker has no hooks: the name is just a function the module does not export. */
static void test_production_has_no_hooks(void **state) {
  (void)state;
  executor *ex = pool(HV_WORKER_BIN, 1);
  int was = replaced_count();
  exec_outcome *out = run(ex, "hv-test:open", 0, 0, 5000);
  assert_int_equal(out->code, OUTCOME_FUNCTION_NOT_FOUND);
  exec_outcome_free(out);
  assert_int_equal(replaced_count(), was);
  pool_free(ex);
}

/* The engine's own deadline inside the worker: EXECUTION_TIMEOUT, and the worker stays. */
static void test_timeout_in_worker(void **state) {
  (void)state;
  executor *ex = pool(HV_WORKER_BIN, 1);
  int before[4], after[4];
  assert_int_equal(children(before, 4), 1);
  exec_outcome *out = run(ex, "spin", 0, 0, 200);
  assert_int_equal(out->code, OUTCOME_EXECUTION_TIMEOUT);
  assert_true(out->exec_ns >= 150000000u);
  exec_outcome_free(out);
  assert_int_equal(children(after, 4), 1);
  assert_int_equal(after[0], before[0]);
  /* A trap and a memory limit, as the thread executor words them. */
  out = run(ex, "boom", 0, 0, 1000);
  assert_int_equal(out->code, OUTCOME_EXECUTION_TRAP);
  assert_string_equal(out->message, "unreachable");
  exec_outcome_free(out);
  expect_add(ex);
  pool_free(ex);
}

typedef struct async_run {
  executor *ex;
  exec_outcome *out;
  const char *name;
} async_run;

static void *run_thread(void *arg) {
  async_run *a = arg;
  a->out = run(a->ex, a->name, 0, 0, 200);
  return NULL;
}

/* A worker that ignores its deadline is killed at deadline + grace; the other worker answers
 * meanwhile. */
static void test_hang_killed_others_go_on(void **state) {
  (void)state;
  executor *ex = pool(HV_WORKER_TEST_BIN, 2);
  int was = replaced_count();
  async_run hang = {.ex = ex, .name = "hv-test:hang"};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, run_thread, &hang), 0);
  struct timespec ts = {0, 50000000};
  nanosleep(&ts, NULL);
  expect_add(ex); /* on the other worker, while the first hangs */
  assert_int_equal(replaced_count(), was);
  pthread_join(t, NULL);
  assert_int_equal(hang.out->code, OUTCOME_INTERNAL_ERROR);
  exec_outcome_free(hang.out);
  assert_int_equal(replaced_count(), was + 1);
  pthread_mutex_lock(&ev_mu);
  assert_non_null(strstr(last_reason, "missed its deadline"));
  pthread_mutex_unlock(&ev_mu);
  int pids[4];
  assert_int_equal(children(pids, 4), 2);
  expect_add(ex);
  expect_add(ex);
  pool_free(ex);
}

/* Runs add(2, 3) under cache key `key` (NULL: none); returns whether the module came from a
 * worker's cache. */
static bool run_cached(executor *ex, const uint8_t *key) {
  exec_arg args[2] = {{.kind = EXEC_ARG_INT, .i = 2}, {.kind = EXEC_ARG_INT, .i = 3}};
  exec_job job = {.wasm = add_wasm, .wasm_len = add_len, .cache_key = key,
                  .function_name = "add", .args = args, .arg_count = 2,
                  .max_result_bytes = 1024,
                  .limits = {.gas_limit = 1000000, .max_memory_pages = 16,
                             .timeout_ns = 5000000000u},
                  .tenant = 1};
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_OK);
  assert_int_equal(out->results[0].num.of.i32, 5);
  bool cached = out->module_cached;
  exec_outcome_free(out);
  return cached;
}

/* Each worker keeps a compiled-module cache; a job goes to the worker that holds its key, so with
 * several workers every run after the first hits. Another key (the same module under another API
 * key) never sees that entry, and a job without a key is never looked up. The pool's figures are
 * the workers' sums. */
static void test_cache_affinity(void **state) {
  (void)state;
  wk_pool_opts opts = {.worker_path = HV_WORKER_BIN, .workers = 4, .max_memory_mb = 64,
                       .max_job_bytes = 1 << 20, .cache_mb = 8, .event = on_event};
  char why[256] = "";
  executor *ex = wk_pool_new(16, 16, &opts, why, sizeof why);
  if (!ex) fail_msg("wk_pool_new: %s", why);
  uint8_t key_a[32], key_b[32];
  memset(key_a, 0xa1, sizeof key_a);
  memset(key_b, 0xb2, sizeof key_b);
  assert_false(run_cached(ex, key_a));
  for (int k = 0; k < 12; k++) assert_true(run_cached(ex, key_a));
  assert_false(run_cached(ex, key_b)); /* same bytes, other tenant: compiled again */
  assert_true(run_cached(ex, key_b));
  assert_false(run_cached(ex, NULL));
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.cache_hits, 13);
  assert_int_equal(c.cache_misses, 2);
  assert_int_equal(c.cache_entries, 2);
  assert_int_equal(c.cache_max_bytes, (uint64_t)4 * 8 << 20);
  pool_free(ex);
}

/* Runs state.wat's bump() (its global, memory cell, data segment and table slot, all changed by
 * each call) as `tenant` under cache key `key`; returns what it found. */
static int32_t run_bump(executor *ex, const uint8_t *wasm, size_t len, const uint8_t *key,
                        uint64_t tenant) {
  exec_job job = {.wasm = wasm, .wasm_len = len, .cache_key = key, .function_name = "bump",
                  .max_result_bytes = 1024,
                  .limits = {.gas_limit = 1000000, .max_memory_pages = 16,
                             .timeout_ns = 5000000000u},
                  .tenant = tenant};
  assert_int_equal(ex->ops->reserve(ex, tenant), EXEC_OK);
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_OK);
  int32_t got = out->results[0].num.of.i32;
  exec_outcome_free(out);
  return got;
}

/* Tenant separation inside one worker: jobs of two API keys, from the cache and compiled, all on
 * the same process (WK_TENANCY_SHARED: with the default each tenant gets a worker of its own),
 * each finds the module's initial state (1000072, see state.wat), never what the previous job left
 * in its globals, memory, data or table. */
static void test_jobs_share_nothing(void **state) {
  (void)state;
  size_t len;
  uint8_t *wasm = read_file(HV_WORKER_WASM_DIR "/state.wasm", &len);
  wk_pool_opts opts = {.worker_path = HV_WORKER_BIN, .workers = 1, .max_memory_mb = 64,
                       .max_job_bytes = 1 << 20, .cache_mb = 8, .event = on_event,
                       .tenancy = WK_TENANCY_SHARED};
  char why[256] = "";
  executor *ex = wk_pool_new(4, 4, &opts, why, sizeof why);
  if (!ex) fail_msg("wk_pool_new: %s", why);
  int before[4], after[4];
  assert_int_equal(children(before, 4), 1);
  uint8_t key_a[32], key_b[32];
  memset(key_a, 0x11, sizeof key_a);
  memset(key_b, 0x22, sizeof key_b);
  for (int k = 0; k < 3; k++) {
    assert_int_equal(run_bump(ex, wasm, len, key_a, 1), 1000072);
    assert_int_equal(run_bump(ex, wasm, len, key_b, 2), 1000072);
    assert_int_equal(run_bump(ex, wasm, len, NULL, 3), 1000072);
  }
  assert_int_equal(children(after, 4), 1);
  assert_int_equal(after[0], before[0]); /* one process served them all */
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.cache_hits, 4); /* the cached module too gives a fresh instance */
  pool_free(ex);
  free(wasm);
}

/* ---- Tenancy -------------------------------------------------------------------------------- */

static int recycled_count(void) {
  pthread_mutex_lock(&ev_mu);
  int n = recycled;
  pthread_mutex_unlock(&ev_mu);
  return n;
}

static executor *tenancy_pool(uint32_t workers, wk_tenancy tenancy) {
  wk_pool_opts opts = {.worker_path = HV_WORKER_TEST_BIN, .workers = workers, .max_memory_mb = 64,
                       .max_job_bytes = 1 << 20, .event = on_event, .tenancy = tenancy};
  char why[256] = "";
  executor *ex = wk_pool_new(16, 16, &opts, why, sizeof why);
  if (!ex) fail_msg("wk_pool_new: %s", why);
  return ex;
}

/* The pid of the worker process that ran a job of `tenant` (hv-worker-test's hv-test:pid). */
static int32_t run_pid(executor *ex, uint64_t tenant) {
  char name[16];
  snprintf(name, sizeof name, "t%llu", (unsigned long long)tenant);
  exec_job job = {.wasm = add_wasm, .wasm_len = add_len, .function_name = "hv-test:pid",
                  .max_result_bytes = 1024,
                  .limits = {.gas_limit = 1000000, .max_memory_pages = 16,
                             .timeout_ns = 5000000000u},
                  .tenant = tenant, .tenant_name = name};
  assert_int_equal(ex->ops->reserve(ex, tenant), EXEC_OK);
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_OK);
  assert_int_equal(out->result_count, 1);
  int32_t pid = out->results[0].num.of.i32;
  exec_outcome_free(out);
  assert_true(pid > 0);
  return pid;
}

/* Runs `jobs` jobs of tenants 1 .. ntenants in turn; returns how many worker processes ran jobs
 * of more than one tenant. */
static int rotate_tenants(executor *ex, int jobs, unsigned ntenants) {
  struct {
    int32_t pid;
    unsigned tenants; /* a bit per tenant */
  } seen[256];
  int nseen = 0;
  for (int k = 0; k < jobs; k++) {
    unsigned tenant = 1 + (unsigned)k % ntenants;
    int32_t pid = run_pid(ex, tenant);
    int at = 0;
    while (at < nseen && seen[at].pid != pid) at++;
    if (at == nseen) {
      assert_true(nseen < 256);
      seen[nseen++].pid = pid;
      seen[at].tenants = 0;
    }
    seen[at].tenants |= 1u << tenant;
  }
  int mixed = 0;
  for (int at = 0; at < nseen; at++) mixed += (seen[at].tenants & (seen[at].tenants - 1)) != 0;
  return mixed;
}

/* Dedicated (the default): three tenants in turn on two workers. No process ever runs jobs of two
 * tenants; the third tenant's jobs make the pool recycle workers, counted and reported with the
 * tenants' names. Two tenants on two workers keep a worker each: no recycle. */
static void test_dedicated_workers(void **state) {
  (void)state;
  executor *ex = tenancy_pool(2, WK_TENANCY_DEDICATED);
  int was = recycled_count(), faults = replaced_count();
  assert_int_equal(rotate_tenants(ex, 30, 3), 0);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_true(c.worker_recycles > 0);
  assert_int_equal(c.worker_recycles, (uint64_t)(recycled_count() - was));
  pthread_mutex_lock(&ev_mu);
  assert_true(recycled_from[0] == 't' && recycled_for[0] == 't');
  assert_string_not_equal(recycled_from, recycled_for);
  pthread_mutex_unlock(&ev_mu);
  int pids[4];
  assert_int_equal(children(pids, 4), 2);
  assert_int_equal(replaced_count(), faults); /* a recycle is no fault */
  pool_free(ex);

  ex = tenancy_pool(2, WK_TENANCY_DEDICATED);
  was = recycled_count();
  assert_int_equal(rotate_tenants(ex, 20, 2), 0);
  assert_int_equal(recycled_count(), was); /* each tenant found its own worker free */
  pool_free(ex);
}

/* Shared: the same sequence mixes tenants on a worker (so rotate_tenants can see it) and recycles
 * nothing. */
static void test_shared_workers(void **state) {
  (void)state;
  executor *ex = tenancy_pool(2, WK_TENANCY_SHARED);
  int was = recycled_count();
  assert_true(rotate_tenants(ex, 30, 3) > 0);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.worker_recycles, 0);
  assert_int_equal(recycled_count(), was);
  pool_free(ex);
}

static long self_status_kb(const char *field) {
  char buf[4096];
  proc_read(getpid(), "status", buf, sizeof buf);
  const char *at = strstr(buf, field);
  return at ? atol(at + strlen(field)) : -1;
}

static int self_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

/* This process's children that are zombies (reaped by nobody). */
static int zombies(void) {
  int pids[64];
  return children_in(true, pids, 64);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Two tenants in turn on one worker: a recycle per job, RECYCLES of them. Nothing accumulates:
 * the pool's descriptors, its children (one worker, no zombie), its memory. Prints what a recycle
 * costs (kill, reap, start, confinement, hello). */
#define RECYCLES 2000
static void test_recycles_leak_nothing(void **state) {
  (void)state;
  executor *ex = tenancy_pool(1, WK_TENANCY_DEDICATED);
  for (int k = 0; k < 100; k++) run_pid(ex, 1 + (unsigned)k % 2); /* warm up */
  int fds = self_fds();
  long rss = self_status_kb("\nVmRSS:");
  int was = recycled_count();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int32_t last = 0;
  for (int k = 0; k < RECYCLES; k++) {
    int32_t pid = run_pid(ex, 1 + (unsigned)k % 2);
    assert_int_not_equal(pid, last); /* a new process for each job */
    last = pid;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  assert_int_equal(recycled_count() - was, RECYCLES);
  assert_int_equal(self_fds(), fds);
  int pids[4];
  assert_int_equal(children(pids, 4), 1);
  assert_int_equal(zombies(), 0);
  long grown = self_status_kb("\nVmRSS:") - rss;
#ifndef HV_TEST_SANITIZED /* there LeakSanitizer checks at exit; ASan's quarantine holds memory */
  assert_true(grown < 4096); /* KiB */
#endif

  uint64_t *ns = calloc(RECYCLES, sizeof *ns);
  assert_non_null(ns);
  pthread_mutex_lock(&ev_mu);
  for (int k = 0; k < RECYCLES; k++) ns[k] = recycle_ns[(was + k) % RECYCLE_MAX];
  pthread_mutex_unlock(&ev_mu);
  qsort(ns, RECYCLES, sizeof *ns, cmp_u64);
  double total_s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr,
          "recycles: %d in %.2f s (%.2f ms per job); replace p50 %.2f ms, p90 %.2f ms, p99 %.2f "
          "ms, max %.2f ms; descriptors %d, RSS %+ld KiB\n",
          RECYCLES, total_s, total_s * 1e3 / RECYCLES, (double)ns[RECYCLES / 2] / 1e6,
          (double)ns[RECYCLES * 9 / 10] / 1e6, (double)ns[RECYCLES * 99 / 100] / 1e6,
          (double)ns[RECYCLES - 1] / 1e6, fds, grown);
  free(ns);
  pool_free(ex);
  assert_int_equal(children(pids, 4), 0);
  assert_int_equal(zombies(), 0);
}

/* A worker program that is missing is a start-up error. */
static void test_missing_program(void **state) {
  (void)state;
  wk_pool_opts opts = {.worker_path = "/nonexistent/hv-worker", .max_memory_mb = 64,
                       .max_job_bytes = 1024};
  char why[256] = "";
  assert_null(wk_pool_new(4, 4, &opts, why, sizeof why));
  assert_non_null(strstr(why, "/nonexistent/hv-worker"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_confined),
      cmocka_unit_test(test_open_killed),
      cmocka_unit_test(test_socket_killed),
      cmocka_unit_test(test_execve_killed),
      cmocka_unit_test(test_segv_replaced),
      cmocka_unit_test(test_garbage_replaced),
      cmocka_unit_test(test_production_has_no_hooks),
      cmocka_unit_test(test_timeout_in_worker),
      cmocka_unit_test(test_hang_killed_others_go_on),
      cmocka_unit_test(test_cache_affinity),
      cmocka_unit_test(test_jobs_share_nothing),
      cmocka_unit_test(test_dedicated_workers),
      cmocka_unit_test(test_shared_workers),
      cmocka_unit_test(test_recycles_leak_nothing),
      cmocka_unit_test(test_missing_program),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
