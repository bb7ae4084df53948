// bench: n=25 check=1
/* sieve: sieve of Eratosthenes over a 4 MiB byte array, n rounds with a sliding upper bound.
 * Memory-heavy: strided byte stores over a buffer larger than L2. */
#include "common.h"

#define SIEVE_MAX (4u << 20)

static uint8_t composite[SIEVE_MAX];

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    uint32_t limit = SIEVE_MAX - (uint32_t)r * 1024u;
    for (uint32_t i = 0; i < limit; i++) composite[i] = 0;
    uint32_t count = 0;
    uint64_t last = 0;
    for (uint32_t i = 2; i < limit; i++) {
      if (composite[i]) continue;
      count++;
      last = i;
      if ((uint64_t)i * i >= limit) continue;
      for (uint32_t j = i * i; j < limit; j += i) composite[j] = 1;
    }
    sum = sum * 1000003u + count + (last << 32);
  }
  return (int64_t)sum;
}
