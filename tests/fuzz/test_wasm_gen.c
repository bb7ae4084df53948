/*
 * test_wasm_gen.c: the module generator of the fuzzers and the differential check
 * (fuzz/wasm_gen.c) keeps its promises: every module it makes loads, the same input gives the
 * same module, the differential mode's exports take no params, return integers and end, and the
 * modules use v128.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wasm_engine.h"
#include "wasm_gen.h"

#define SEEDS 300
#define SEED_BYTES 4096

static hvw_module *generate(uint64_t seed, bool det, uint8_t **bytes, size_t *size) {
  uint8_t input[SEED_BYTES];
  wgen_seed_bytes(seed, input, sizeof input);
  wgen_config config = {.deterministic = det};
  assert_true(wgen_generate(input, sizeof input, &config, bytes, size));
  hvw_error err;
  hvw_module *module = hvw_module_load(*bytes, *size, &err);
  if (!module) fail_msg("seed %llu (det %d): %s", (unsigned long long)seed, det, err.message);
  return module;
}

static void test_every_generated_module_loads(void **state) {
  (void)state;
  for (int det = 0; det <= 1; det++) {
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
      uint8_t *bytes;
      size_t size;
      hvw_module *module = generate(seed, det, &bytes, &size);
      assert_int_equal(hvw_module_import_count(module), 0);
      hvw_module_free(module);
      free(bytes);
    }
  }
}

static void test_short_inputs_give_valid_modules(void **state) {
  (void)state;
  uint8_t ones[64];
  memset(ones, 0xFF, sizeof ones);
  for (size_t len = 0; len <= sizeof ones; len += 7) {
    for (int det = 0; det <= 1; det++) {
      uint8_t *bytes;
      size_t size;
      wgen_config config = {.deterministic = det};
      assert_true(wgen_generate(ones, len, &config, &bytes, &size));
      hvw_error err;
      hvw_module *module = hvw_module_load(bytes, size, &err);
      if (!module) fail_msg("%zu bytes of 0xFF (det %d): %s", len, det, err.message);
      hvw_module_free(module);
      free(bytes);
    }
  }
}

static void test_same_input_same_module(void **state) {
  (void)state;
  uint8_t *a, *b;
  size_t na, nb;
  hvw_module *ma = generate(42, true, &a, &na), *mb = generate(42, true, &b, &nb);
  assert_int_equal(na, nb);
  assert_memory_equal(a, b, na);
  hvw_module_free(ma);
  hvw_module_free(mb);
  free(a);
  free(b);
}

/* Differential mode: no-param exports returning integers, ending within a modest gas budget. */
static void test_differential_exports_end(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= SEEDS / 3; seed++) {
    uint8_t *bytes;
    size_t size;
    hvw_module *module = generate(seed, true, &bytes, &size);
    hvw_store_limits limits;
    hvw_store_limits_default(&limits);
    limits.gas_limit = 200000000;
    hvw_error err;
    hvw_store *store = hvw_store_new(&limits, &err);
    assert_non_null(store);
    hvw_instance *instance = hvw_instance_new(store, module, NULL, 0, &err);
    uint32_t n = hvw_module_export_count(module);
    bool has_state = false;
    for (uint32_t i = 0; i < n; i++) {
      hvw_export_info info;
      assert_true(hvw_module_export(module, i, &info));
      assert_int_equal(info.type.kind, HVW_EXTERN_FUNC);
      assert_int_equal(info.type.func.param_count, 0);
      for (uint32_t k = 0; k < info.type.func.result_count; k++)
        assert_true(info.type.func.results[k] == HVW_TYPE_I32 ||
                    info.type.func.results[k] == HVW_TYPE_I64);
      has_state |= info.name_len == 5 && memcmp(info.name, "state", 5) == 0;
      if (!instance) continue;
      hvw_extern ext;
      hvw_value results[8];
      assert_true(hvw_instance_export(instance, info.name, info.name_len, &ext));
      hvw_status st = hvw_func_call(store, ext.of.func, NULL, 0, results, 8, &err);
      if (st != HVW_OK && st != HVW_TRAP)
        fail_msg("seed %llu, %.*s: %s", (unsigned long long)seed, (int)info.name_len, info.name,
                 err.message);
    }
    assert_true(has_state);
    hvw_store_free(store);
    hvw_module_free(module);
    free(bytes);
  }
}

/* SIMD is part of what the generator makes: exec mode exports internal functions with their own
 * signatures, and some of those take or return v128. */
static void test_modules_use_simd(void **state) {
  (void)state;
  uint32_t v128_exports = 0;
  for (uint64_t seed = 1; seed <= SEEDS / 3; seed++) {
    uint8_t *bytes;
    size_t size;
    hvw_module *module = generate(seed, false, &bytes, &size);
    for (uint32_t i = 0; i < hvw_module_export_count(module); i++) {
      hvw_export_info info;
      assert_true(hvw_module_export(module, i, &info));
      if (info.type.kind != HVW_EXTERN_FUNC) continue;
      const hvw_functype_view *ft = &info.type.func;
      bool v128 = false;
      for (uint32_t k = 0; k < ft->param_count; k++) v128 |= ft->params[k] == HVW_TYPE_V128;
      for (uint32_t k = 0; k < ft->result_count; k++) v128 |= ft->results[k] == HVW_TYPE_V128;
      v128_exports += v128;
    }
    hvw_module_free(module);
    free(bytes);
  }
  assert_true(v128_exports >= SEEDS / 10);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_generated_module_loads),
      cmocka_unit_test(test_short_inputs_give_valid_modules),
      cmocka_unit_test(test_same_input_same_module),
      cmocka_unit_test(test_differential_exports_end),
      cmocka_unit_test(test_modules_use_simd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
