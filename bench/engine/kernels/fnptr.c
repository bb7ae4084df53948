// bench: n=30000000 check=300000
/* fnptr: indirect calls through a table of 16 small functions chosen by a pseudo-random index
 * (call_indirect), plus a direct call per step. Call-heavy with unpredictable targets. */
#include "common.h"

typedef uint32_t (*op_fn)(uint32_t acc, uint32_t x);

static BENCH_NOINLINE uint32_t f0(uint32_t a, uint32_t x) { return a + x; }
static BENCH_NOINLINE uint32_t f1(uint32_t a, uint32_t x) { return a ^ x; }
static BENCH_NOINLINE uint32_t f2(uint32_t a, uint32_t x) { return a * (x | 1); }
static BENCH_NOINLINE uint32_t f3(uint32_t a, uint32_t x) { return a - (x >> 3); }
static BENCH_NOINLINE uint32_t f4(uint32_t a, uint32_t x) { return ((a << 3) | (a >> 29)) + (x & 1u); }
static BENCH_NOINLINE uint32_t f5(uint32_t a, uint32_t x) { return a + (x & 0xff) * 7u; }
static BENCH_NOINLINE uint32_t f6(uint32_t a, uint32_t x) { return a ^ (x << 11); }
static BENCH_NOINLINE uint32_t f7(uint32_t a, uint32_t x) { return a > x ? a - x : x - a; }
static BENCH_NOINLINE uint32_t f8(uint32_t a, uint32_t x) { return a + 0x9e3779b9u - (x >> 30); }
static BENCH_NOINLINE uint32_t f9(uint32_t a, uint32_t x) { return (a ^ x) * 0x01000193u; }
static BENCH_NOINLINE uint32_t f10(uint32_t a, uint32_t x) { return a / ((x & 0xf) + 1); }
static BENCH_NOINLINE uint32_t f11(uint32_t a, uint32_t x) { return a | (x & 0x0f0f0f0fu); }
static BENCH_NOINLINE uint32_t f12(uint32_t a, uint32_t x) { return a & (x | 0xf0000000u); }
static BENCH_NOINLINE uint32_t f13(uint32_t a, uint32_t x) { return a + (a >> 5) + x; }
static BENCH_NOINLINE uint32_t f14(uint32_t a, uint32_t x) { return ~a + x; }
static BENCH_NOINLINE uint32_t f15(uint32_t a, uint32_t x) { return a * 5u + (x >> 16); }

static op_fn const ops[16] = {f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15};

static BENCH_NOINLINE uint32_t step(uint32_t a, uint32_t x) { return ops[x >> 28](a, x); }

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 17, acc = 1;
  uint64_t sum = 0;
  for (int32_t i = 0; i < n; i++) {
    uint32_t x = bench_lcg(&seed);
    acc = step(acc, x);
    sum += acc;
  }
  return (int64_t)(sum ^ ((uint64_t)acc << 32));
}
