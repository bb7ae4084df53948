/*
 * test_merkle.c: hv_tlog's trees, property by property, on trees kept in memory: every leaf of
 * every tree of size 1..N proves inclusion and every pair of sizes proves consistency; proofs
 * with a changed hash, index or size fail; the roots agree with a direct RFC 9162 MTH.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_tlog.h"

#define N 70 /* covers several complete and incomplete shapes at every level up to 64 */
#define LEVELS 8

/* Complete subtrees by (level, index), filled through hv_tlog_append. */
typedef struct mem_tree {
  uint8_t node[LEVELS][N][HV_TLOG_HASH_LEN];
  bool have[LEVELS][N];
  uint8_t leaf[N][HV_TLOG_HASH_LEN];
} mem_tree;

static bool mem_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HV_TLOG_HASH_LEN]) {
  mem_tree *t = ctx;
  if (level >= LEVELS || index >= N || !t->have[level][index]) return false;
  memcpy(out, t->node[level][index], HV_TLOG_HASH_LEN);
  return true;
}

static bool mem_put(void *ctx, unsigned level, uint64_t index, const uint8_t h[HV_TLOG_HASH_LEN]) {
  mem_tree *t = ctx;
  if (level >= LEVELS || index >= N || t->have[level][index]) return false;
  memcpy(t->node[level][index], h, HV_TLOG_HASH_LEN);
  t->have[level][index] = true;
  return true;
}

/* MTH(D[lo:hi]) straight from the RFC's definition, over the leaf hashes. */
static void mth(const mem_tree *t, size_t lo, size_t hi, uint8_t out[HV_TLOG_HASH_LEN]) {
  if (hi - lo == 1) {
    memcpy(out, t->leaf[lo], HV_TLOG_HASH_LEN);
    return;
  }
  size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  uint8_t l[HV_TLOG_HASH_LEN], r[HV_TLOG_HASH_LEN];
  mth(t, lo, lo + k, l);
  mth(t, lo + k, hi, r);
  hv_tlog_node_hash(l, r, out);
}

static mem_tree *build(void) {
  mem_tree *t = calloc(1, sizeof *t);
  assert_non_null(t);
  for (uint64_t i = 0; i < N; i++) {
    char data[32];
    int len = snprintf(data, sizeof data, "leaf %llu", (unsigned long long)i);
    hv_tlog_leaf_hash(data, (size_t)len, t->leaf[i]);
    assert_int_equal(hv_tlog_append(mem_get, mem_put, t, i, t->leaf[i]), HV_TLOG_OK);
  }
  return t;
}

static void test_known_hashes(void **state) {
  (void)state;
  /* RFC 6962's test tree: leaf 0 is the empty string. */
  uint8_t h[32], want[32];
  hv_tlog_leaf_hash("", 0, h);
  assert_true(hv_tlog_base64_decode("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=", want, 32));
  assert_memory_equal(h, want, 32);
  hv_tlog_empty_root(h);
  assert_true(hv_tlog_base64_decode("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", want, 32));
  assert_memory_equal(h, want, 32);
}

static void test_roots(void **state) {
  (void)state;
  mem_tree *t = build();
  for (uint64_t size = 1; size <= N; size++) {
    uint8_t got[32], want[32];
    assert_int_equal(hv_tlog_root(mem_get, t, size, got), HV_TLOG_OK);
    mth(t, 0, size, want);
    assert_memory_equal(got, want, 32);
  }
  free(t);
}

static void test_every_inclusion(void **state) {
  (void)state;
  mem_tree *t = build();
  uint8_t proof[HV_TLOG_PROOF_MAX][32], root[32];
  size_t n;
  for (uint64_t size = 1; size <= N; size++) {
    assert_int_equal(hv_tlog_root(mem_get, t, size, root), HV_TLOG_OK);
    for (uint64_t i = 0; i < size; i++) {
      assert_int_equal(hv_tlog_prove_inclusion(mem_get, t, i, size, proof, &n), HV_TLOG_OK);
      const uint8_t(*p)[32] = (const uint8_t(*)[32])proof;
      assert_int_equal(hv_tlog_verify_inclusion(i, size, t->leaf[i], p, n, root), HV_TLOG_OK);
      /* The wrong leaf, index, size, root or a changed proof hash: all fail. */
      assert_int_not_equal(
          hv_tlog_verify_inclusion(i, size, t->leaf[(i + 1) % N], p, n, root), HV_TLOG_OK);
      if (size > 1)
        assert_int_not_equal(hv_tlog_verify_inclusion((i + 1) % size, size, t->leaf[i], p, n, root),
                             HV_TLOG_OK);
      if (size < N && n > 0) { /* the bigger tree's true root */
        uint8_t bigger[32];
        assert_int_equal(hv_tlog_root(mem_get, t, size + 1, bigger), HV_TLOG_OK);
        assert_int_not_equal(hv_tlog_verify_inclusion(i, size + 1, t->leaf[i], p, n, bigger),
                             HV_TLOG_OK);
      }
      if (size > 1) /* a one-leaf tree's root is its leaf */
        assert_int_not_equal(hv_tlog_verify_inclusion(i, size, t->leaf[i], p, n, t->leaf[i]),
                             HV_TLOG_OK);
      if (n > 0) {
        proof[n - 1][7] ^= 1;
        assert_int_not_equal(hv_tlog_verify_inclusion(i, size, t->leaf[i], p, n, root),
                             HV_TLOG_OK);
        assert_int_not_equal(hv_tlog_verify_inclusion(i, size, t->leaf[i], p, n - 1, root),
                             HV_TLOG_OK);
      }
    }
    assert_int_equal(hv_tlog_prove_inclusion(mem_get, t, size, size, proof, &n),
                     HV_TLOG_INVALID_ARGUMENT);
  }
  free(t);
}

static void test_every_consistency(void **state) {
  (void)state;
  mem_tree *t = build();
  uint8_t proof[HV_TLOG_PROOF_MAX][32], r1[32], r2[32];
  size_t n;
  for (uint64_t m = 1; m <= N; m++) {
    assert_int_equal(hv_tlog_root(mem_get, t, m, r1), HV_TLOG_OK);
    for (uint64_t size = m; size <= N; size++) {
      assert_int_equal(hv_tlog_root(mem_get, t, size, r2), HV_TLOG_OK);
      assert_int_equal(hv_tlog_prove_consistency(mem_get, t, m, size, proof, &n), HV_TLOG_OK);
      const uint8_t(*p)[32] = (const uint8_t(*)[32])proof;
      assert_int_equal(hv_tlog_verify_consistency(m, size, r1, r2, p, n), HV_TLOG_OK);
      if (size == m) continue;
      /* A fork (another old root), a rollback (sizes swapped), a changed hash: all fail. */
      assert_int_not_equal(hv_tlog_verify_consistency(m, size, r2, r2, p, n), HV_TLOG_OK);
      assert_int_not_equal(hv_tlog_verify_consistency(size, m, r2, r1, p, n), HV_TLOG_OK);
      assert_int_not_equal(hv_tlog_verify_consistency(m, size, r1, r1, p, n), HV_TLOG_OK);
      if (n > 0) {
        proof[0][3] ^= 0x80;
        assert_int_not_equal(hv_tlog_verify_consistency(m, size, r1, r2, p, n), HV_TLOG_OK);
      }
    }
  }
  assert_int_equal(hv_tlog_prove_consistency(mem_get, t, 0, 3, proof, &n),
                   HV_TLOG_INVALID_ARGUMENT);
  assert_int_equal(hv_tlog_prove_consistency(mem_get, t, 4, 3, proof, &n),
                   HV_TLOG_INVALID_ARGUMENT);
  free(t);
}

static void test_missing_node(void **state) {
  (void)state;
  mem_tree *t = build();
  t->have[2][1] = false; /* leaves 4..7 */
  t->have[1][0] = false; /* leaves 0..1 */
  uint8_t root[32], proof[HV_TLOG_PROOF_MAX][32];
  size_t n;
  assert_int_equal(hv_tlog_root(mem_get, t, 3, root), HV_TLOG_NODE_MISSING);
  assert_int_equal(hv_tlog_prove_inclusion(mem_get, t, 0, 8, proof, &n), HV_TLOG_NODE_MISSING);
  free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_hashes),     cmocka_unit_test(test_roots),
      cmocka_unit_test(test_every_inclusion),  cmocka_unit_test(test_every_consistency),
      cmocka_unit_test(test_missing_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
