// bench: n=2000000 check=40000
/* bsearch: n lookups of pseudo-random keys in a sorted table of 256 Ki 32-bit keys (1 MiB), with
 * an early-exit binary search. Branchy: unpredictable compares and dependent loads. */
#include "common.h"

#define TABLE_LEN (256u * 1024u)

static uint32_t table[TABLE_LEN];

static BENCH_NOINLINE int32_t find(const uint32_t *t, uint32_t len, uint32_t key) {
  uint32_t lo = 0, hi = len;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    uint32_t v = t[mid];
    if (v == key) return (int32_t)mid;
    if (v < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -(int32_t)lo - 1;
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 5, v = 0;
  // Strictly increasing keys with random gaps of 1..16.
  for (uint32_t i = 0; i < TABLE_LEN; i++) {
    v += 1 + (bench_lcg(&seed) >> 28);
    table[i] = v;
  }
  uint64_t sum = 0, hits = 0;
  for (int32_t i = 0; i < n; i++) {
    uint32_t key = bench_lcg(&seed) % (v + 1);
    int32_t at = find(table, TABLE_LEN, key);
    if (at >= 0) {
      hits++;
      sum += (uint32_t)at;
    } else {
      sum += (uint32_t)(-at) * 3u;
    }
  }
  return (int64_t)(sum ^ (hits << 40));
}
