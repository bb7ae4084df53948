/*
 * inst_bench.c: instantiation time of a module that is already compiled (what the server does for
 * a module found in its cache): hvw_store_new + hvw_instance_new + hvw_store_free, and the same
 * with one call of an export (the first call also creates the interpreter's stacks); then both
 * again with the stores made in one hvw_pool, as the executor's threads make them (memory slots
 * and stacks reused, not mapped each time).
 *
 *   inst_bench [--iterations N] [--rounds R] FILE.wasm[:EXPORT] ...
 *
 * Prints one line per module: the mean over N iterations, best of R rounds (a shared machine adds
 * noise, never removes it), in microseconds. EXPORT (default "add") is called with (i32 1, i32 2)
 * when it takes two i32 parameters, with nothing when it takes none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_file.h"
#include "wasm_engine.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One iteration; false (with a message) on any failure. */
static bool once(const hvw_module *m, const char *export_name, bool call, hvw_pool *pool) {
  hvw_error err = {0};
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  hvw_store *store = hvw_store_new_in_pool(&limits, pool, &err);
  if (!store) {
    fprintf(stderr, "inst_bench: store: %s\n", err.message);
    return false;
  }
  bool ok = true;
  hvw_instance *inst = hvw_instance_new(store, m, NULL, 0, &err);
  if (!inst) {
    fprintf(stderr, "inst_bench: instance: %s\n", err.message);
    ok = false;
  } else if (call) {
    hvw_extern ext;
    if (!hvw_instance_export(inst, export_name, strlen(export_name), &ext) ||
        ext.kind != HVW_EXTERN_FUNC) {
      fprintf(stderr, "inst_bench: no function export '%s'\n", export_name);
      ok = false;
    } else {
      hvw_functype_view t = hvw_func_type(ext.of.func);
      hvw_value args[2] = {{.type = HVW_TYPE_I32, .of.i32 = 1}, {.type = HVW_TYPE_I32, .of.i32 = 2}};
      hvw_value results[4];
      size_t nargs = t.param_count == 2 ? 2 : 0;
      if (hvw_func_call(store, ext.of.func, args, nargs, results, 4, &err) != HVW_OK) {
        fprintf(stderr, "inst_bench: call: %s\n", err.message);
        ok = false;
      }
    }
  }
  hvw_store_free(store);
  return ok;
}

static bool measure(const hvw_module *m, const char *export_name, bool call, hvw_pool *pool,
                    long iterations, int rounds, double *best_us) {
  *best_us = 0;
  for (int r = 0; r < rounds; r++) {
    double t0 = now_us();
    for (long i = 0; i < iterations; i++)
      if (!once(m, export_name, call, pool)) return false;
    double us = (now_us() - t0) / (double)iterations;
    if (r == 0 || us < *best_us) *best_us = us;
  }
  return true;
}

int main(int argc, char **argv) {
  long iterations = 20000;
  int rounds = 5;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) iterations = atol(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: inst_bench [--iterations N] [--rounds R] FILE.wasm[:EXPORT] ...\n");
      return 2;
    }
  }
  if (i == argc || iterations < 1 || rounds < 1) {
    fprintf(stderr, "usage: inst_bench [--iterations N] [--rounds R] FILE.wasm[:EXPORT] ...\n");
    return 2;
  }
  int rc = 0;
  for (; i < argc; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s", argv[i]);
    char *colon = strrchr(path, ':');
    const char *export_name = "add";
    if (colon) {
      *colon = '\0';
      export_name = colon + 1;
    }
    size_t len = 0;
    char why[128] = "";
    uint8_t *bytes = cli_read_file(path, CLI_FILE_MAX, &len, why, sizeof why);
    hvw_error err = {0};
    hvw_module *m = bytes ? hvw_module_load(bytes, len, &err) : NULL;
    free(bytes);
    if (!m) {
      fprintf(stderr, "inst_bench: %s: %s\n", path, bytes ? err.message : why);
      rc = 1;
      continue;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    double inst_us = 0, call_us = 0, pool_inst_us = 0, pool_call_us = 0;
    hvw_pool *pool = hvw_pool_new(NULL, &err);
    if (!pool || !measure(m, export_name, false, NULL, iterations, rounds, &inst_us) ||
        !measure(m, export_name, true, NULL, iterations, rounds, &call_us) ||
        !measure(m, export_name, false, pool, iterations, rounds, &pool_inst_us) ||
        !measure(m, export_name, true, pool, iterations, rounds, &pool_call_us)) {
      if (!pool) fprintf(stderr, "inst_bench: pool: %s\n", err.message);
      rc = 1;
    } else {
      printf("module=%s bytes=%zu instantiate_us=%.2f instantiate_call_us=%.2f "
             "pooled_instantiate_us=%.2f pooled_instantiate_call_us=%.2f\n",
             base, len, inst_us, call_us, pool_inst_us, pool_call_us);
    }
    hvw_pool_free(pool);
    hvw_module_free(m);
  }
  return rc;
}
