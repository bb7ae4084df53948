// bench: n=300 check=1
/* memcopy: memcpy/memset-like loops over two 2 MiB buffers: blocks of varying size and alignment
 * copied byte-wise and word-wise, filled, and summed. Memory bandwidth and load/store mix. */
#include "common.h"

#define COPY_BUF (2u << 20)

static uint8_t src_buf[COPY_BUF], dst_buf[COPY_BUF];

static BENCH_NOINLINE void copy_bytes(uint8_t *d, const uint8_t *s, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) d[i] = s[i];
}

static BENCH_NOINLINE void copy_words(uint64_t *d, const uint64_t *s, uint32_t words) {
  for (uint32_t i = 0; i < words; i++) d[i] = s[i];
}

static BENCH_NOINLINE void fill_bytes(uint8_t *d, uint8_t v, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) d[i] = v;
}

static BENCH_NOINLINE uint64_t sum_words(const uint32_t *p, uint32_t words) {
  uint64_t s = 0;
  for (uint32_t i = 0; i < words; i++) s += p[i] ^ (s >> 7);
  return s;
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 3;
  for (uint32_t i = 0; i < COPY_BUF / 4; i++) ((uint32_t *)src_buf)[i] = bench_lcg(&seed);
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    // Whole-buffer word copy, then many short unaligned byte copies and fills.
    copy_words((uint64_t *)dst_buf, (const uint64_t *)src_buf, COPY_BUF / 8);
    for (uint32_t k = 0; k < 2048; k++) {
      uint32_t x = bench_lcg(&seed);
      uint32_t len = (x >> 20) & 511u;
      uint32_t from = (x & 0xfffffu) % (COPY_BUF - 512u);
      uint32_t to = bench_lcg(&seed) % (COPY_BUF - 512u);
      if (k & 1)
        copy_bytes(dst_buf + to, src_buf + from, len);
      else
        fill_bytes(dst_buf + to, (uint8_t)x, len);
    }
    copy_bytes(src_buf + 1, dst_buf + 3, COPY_BUF / 2);
    sum = bench_mix64(sum ^ sum_words((const uint32_t *)dst_buf, COPY_BUF / 4));
  }
  return (int64_t)sum;
}
