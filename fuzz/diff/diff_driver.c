/*
 * diff_driver.c: the engine's side of the differential check against wabt (fuzz/diff/run.sh).
 *
 *   fuzz_diff_driver gen SEED OUT.wasm [exec]
 *       writes the module the generator makes from SEED (differential mode; `exec`: exec mode)
 *   fuzz_diff_driver run FILE.wasm
 *       instantiates FILE in a fresh store and calls every exported function without params, in
 *       export order, in that one instance (as `wasm-interp --run-all-exports` does), printing
 *       one line per call in wasm-interp's format:
 *           NAME() => i32:4294967295, i64:7          (integers unsigned, floats as their bits,
 *                                                     a v128 as `v128 i32x4:0x... 0x... 0x... 0x...`)
 *           NAME() => error: integer divide by zero  (traps by wabt's names for them)
 *       or `error initializing module: ...` when instantiation fails.
 *
 * Exit status: 0 when the lines were printed, 1 on a load failure or a usage error.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm_engine.h"
#include "wasm_gen.h"

#define DRIVER_SEED_BYTES 4096
#define DRIVER_MAX_FILE (64u << 20)
#define DRIVER_MAX_RESULTS 64

/* wabt 1.0.32's words for each trap (src/interp/interp.cc); the detail after them is dropped by
 * run.sh before comparing. */
static const char *wabt_trap_text(hvw_trap trap) {
  switch (trap) {
    case HVW_TRAP_UNREACHABLE: return "unreachable executed";
    case HVW_TRAP_INT_OVERFLOW: return "integer overflow";
    case HVW_TRAP_INT_DIV_ZERO: return "integer divide by zero";
    case HVW_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case HVW_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case HVW_TRAP_TABLE_OOB: return "out of bounds table access";
    case HVW_TRAP_UNDEFINED_ELEMENT: return "undefined table index";
    case HVW_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized table element";
    case HVW_TRAP_INDIRECT_CALL_TYPE_MISMATCH: return "indirect call signature mismatch";
    case HVW_TRAP_CALL_STACK_EXHAUSTED: return "call stack exhausted";
    default: return hvw_trap_message(trap);
  }
}

static void print_failure(const char *prefix, const hvw_error *err) {
  if (err->status == HVW_TRAP) printf("%s%s\n", prefix, wabt_trap_text(err->trap));
  else printf("%s%s (%s)\n", prefix, hvw_status_name(err->status), err->message);
}

static void print_value(const hvw_value *v) {
  switch (v->type) {
    case HVW_TYPE_I32: printf("i32:%" PRIu32, (uint32_t)v->of.i32); break;
    case HVW_TYPE_I64: printf("i64:%" PRIu64, (uint64_t)v->of.i64); break;
    case HVW_TYPE_F32: printf("f32-bits:0x%08" PRIx32, v->of.f32_bits); break;
    case HVW_TYPE_F64: printf("f64-bits:0x%016" PRIx64, v->of.f64_bits); break;
    case HVW_TYPE_V128: /* as wabt prints one: four i32 lanes */
      printf("v128 i32x4:");
      for (int k = 0; k < 4; k++) {
        const uint8_t *b = v->of.v128 + 4 * k;
        printf("%s0x%08" PRIx32, k ? " " : "",
               (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
      }
      break;
    default: printf("%s", hvw_valtype_name(v->type) ? hvw_valtype_name(v->type) : "?"); break;
  }
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long len = ftell(f);
    if (len >= 0 && (unsigned long)len <= DRIVER_MAX_FILE && fseek(f, 0, SEEK_SET) == 0) {
      buf = malloc(len ? (size_t)len : 1);
      if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
      }
      *size = (size_t)len;
    }
  }
  fclose(f);
  return buf;
}

static int cmd_gen(const char *seed_text, const char *path, bool exec_mode) {
  uint8_t seed_bytes[DRIVER_SEED_BYTES], *module = NULL;
  size_t size = 0;
  char *end;
  uint64_t seed = strtoull(seed_text, &end, 0);
  if (*end != '\0') {
    fprintf(stderr, "fuzz_diff_driver: bad seed '%s'\n", seed_text);
    return 1;
  }
  wgen_seed_bytes(seed, seed_bytes, sizeof seed_bytes);
  wgen_config config = {.deterministic = !exec_mode};
  if (!wgen_generate(seed_bytes, sizeof seed_bytes, &config, &module, &size)) {
    fprintf(stderr, "fuzz_diff_driver: out of memory\n");
    return 1;
  }
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(module, 1, size, f) == size;
  if (f && fclose(f) != 0) ok = false;
  free(module);
  if (!ok) fprintf(stderr, "fuzz_diff_driver: cannot write '%s'\n", path);
  return ok ? 0 : 1;
}

static int cmd_run(const char *path) {
  size_t size = 0;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    fprintf(stderr, "fuzz_diff_driver: cannot read '%s'\n", path);
    return 1;
  }
  hvw_error err = {0};
  hvw_module *module = hvw_module_load(bytes, size, &err);
  free(bytes);
  if (!module) {
    printf("load failed: %s: %s\n", hvw_status_name(err.status), err.message);
    return 1;
  }
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = 1000000000; /* generated modules end long before; a hang would show here */
  hvw_store *store = hvw_store_new(&limits, &err);
  if (!store) {
    printf("store failed: %s\n", err.message);
    hvw_module_free(module);
    return 1;
  }
  hvw_instance *instance = hvw_instance_new(store, module, NULL, 0, &err);
  if (!instance) {
    print_failure("error initializing module: ", &err);
  }
  for (uint32_t i = 0; instance && i < hvw_module_export_count(module); i++) {
    hvw_export_info info;
    hvw_extern ext;
    if (!hvw_module_export(module, i, &info) || info.type.kind != HVW_EXTERN_FUNC ||
        info.type.func.param_count != 0 || info.type.func.result_count > DRIVER_MAX_RESULTS)
      continue;
    if (!hvw_instance_export(instance, info.name, info.name_len, &ext)) continue;
    hvw_value results[DRIVER_MAX_RESULTS];
    hvw_status st = hvw_func_call(store, ext.of.func, NULL, 0, results,
                                    info.type.func.result_count, &err);
    printf("%.*s() =>", (int)info.name_len, info.name);
    if (st != HVW_OK) {
      print_failure(" error: ", &err);
      continue;
    }
    for (uint32_t k = 0; k < info.type.func.result_count; k++) {
      fputs(k ? ", " : " ", stdout);
      print_value(&results[k]);
    }
    putchar('\n');
  }
  hvw_store_free(store);
  hvw_module_free(module);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "gen") == 0)
    return cmd_gen(argv[2], argv[3], argc >= 5 && strcmp(argv[4], "exec") == 0);
  if (argc == 3 && strcmp(argv[1], "run") == 0) return cmd_run(argv[2]);
  fprintf(stderr, "usage: fuzz_diff_driver gen SEED OUT.wasm [exec] | run FILE.wasm\n");
  return 1;
}
