/*
 * engine_run.c: see engine_run.h.
 */
#include "engine_run.h"

#include <string.h>

#include "fuzz_util.h"

static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static hvw_value random_arg(hvw_valtype type, uint64_t *state) {
  static const uint64_t SPECIAL[] = {0, 1, ~0ull, 0x80000000u, 0x7FFFFFFFu, 0x7FC00000u,
                                     0x7FF8000000000000ull, 0x8000000000000000ull, 65536, 3};
  uint64_t r = next_random(state);
  uint64_t bits = (r & 3) == 0 ? next_random(state) : SPECIAL[(r >> 2) % 10];
  hvw_value v = {.type = type};
  switch (type) {
    case HVW_TYPE_I32: v.of.i32 = (int32_t)(uint32_t)bits; break;
    case HVW_TYPE_I64: v.of.i64 = (int64_t)bits; break;
    case HVW_TYPE_F32: v.of.f32_bits = (uint32_t)bits; break;
    case HVW_TYPE_F64: v.of.f64_bits = bits; break;
    case HVW_TYPE_EXTERNREF: v.of.externref = (uintptr_t)(bits & 7); break;
    case HVW_TYPE_V128: {
      uint64_t high = (r & 4) ? bits : next_random(state);
      for (int k = 0; k < 8; k++) {
        v.of.v128[k] = (uint8_t)(bits >> (8 * k));
        v.of.v128[8 + k] = (uint8_t)(high >> (8 * k));
      }
      break;
    }
    default: v.of.funcref = NULL; break;
  }
  return v;
}

static void check_error(const hvw_error *err, hvw_status returned, const char *what) {
  FUZZ_CHECK(err->status == returned, "%s returned %s but err says %s", what,
             hvw_status_name(returned), hvw_status_name(err->status));
  FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "%s: message not terminated",
             what);
  FUZZ_CHECK((returned == HVW_TRAP) == (err->trap != HVW_TRAP_NONE),
             "%s: status %s with trap %s (%s)", what, hvw_status_name(returned),
             hvw_trap_message(err->trap), err->message);
}

static uint64_t hash_results(const hvw_value *results, uint32_t count) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint32_t i = 0; i < count; i++) {
    uint64_t bits;
    switch (results[i].type) {
      case HVW_TYPE_I32: bits = (uint32_t)results[i].of.i32; break;
      case HVW_TYPE_I64: bits = (uint64_t)results[i].of.i64; break;
      case HVW_TYPE_F32: bits = results[i].of.f32_bits; break;
      case HVW_TYPE_F64: bits = results[i].of.f64_bits; break;
      case HVW_TYPE_FUNCREF: bits = results[i].of.funcref != NULL; break;
      case HVW_TYPE_V128: {
        uint64_t lo = 0, hi = 0;
        for (int k = 0; k < 8; k++) {
          lo |= (uint64_t)results[i].of.v128[k] << (8 * k);
          hi |= (uint64_t)results[i].of.v128[8 + k] << (8 * k);
        }
        bits = lo ^ (hi * 0x9E3779B97F4A7C15ull);
        break;
      }
      default: bits = results[i].of.externref; break;
    }
    h = (h ^ bits ^ results[i].type) * 0x100000001b3ull;
  }
  return h;
}

void fuzz_small_limits(hvw_store_limits *out, uint64_t gas) {
  hvw_store_limits_default(out);
  out->gas_limit = gas;
  out->max_memory_pages = 4;
  out->max_table_elements = 64;
  out->max_call_depth = 200;
  out->max_stack_cells = 16384;
}

void fuzz_run_module(const hvw_module *module, const hvw_store_limits *limits, uint64_t seed,
                     fuzz_run_log *log) {
  hvw_error err;
  memset(log, 0, sizeof *log);
  hvw_store *store = hvw_store_new(limits, &err);
  FUZZ_CHECK(store != NULL, "hvw_store_new: %s", err.message);

  hvw_instance *instance = hvw_instance_new(store, module, NULL, 0, &err);
  hvw_status st = instance ? HVW_OK : err.status;
  if (instance) {
    FUZZ_CHECK(err.status == HVW_OK, "instantiation succeeded with err %s",
               hvw_status_name(err.status));
  } else {
    check_error(&err, st, "hvw_instance_new");
    FUZZ_CHECK(st == HVW_TRAP || st == HVW_MEMORY_EXCEEDED || st == HVW_GAS_EXHAUSTED ||
                   st == HVW_IMPL_LIMIT,
               "instantiation failed with %s: %s", hvw_status_name(st), err.message);
  }
  log->outcome[log->count++] = (fuzz_outcome){.status = st, .trap = instance ? HVW_TRAP_NONE : err.trap};

  uint64_t state = seed;
  uint32_t exports = instance ? hvw_module_export_count(module) : 0;
  for (uint32_t i = 0; i < exports && log->count <= FUZZ_MAX_CALLS; i++) {
    hvw_export_info info;
    hvw_extern ext;
    FUZZ_CHECK(hvw_module_export(module, i, &info), "export %u of %u missing", i, exports);
    FUZZ_CHECK(hvw_instance_export(instance, info.name, info.name_len, &ext),
               "export '%.*s' not found in the instance", (int)info.name_len, info.name);
    FUZZ_CHECK(ext.kind == info.type.kind, "export '%.*s' changed kind", (int)info.name_len,
               info.name);
    if (ext.kind != HVW_EXTERN_FUNC) continue;
    hvw_functype_view type = hvw_func_type(ext.of.func);
    FUZZ_CHECK(type.param_count == info.type.func.param_count &&
                   type.result_count == info.type.func.result_count,
               "export '%.*s': the instance's type differs from the module's", (int)info.name_len,
               info.name);
    if (type.param_count > 64 || type.result_count > 64) continue;
    hvw_value args[64], results[64];
    for (uint32_t k = 0; k < type.param_count; k++) args[k] = random_arg(type.params[k], &state);
    st = hvw_func_call(store, ext.of.func, args, type.param_count, results, type.result_count,
                        &err);
    check_error(&err, st, "hvw_func_call");
    FUZZ_CHECK(st == HVW_OK || st == HVW_TRAP || st == HVW_GAS_EXHAUSTED ||
                   st == HVW_MEMORY_EXCEEDED,
               "call of '%.*s' ended with %s: %s", (int)info.name_len, info.name,
               hvw_status_name(st), err.message);
    fuzz_outcome *o = &log->outcome[log->count++];
    o->status = st;
    o->trap = err.trap;
    if (st == HVW_OK) {
      for (uint32_t k = 0; k < type.result_count; k++)
        FUZZ_CHECK(results[k].type == type.results[k], "result %u of '%.*s' has type %s, not %s",
                   k, (int)info.name_len, info.name, hvw_valtype_name(results[k].type),
                   hvw_valtype_name(type.results[k]));
      o->results_hash = hash_results(results, type.result_count);
    }
  }
  hvw_store_stats stats;
  hvw_store_get_stats(store, &stats);
  FUZZ_CHECK(stats.memory_peak_bytes <= (uint64_t)limits->max_memory_pages * HVW_PAGE_SIZE,
             "memory peak %llu over the cap of %u pages", (unsigned long long)stats.memory_peak_bytes,
             limits->max_memory_pages);
  log->gas_used = stats.gas_used;
  hvw_store_free(store);
}
