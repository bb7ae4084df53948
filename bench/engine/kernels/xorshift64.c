// bench: n=40000000 check=300000
/* xorshift64: 64-bit integer work: xorshift64* generator, popcount, count leading/trailing
 * zeros, 64-bit rotates, multiplies and a signed 64-bit division. */
#include "common.h"

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint64_t s = 0x9e3779b97f4a7c15ull, acc = 0, bits = 0;
  uint64_t sdiv = 0;
  for (int32_t i = 0; i < n; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    uint64_t x = s * 0x2545f4914f6cdd1dull;
    bits += (uint64_t)__builtin_popcountll(x);
    bits += (uint64_t)__builtin_clzll(x | 1) * 3u + (uint64_t)__builtin_ctzll(x | (1ull << 63));
    acc = rotl64(acc ^ x, 17) * 0xff51afd7ed558ccdull;
    acc ^= acc >> 33;
    if ((i & 7) == 0) sdiv += (uint64_t)((int64_t)x / (int64_t)((acc >> 40) | 1));
  }
  return (int64_t)(acc ^ bits ^ sdiv);
}
