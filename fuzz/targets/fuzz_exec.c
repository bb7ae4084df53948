/*
 * fuzz_exec.c: translation and execution of VALID generated modules under small limits.
 *
 * Input: one flags byte (bit 0: the generator's deterministic mode), then the generator's bytes
 * (fuzz/wasm_gen.h). Checks:
 *   - the engine loads every generated module (a rejection is a bug of the engine or of the
 *     generator: the message and the module say which);
 *   - every outcome of instantiation and of each export call is a clean status (engine_run.c);
 *   - two runs in two fresh stores give the same outcomes, results and gas: nothing leaks between
 *     stores and nothing reads uninitialised state.
 * HV_FUZZ_DUMP=FILE writes the generated module to FILE (to look at it with wasm2wat).
 */
#include <stdlib.h>
#include <string.h>

#include "engine_run.h"
#include "fuzz_util.h"
#include "wasm_engine.h"
#include "wasm_gen.h"

#define EXEC_GAS 100000

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void dump_module(const uint8_t *module, size_t size) {
  const char *path = getenv("HV_FUZZ_DUMP");
  if (!path || !*path) return;
  FILE *f = fopen(path, "wb");
  if (!f) return;
  if (fwrite(module, 1, size, f) != size) fprintf(stderr, "HV_FUZZ_DUMP: short write\n");
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  wgen_config config = {.deterministic = data[0] & 1};
  uint8_t *bytes = NULL;
  size_t len = 0;
  if (!wgen_generate(data + 1, size - 1, &config, &bytes, &len)) return 0; /* out of memory */
  dump_module(bytes, len);

  hvw_error err;
  hvw_module *module = hvw_module_load(bytes, len, &err);
  FUZZ_CHECK(module != NULL,
             "the engine rejects a generated module (%zu bytes; HV_FUZZ_DUMP=FILE writes it): "
             "%s: %s", len, hvw_status_name(err.status), err.message);
  free(bytes);

  hvw_store_limits limits;
  fuzz_run_log first, second;
  uint64_t seed = fuzz_hash(data, size);
  fuzz_small_limits(&limits, EXEC_GAS);
  fuzz_run_module(module, &limits, seed, &first);
  fuzz_run_module(module, &limits, seed, &second);
  FUZZ_CHECK(first.count == second.count, "second run: %u outcomes, first %u", second.count,
             first.count);
  for (uint32_t i = 0; i < first.count; i++) {
    const fuzz_outcome *a = &first.outcome[i], *b = &second.outcome[i];
    FUZZ_CHECK(a->status == b->status && a->trap == b->trap && a->results_hash == b->results_hash,
               "outcome %u differs between two fresh stores: %s/%s vs %s/%s", i,
               hvw_status_name(a->status), hvw_trap_message(a->trap),
               hvw_status_name(b->status), hvw_trap_message(b->trap));
  }
  FUZZ_CHECK(first.gas_used == second.gas_used, "gas %llu then %llu",
             (unsigned long long)first.gas_used, (unsigned long long)second.gas_used);
  hvw_module_free(module);
  return 0;
}
