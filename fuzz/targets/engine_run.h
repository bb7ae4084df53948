/*
 * engine_run.h: runs a loaded module the way the engine fuzz targets do, checking that every
 * outcome is a clean status, and records the outcomes so that two runs can be compared.
 */
#ifndef HV_FUZZ_ENGINE_RUN_H
#define HV_FUZZ_ENGINE_RUN_H

#include <stdint.h>

#include "wasm_engine.h"

#define FUZZ_MAX_CALLS 32

typedef struct fuzz_outcome {
  hvw_status status;
  hvw_trap trap;
  uint64_t results_hash; /* of the result bits; references by null-ness only */
} fuzz_outcome;

typedef struct fuzz_run_log {
  uint32_t count; /* [0] is the instantiation, then one per exported function called */
  fuzz_outcome outcome[FUZZ_MAX_CALLS + 1];
  uint64_t gas_used;
} fuzz_run_log;

/* Limits small enough that any module finishes quickly: gas, a 4-page memory cap, 64 table
 * elements, call depth 200, 16 Ki stack cells. */
void fuzz_small_limits(hvw_store_limits *out, uint64_t gas);

/*
 * Instantiates `module` (which must have no imports) in a fresh store with `limits`, then calls
 * each exported function (up to FUZZ_MAX_CALLS) once, with arguments drawn from `seed`, in the
 * same instance. Aborts when an outcome is not one a caller may see (FUZZ_CHECK). Fills *log.
 */
void fuzz_run_module(const hvw_module *module, const hvw_store_limits *limits, uint64_t seed,
                     fuzz_run_log *log);

#endif /* HV_FUZZ_ENGINE_RUN_H */
