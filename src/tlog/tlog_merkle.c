/*
 * tlog_merkle.c: RFC 9162 Merkle trees over SHA-256 (hv_tlog.h): hashes, append, roots, proofs
 * and their verification. Proofs are built from complete subtrees read through a callback, so the
 * same code serves the server (nodes in the audit store) and tests (nodes in memory).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hv_tlog.h"

const char *hv_tlog_status_text(hv_tlog_status status) {
  switch (status) {
#define HV_TLOG__TEXT(name, text) \
  case name:                      \
    return text;
    HV_TLOG_STATUS_MAP(HV_TLOG__TEXT)
#undef HV_TLOG__TEXT
  }
  return "unknown status";
}

/* ---- Hashes ------------------------------------------------------------------------------ */

void hv_tlog_leaf_hash(const void *data, size_t len, uint8_t out[HV_TLOG_HASH_LEN]) {
  static const uint8_t prefix = 0x00;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned int n = 0;
  if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
      EVP_DigestUpdate(md, &prefix, 1) == 1 && EVP_DigestUpdate(md, data, len) == 1 &&
      EVP_DigestFinal_ex(md, out, &n) == 1 && n == HV_TLOG_HASH_LEN) {
    EVP_MD_CTX_free(md);
    return;
  }
  EVP_MD_CTX_free(md);
  /* Out of memory in OpenSSL: fall back to the one-shot call, which allocates nothing. */
  uint8_t buf[1 + 1024];
  if (len <= 1024) {
    buf[0] = prefix;
    memcpy(buf + 1, data, len);
    SHA256(buf, len + 1, out);
  } else {
    memset(out, 0, HV_TLOG_HASH_LEN); /* never matches a real hash: proofs then fail */
  }
}

void hv_tlog_node_hash(const uint8_t left[HV_TLOG_HASH_LEN], const uint8_t right[HV_TLOG_HASH_LEN],
                       uint8_t out[HV_TLOG_HASH_LEN]) {
  uint8_t buf[1 + 2 * HV_TLOG_HASH_LEN];
  buf[0] = 0x01;
  memcpy(buf + 1, left, HV_TLOG_HASH_LEN);
  memcpy(buf + 1 + HV_TLOG_HASH_LEN, right, HV_TLOG_HASH_LEN);
  SHA256(buf, sizeof buf, out);
}

void hv_tlog_empty_root(uint8_t out[HV_TLOG_HASH_LEN]) { SHA256((const uint8_t *)"", 0, out); }

/* ---- Building --------------------------------------------------------------------------- */

/* The largest power of two smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

static bool is_pow2(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

static unsigned log2_exact(uint64_t n) {
  unsigned l = 0;
  while (n > 1) {
    n >>= 1;
    l++;
  }
  return l;
}

/* MTH(D[begin:end]) for a range the RFC's recursion produces: begin is a multiple of the
 * smallest power of two >= end - begin, so it is a complete subtree or splits into one on the
 * left and a smaller such range on the right. */
static hv_tlog_status range_hash(hv_tlog_node_fn get, void *ctx, uint64_t begin, uint64_t end,
                                 uint8_t out[HV_TLOG_HASH_LEN]) {
  uint64_t n = end - begin;
  if (n == 0) return HV_TLOG_INVALID_ARGUMENT;
  if (is_pow2(n) && begin % n == 0) {
    unsigned level = log2_exact(n);
    return get(ctx, level, begin >> level, out) ? HV_TLOG_OK : HV_TLOG_NODE_MISSING;
  }
  uint64_t k = split_point(n);
  uint8_t left[HV_TLOG_HASH_LEN], right[HV_TLOG_HASH_LEN];
  hv_tlog_status st = range_hash(get, ctx, begin, begin + k, left);
  if (st == HV_TLOG_OK) st = range_hash(get, ctx, begin + k, end, right);
  if (st == HV_TLOG_OK) hv_tlog_node_hash(left, right, out);
  return st;
}

hv_tlog_status hv_tlog_append(hv_tlog_node_fn get, hv_tlog_store_fn put, void *ctx, uint64_t index,
                              const uint8_t leaf_hash[HV_TLOG_HASH_LEN]) {
  if (!put(ctx, 0, index, leaf_hash)) return HV_TLOG_INVALID_ARGUMENT;
  uint8_t cur[HV_TLOG_HASH_LEN], left[HV_TLOG_HASH_LEN];
  memcpy(cur, leaf_hash, sizeof cur);
  unsigned level = 0;
  /* Each trailing one bit of the index closes a subtree: its left half is already stored. */
  for (uint64_t j = index; j & 1; j >>= 1) {
    if (!get(ctx, level, j - 1, left)) return HV_TLOG_NODE_MISSING;
    hv_tlog_node_hash(left, cur, cur);
    level++;
    if (!put(ctx, level, j >> 1, cur)) return HV_TLOG_INVALID_ARGUMENT;
  }
  return HV_TLOG_OK;
}

hv_tlog_status hv_tlog_root(hv_tlog_node_fn get, void *ctx, uint64_t size,
                            uint8_t out[HV_TLOG_HASH_LEN]) {
  if (size == 0) {
    hv_tlog_empty_root(out);
    return HV_TLOG_OK;
  }
  return range_hash(get, ctx, 0, size, out);
}

/* Reverses proof[0..n). */
static void reverse(uint8_t proof[][HV_TLOG_HASH_LEN], size_t n) {
  uint8_t t[HV_TLOG_HASH_LEN];
  for (size_t i = 0; i < n / 2; i++) {
    memcpy(t, proof[i], sizeof t);
    memcpy(proof[i], proof[n - 1 - i], sizeof t);
    memcpy(proof[n - 1 - i], t, sizeof t);
  }
}

hv_tlog_status hv_tlog_prove_inclusion(hv_tlog_node_fn get, void *ctx, uint64_t index,
                                       uint64_t size, uint8_t proof[][HV_TLOG_HASH_LEN],
                                       size_t *count) {
  *count = 0;
  if (index >= size) return HV_TLOG_INVALID_ARGUMENT;
  uint64_t lo = 0, hi = size;
  size_t n = 0;
  /* PATH(m, D[lo:hi]) adds the sibling after the deeper path: collect top-down, then reverse. */
  while (hi - lo > 1) {
    if (n == HV_TLOG_PROOF_MAX) return HV_TLOG_INVALID_ARGUMENT;
    uint64_t k = split_point(hi - lo);
    hv_tlog_status st;
    if (index < lo + k) {
      st = range_hash(get, ctx, lo + k, hi, proof[n]);
      hi = lo + k;
    } else {
      st = range_hash(get, ctx, lo, lo + k, proof[n]);
      lo = lo + k;
    }
    if (st != HV_TLOG_OK) return st;
    n++;
  }
  reverse(proof, n);
  *count = n;
  return HV_TLOG_OK;
}

hv_tlog_status hv_tlog_prove_consistency(hv_tlog_node_fn get, void *ctx, uint64_t old_size,
                                         uint64_t new_size, uint8_t proof[][HV_TLOG_HASH_LEN],
                                         size_t *count) {
  *count = 0;
  if (old_size == 0 || old_size > new_size) return HV_TLOG_INVALID_ARGUMENT;
  if (old_size == new_size) return HV_TLOG_OK;
  /* SUBPROOF(m, D[lo:hi], b), unrolled: the hashes appended on the way down come out in reverse;
   * the terminal subtree (when b is false) is the proof's first element. */
  uint8_t rev[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t n = 0;
  uint64_t m = old_size, lo = 0, hi = new_size;
  bool whole = true; /* the RFC's b: the old tree so far is a complete prefix of the new one */
  bool terminal = false;
  uint8_t term[HV_TLOG_HASH_LEN];
  for (;;) {
    if (m == hi - lo) {
      if (!whole) {
        hv_tlog_status st = range_hash(get, ctx, lo, hi, term);
        if (st != HV_TLOG_OK) return st;
        terminal = true;
      }
      break;
    }
    if (n == HV_TLOG_PROOF_MAX - 1) return HV_TLOG_INVALID_ARGUMENT;
    uint64_t k = split_point(hi - lo);
    hv_tlog_status st;
    if (m <= k) {
      st = range_hash(get, ctx, lo + k, hi, rev[n]);
      hi = lo + k;
    } else {
      st = range_hash(get, ctx, lo, lo + k, rev[n]);
      m -= k;
      lo += k;
      whole = false;
    }
    if (st != HV_TLOG_OK) return st;
    n++;
  }
  size_t out = 0;
  if (terminal) memcpy(proof[out++], term, HV_TLOG_HASH_LEN);
  for (size_t i = n; i-- > 0;) memcpy(proof[out++], rev[i], HV_TLOG_HASH_LEN);
  *count = out;
  return HV_TLOG_OK;
}

/* ---- Verifying ---------------------------------------------------------------------------- */

static bool hash_equal(const uint8_t a[HV_TLOG_HASH_LEN], const uint8_t b[HV_TLOG_HASH_LEN]) {
  return memcmp(a, b, HV_TLOG_HASH_LEN) == 0; /* public values: no need for constant time */
}

hv_tlog_status hv_tlog_verify_inclusion(uint64_t index, uint64_t size,
                                        const uint8_t leaf_hash[HV_TLOG_HASH_LEN],
                                        const uint8_t proof[][HV_TLOG_HASH_LEN], size_t count,
                                        const uint8_t root[HV_TLOG_HASH_LEN]) {
  if (index >= size || count > HV_TLOG_PROOF_MAX) return HV_TLOG_PROOF_INVALID;
  uint64_t fn = index, sn = size - 1;
  uint8_t r[HV_TLOG_HASH_LEN];
  memcpy(r, leaf_hash, sizeof r);
  for (size_t i = 0; i < count; i++) {
    if (sn == 0) return HV_TLOG_PROOF_INVALID;
    if ((fn & 1) || fn == sn) {
      hv_tlog_node_hash(proof[i], r, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      hv_tlog_node_hash(r, proof[i], r);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && hash_equal(r, root) ? HV_TLOG_OK : HV_TLOG_PROOF_INVALID;
}

hv_tlog_status hv_tlog_verify_consistency(uint64_t old_size, uint64_t new_size,
                                          const uint8_t old_root[HV_TLOG_HASH_LEN],
                                          const uint8_t new_root[HV_TLOG_HASH_LEN],
                                          const uint8_t proof[][HV_TLOG_HASH_LEN], size_t count) {
  if (old_size == 0 || old_size > new_size || count > HV_TLOG_PROOF_MAX)
    return HV_TLOG_PROOF_INVALID;
  if (old_size == new_size)
    return count == 0 && hash_equal(old_root, new_root) ? HV_TLOG_OK : HV_TLOG_PROOF_INVALID;
  if (count == 0) return HV_TLOG_PROOF_INVALID;
  /* When the old tree is a complete subtree its root is the proof's implicit first element. */
  const uint8_t *first = proof[0];
  size_t next = 1;
  if (is_pow2(old_size)) {
    first = old_root;
    next = 0;
  }
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  uint8_t fr[HV_TLOG_HASH_LEN], sr[HV_TLOG_HASH_LEN];
  memcpy(fr, first, sizeof fr);
  memcpy(sr, first, sizeof sr);
  for (size_t i = next; i < count; i++) {
    if (sn == 0) return HV_TLOG_PROOF_INVALID;
    if ((fn & 1) || fn == sn) {
      hv_tlog_node_hash(proof[i], fr, fr);
      hv_tlog_node_hash(proof[i], sr, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      hv_tlog_node_hash(sr, proof[i], sr);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && hash_equal(fr, old_root) && hash_equal(sr, new_root) ? HV_TLOG_OK
                                                                          : HV_TLOG_PROOF_INVALID;
}
