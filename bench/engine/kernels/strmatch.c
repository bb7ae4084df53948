// bench: n=40 check=1
/* strmatch: substring search in 1 MiB of 4-letter text: naive search and Boyer-Moore-Horspool
 * for n patterns each, counting matches. Branchy: byte compares with unpredictable mismatches. */
#include "common.h"

#define TEXT_LEN (1u << 20)
#define PAT_MAX 32

static uint8_t text[TEXT_LEN];

static BENCH_NOINLINE uint32_t naive(const uint8_t *t, uint32_t tn, const uint8_t *p, uint32_t pn) {
  uint32_t count = 0;
  for (uint32_t i = 0; i + pn <= tn; i++) {
    uint32_t j = 0;
    while (j < pn && t[i + j] == p[j]) j++;
    if (j == pn) count++;
  }
  return count;
}

static BENCH_NOINLINE uint32_t horspool(const uint8_t *t, uint32_t tn, const uint8_t *p,
                                        uint32_t pn) {
  uint32_t skip[256];
  for (uint32_t c = 0; c < 256; c++) skip[c] = pn;
  for (uint32_t j = 0; j + 1 < pn; j++) skip[p[j]] = pn - 1 - j;
  uint32_t count = 0, i = 0;
  while (i + pn <= tn) {
    uint8_t last = t[i + pn - 1];
    if (last == p[pn - 1]) {
      uint32_t j = 0;
      while (j + 1 < pn && t[i + j] == p[j]) j++;
      if (j + 1 >= pn) count++;
    }
    i += skip[last];
  }
  return count;
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  static const uint8_t alphabet[4] = {'A', 'C', 'G', 'T'};
  uint32_t seed = 11;
  for (uint32_t i = 0; i < TEXT_LEN; i++) text[i] = alphabet[bench_lcg(&seed) >> 30];
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    uint8_t pat[PAT_MAX];
    uint32_t pn = 4 + (uint32_t)r % 12;
    // Half the patterns are taken from the text, so there are matches to find.
    uint32_t from = bench_lcg(&seed) % (TEXT_LEN - PAT_MAX);
    for (uint32_t j = 0; j < pn; j++)
      pat[j] = (r & 1) ? text[from + j] : alphabet[bench_lcg(&seed) >> 30];
    uint32_t a = naive(text, TEXT_LEN, pat, pn);
    uint32_t b = horspool(text, TEXT_LEN, pat, pn);
    if (a != b) return -1;
    sum = bench_mix64(sum + a * 131u + pn);
  }
  return (int64_t)sum;
}
