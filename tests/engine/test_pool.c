/*
 * test_pool.c: the pooling allocator (src/engine/pool.c): slots and stacks are reused, a released
 * one is zeroed before the next store sees it (memory, after memory.grow, and the interpreter's
 * stacks), a pooled store keeps the limits and traps of one without a pool, exhaustion and
 * memories too big for a slot fall back to plain allocation, bad configurations are refused.
 * The modules are tests/engine/wat/pool.wat and pool_reenter.wat, assembled at build time
 * (HV_POOL_WASM, HV_POOL_REENTER_WASM).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_int.h"
#include "wasm_engine.h"

static hvw_module *pool_module, *reenter_module;

static hvw_module *load_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t buf[4096];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  hvw_error err;
  hvw_module *m = hvw_module_load(buf, n, &err);
  if (!m) fprintf(stderr, "%s: %s\n", path, err.message);
  return m;
}

static int load_module(void **state) {
  (void)state;
  pool_module = load_file(HV_POOL_WASM);
  reenter_module = load_file(HV_POOL_REENTER_WASM);
  return pool_module && reenter_module ? 0 : -1;
}

static int free_module(void **state) {
  (void)state;
  hvw_module_free(pool_module);
  hvw_module_free(reenter_module);
  return 0;
}

/* A store of `pool` (NULL: none) under the default limits, `max_pages` of memory and `max_depth`
 * frames (0: the defaults), with the module instantiated. */
typedef struct run {
  hvw_store *store;
  hvw_instance *inst;
} run;

static run run_new(hvw_pool *pool, uint32_t max_pages, uint32_t max_depth) {
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  if (max_pages) limits.max_memory_pages = max_pages;
  if (max_depth) limits.max_call_depth = max_depth;
  hvw_error err;
  run r;
  r.store = hvw_store_new_in_pool(&limits, pool, &err);
  assert_non_null(r.store);
  r.inst = hvw_instance_new(r.store, pool_module, NULL, 0, &err);
  if (!r.inst) fail_msg("instantiate: %s", err.message);
  return r;
}

static hvw_memory *run_memory(run *r) {
  hvw_extern e;
  assert_true(hvw_instance_export(r->inst, "memory", 6, &e));
  return e.of.memory;
}

/* Calls export `name` with up to two arguments; returns its status, its result in *result. */
static hvw_status call(run *r, const char *name, const hvw_value *args, size_t nargs, hvw_value *result,
                       hvw_error *err) {
  hvw_extern e;
  assert_true(hvw_instance_export(r->inst, name, strlen(name), &e));
  hvw_value out[1];
  hvw_status st = hvw_func_call(r->store, e.of.func, args, nargs, out, hvw_func_type(e.of.func).result_count, err);
  if (result && st == HVW_OK) *result = out[0];
  return st;
}

static hvw_value i32(int32_t v) {
  hvw_value x = {.type = HVW_TYPE_I32};
  x.of.i32 = v;
  return x;
}

static hvw_value i64(int64_t v) {
  hvw_value x = {.type = HVW_TYPE_I64};
  x.of.i64 = v;
  return x;
}

static int32_t grow(run *r, int32_t pages) {
  hvw_value arg = i32(pages), res;
  hvw_error err;
  assert_int_equal(call(r, "grow", &arg, 1, &res, &err), HVW_OK);
  return res.of.i32;
}

static void fill(run *r, uint8_t byte) {
  hvw_value arg = i32(byte);
  hvw_error err;
  assert_int_equal(call(r, "fill", &arg, 1, NULL, &err), HVW_OK);
}

static int32_t nonzero(run *r) {
  hvw_value res;
  hvw_error err;
  assert_int_equal(call(r, "nonzero", NULL, 0, &res, &err), HVW_OK);
  return res.of.i32;
}

static hvw_status deep(run *r, int32_t depth, int64_t marker, hvw_error *err) {
  hvw_value args[2] = {i32(depth), i64(marker)}, res;
  hvw_status st = call(r, "deep", args, 2, &res, err);
  if (st == HVW_OK) /* wraps as i64.add does */
    assert_int_equal((uint64_t)res.of.i64, (uint64_t)marker * 4u * (uint64_t)(depth + 1));
  return st;
}

static hvw_pool *pool_new(uint32_t slots, uint32_t stacks, size_t keep_resident) {
  hvw_pool_config c;
  hvw_pool_config_default(&c);
  c.max_memory_slots = slots;
  c.max_stacks = stacks;
  c.keep_resident_bytes = keep_resident;
  hvw_error err;
  hvw_pool *pool = hvw_pool_new(&c, &err);
  if (!pool) fail_msg("hvw_pool_new: %s", err.message);
  return pool;
}

/* A second store gets the first one's slot (same address, no new reservation) and sees zeros. */
static void test_memory_slot_reused_and_zeroed(void **state) {
  (void)state;
  hvw_pool *pool = pool_new(4, 2, (size_t)1 << 20);
  run a = run_new(pool, 0, 0);
  uint8_t *first = hvw_memory_data(run_memory(&a));
  fill(&a, 0x5a);
  assert_int_equal(nonzero(&a), 65536 / 8);
  hvw_store_free(a.store);

  run b = run_new(pool, 0, 0);
  assert_ptr_equal(hvw_memory_data(run_memory(&b)), first);
  assert_int_equal(hvw_memory_size_bytes(run_memory(&b)), 65536);
  assert_int_equal(nonzero(&b), 0);
  hvw_pool_stats st;
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.memory_fresh, 1);
  assert_int_equal(st.memory_reuses, 1);
  assert_int_equal(st.memory_fallbacks, 0);
  assert_int_equal(st.memory_slots, 1);
  assert_int_equal(st.resets_madvised, 0); /* 64 KiB used: memset only */
  hvw_store_free(b.store);
  hvw_pool_free(pool);
}

/* After memory.grow: the grown part is zeroed too (by memset within keep_resident_bytes, by
 * madvise beyond it), and the next store starts at the module's own minimum again. */
static void check_grown_slot_zeroed(size_t keep_resident, bool madvised) {
  hvw_pool *pool = pool_new(4, 2, keep_resident);
  run a = run_new(pool, 0, 0);
  assert_int_equal(grow(&a, 39), 1);
  fill(&a, 0xa5);
  assert_int_equal(nonzero(&a), 40 * 65536 / 8);
  hvw_store_free(a.store);

  run b = run_new(pool, 0, 0);
  assert_int_equal(hvw_memory_size_bytes(run_memory(&b)), 65536); /* cut back to 1 page */
  assert_int_equal(nonzero(&b), 0);
  assert_int_equal(grow(&b, 39), 1);
  assert_int_equal(nonzero(&b), 0);
  hvw_pool_stats st;
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.memory_reuses, 1);
  assert_int_equal(st.resets_madvised > 0, madvised);
  hvw_store_free(b.store);
  hvw_pool_free(pool);
}

static void test_grown_memory_zeroed_by_memset(void **state) {
  (void)state;
  check_grown_slot_zeroed((size_t)4 << 20, false);
}

static void test_grown_memory_zeroed_by_madvise(void **state) {
  (void)state;
  check_grown_slot_zeroed((size_t)64 << 10, true);
}

/* Scans every cell and frame record of the pool's one stack (which must be free): all zero. */
static void assert_free_stack_zero(hvw_pool *pool) {
  hvw_pool_config c;
  hvw_pool_config_default(&c);
  hvw__pool_block *stack = hvw__pool_stack_take(pool, 1, 1);
  assert_non_null(stack);
  size_t dirty = 0;
  for (size_t k = 0; k < c.stack_cells; k++) dirty += stack->cells[k] != 0;
  const uint8_t *frames = (const uint8_t *)stack->frames;
  for (size_t k = 0; k < (size_t)c.stack_frames * sizeof(hvw__frame_rec); k++) dirty += frames[k] != 0;
  assert_int_equal(dirty, 0);
  hvw__pool_stack_give(stack, 0, 0);
}

/* Every cell and frame record of a released stack reads zero: nothing of the first store's
 * locals reaches the next store (looked at directly, since WebAssembly zeroes its locals). */
static void check_stack_zeroed(size_t keep_resident) {
  hvw_pool *pool = pool_new(4, 1, keep_resident);
  run a = run_new(pool, 0, 0);
  hvw_error err;
  assert_int_equal(deep(&a, 5000, 0x0123456789abcdefLL, &err), HVW_OK);
  hvw_store_free(a.store);

  assert_free_stack_zero(pool);
  hvw_pool_stats st;
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.stack_fresh, 1);
  assert_int_equal(st.stack_reuses, 1); /* the scan took the one the store used */

  /* and a store that takes it runs as well as the first */
  run b = run_new(pool, 0, 0);
  assert_int_equal(deep(&b, 100, 7, &err), HVW_OK);
  hvw_store_free(b.store);
  hvw_pool_free(pool);
}

static void test_stack_zeroed_by_memset(void **state) {
  (void)state;
  check_stack_zeroed((size_t)8 << 20);
}

static void test_stack_zeroed_by_madvise(void **state) {
  (void)state;
  check_stack_zeroed((size_t)4 << 10);
}

typedef struct reenter_env {
  hvw_store *store;
  hvw_func *deep;
} reenter_env;

static hvw_status host_reenter(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  (void)args;
  (void)results;
  reenter_env *e = env;
  hvw_value in[2] = {i32(3000), i64(0x7777777777777777LL)}, out[1];
  return hvw_func_call(e->store, e->deep, in, 2, out, 1, err);
}

/* The deepest frames of a store may be a nested execution's (a host function calling back into
 * the store) that returned before its caller: the stack is zeroed that far all the same. */
static void test_stack_zeroed_after_reentry(void **state) {
  (void)state;
  hvw_pool *pool = pool_new(4, 1, (size_t)1 << 20);
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  hvw_error err;
  hvw_store *s = hvw_store_new_in_pool(&limits, pool, &err);
  assert_non_null(s);
  reenter_env env = {s, NULL};
  hvw_functype_view none = {0, NULL, 0, NULL};
  hvw_extern import = {.kind = HVW_EXTERN_FUNC};
  import.of.func = hvw_func_new_host(s, none, host_reenter, &env, &err);
  assert_non_null(import.of.func);
  hvw_instance *inst = hvw_instance_new(s, reenter_module, &import, 1, &err);
  if (!inst) fail_msg("instantiate: %s", err.message);
  hvw_extern deep_export, outer;
  assert_true(hvw_instance_export(inst, "deep", 4, &deep_export));
  assert_true(hvw_instance_export(inst, "outer", 5, &outer));
  env.deep = deep_export.of.func;
  assert_int_equal(hvw_func_call(s, outer.of.func, NULL, 0, NULL, 0, &err), HVW_OK);
  hvw_store_free(s);
  assert_free_stack_zero(pool);
  hvw_pool_free(pool);
}

/* The store's limits, not the slot's or the stack's size, bound a pooled store: the same growth
 * refusals and traps as without a pool. */
static void test_limits_as_without_pool(void **state) {
  (void)state;
  hvw_pool *pool = pool_new(4, 2, (size_t)1 << 20);
  for (int pooled = 0; pooled < 2; pooled++) {
    run r = run_new(pooled ? pool : NULL, 8, 100);
    assert_int_equal(grow(&r, 7), 1);  /* exactly the cap */
    assert_int_equal(grow(&r, 1), -1); /* over it */
    assert_true(r.store->memory_grow_refused);
    hvw_error err;
    assert_int_equal(deep(&r, 98, 1, &err), HVW_OK); /* 99 frames */
    assert_int_equal(deep(&r, 100, 1, &err), HVW_TRAP);
    assert_int_equal(err.trap, HVW_TRAP_CALL_STACK_EXHAUSTED);
    hvw_store_free(r.store);
  }
  hvw_pool_stats st;
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.memory_fresh, 1);
  assert_int_equal(st.stack_fresh, 1);
  hvw_pool_free(pool);
}

/* More live stores than slots and stacks, and a memory larger than a slot: plain allocation. */
static void test_exhaustion_falls_back(void **state) {
  (void)state;
  hvw_pool_config c;
  hvw_pool_config_default(&c);
  c.max_memory_slots = 1;
  c.max_stacks = 1;
  c.slot_pages = 16;
  hvw_error err;
  hvw_pool *pool = hvw_pool_new(&c, &err);
  assert_non_null(pool);

  run a = run_new(pool, 16, 0); /* fits the slot */
  run b = run_new(pool, 16, 0); /* none free */
  run big = run_new(pool, 17, 0); /* its memory may grow past a slot */
  assert_int_equal(deep(&a, 10, 3, &err), HVW_OK);
  assert_int_equal(deep(&b, 10, 3, &err), HVW_OK);
  assert_int_equal(grow(&big, 16), 1);
  assert_int_equal(grow(&b, 15), 1);
  fill(&b, 1);
  hvw_pool_stats st;
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.memory_fresh, 1);
  assert_int_equal(st.memory_fallbacks, 2);
  assert_int_equal(st.stack_fresh, 1);
  assert_int_equal(st.stack_fallbacks, 2); /* b's and big's */
  hvw_store_free(b.store);
  hvw_store_free(big.store);
  hvw_store_free(a.store);

  run d = run_new(pool, 16, 0);
  assert_int_equal(nonzero(&d), 0);
  hvw_store_free(d.store);
  hvw_pool_get_stats(pool, &st);
  assert_int_equal(st.memory_reuses, 1);
  assert_int_equal(st.memory_slots, 1);
  hvw_pool_free(pool);
}

static void test_bad_arguments(void **state) {
  (void)state;
  hvw_pool_config good;
  hvw_pool_config_default(&good);
  hvw_pool_config bad[5];
  for (int k = 0; k < 5; k++) bad[k] = good;
  bad[0].slot_pages = 65537;
  bad[1].max_memory_slots = 1025;
  bad[2].max_stacks = 1025;
  bad[3].stack_cells = (1u << 28) + 1;
  bad[4].stack_frames = (1u << 24) + 1;
  for (int k = 0; k < 5; k++) {
    hvw_error err;
    assert_null(hvw_pool_new(&bad[k], &err));
    assert_int_equal(err.status, HVW_BAD_ARGUMENTS);
    assert_non_null(strstr(err.message, "bad pool configuration"));
  }
  hvw_error err;
  hvw_pool *pool = hvw_pool_new(NULL, &err); /* the defaults */
  assert_non_null(pool);
  hvw_pool_free(pool);
  hvw_pool_free(NULL);
  hvw_pool_stats st;
  memset(&st, 0xff, sizeof st);
  hvw_pool_get_stats(NULL, &st);
  assert_int_equal(st.memory_slots, 0);
  hvw_pool_get_stats(NULL, NULL);

  /* no pool: as hvw_store_new */
  run r = run_new(NULL, 0, 0);
  assert_int_equal(deep(&r, 10, 2, &err), HVW_OK);
  assert_int_equal(nonzero(&r), 0);
  hvw_store_free(r.store);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_memory_slot_reused_and_zeroed),
      cmocka_unit_test(test_grown_memory_zeroed_by_memset),
      cmocka_unit_test(test_grown_memory_zeroed_by_madvise),
      cmocka_unit_test(test_stack_zeroed_by_memset),
      cmocka_unit_test(test_stack_zeroed_by_madvise),
      cmocka_unit_test(test_stack_zeroed_after_reentry),
      cmocka_unit_test(test_limits_as_without_pool),
      cmocka_unit_test(test_exhaustion_falls_back),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, load_module, free_module);
}
