/*
 * w2c_driver.c: runs a kernel's wasm through wabt's wasm2c (wasm translated to C, compiled
 * natively) at full size, to check the wasm build against the native one without our engine.
 * Usage: w2c_driver N. The translated module is named "k" (wasm2c -n k).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "k_w2c.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s N\n", argv[0]);
    return 2;
  }
  char *end;
  long n = strtol(argv[1], &end, 0);
  if (*end != '\0' || n < INT32_MIN || n > INT32_MAX) {
    fprintf(stderr, "bad N: %s\n", argv[1]);
    return 2;
  }
  wasm_rt_init();
  Z_k_init_module();
  Z_k_instance_t inst;
  Z_k_instantiate(&inst);
  double t0 = now_s();
  int64_t r = (int64_t)Z_kZ_main(&inst, (uint32_t)(int32_t)n);
  double t1 = now_s();
  printf("%" PRId64 "\n", r);
  fprintf(stderr, "wasm2c_s: %.6f\n", t1 - t0);
  Z_k_free(&inst);
  wasm_rt_free();
  return 0;
}
