// bench: n=60000000 check=500000
/* hash32: 32-bit integer mixing: an LCG feeds FNV-1a, murmur3's finaliser, rotates and unsigned
 * division/remainder by a changing divisor. Register-only, no memory traffic. */
#include "common.h"

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 42, fnv = 2166136261u, acc = 0, divs = 0;
  for (int32_t i = 0; i < n; i++) {
    uint32_t x = bench_lcg(&seed);
    fnv = (fnv ^ (x & 0xff)) * 16777619u;
    fnv = (fnv ^ (x >> 24)) * 16777619u;
    uint32_t h = x ^ fnv;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    acc = rotl32(acc ^ h, 5) + 0x9e3779b9u;
    if ((i & 15) == 0) {
      uint32_t d = (h | 1u) & 0xffffu;
      divs += acc / d + acc % (d + 3u);
    }
  }
  return (int64_t)(((uint64_t)acc << 32) ^ fnv ^ divs);
}
