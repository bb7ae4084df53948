/*
 * test_audit_log.c: the transparency log of the SQLite audit store (hv_audit.h, "The
 * transparency log"), on real files: leaves get consecutive indices in the transaction that stores
 * their records, every receipt verifies against the round's root, the tree continues after a
 * reopen, proofs between any two sizes verify, duplicates get no leaf, the leaf encoding round
 * trips, leaves are listed with their encodings, retention purge keeps the hashes, and edits made
 * by hand show up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_audit.h"

static const char SUMMARY[] =
    "{\"status\":\"success\",\"execution_time_ms\":3,\"compile_time_ms\":1,\"gas_used\":120,"
    "\"gas_limit\":10000000000,\"memory_peak_bytes\":65536,\"timeout_ms\":10000,"
    "\"module_cached\":false}";
static const char HASH_R[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

typedef struct fixture {
  char dir[64];
  char path[128];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/hv_audit_log.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static void make_record(hv_audit_record *r, unsigned n, int64_t at, bool failure) {
  memset(r, 0, sizeof *r);
  snprintf(r->request_id, sizeof r->request_id, "%08x-0000-4000-8000-000000000000", n);
  r->recorded_at_ms = at;
  snprintf(r->api_key_id, sizeof r->api_key_id, "dev");
  if (!failure) {
    snprintf(r->key_id, sizeof r->key_id, "0123456789abcdef");
    snprintf(r->result_commitment, sizeof r->result_commitment, "%s", HASH_R);
    snprintf(r->program_commitment, sizeof r->program_commitment, "%064x", n);
    snprintf(r->arguments_commitment, sizeof r->arguments_commitment, "%064x", n + 1);
  }
  snprintf(r->status, sizeof r->status, "%s", failure ? "EXECUTION_TRAP" : "success");
  r->execution_summary = (char *)SUMMARY;
}

static hv_audit_store *open_store(const char *path) {
  hv_audit_store *s = NULL;
  hv_audit_error err;
  if (hv_audit_open(&hv_audit_sqlite_backend, path, NULL, &s, &err) != HV_AUDIT_OK)
    fail_msg("open %s: %s", path, err.message);
  assert_true(hv_audit_has_log(s));
  return s;
}

/* Stores records first..first+count-1 in one round and checks every receipt against the root. */
static uint64_t round_of(hv_audit_store *s, unsigned first, unsigned count, uint64_t want_start) {
  hv_audit_record recs[64];
  const hv_audit_record *ptrs[64];
  hv_audit_status statuses[64];
  hv_audit_log_receipt *receipts = calloc(count, sizeof *receipts);
  assert_non_null(receipts);
  for (unsigned i = 0; i < count; i++) {
    make_record(&recs[i], first + i, 1795514400123 + first + i, (first + i) % 3 == 0);
    ptrs[i] = &recs[i];
  }
  uint64_t size = 0;
  uint8_t root[32];
  hv_audit_error err;
  if (hv_audit_log_put_batch(s, ptrs, count, statuses, receipts, &size, root, &err) != HV_AUDIT_OK)
    fail_msg("log_put_batch: %s", err.message);
  assert_int_equal(size, want_start + count);
  for (unsigned i = 0; i < count; i++) {
    assert_int_equal(statuses[i], HV_AUDIT_OK);
    assert_int_equal(receipts[i].leaf_index, want_start + i);
    uint8_t leaf[HV_AUDIT_LEAF_MAX], hash[32];
    size_t len = 0;
    assert_int_equal(hv_audit_leaf_encode(&recs[i], leaf, &len, NULL), HV_AUDIT_OK);
    hv_tlog_leaf_hash(leaf, len, hash);
    assert_memory_equal(hash, receipts[i].leaf_hash, 32);
    assert_int_equal(receipts[i].leaf_len, len);
    assert_memory_equal(receipts[i].leaf, leaf, len);
    assert_int_equal(hv_tlog_verify_inclusion(receipts[i].leaf_index, size, receipts[i].leaf_hash,
                                              (const uint8_t(*)[32])receipts[i].proof,
                                              receipts[i].proof_len, root),
                     HV_TLOG_OK);
  }
  uint64_t head = 0;
  uint8_t head_root[32];
  assert_int_equal(hv_audit_log_head(s, &head, head_root, NULL), HV_AUDIT_OK);
  assert_int_equal(head, size);
  assert_memory_equal(head_root, root, 32);
  free(receipts);
  return size;
}

static void test_rounds_and_reopen(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f->path);
  uint64_t size = 0;
  size = round_of(s, 1, 1, size);
  size = round_of(s, 2, 5, size);
  size = round_of(s, 7, 33, size);
  uint8_t before[32];
  assert_int_equal(hv_audit_log_head(s, &size, before, NULL), HV_AUDIT_OK);
  hv_audit_close(s);
  /* Reopened, the tree goes on from where it was, and the old root is a prefix of the new. */
  s = open_store(f->path);
  uint64_t old = size;
  size = round_of(s, 40, 17, size);
  uint8_t after[32], proof[HV_TLOG_PROOF_MAX][32];
  assert_int_equal(hv_audit_log_head(s, &size, after, NULL), HV_AUDIT_OK);
  size_t n = 0;
  assert_int_equal(hv_audit_log_consistency(s, old, size, proof, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_tlog_verify_consistency(old, size, before, after,
                                              (const uint8_t(*)[32])proof, n),
                   HV_TLOG_OK);
  /* Every leaf at every size and every pair of sizes, against roots computed from the leaves
   * the store lists (not from its own nodes). */
  hv_audit_log_leaf leaves[64];
  size_t got = 0;
  assert_true(size <= 64);
  assert_int_equal(hv_audit_log_leaves(s, 0, size, leaves, &got, NULL), HV_AUDIT_OK);
  assert_int_equal(got, size);
  uint8_t roots[65][32];
  for (uint64_t m = 1; m <= size; m++) {
    /* MTH over leaves[0..m) by the stack method. */
    uint8_t stack[64][32];
    uint64_t widths[64];
    size_t depth = 0;
    for (uint64_t i = 0; i < m; i++) {
      memcpy(stack[depth], leaves[i].leaf_hash, 32);
      widths[depth++] = 1;
      while (depth >= 2 && widths[depth - 1] == widths[depth - 2]) {
        hv_tlog_node_hash(stack[depth - 2], stack[depth - 1], stack[depth - 2]);
        widths[depth - 2] *= 2;
        depth--;
      }
    }
    while (depth >= 2) {
      hv_tlog_node_hash(stack[depth - 2], stack[depth - 1], stack[depth - 2]);
      depth--;
    }
    memcpy(roots[m], stack[0], 32);
  }
  assert_memory_equal(roots[size], after, 32);
  for (uint64_t m = 1; m <= size; m++) {
    for (uint64_t i = 0; i < m; i++) {
      assert_int_equal(hv_audit_log_inclusion(s, i, m, proof, &n, NULL), HV_AUDIT_OK);
      assert_int_equal(hv_tlog_verify_inclusion(i, m, leaves[i].leaf_hash,
                                                (const uint8_t(*)[32])proof, n, roots[m]),
                       HV_TLOG_OK);
    }
    for (uint64_t k = m; k <= size; k++) {
      assert_int_equal(hv_audit_log_consistency(s, m, k, proof, &n, NULL), HV_AUDIT_OK);
      assert_int_equal(hv_tlog_verify_consistency(m, k, roots[m], roots[k],
                                                  (const uint8_t(*)[32])proof, n),
                       HV_TLOG_OK);
    }
  }
  /* Out of range: clear errors. */
  hv_audit_error err;
  assert_int_equal(hv_audit_log_inclusion(s, size, size, proof, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_log_inclusion(s, 0, size + 1, proof, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_non_null(strstr(err.message, "beyond the tree"));
  assert_int_equal(hv_audit_log_consistency(s, 0, size, proof, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_log_consistency(s, 2, 1, proof, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_log_consistency(s, 1, size + 1, proof, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  hv_audit_close(s);
}

static void test_duplicates_get_no_leaf(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f->path);
  round_of(s, 1, 3, 0);
  hv_audit_record recs[2];
  make_record(&recs[0], 2, 1795514400123, false); /* taken */
  make_record(&recs[1], 9, 1795514400123, false);
  const hv_audit_record *ptrs[2] = {&recs[0], &recs[1]};
  hv_audit_status statuses[2];
  hv_audit_log_receipt receipts[2];
  uint64_t size = 0;
  uint8_t root[32];
  assert_int_equal(hv_audit_log_put_batch(s, ptrs, 2, statuses, receipts, &size, root, NULL),
                   HV_AUDIT_DUPLICATE);
  assert_int_equal(statuses[0], HV_AUDIT_DUPLICATE);
  assert_int_equal(statuses[1], HV_AUDIT_OK);
  assert_int_equal(receipts[1].leaf_index, 3);
  assert_int_equal(size, 4);
  hv_audit_close(s);
}

static void test_leaf_encoding(void **state) {
  (void)state;
  hv_audit_record r;
  make_record(&r, 5, 1795514400123, false);
  uint8_t leaf[HV_AUDIT_LEAF_MAX];
  size_t len = 0;
  assert_int_equal(hv_audit_leaf_encode(&r, leaf, &len, NULL), HV_AUDIT_OK);
  assert_int_equal(len, 1 + 36 + 8 + 17 + 99 + 8 + 9);
  hv_audit_leaf_fields d;
  assert_int_equal(hv_audit_leaf_decode(leaf, len, &d, NULL), HV_AUDIT_OK);
  assert_string_equal(d.request_id, r.request_id);
  assert_true(d.recorded_at_ms == r.recorded_at_ms);
  assert_string_equal(d.key_id, r.key_id);
  assert_string_equal(d.result_commitment, r.result_commitment);
  assert_string_equal(d.program_commitment, r.program_commitment);
  assert_string_equal(d.arguments_commitment, r.arguments_commitment);
  assert_string_equal(d.status, "success");
  assert_true(d.has_gas && d.gas_used == 120);
  /* Truncated, extended and changed encodings are refused with a reason. */
  hv_audit_error err;
  for (size_t cut = 0; cut < len; cut++)
    assert_int_equal(hv_audit_leaf_decode(leaf, cut, &d, &err), HV_AUDIT_INVALID_ARGUMENT);
  leaf[len] = 0;
  assert_int_equal(hv_audit_leaf_decode(leaf, len + 1, &d, &err), HV_AUDIT_INVALID_ARGUMENT);
  leaf[0] = 2;
  assert_int_equal(hv_audit_leaf_decode(leaf, len, &d, &err), HV_AUDIT_INVALID_ARGUMENT);
  /* A failure: no key, no commitments. */
  make_record(&r, 6, 1795514400123, true);
  assert_int_equal(hv_audit_leaf_encode(&r, leaf, &len, NULL), HV_AUDIT_OK);
  assert_int_equal(len, 1 + 36 + 8 + 1 + 3 + 15 + 9);
  assert_int_equal(hv_audit_leaf_decode(leaf, len, &d, NULL), HV_AUDIT_OK);
  assert_string_equal(d.result_commitment, "");
  assert_string_equal(d.status, "EXECUTION_TRAP");
}

static void sql_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
  sqlite3_close(db);
}

static void test_leaves_purge_and_edits(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f->path);
  uint64_t size = round_of(s, 1, 10, 0);
  hv_audit_log_leaf leaves[HV_AUDIT_LOG_PAGE_MAX];
  size_t n = 0;
  assert_int_equal(hv_audit_log_leaves(s, 0, 20, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 10);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(leaves[k].index, k);
    assert_true(leaves[k].has_record);
    uint8_t h[32];
    hv_tlog_leaf_hash(leaves[k].leaf, leaves[k].leaf_len, h);
    assert_memory_equal(h, leaves[k].leaf_hash, 32);
  }
  hv_audit_error err;
  assert_int_equal(hv_audit_log_leaves(s, 5, 5, leaves, &n, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_log_leaves(s, 0, HV_AUDIT_LOG_PAGE_MAX + 1, leaves, &n, &err),
                   HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_log_leaves(s, 100, 110, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 0);

  /* Retention: records 1..4 are older; they go, their leaves' hashes stay and the tree verifies. */
  uint8_t root_before[32];
  assert_int_equal(hv_audit_log_head(s, &size, root_before, NULL), HV_AUDIT_OK);
  uint64_t removed = 0;
  assert_int_equal(hv_audit_purge(s, 1795514400123 + 5, &removed, NULL), HV_AUDIT_OK);
  assert_int_equal(removed, 4);
  uint8_t root_after[32];
  assert_int_equal(hv_audit_log_head(s, &size, root_after, NULL), HV_AUDIT_OK);
  assert_memory_equal(root_before, root_after, 32);
  assert_int_equal(hv_audit_log_leaves(s, 0, 10, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 10);
  for (size_t k = 0; k < 4; k++) assert_false(leaves[k].has_record);
  for (size_t k = 4; k < 10; k++) assert_true(leaves[k].has_record);
  uint8_t proof[HV_TLOG_PROOF_MAX][32];
  assert_int_equal(hv_audit_log_inclusion(s, 1, size, proof, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_tlog_verify_inclusion(1, size, leaves[1].leaf_hash,
                                            (const uint8_t(*)[32])proof, n, root_after),
                   HV_TLOG_OK);
  /* Appends go on after a purge. */
  round_of(s, 50, 3, size);
  hv_audit_close(s);

  /* An edit by hand: the record no longer hashes to its leaf. */
  sql_exec(f->path, "UPDATE audit_records SET result_commitment = "
                    "'0000000000000000000000000000000000000000000000000000000000000000' "
                    "WHERE request_id = '00000008-0000-4000-8000-000000000000'");
  s = open_store(f->path);
  assert_int_equal(hv_audit_log_leaves(s, 7, 8, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 1);
  assert_true(leaves[0].has_record);
  uint8_t h[32];
  hv_tlog_leaf_hash(leaves[0].leaf, leaves[0].leaf_len, h);
  assert_memory_not_equal(h, leaves[0].leaf_hash, 32);
  /* A removed node: proofs that need it fail as corrupt, never as a wrong answer. */
  hv_audit_close(s);
  sql_exec(f->path, "DELETE FROM log_nodes WHERE level = 1 AND idx = 0");
  s = open_store(f->path);
  assert_int_equal(hv_audit_log_inclusion(s, 3, 8, proof, &n, &err), HV_AUDIT_CORRUPT);
  hv_audit_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_rounds_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicates_get_no_leaf, setup, teardown),
      cmocka_unit_test(test_leaf_encoding),
      cmocka_unit_test_setup_teardown(test_leaves_purge_and_edits, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
