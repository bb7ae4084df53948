/*
 * test_units.c: the server's pure parts without a server: argument conversion by type, the token
 * bucket (with an injected monotonic time), the bounded buffer, UUIDs, the executor's admission
 * control and timer, and the compiled-module cache (LRU eviction in bytes, reference counts, hits
 * and misses, fresh state per execution of a cached module).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "executor.h"
#include "modcache.h"
#include "srv_int.h"

static void test_arg_convert(void **state) {
  (void)state;
  char why[EXEC_WHY_MAX];
  hvw_value v;
  exec_arg a = {.kind = EXEC_ARG_INT, .i = 4294967295LL};
  assert_true(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
  assert_int_equal(v.of.i32, -1);
  a.i = 4294967296LL;
  assert_false(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
  assert_non_null(strstr(why, "out of range"));
  a.i = -2147483648LL;
  assert_true(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
  assert_int_equal(v.of.i32, INT32_MIN);

  a = (exec_arg){.kind = EXEC_ARG_REAL, .d = 3.0};
  assert_true(exec_arg_convert(&a, HVW_TYPE_I64, &v, why, sizeof why));
  assert_int_equal(v.of.i64, 3);
  a.d = 2.5;
  assert_false(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
  a.d = 1e39;
  assert_false(exec_arg_convert(&a, HVW_TYPE_F32, &v, why, sizeof why));
  a.d = 0.1;
  assert_true(exec_arg_convert(&a, HVW_TYPE_F64, &v, why, sizeof why));
  double d;
  memcpy(&d, &v.of.f64_bits, sizeof d);
  assert_true(d == 0.1);

  a = (exec_arg){.kind = EXEC_ARG_TEXT, .text = "18446744073709551615"};
  assert_true(exec_arg_convert(&a, HVW_TYPE_I64, &v, why, sizeof why));
  assert_int_equal(v.of.i64, -1);
  a.text = "nan";
  assert_true(exec_arg_convert(&a, HVW_TYPE_F32, &v, why, sizeof why));
  assert_int_equal(v.of.f32_bits, 0x7fc00000u);
  a.text = "-inf";
  assert_true(exec_arg_convert(&a, HVW_TYPE_F64, &v, why, sizeof why));
  assert_true(v.of.f64_bits == 0xfff0000000000000ull);
  a.text = "12abc";
  assert_false(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));

  a = (exec_arg){.kind = EXEC_ARG_INT, .i = 1, .declared = HVW_TYPE_I64};
  assert_false(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
  assert_non_null(strstr(why, "declared type i64"));
  a.declared = HVW_TYPE_I32;
  assert_true(exec_arg_convert(&a, HVW_TYPE_I32, &v, why, sizeof why));
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
  executor *ex = exec_inproc_new(2, 2, 1, 0, why, sizeof why);
  assert_non_null(ex);
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_CAPACITY);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.capacity, 2);
  assert_int_equal(c.queued, 2);
  assert_int_equal(c.threads, 1);
  ex->ops->release(ex, 1);
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  ex->ops->release(ex, 1);
  ex->ops->release(ex, 1);

  /* A job on a reserved slot: a module that is not WebAssembly is INVALID_WASM. */
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_OK);
  static const uint8_t junk[] = {1, 2, 3};
  exec_job job = {.wasm = junk, .wasm_len = sizeof junk, .function_name = "main", .tenant = 1,
                  .limits = {.gas_limit = 1000, .max_memory_pages = 16, .timeout_ns = 1000000000u}};
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_INVALID_WASM);
  exec_outcome_free(out);

  ex->ops->shutdown(ex, 1000000000u);
  assert_int_equal(ex->ops->reserve(ex, 1), EXEC_SHUTTING_DOWN);
  ex->ops->destroy(ex);
}

/* ---- The module cache --------------------------------------------------------------------- */

/* (module (func (export "f") (result i32) i32.const N)), 0 <= N < 64: same size for every N. */
static hvw_module *tiny_module(uint8_t n) {
  const uint8_t bytes[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, /* header */
                           0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,       /* type () -> i32 */
                           0x03, 0x02, 0x01, 0x00,                         /* func 0 */
                           0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,       /* export "f" */
                           0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, n, 0x0b};   /* i32.const n */
  hvw_error err = {0};
  hvw_module *m = hvw_module_load(bytes, sizeof bytes, &err);
  if (!m) fail_msg("tiny module: %s", err.message);
  return m;
}

static void key_of(uint8_t key[MODCACHE_KEY_SIZE], uint8_t n) {
  memset(key, 0, MODCACHE_KEY_SIZE);
  key[0] = n; /* the table hashes the first bytes */
  key[31] = (uint8_t)(0xa0 + n);
}

/* Runs f() of the entry's module in a new store: every execution its own instance. */
static int32_t call_f(const hvw_module *m) {
  hvw_store *store = hvw_store_new(NULL, NULL);
  assert_non_null(store);
  hvw_instance *inst = hvw_instance_new(store, m, NULL, 0, NULL);
  assert_non_null(inst);
  hvw_extern f;
  assert_true(hvw_instance_export(inst, "f", 1, &f));
  hvw_value r;
  assert_int_equal(hvw_func_call(store, f.of.func, NULL, 0, &r, 1, NULL), HVW_OK);
  hvw_store_free(store);
  return r.of.i32;
}

static void test_modcache_lru(void **state) {
  (void)state;
  hvw_module *probe = tiny_module(0);
  size_t cost = modcache_cost(probe);
  hvw_module_free(probe);
  /* Room for exactly 8 such modules (each at most an eighth of the bound, so all are kept). */
  modcache *c = modcache_new(8 * cost + cost / 2);
  assert_non_null(c);
  uint8_t key[MODCACHE_KEY_SIZE];
  for (uint8_t n = 0; n < 8; n++) {
    key_of(key, n);
    assert_null(modcache_get(c, key)); /* a miss */
    modcache_entry *e = modcache_insert(c, key, tiny_module(n));
    assert_non_null(e);
    assert_int_equal(call_f(modcache_module(e)), n);
    modcache_release(c, e);
  }
  modcache_stats st;
  modcache_get_stats(c, &st);
  assert_int_equal(st.entries, 8);
  assert_int_equal(st.bytes, 8 * cost);
  assert_int_equal(st.misses, 8);
  assert_int_equal(st.hits, 0);

  /* Module 0 becomes the most recently used: the ninth insert evicts module 1. */
  key_of(key, 0);
  modcache_entry *e0 = modcache_get(c, key);
  assert_non_null(e0);
  assert_int_equal(call_f(modcache_module(e0)), 0);
  modcache_release(c, e0);
  key_of(key, 8);
  modcache_release(c, modcache_insert(c, key, tiny_module(8)));
  modcache_get_stats(c, &st);
  assert_int_equal(st.entries, 8);
  assert_int_equal(st.evictions, 1);
  assert_true(st.bytes <= st.max_bytes);
  key_of(key, 1);
  assert_null(modcache_get(c, key));
  for (uint8_t n = 0; n <= 8; n++) {
    if (n == 1) continue;
    key_of(key, n);
    modcache_entry *e = modcache_get(c, key);
    assert_non_null(e);
    assert_int_equal(call_f(modcache_module(e)), n);
    modcache_release(c, e);
  }
  modcache_free(c);
}

static void test_modcache_references(void **state) {
  (void)state;
  hvw_module *probe = tiny_module(0);
  size_t cost = modcache_cost(probe);
  hvw_module_free(probe);
  modcache *c = modcache_new(8 * cost);
  uint8_t key[MODCACHE_KEY_SIZE];

  /* An entry in use when evicted stays usable until its last reference goes. */
  key_of(key, 0);
  modcache_entry *held = modcache_insert(c, key, tiny_module(0));
  for (uint8_t n = 1; n <= 8; n++) {
    key_of(key, n);
    modcache_release(c, modcache_insert(c, key, tiny_module(n)));
  }
  modcache_stats st;
  modcache_get_stats(c, &st);
  assert_int_equal(st.evictions, 1);
  assert_int_equal(st.in_use_evicted, 1);
  key_of(key, 0);
  assert_null(modcache_get(c, key));                /* gone from the cache ... */
  assert_int_equal(call_f(modcache_module(held)), 0); /* ... but alive for its execution */
  modcache_release(c, held);                        /* freed now (ASan checks the rest) */
  modcache_get_stats(c, &st);
  assert_int_equal(st.in_use_evicted, 0);

  /* The same key inserted twice (two executions compiled it at once): one entry, shared. */
  key_of(key, 40);
  modcache_entry *a = modcache_insert(c, key, tiny_module(40));
  modcache_entry *b = modcache_insert(c, key, tiny_module(40));
  assert_ptr_equal(a, b);
  modcache_release(c, a);
  modcache_release(c, b);

  /* A module over an eighth of the bound is not kept: its entry is private. */
  modcache *small = modcache_new(cost * 4);
  key_of(key, 41);
  modcache_entry *p = modcache_insert(small, key, tiny_module(41));
  assert_non_null(p);
  assert_int_equal(call_f(modcache_module(p)), 41);
  modcache_release(small, p);
  modcache_get_stats(small, &st);
  assert_int_equal(st.entries, 0);
  assert_null(modcache_get(small, key));
  modcache_free(small);
  modcache_free(c);
}

/* The executor with a cache: the second job of the same bytes hits and reports module_cached. */
static void test_executor_cache(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(4, 4, 1, 1u << 20, why, sizeof why);
  assert_non_null(ex);
  static const uint8_t wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01,
                                 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01,
                                 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x05,
                                 0x0b};
  uint8_t sha[32] = {1, 2, 3};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(ex->ops->reserve(ex, 0), EXEC_OK);
    exec_job job = {.wasm = wasm, .wasm_len = sizeof wasm, .cache_key = sha, .function_name = "f",
                    .limits = {.gas_limit = 1000, .max_memory_pages = 16, .timeout_ns = 1000000000u}};
    exec_outcome *out = exec_run_and_wait(ex, &job);
    assert_non_null(out);
    assert_int_equal(out->code, OUTCOME_OK);
    assert_int_equal(out->results[0].num.of.i32, 5);
    assert_true(out->module_cached == (k > 0));
    exec_outcome_free(out);
  }
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.cache_hits, 2);
  assert_int_equal(c.cache_misses, 1);
  assert_int_equal(c.cache_entries, 1);
  assert_int_equal(c.queued, 0);
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
}

/* The executor's timer interrupts a job past its deadline (and only that one). */
static void test_executor_timer(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(4, 4, 2, 0, why, sizeof why);
  assert_non_null(ex);
  /* (func (export "spin") (loop br 0)) */
  static const uint8_t spin[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01,
                                 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x08, 0x01, 0x04,
                                 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00,
                                 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b};
  assert_int_equal(ex->ops->reserve(ex, 0), EXEC_OK);
  exec_job job = {.wasm = spin, .wasm_len = sizeof spin, .function_name = "spin",
                  .limits = {.gas_limit = UINT64_MAX, .max_memory_pages = 16,
                             .timeout_ns = 200000000u}};
  exec_outcome *out = exec_run_and_wait(ex, &job);
  assert_non_null(out);
  assert_int_equal(out->code, OUTCOME_EXECUTION_TIMEOUT);
  exec_outcome_free(out);
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
}

/* ---- Fairness between tenants -------------------------------------------------------------- */

/* (func (export "spin") (loop br 0)) */
static const uint8_t spin_wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
                                    0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x08,
                                    0x01, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x0a, 0x09,
                                    0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b};
/* (func (export "f") (result i32) i32.const 5) */
static const uint8_t five_wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05,
                                    0x01, 0x60, 0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x07,
                                    0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
                                    0x00, 0x41, 0x05, 0x0b};

/* Jobs submitted without waiting: each records its outcome code and the order it ended in. */
typedef struct async_jobs {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ended;
  exec_job job[8];
  outcome_code code[8];
  int order[8]; /* 1-based position among the ends; 0 while running */
} async_jobs;

static void async_done(exec_job *job, exec_outcome *out, void *arg) {
  async_jobs *a = arg;
  pthread_mutex_lock(&a->mu);
  size_t k = (size_t)(job - a->job);
  a->code[k] = out ? out->code : OUTCOME_INTERNAL_ERROR;
  a->order[k] = ++a->ended;
  pthread_cond_broadcast(&a->cv);
  pthread_mutex_unlock(&a->mu);
  exec_outcome_free(out);
}

static void async_submit(executor *ex, async_jobs *a, size_t k, uint64_t tenant,
                         const uint8_t *wasm, size_t len, const char *name, uint64_t timeout_ns) {
  assert_int_equal(ex->ops->reserve(ex, tenant), EXEC_OK);
  a->job[k] = (exec_job){.wasm = wasm, .wasm_len = len, .function_name = name, .tenant = tenant,
                         .limits = {.gas_limit = UINT64_MAX, .max_memory_pages = 16,
                                    .timeout_ns = timeout_ns},
                         .done = async_done, .done_arg = a};
  assert_int_equal(ex->ops->submit(ex, &a->job[k]), EXEC_OK);
}

static void async_wait(async_jobs *a, int ended) {
  pthread_mutex_lock(&a->mu);
  while (a->ended < ended) pthread_cond_wait(&a->cv, &a->mu);
  pthread_mutex_unlock(&a->mu);
}

/* A tenant holds at most its share of the slots; the server's capacity still bounds them all. */
static void test_tenant_slots(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(4, 2, 1, 0, why, sizeof why);
  assert_non_null(ex);
  assert_int_equal(ex->ops->reserve(ex, 7), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 7), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 7), EXEC_TENANT_FULL);
  assert_int_equal(ex->ops->reserve(ex, 8), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 8), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 9), EXEC_CAPACITY);
  ex->ops->release(ex, 7);
  assert_int_equal(ex->ops->reserve(ex, 9), EXEC_OK);
  assert_int_equal(ex->ops->reserve(ex, 7), EXEC_CAPACITY);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.tenant_slots, 2);
  assert_int_equal(c.queued, 4);
  ex->ops->release(ex, 7);
  ex->ops->release(ex, 8);
  ex->ops->release(ex, 8);
  ex->ops->release(ex, 9);
  ex->ops->counts(ex, &c);
  assert_int_equal(c.queued, 0);
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
}

/* Four threads, of which a tenant may occupy three: while tenant 1's four long jobs run and wait,
 * tenant 2's short job runs on the fourth thread and ends before any of them. */
static void test_tenant_threads(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(8, 8, 4, 0, why, sizeof why);
  assert_non_null(ex);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.tenant_threads, 3);
  async_jobs a = {.ended = 0};
  pthread_mutex_init(&a.mu, NULL);
  pthread_cond_init(&a.cv, NULL);
  for (size_t k = 0; k < 4; k++)
    async_submit(ex, &a, k, 1, spin_wasm, sizeof spin_wasm, "spin", 1000000000u);
  async_submit(ex, &a, 4, 2, five_wasm, sizeof five_wasm, "f", 1000000000u);
  async_wait(&a, 5);
  assert_int_equal(a.order[4], 1); /* the other tenant's job did not wait for the spins */
  assert_int_equal(a.code[4], OUTCOME_OK);
  assert_int_equal(a.code[0], OUTCOME_EXECUTION_TIMEOUT);
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
  pthread_cond_destroy(&a.cv);
  pthread_mutex_destroy(&a.mu);
}

/* The wait for a thread counts against a job's time limit: a job that cannot start before its
 * limit is refused (CAPACITY_EXCEEDED) when the limit passes, not run late. */
static void test_queue_deadline(void **state) {
  (void)state;
  char why[128];
  executor *ex = exec_inproc_new(4, 4, 1, 0, why, sizeof why);
  assert_non_null(ex);
  async_jobs a = {.ended = 0};
  pthread_mutex_init(&a.mu, NULL);
  pthread_cond_init(&a.cv, NULL);
  async_submit(ex, &a, 0, 1, spin_wasm, sizeof spin_wasm, "spin", 1500000000u);
  async_submit(ex, &a, 1, 1, five_wasm, sizeof five_wasm, "f", 100000000u);
  async_wait(&a, 2);
  assert_int_equal(a.code[1], OUTCOME_CAPACITY_EXCEEDED);
  assert_int_equal(a.order[1], 1); /* refused at its deadline, while the spin still ran */
  assert_int_equal(a.code[0], OUTCOME_EXECUTION_TIMEOUT);
  exec_counts c;
  ex->ops->counts(ex, &c);
  assert_int_equal(c.queued, 0);
  assert_int_equal(c.active, 0);
  ex->ops->shutdown(ex, 1000000000u);
  ex->ops->destroy(ex);
  pthread_cond_destroy(&a.cv);
  pthread_mutex_destroy(&a.mu);
}

/* A runner that records which tenant each job was for, in the order the pool ran them; the
 * first job waits for `open` so that the others queue up behind it. */
#define RUN_JOBS 22
typedef struct tenant_log {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool open;
  int ran;
  uint64_t tenant[RUN_JOBS];
} tenant_log;

static void log_run(void *ctx, uint32_t index, const exec_job *job, uint64_t deadline_ns,
                    exec_outcome *out) {
  (void)index;
  (void)deadline_ns;
  tenant_log *l = ctx;
  pthread_mutex_lock(&l->mu);
  while (!l->open) pthread_cond_wait(&l->cv, &l->mu);
  if (l->ran < RUN_JOBS) l->tenant[l->ran++] = job->tenant;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  out->code = OUTCOME_OK;
}

static void log_done(exec_job *job, exec_outcome *out, void *arg) {
  (void)job;
  (void)arg;
  exec_outcome_free(out);
}

/* One thread; tenant 2's first job holds it while 20 more of tenant 2's and one of tenant 3's
 * queue, then 3's, 2's, 3's... Returns where tenant 3's first job ran (0-based), and fills the
 * order. */
static int tenant_3_runs_at(bool switch_costs, tenant_log *l) {
  *l = (tenant_log){.open = false};
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->cv, NULL);
  exec_runner runner = {.ctx = l, .run = log_run, .tenant_switch_costs = switch_costs};
  char why[128];
  executor *ex = exec_pool_new(64, 64, 1, 0, &runner, why, sizeof why);
  assert_non_null(ex);
  exec_job jobs[RUN_JOBS];
  for (int k = 0; k < RUN_JOBS; k++) {
    uint64_t tenant = k == RUN_JOBS - 1 ? 3 : 2;
    assert_int_equal(ex->ops->reserve(ex, tenant), EXEC_OK);
    jobs[k] = (exec_job){.tenant = tenant, .limits = {.timeout_ns = 10000000000u},
                         .done = log_done};
    assert_int_equal(ex->ops->submit(ex, &jobs[k]), EXEC_OK);
  }
  pthread_mutex_lock(&l->mu);
  l->open = true;
  pthread_cond_broadcast(&l->cv);
  while (l->ran < RUN_JOBS) pthread_cond_wait(&l->cv, &l->mu);
  pthread_mutex_unlock(&l->mu);
  ex->ops->shutdown(ex, 10000000000u);
  ex->ops->destroy(ex);
  pthread_cond_destroy(&l->cv);
  pthread_mutex_destroy(&l->mu);
  assert_int_equal(l->ran, RUN_JOBS);
  for (int k = 0; k < RUN_JOBS; k++)
    if (l->tenant[k] == 3) return k;
  return -1;
}

/* When switching tenants costs the runner (dedicated worker processes), a thread stays with its
 * tenant for EXEC_TENANT_RUN jobs in a row while it has jobs waiting, then lets the next tenant
 * in; otherwise tenants take turns job by job. */
static void test_tenant_runs(void **state) {
  (void)state;
  tenant_log l;
  assert_int_equal(tenant_3_runs_at(false, &l), 1);
  assert_int_equal(tenant_3_runs_at(true, &l), (int)EXEC_TENANT_RUN);
  for (int k = 0; k < (int)EXEC_TENANT_RUN; k++) assert_int_equal(l.tenant[k], 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arg_convert),     cmocka_unit_test(test_token_bucket),
      cmocka_unit_test(test_buffer),          cmocka_unit_test(test_uuid),
      cmocka_unit_test(test_admission),       cmocka_unit_test(test_modcache_lru),
      cmocka_unit_test(test_modcache_references), cmocka_unit_test(test_executor_cache),
      cmocka_unit_test(test_executor_timer),  cmocka_unit_test(test_tenant_slots),
      cmocka_unit_test(test_tenant_threads),  cmocka_unit_test(test_queue_deadline),
      cmocka_unit_test(test_tenant_runs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
