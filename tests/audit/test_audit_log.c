/*
 * test_audit_log.c: the transparency log of the audit store (hv_audit.h, "The transparency log"),
 * one suite for both backends as test_audit.c: without arguments on SQLite files, with --postgres
 * on the PostgreSQL server in HV_TEST_PG_DSN (scripts/pg-temp.sh run; each case starts from empty
 * tables). Leaves get consecutive indices in the transaction that stores their records, every
 * receipt verifies against the round's root, the tree continues after a reopen, proofs between any
 * two sizes verify, duplicates get no leaf, the leaf encoding round trips, leaves are listed with
 * their encodings, retention purge keeps the hashes, and edits made by hand show up. PostgreSQL's
 * own: the migration from schema 1, three stores sequencing rounds at once on one database, and
 * the database lost in the middle of a round.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_test_pg.h"
#include "hv_audit.h"

static const char SUMMARY[] =
    "{\"status\":\"success\",\"execution_time_ms\":3,\"compile_time_ms\":1,\"gas_used\":120,"
    "\"gas_limit\":10000000000,\"memory_peak_bytes\":65536,\"timeout_ms\":10000,"
    "\"module_cached\":false}";
static const char HASH_R[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

typedef struct fixture {
  char dir[64];
  char path[128];
  const hv_audit_backend *backend;
  const char *target; /* path (SQLite) or DSN (PostgreSQL) */
  bool pg;
} fixture;

static int64_t pg_int(const char *sql) {
  PGresult *r = pg_sql(sql, PGRES_TUPLES_OK);
  assert_int_equal(PQntuples(r), 1);
  int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/hv_audit_log.XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  snprintf(f->path, sizeof f->path, "%s/audit.db", f->dir);
  f->pg = g_pg;
  f->backend = g_pg ? &hv_audit_postgres_backend : &hv_audit_sqlite_backend;
  f->target = g_pg ? g_dsn : f->path;
  if (g_pg)
    PQclear(pg_sql(AUDIT_TEST_PG_DROP, PGRES_COMMAND_OK));
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

static hv_audit_store *open_store(const fixture *f) {
  hv_audit_store *s = NULL;
  hv_audit_error err;
  if (hv_audit_open(f->backend, f->target, NULL, &s, &err) != HV_AUDIT_OK)
    fail_msg("open %s: %s", f->backend->name, err.message);
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

/* MTH of n leaf hashes, by the stack method (independent of the store's nodes). */
static void root_of(const uint8_t (*hashes)[32], uint64_t n, uint8_t out[32]) {
  uint8_t stack[64][32];
  uint64_t widths[64];
  size_t depth = 0;
  for (uint64_t i = 0; i < n; i++) {
    memcpy(stack[depth], hashes[i], 32);
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
  if (n == 0) hv_tlog_empty_root(stack[0]);
  memcpy(out, stack[0], 32);
}

static void test_rounds_and_reopen(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f);
  uint64_t size = 0;
  size = round_of(s, 1, 1, size);
  size = round_of(s, 2, 5, size);
  size = round_of(s, 7, 33, size);
  uint8_t before[32];
  assert_int_equal(hv_audit_log_head(s, &size, before, NULL), HV_AUDIT_OK);
  hv_audit_close(s);
  /* Reopened, the tree goes on from where it was, and the old root is a prefix of the new. */
  s = open_store(f);
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
  uint8_t roots[65][32], hashes[64][32];
  for (uint64_t i = 0; i < size; i++) memcpy(hashes[i], leaves[i].leaf_hash, 32);
  for (uint64_t m = 1; m <= size; m++) root_of((const uint8_t(*)[32])hashes, m, roots[m]);
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
  hv_audit_store *s = open_store(f);
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

/* An edit by hand, outside the library: `sqlite` on the file or `pg` on the database (the
 * backends name their tables differently). */
static void edit(const fixture *f, const char *sqlite, const char *pg) {
  if (f->pg) {
    PQclear(pg_sql(pg, PGRES_COMMAND_OK));
    return;
  }
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sqlite, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sqlite, msg);
  sqlite3_close(db);
}

static void test_leaves_purge_and_edits(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f);
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
#define EDITED_SET                                                                   \
  " SET result_commitment = '0000000000000000000000000000000000000000000000000000000000000000'" \
  " WHERE request_id = '00000008-0000-4000-8000-000000000000'"
  edit(f, "UPDATE audit_records" EDITED_SET, "UPDATE hv_audit_records" EDITED_SET);
  s = open_store(f);
  assert_int_equal(hv_audit_log_leaves(s, 7, 8, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 1);
  assert_true(leaves[0].has_record);
  uint8_t h[32];
  hv_tlog_leaf_hash(leaves[0].leaf, leaves[0].leaf_len, h);
  assert_memory_not_equal(h, leaves[0].leaf_hash, 32);
  /* The receipt of that leaf still verifies with the leaf it holds, but not with the record as
   * the store now has it. */
  hv_audit_record edited;
  assert_int_equal(hv_audit_get(s, "00000008-0000-4000-8000-000000000000", &edited, NULL),
                   HV_AUDIT_OK);
  uint8_t enc[HV_AUDIT_LEAF_MAX];
  size_t enc_len = 0;
  assert_int_equal(hv_audit_leaf_encode(&edited, enc, &enc_len, NULL), HV_AUDIT_OK);
  hv_audit_record_free(&edited);
  hv_tlog_leaf_hash(enc, enc_len, h);
  assert_int_equal(hv_audit_log_inclusion(s, 7, size, proof, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_audit_log_head(s, &size, root_after, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_tlog_verify_inclusion(7, size, h, (const uint8_t(*)[32])proof, n, root_after),
                   HV_TLOG_PROOF_INVALID);
  /* A record edited out of shape is listed as invalid, not hidden. */
  edit(f,
       "UPDATE audit_records SET status = 'no spaces allowed' WHERE request_id = "
       "'00000009-0000-4000-8000-000000000000'",
       "UPDATE hv_audit_records SET status = 'no spaces allowed' WHERE request_id = "
       "'00000009-0000-4000-8000-000000000000'");
  assert_int_equal(hv_audit_log_leaves(s, 8, 9, leaves, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(n, 1);
  assert_false(leaves[0].has_record);
  assert_true(leaves[0].record_invalid);
  /* A removed node: proofs that need it fail as corrupt, never as a wrong answer. */
  hv_audit_close(s);
  edit(f, "DELETE FROM log_nodes WHERE level = 1 AND idx = 0",
       "DELETE FROM hv_log_nodes WHERE level = 1 AND idx = 0");
  s = open_store(f);
  assert_int_equal(hv_audit_log_inclusion(s, 3, 8, proof, &n, &err), HV_AUDIT_CORRUPT);
  assert_int_equal(hv_audit_log_inclusion(s, 9, 10, proof, &n, &err), HV_AUDIT_OK);
  /* A node that is no hash: corrupt too (the root of 13 leaves needs (3, 0)). */
  edit(f, "UPDATE log_nodes SET hash = x'00' WHERE level = 3 AND idx = 0",
       "UPDATE hv_log_nodes SET hash = '\\x00' WHERE level = 3 AND idx = 0");
  assert_int_equal(hv_audit_log_head(s, &size, root_after, &err), HV_AUDIT_CORRUPT);
  hv_audit_close(s);
}

/* ---- PostgreSQL's own ------------------------------------------------------------------------ */

/* Schema 1 as main's build made it: the migrations table and the records. */
static const char PG_SCHEMA_V1[] =
    "CREATE TABLE hv_audit_migrations (version int PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now());"
    "INSERT INTO hv_audit_migrations (version) VALUES (1);"
    "CREATE TABLE hv_audit_records (request_id text PRIMARY KEY, recorded_at bigint NOT NULL,"
    " api_key_id text NOT NULL, key_id text, result_commitment text, program_commitment text,"
    " arguments_commitment text, status text NOT NULL, execution_summary text NOT NULL,"
    " request_metadata text);"
    "CREATE INDEX hv_audit_records_recorded_at ON hv_audit_records (recorded_at);"
    "CREATE TABLE hv_audit_health (id int PRIMARY KEY CHECK (id = 1), checked_at bigint NOT NULL);"
    "INSERT INTO hv_audit_health (id, checked_at) VALUES (1, 0);"
    "INSERT INTO hv_audit_records (request_id, recorded_at, api_key_id, status, execution_summary)"
    " VALUES ('000000ff-0000-4000-8000-000000000000', 1795514400000, 'dev', 'success', '{}');";

/* A database at schema 1 is brought to 2 at open: the log's tables, empty; the old record stays
 * and has no leaf; the tree starts at 0. */
static void test_pg_migrates_from_schema_1(void **state) {
  fixture *f = *state;
  PQclear(pg_sql(PG_SCHEMA_V1, PGRES_COMMAND_OK));
  hv_audit_store *s = open_store(f);
  assert_int_equal(pg_int("SELECT max(version) FROM hv_audit_migrations"), 2);
  assert_int_equal(pg_int("SELECT size FROM hv_log_state WHERE id = 1"), 0);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_log_nodes"), 0);
  uint64_t size = 1;
  uint8_t root[32], empty[32];
  assert_int_equal(hv_audit_log_head(s, &size, root, NULL), HV_AUDIT_OK);
  assert_int_equal(size, 0);
  hv_tlog_empty_root(empty);
  assert_memory_equal(root, empty, 32);
  round_of(s, 1, 4, 0);
  hv_audit_record old;
  assert_int_equal(hv_audit_get(s, "000000ff-0000-4000-8000-000000000000", &old, NULL),
                   HV_AUDIT_OK);
  hv_audit_record_free(&old);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_log_leaves WHERE request_id = "
                          "'000000ff-0000-4000-8000-000000000000'"),
                   0);
  hv_audit_close(s);
  /* Opened again: nothing to migrate, the tree as it was. */
  s = open_store(f);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_audit_migrations"), 2);
  assert_int_equal(hv_audit_log_head(s, &size, root, NULL), HV_AUDIT_OK);
  assert_int_equal(size, 4);
  hv_audit_close(s);
}

/* Three servers sharing one database, two threads each, doing rounds at once. */
#define SEQ_STORES 3u
#define SEQ_THREADS 6u
#define SEQ_ROUNDS 8u
/* The last two records of each round are shared by every thread's round r, in opposite orders in
 * odd and even threads: the rounds must not deadlock on each other's uncommitted rows. */
#define SEQ_BATCH 6u
#define SEQ_SHARED 2u

typedef struct seq_round {
  hv_audit_record recs[SEQ_BATCH];
  hv_audit_status statuses[SEQ_BATCH];
  hv_audit_log_receipt receipts[SEQ_BATCH];
  uint64_t size;
  uint8_t root[32];
} seq_round;

typedef struct seq_thread {
  hv_audit_store *store;
  pthread_barrier_t *start; /* every thread's round r starts together */
  unsigned id;
  seq_round rounds[SEQ_ROUNDS];
  char failure[HV_AUDIT_MESSAGE_MAX + 64]; /* "" when every round went through */
} seq_thread;

static void *seq_run(void *arg) {
  seq_thread *t = arg;
  for (unsigned r = 0; r < SEQ_ROUNDS; r++) {
    seq_round *x = &t->rounds[r];
    const hv_audit_record *ptrs[SEQ_BATCH];
    for (unsigned k = 0; k < SEQ_BATCH; k++) {
      unsigned j = k + SEQ_SHARED - SEQ_BATCH; /* which shared record, when k is one */
      unsigned n = k + SEQ_SHARED < SEQ_BATCH ? 0x1000 + t->id * 0x100 + r * 0x10 + k
                                              : 0x9000 + r * SEQ_SHARED + (t->id & 1 ? 1 - j : j);
      make_record(&x->recs[k], n, 1795514400123 + n, n % 5 == 0);
      ptrs[k] = &x->recs[k];
    }
    hv_audit_error err;
    pthread_barrier_wait(t->start);
    hv_audit_status st = hv_audit_log_put_batch(t->store, ptrs, SEQ_BATCH, x->statuses,
                                                x->receipts, &x->size, x->root, &err);
    if (st != HV_AUDIT_OK && st != HV_AUDIT_DUPLICATE && t->failure[0] == '\0')
      snprintf(t->failure, sizeof t->failure, "thread %u round %u: %s", t->id, r, err.message);
  }
  return NULL;
}

static void test_pg_concurrent_sequencers(void **state) {
  fixture *f = *state;
  hv_audit_store *stores[SEQ_STORES];
  for (unsigned i = 0; i < SEQ_STORES; i++) stores[i] = open_store(f);
  seq_thread *threads = calloc(SEQ_THREADS, sizeof *threads);
  assert_non_null(threads);
  pthread_t tids[SEQ_THREADS];
  pthread_barrier_t round_start;
  assert_int_equal(pthread_barrier_init(&round_start, NULL, SEQ_THREADS), 0);
  for (unsigned i = 0; i < SEQ_THREADS; i++) {
    threads[i].store = stores[i % SEQ_STORES];
    threads[i].start = &round_start;
    threads[i].id = i;
    assert_int_equal(pthread_create(&tids[i], NULL, seq_run, &threads[i]), 0);
  }
  for (unsigned i = 0; i < SEQ_THREADS; i++) pthread_join(tids[i], NULL);
  pthread_barrier_destroy(&round_start);
  for (unsigned i = 0; i < SEQ_THREADS; i++)
    if (threads[i].failure[0]) fail_msg("%s", threads[i].failure);

  uint64_t size = 0;
  uint8_t root[32];
  assert_int_equal(hv_audit_log_head(stores[0], &size, root, NULL), HV_AUDIT_OK);
  /* Each shared record was stored by exactly one round; every other record by its own. */
  uint64_t stored = 0;
  unsigned shared_ok[SEQ_ROUNDS * SEQ_SHARED] = {0};
  for (unsigned i = 0; i < SEQ_THREADS; i++)
    for (unsigned r = 0; r < SEQ_ROUNDS; r++)
      for (unsigned k = 0; k < SEQ_BATCH; k++) {
        hv_audit_status st = threads[i].rounds[r].statuses[k];
        unsigned j = k + SEQ_SHARED - SEQ_BATCH;
        if (k + SEQ_SHARED < SEQ_BATCH) assert_int_equal(st, HV_AUDIT_OK);
        else if (st == HV_AUDIT_OK) shared_ok[r * SEQ_SHARED + (i & 1 ? 1 - j : j)]++;
        else assert_int_equal(st, HV_AUDIT_DUPLICATE);
        stored += st == HV_AUDIT_OK;
      }
  for (unsigned r = 0; r < SEQ_ROUNDS * SEQ_SHARED; r++) assert_int_equal(shared_ok[r], 1);
  assert_int_equal(size, stored);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_audit_records"), (int64_t)stored);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_log_leaves"), (int64_t)stored);

  /* Indexes 0..N-1 each once; every receipt verifies against its round's root; every round's
   * tree is a prefix of the final one. */
  uint8_t(*hashes)[32] = calloc(size, sizeof *hashes);
  bool *seen = calloc(size, sizeof *seen);
  assert_true(hashes != NULL && seen != NULL);
  uint8_t proof[HV_TLOG_PROOF_MAX][32];
  size_t n = 0;
  for (unsigned i = 0; i < SEQ_THREADS; i++)
    for (unsigned r = 0; r < SEQ_ROUNDS; r++) {
      seq_round *x = &threads[i].rounds[r];
      assert_true(x->size <= size);
      for (unsigned k = 0; k < SEQ_BATCH; k++) {
        if (x->statuses[k] != HV_AUDIT_OK) continue;
        hv_audit_log_receipt *rc = &x->receipts[k];
        assert_true(rc->leaf_index < x->size);
        assert_false(seen[rc->leaf_index]);
        seen[rc->leaf_index] = true;
        memcpy(hashes[rc->leaf_index], rc->leaf_hash, 32);
        assert_int_equal(hv_tlog_verify_inclusion(rc->leaf_index, x->size, rc->leaf_hash,
                                                  (const uint8_t(*)[32])rc->proof, rc->proof_len,
                                                  x->root),
                         HV_TLOG_OK);
      }
      assert_int_equal(hv_audit_log_consistency(stores[r % SEQ_STORES], x->size, size, proof, &n,
                                                NULL),
                       HV_AUDIT_OK);
      assert_int_equal(hv_tlog_verify_consistency(x->size, size, x->root, root,
                                                  (const uint8_t(*)[32])proof, n),
                       HV_TLOG_OK);
    }
  for (uint64_t i = 0; i < size; i++) assert_true(seen[i]);
  /* The leaves as listed: the receipts' hashes, each with its record, and they make the root. */
  hv_audit_log_leaf *page = calloc(HV_AUDIT_LOG_PAGE_MAX, sizeof *page);
  uint8_t(*listed)[32] = calloc(size, sizeof *listed);
  assert_true(page != NULL && listed != NULL);
  for (uint64_t start = 0; start < size; start += HV_AUDIT_LOG_PAGE_MAX) {
    assert_int_equal(hv_audit_log_leaves(stores[1], start, start + HV_AUDIT_LOG_PAGE_MAX, page, &n,
                                         NULL),
                     HV_AUDIT_OK);
    assert_int_equal(n, size - start < HV_AUDIT_LOG_PAGE_MAX ? size - start : HV_AUDIT_LOG_PAGE_MAX);
    for (size_t k = 0; k < n; k++) {
      assert_int_equal(page[k].index, start + k);
      assert_true(page[k].has_record);
      memcpy(listed[start + k], page[k].leaf_hash, 32);
      assert_memory_equal(listed[start + k], hashes[start + k], 32);
    }
  }
  uint8_t recomputed[32];
  root_of((const uint8_t(*)[32])listed, size, recomputed);
  assert_memory_equal(recomputed, root, 32);
  free(page);
  free(listed);
  free(hashes);
  free(seen);
  free(threads);
  for (unsigned i = 0; i < SEQ_STORES; i++) hv_audit_close(stores[i]);
}

typedef struct lost_round {
  hv_audit_store *store;
  hv_audit_record recs[4];
  hv_audit_status statuses[4];
  hv_audit_log_receipt receipts[4];
  hv_audit_status result;
  uint64_t size;
  uint8_t root[32];
} lost_round;

static void *lost_run(void *arg) {
  lost_round *x = arg;
  const hv_audit_record *ptrs[4] = {&x->recs[0], &x->recs[1], &x->recs[2], &x->recs[3]};
  x->result = hv_audit_log_put_batch(x->store, ptrs, 4, x->statuses, x->receipts, &x->size,
                                     x->root, NULL);
  return NULL;
}

/* The database dies (immediate shutdown) while a round is inside its transaction, two records
 * in: the round fails with UNAVAILABLE and no receipt; once it is back the tree is as before the
 * round, and the next rounds continue it consistently, on the same store. */
static void test_pg_database_lost_mid_round(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f);
  uint64_t before = round_of(s, 1, 5, 0);
  uint8_t root_before[32];
  assert_int_equal(hv_audit_log_head(s, &before, root_before, NULL), HV_AUDIT_OK);
  /* Another session inserts the round's third record and keeps its transaction open: the
   * round's insert of it waits, inside the round's transaction. */
  lost_round *x = calloc(1, sizeof *x);
  assert_non_null(x);
  x->store = s;
  for (unsigned i = 0; i < 4; i++) make_record(&x->recs[i], 0x700 + i, 1795514400123, false);
  PGconn *other = PQconnectdb(g_dsn);
  assert_int_equal(PQstatus(other), CONNECTION_OK);
  char sql[512];
  snprintf(sql, sizeof sql,
           "BEGIN; INSERT INTO hv_audit_records (request_id, recorded_at, api_key_id, status,"
           " execution_summary) VALUES ('%s', 1, 'dev', 'success', '{}')",
           x->recs[2].request_id);
  PGresult *res = PQexec(other, sql);
  assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
  PQclear(res);
  pthread_t tid;
  assert_int_equal(pthread_create(&tid, NULL, lost_run, x), 0);
  int64_t waiting = 0;
  for (int i = 0; i < 400 && waiting == 0; i++) {
    usleep(10000);
    waiting = pg_int("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                     "'hypervisor' AND wait_event_type = 'Lock'");
  }
  assert_int_equal(waiting, 1);
  pg_server("kill");
  pthread_join(tid, NULL);
  PQfinish(other);
  assert_int_equal(x->result, HV_AUDIT_UNAVAILABLE);
  for (unsigned i = 0; i < 4; i++) assert_int_equal(x->statuses[i], HV_AUDIT_UNAVAILABLE);
  pg_server("start");
  uint64_t size = 0;
  uint8_t root[32];
  hv_audit_error err;
  if (hv_audit_log_head(s, &size, root, &err) != HV_AUDIT_OK) fail_msg("head: %s", err.message);
  assert_int_equal(size, before);
  assert_memory_equal(root, root_before, 32);
  hv_audit_record got;
  assert_int_equal(hv_audit_get(s, x->recs[0].request_id, &got, NULL), HV_AUDIT_NOT_FOUND);
  assert_int_equal(pg_int("SELECT count(*) FROM hv_log_leaves"), (int64_t)before);
  /* The same records again, and more: the tree goes on from where it was. */
  size = round_of(s, 0x700, 4, before);
  size = round_of(s, 0x800, 9, size);
  uint8_t proof[HV_TLOG_PROOF_MAX][32];
  size_t n = 0;
  assert_int_equal(hv_audit_log_head(s, &size, root, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_audit_log_consistency(s, before, size, proof, &n, NULL), HV_AUDIT_OK);
  assert_int_equal(hv_tlog_verify_consistency(before, size, root_before, root,
                                              (const uint8_t(*)[32])proof, n),
                   HV_TLOG_OK);
  free(x);
  hv_audit_close(s);
}

int main(int argc, char **argv) {
  if (!audit_test_pg_args(argc, argv, "test_audit_log")) return 1;
  const struct CMUnitTest common[] = {
      cmocka_unit_test_setup_teardown(test_rounds_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicates_get_no_leaf, setup, teardown),
      cmocka_unit_test(test_leaf_encoding),
      cmocka_unit_test_setup_teardown(test_leaves_purge_and_edits, setup, teardown),
  };
  const struct CMUnitTest postgres_only[] = {
      cmocka_unit_test_setup_teardown(test_pg_migrates_from_schema_1, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_concurrent_sequencers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_database_lost_mid_round, setup, teardown),
  };
  int failed = cmocka_run_group_tests_name(g_pg ? "audit log (postgres)" : "audit log (sqlite)",
                                           common, NULL, NULL);
  if (g_pg)
    failed += cmocka_run_group_tests_name("audit log: postgres only", postgres_only, NULL, NULL);
  return failed;
}
