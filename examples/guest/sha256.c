/*
 * sha256.c: the example guest `sha256(bytes) -> bytes`, SHA-256 (FIPS 180-4) of its argument.
 *
 * Canonical ABI (core module): sha256(i32 ptr, i32 len) -> i32 retptr, where retptr points at
 * {u32 ptr, u32 len = 32} and ptr at the digest. The digest lives in a static buffer and the
 * argument is freed before returning, so there is no cabi_post_sha256: the result stays valid
 * until the next call.
 *
 * Whole blocks are compressed straight from the argument; only the last one or two blocks are
 * copied, to add the padding. The hot loop has no calls: a 1 MiB argument is 16,384 blocks.
 */
#include "cabi_guest.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROTL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
/* Ch and Maj of FIPS 180-4 §4.1.2, in equivalent forms with one operation fewer. */
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/* One (unaligned) i32.load and a byte swap of two rotates and two masks: fewer instructions than
 * four byte loads, shifts and ors. */
static inline uint32_t load_be32(const unsigned char *p) {
  uint32_t x;
  __builtin_memcpy(&x, p, 4);
  return (ROTL(x, 8) & 0x00ff00ffu) | (ROTR(x, 8) & 0xff00ff00u);
}

static inline void store_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* Round t (FIPS 180-4 §6.2.2 step 3) with the working variables renamed instead of moved: the
 * caller rotates the arguments, so eight rounds leave every variable where it started. The
 * message schedule is the last 16 words, w[t % 16], updated in place from round 16 on. */
#define W(t) ((t) < 16 ? w[(t) & 15]                                                      \
                       : (w[(t) & 15] += SSIG1(w[((t) - 2) & 15]) + w[((t) - 7) & 15] + \
                                         SSIG0(w[((t) - 15) & 15])))
#define ROUND(a, b, c, d, e, f, g, h, t)                     \
  do {                                                       \
    uint32_t t1 = h + BSIG1(e) + CH(e, f, g) + K[t] + W(t); \
    d += t1;                                                 \
    h = t1 + BSIG0(a) + MAJ(a, b, c);                        \
  } while (0)

/*
 * FIPS 180-4 §6.2.2 on `blocks` consecutive 64-byte blocks at p. The round loop is unrolled
 * completely, so that every index is a constant: K[t] becomes an immediate and w[] lives in
 * locals, not in memory.
 */
static void compress(uint32_t h[8], const unsigned char *p, size_t blocks) {
  for (; blocks > 0; blocks--, p += 64) {
    uint32_t w[16];
    for (int t = 0; t < 16; t++) w[t] = load_be32(p + 4 * t);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
#pragma clang loop unroll(full)
    for (int t = 0; t < 64; t += 8) {
      ROUND(a, b, c, d, e, f, g, hh, t);
      ROUND(hh, a, b, c, d, e, f, g, t + 1);
      ROUND(g, hh, a, b, c, d, e, f, t + 2);
      ROUND(f, g, hh, a, b, c, d, e, t + 3);
      ROUND(e, f, g, hh, a, b, c, d, t + 4);
      ROUND(d, e, f, g, hh, a, b, c, t + 5);
      ROUND(c, d, e, f, g, hh, a, b, t + 6);
      ROUND(b, c, d, e, f, g, hh, a, t + 7);
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

static unsigned char digest[32];
static cabi_pair result;

int32_t sha256(const unsigned char *data, uint32_t len);

CABI_EXPORT("sha256")
int32_t sha256(const unsigned char *data, uint32_t len) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t whole = len / 64;
  compress(h, data, whole);

  /* The tail, 0x80, zeros and the length in bits (64-bit big-endian): one block, or two when
   * fewer than 9 bytes are left after the tail (FIPS 180-4 §5.1.1). */
  unsigned char last[128];
  size_t rest = len % 64;
  size_t padded = rest < 56 ? 64 : 128;
  memcpy(last, data + whole * 64, rest);
  last[rest] = 0x80;
  memset(last + rest + 1, 0, padded - rest - 1 - 8);
  uint64_t bits = (uint64_t)len * 8;
  store_be32(last + padded - 8, (uint32_t)(bits >> 32));
  store_be32(last + padded - 4, (uint32_t)bits);
  compress(h, last, padded / 64);

  for (int i = 0; i < 8; i++) store_be32(digest + 4 * i, h[i]);
  cabi_arena_reset(); /* the argument is no longer needed */
  return cabi_return(&result, digest, sizeof digest);
}
