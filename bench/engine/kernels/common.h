/*
 * common.h: shared by every benchmark kernel. Kernels are freestanding C: no libc, no WASI, no
 * imports. Each kernel defines `int64_t bench_main(int32_t n)` returning a checksum; in the wasm
 * build it is exported as "main", natively it is called by driver.c.
 *
 * The first comment line of each kernel names its arguments for run.sh:
 *   // bench: n=FULL check=SMALL
 * FULL takes about 0.1-0.3 s natively; SMALL is for wabt's slow reference interpreter.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __wasm__
#define BENCH_EXPORT __attribute__((export_name("main")))
#else
#define BENCH_EXPORT
#endif

#define BENCH_NOINLINE __attribute__((noinline))

BENCH_EXPORT int64_t bench_main(int32_t n);

/* Builtins that lower to one wasm instruction, so no libm import appears with -fno-builtin. */
#define bench_sqrt(x) __builtin_sqrt(x)
#define bench_fabs(x) __builtin_fabs(x)

/* LCG from Numerical Recipes: cheap and the same on every target. */
static inline uint32_t bench_lcg(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state;
}

/* splitmix64 finaliser: folds values into a checksum. */
static inline uint64_t bench_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

static inline uint64_t bench_f64_bits(double d) {
  union {
    double d;
    uint64_t u;
  } v;
  v.d = d;
  return v.u;
}

#endif
