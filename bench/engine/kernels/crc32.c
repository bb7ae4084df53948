// bench: n=80 check=2
/* crc32: table-driven CRC-32 (IEEE) over a 1 MiB buffer, n passes. Integer arithmetic, byte loads,
 * table lookups. */
#include "common.h"

#define CRC_BUF (1u << 20)

static uint32_t crc_table[256];
static uint8_t crc_buf[CRC_BUF];

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint32_t len) {
  crc = ~crc;
  for (uint32_t i = 0; i < len; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 12345;
  crc_init();
  for (uint32_t i = 0; i < CRC_BUF; i++) crc_buf[i] = (uint8_t)(bench_lcg(&seed) >> 24);
  uint32_t crc = 0;
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    crc_buf[(uint32_t)r * 7919u % CRC_BUF] ^= (uint8_t)r;  // each pass sees different data
    crc = crc_update(crc, crc_buf, CRC_BUF);
    sum += crc;
  }
  return (int64_t)(sum ^ ((uint64_t)crc << 32));
}
