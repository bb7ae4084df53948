// bench: n=200 check=2
/* ackermann: n rounds of ack(2, 500) and ack(3, 1..7). Call-heavy and deep (up to ~1000
 * frames), well within the engine's default call depth of 10,000. */
#include "common.h"

static BENCH_NOINLINE int32_t ack(int32_t m, int32_t k) {
  if (m == 0) return k + 1;
  if (k == 0) return ack(m - 1, 1);
  return ack(m - 1, ack(m, k - 1));
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint64_t sum = 0;  // unsigned: the checksum wraps
  for (int32_t r = 0; r < n; r++) {
    sum += (uint32_t)ack(2, 500 + r % 3);
    for (int32_t k = 1; k <= 7; k++) sum = sum * 3u + (uint32_t)ack(3, k);
  }
  return (int64_t)sum;
}
