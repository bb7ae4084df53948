/*
 * test_audit.c: hv_audit, one suite for every backend. Without arguments the cases run against
 * SQLite (real files in a temporary directory); with --postgres against the PostgreSQL server
 * whose connection string is in HV_TEST_PG_DSN (scripts/pg-temp.sh run starts one; each case
 * starts from empty tables). A few cases are one backend's own (files; schema versions, the
 * cluster-wide purge lock, recovery after the database restarts).
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
#include <sys/stat.h>
#include <unistd.h>

#include "audit_test_pg.h"
#include "hv_audit.h"

#define DAY_MS (INT64_C(86400) * 1000)
static const int64_t NOW = INT64_C(1795514400123); /* 2026-11-24T10:00:00.123Z */

static const char HASH_R[] = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
static const char HASH_P[] = "0000000000000000000000000000000000000000000000000000000000000001";
static const char HASH_A[] = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
static const char SUMMARY[] =
    "{\"status\":\"success\",\"execution_time_ms\":3,\"compile_time_ms\":1,\"gas_used\":120,"
    "\"gas_limit\":10000000000,\"memory_peak_bytes\":65536,\"timeout_ms\":10000,"
    "\"module_cached\":false}";
static const char METADATA[] = "{\"client\":\"hvctl\",\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\"}";

typedef struct fixture {
  char dir[64];
  char path[128];
  const hv_audit_backend *backend;
  const char *target; /* path (SQLite) or DSN (PostgreSQL) */
  bool pg;
} fixture;

static void rm_rf(const char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/hv_audit_test.XXXXXX");
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
  rm_rf(f->dir);
  free(f);
  return 0;
}

static void make_id(char out[HV_AUDIT_REQUEST_ID_SIZE], unsigned a, unsigned b) {
  snprintf(out, HV_AUDIT_REQUEST_ID_SIZE, "%08x-0000-4000-8000-%012x", a, b);
}

static void make_record(hv_audit_record *r, unsigned a, unsigned b, int64_t at) {
  memset(r, 0, sizeof *r);
  make_id(r->request_id, a, b);
  r->recorded_at_ms = at;
  snprintf(r->api_key_id, sizeof r->api_key_id, "dev");
  snprintf(r->key_id, sizeof r->key_id, "0123456789abcdef");
  snprintf(r->result_commitment, sizeof r->result_commitment, "%s", HASH_R);
  snprintf(r->program_commitment, sizeof r->program_commitment, "%s", HASH_P);
  snprintf(r->arguments_commitment, sizeof r->arguments_commitment, "%s", HASH_A);
  snprintf(r->status, sizeof r->status, "success");
  r->execution_summary = (char *)SUMMARY;
  r->request_metadata = (char *)METADATA;
}

static hv_audit_store *open_store(const fixture *f, const hv_audit_options *opt) {
  hv_audit_store *s = NULL;
  hv_audit_error err;
  hv_audit_status st = hv_audit_open(f->backend, f->target, opt, &s, &err);
  if (st != HV_AUDIT_OK) fail_msg("open %s: %s", f->backend->name, err.message);
  return s;
}

static void put_ok(hv_audit_store *s, const hv_audit_record *r) {
  hv_audit_error err;
  if (hv_audit_put(s, r, &err) != HV_AUDIT_OK) fail_msg("put %s: %s", r->request_id, err.message);
}

static void assert_same(const hv_audit_record *a, const hv_audit_record *b) {
  assert_string_equal(a->request_id, b->request_id);
  assert_true(a->recorded_at_ms == b->recorded_at_ms);
  assert_string_equal(a->api_key_id, b->api_key_id);
  assert_string_equal(a->key_id, b->key_id);
  assert_string_equal(a->result_commitment, b->result_commitment);
  assert_string_equal(a->program_commitment, b->program_commitment);
  assert_string_equal(a->arguments_commitment, b->arguments_commitment);
  assert_string_equal(a->status, b->status);
  assert_string_equal(a->execution_summary, b->execution_summary);
  if (a->request_metadata == NULL || b->request_metadata == NULL)
    assert_true(a->request_metadata == b->request_metadata);
  else
    assert_string_equal(a->request_metadata, b->request_metadata);
}

/* Runs SQL straight on the file, outside the library, and returns the first column as an int. */
static int64_t sql_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void sql_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* The same, on either backend's tables: `which` is "records" or "health" (the backends name them
 * differently); the SQL is before, the table's name, after. */
static const char *table(const fixture *f, const char *which) {
  if (strcmp(which, "records") == 0) return f->pg ? "hv_audit_records" : "audit_records";
  return f->pg ? "hv_audit_health" : "health";
}

static int64_t store_int(const fixture *f, const char *before, const char *which,
                         const char *after) {
  char sql[256];
  snprintf(sql, sizeof sql, "%s%s%s", before, table(f, which), after);
  if (!f->pg) return sql_int(f->path, sql);
  PGresult *r = pg_sql(sql, PGRES_TUPLES_OK);
  int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

static void store_exec(const fixture *f, const char *before, const char *which) {
  char sql[256];
  snprintf(sql, sizeof sql, "%s%s", before, table(f, which));
  if (f->pg)
    PQclear(pg_sql(sql, PGRES_COMMAND_OK));
  else
    sql_exec(f->path, sql);
}

static int64_t count_records(const fixture *f) {
  return store_int(f, "SELECT count(*) FROM ", "records", "");
}

/* ---- Tests -------------------------------------------------------------------------------------
 */

static void test_put_get_round_trip(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  assert_string_equal(hv_audit_backend_name(s), f->backend->name);
  hv_audit_record r, failed, got;
  make_record(&r, 1, 1, NOW);
  put_ok(s, &r);
  /* A failed execution: no server key, no commitments, no metadata. */
  make_record(&failed, 1, 2, NOW + 1);
  failed.key_id[0] = failed.result_commitment[0] = '\0';
  failed.program_commitment[0] = failed.arguments_commitment[0] = '\0';
  snprintf(failed.status, sizeof failed.status, "ENCRYPTION_ERROR");
  failed.execution_summary = "{\"status\":\"ENCRYPTION_ERROR\"}";
  failed.request_metadata = NULL;
  put_ok(s, &failed);

  hv_audit_error err;
  assert_int_equal(hv_audit_get(s, r.request_id, &got, &err), HV_AUDIT_OK);
  assert_same(&got, &r);
  hv_audit_record_free(&got);
  assert_null(got.execution_summary);
  assert_int_equal(hv_audit_get(s, failed.request_id, &got, &err), HV_AUDIT_OK);
  assert_same(&got, &failed);
  hv_audit_record_free(&got);

  char t[HV_AUDIT_TIME_SIZE];
  hv_audit_format_time(r.recorded_at_ms, t);
  assert_string_equal(t, "2026-11-24T10:00:00.123Z");
  hv_audit_close(s);
}

static void test_unknown_and_malformed_ids(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record got;
  hv_audit_error err;
  char id[HV_AUDIT_REQUEST_ID_SIZE];
  make_id(id, 9, 9);
  assert_int_equal(hv_audit_get(s, id, &got, &err), HV_AUDIT_NOT_FOUND);
  assert_int_equal(err.status, HV_AUDIT_NOT_FOUND);
  assert_non_null(strstr(err.message, id));
  assert_null(got.execution_summary);
  static const char *const bad[] = {
      "",
      "not-a-uuid",
      "00000009-0000-4000-8000-00000000000",   /* one short */
      "00000009-0000-4000-8000-0000000000099", /* one long */
      "00000009-0000-4000-8000-00000000000G",
      "0000000A-0000-4000-8000-000000000009", /* upper case is not canonical */
      "00000009+0000-4000-8000-000000000009",
      "00000009-0000-4000-8000-000000000009' OR '1'='1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(hv_audit_get(s, bad[i], &got, &err), HV_AUDIT_INVALID_ARGUMENT);
    assert_false(hv_audit_request_id_valid(bad[i]));
  }
  assert_int_equal(hv_audit_get(s, NULL, &got, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_true(hv_audit_request_id_valid(id));
  hv_audit_close(s);
}

static void test_duplicate_request_id(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record r;
  make_record(&r, 2, 1, NOW);
  put_ok(s, &r);
  r.recorded_at_ms = NOW + 5;
  hv_audit_error err;
  assert_int_equal(hv_audit_put(s, &r, &err), HV_AUDIT_DUPLICATE);
  assert_non_null(strstr(err.message, r.request_id));
  hv_audit_record got;
  assert_int_equal(hv_audit_get(s, r.request_id, &got, &err), HV_AUDIT_OK);
  assert_true(got.recorded_at_ms == NOW); /* the first record stands */
  hv_audit_record_free(&got);
  hv_audit_close(s);
}

/* Group commit: several records in one transaction; a duplicate or invalid one fails alone. */
static void test_put_batch(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record recs[5];
  const hv_audit_record *ptrs[5];
  hv_audit_status sts[5];
  for (unsigned i = 0; i < 5; i++) {
    make_record(&recs[i], 9, i, NOW + i);
    ptrs[i] = &recs[i];
  }
  put_ok(s, &recs[1]);               /* 1 becomes a duplicate */
  recs[3].status[0] = '\0';          /* 3 is invalid */
  hv_audit_error err;
  hv_audit_status st = hv_audit_put_batch(s, ptrs, 5, sts, &err);
  assert_int_not_equal(st, HV_AUDIT_OK);
  assert_int_equal(sts[0], HV_AUDIT_OK);
  assert_int_equal(sts[1], HV_AUDIT_DUPLICATE);
  assert_int_equal(sts[2], HV_AUDIT_OK);
  assert_int_equal(sts[3], HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(sts[4], HV_AUDIT_OK);
  hv_audit_close(s);

  /* Durable: the stored ones are there after a reopen, as stored. */
  s = open_store(f, NULL);
  for (unsigned i = 0; i < 5; i++) {
    hv_audit_record got;
    hv_audit_status g = hv_audit_get(s, recs[i].request_id, &got, &err);
    if (i == 3) {
      assert_int_equal(g, HV_AUDIT_NOT_FOUND);
      continue;
    }
    assert_int_equal(g, HV_AUDIT_OK);
    if (i != 1) assert_same(&got, &recs[i]);
    hv_audit_record_free(&got);
  }
  /* All good: HV_AUDIT_OK; and an empty batch is fine. */
  for (unsigned i = 0; i < 5; i++) make_record(&recs[i], 10, i, NOW);
  assert_int_equal(hv_audit_put_batch(s, ptrs, 5, sts, &err), HV_AUDIT_OK);
  for (unsigned i = 0; i < 5; i++) assert_int_equal(sts[i], HV_AUDIT_OK);
  assert_int_equal(hv_audit_put_batch(s, ptrs, 0, sts, &err), HV_AUDIT_OK);
  assert_int_equal(hv_audit_put_batch(s, ptrs, HV_AUDIT_BATCH_MAX + 1, sts, &err),
                   HV_AUDIT_INVALID_ARGUMENT);

  /* One request_id twice in a round: the first is stored, the second is a duplicate; a record
   * without a key, commitments or metadata (a failure) comes back with them absent. */
  for (unsigned i = 0; i < 3; i++) make_record(&recs[i], 11, 2 - i, NOW + i);
  memcpy(recs[0].request_id, recs[2].request_id, sizeof recs[0].request_id);
  recs[1].key_id[0] = recs[1].result_commitment[0] = '\0';
  recs[1].program_commitment[0] = recs[1].arguments_commitment[0] = '\0';
  snprintf(recs[1].status, sizeof recs[1].status, "ENCRYPTION_ERROR");
  recs[1].request_metadata = NULL;
  assert_int_equal(hv_audit_put_batch(s, ptrs, 3, sts, &err), HV_AUDIT_DUPLICATE);
  assert_int_equal(sts[0], HV_AUDIT_OK);
  assert_int_equal(sts[1], HV_AUDIT_OK);
  assert_int_equal(sts[2], HV_AUDIT_DUPLICATE);
  for (unsigned i = 0; i < 2; i++) {
    hv_audit_record got;
    assert_int_equal(hv_audit_get(s, recs[i].request_id, &got, &err), HV_AUDIT_OK);
    assert_same(&got, &recs[i]);
    hv_audit_record_free(&got);
  }
  hv_audit_close(s);
  assert_int_equal(count_records(f), 11);
}

static void test_invalid_records_are_refused(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record r;
  hv_audit_error err;
  char big[HV_AUDIT_JSON_MAX + 16];
  memset(big, ' ', sizeof big - 1);
  big[0] = '{';
  big[sizeof big - 2] = '}';
  big[sizeof big - 1] = '\0';
  /* The field each case breaks, which the message must name. */
  static const char *const cases[] = {
      "request_id",        "recorded_at_ms",       "api_key_id",       "key_id",
      "result_commitment", "arguments_commitment", "status",           "execution_summary",
      "execution_summary", "execution_summary",    "request_metadata", "request_metadata",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    make_record(&r, 3, (unsigned)i, NOW);
    switch (i) {
      case 0:
        r.request_id[3] = 'X';
        break;
      case 1:
        r.recorded_at_ms = 0;
        break;
      case 2:
        snprintf(r.api_key_id, sizeof r.api_key_id, "has space");
        break;
      case 3:
        snprintf(r.key_id, sizeof r.key_id, "0123456789ABCDEF");
        break;
      case 4:
        r.result_commitment[10] = '\0';
        break;
      case 5:
        memset(r.arguments_commitment, 'a', sizeof r.arguments_commitment);
        break;
      case 6:
        snprintf(r.status, sizeof r.status, "bad status!");
        break;
      case 7:
        r.execution_summary = NULL;
        break;
      case 8:
        r.execution_summary = "[1,2]";
        break;
      case 9:
        r.execution_summary = big;
        break;
      case 10:
        r.request_metadata = "{\"a\":1,\"a\":2}";
        break;
      case 11:
        r.request_metadata = "{\"bad\": \xff}";
        break;
    }
    hv_audit_status st = hv_audit_put(s, &r, &err);
    if (st != HV_AUDIT_INVALID_ARGUMENT || strstr(err.message, cases[i]) == NULL)
      fail_msg("case %zu (%s): %s %s", i, cases[i], hv_audit_status_name(st), err.message);
  }
  assert_int_equal(hv_audit_put(s, NULL, &err), HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_put(NULL, &r, &err), HV_AUDIT_INVALID_ARGUMENT);
  /* None of them was stored. */
  assert_int_equal(count_records(f), 0);
  hv_audit_close(s);
}

static void test_record_survives_reopen(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record r, got;
  make_record(&r, 4, 1, NOW);
  put_ok(s, &r);
  hv_audit_close(s);
  assert_int_equal(count_records(f), 1);
  if (f->pg) {
    PGresult *v = pg_sql("SELECT max(version) FROM hv_audit_migrations", PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(v, 0, 0), "2");
    PQclear(v);
    /* synchronous_commit is what makes a COMMIT durable: each session of the store sets it. */
    v = pg_sql("SELECT count(*) FROM pg_settings WHERE name = 'fsync' AND setting = 'on'",
               PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(v, 0, 0), "1"); /* the test server does not fake it */
    PQclear(v);
    goto reopen;
  }

  /* On disk: owner-only file, WAL mode, schema version 1, our application id. */
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_int_equal(st.st_mode & 0077, 0);
  assert_int_equal(sql_int(f->path, "SELECT version FROM schema_version"), 1);
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM audit_records"), 1);
  assert_int_equal(sql_int(f->path, "PRAGMA application_id"), 0x48564155);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *q = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);

reopen:
  s = open_store(f, NULL);
  hv_audit_error err;
  assert_int_equal(hv_audit_get(s, r.request_id, &got, &err), HV_AUDIT_OK);
  assert_same(&got, &r);
  hv_audit_record_free(&got);
  hv_audit_close(s);
}

static void test_purge_with_injected_now(void **state) {
  fixture *f = *state;
  hv_audit_options opt = {.purge_batch = 3}; /* several batches for 10 old records */
  hv_audit_store *s = open_store(f, &opt);
  hv_audit_record r;
  const int64_t ages[] = {30 * DAY_MS, 10 * DAY_MS, 8 * DAY_MS, 7 * DAY_MS + 1};
  unsigned n = 0;
  for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
    for (unsigned k = 0; k < (i == 0 ? 7u : 1u); k++) {
      make_record(&r, 5, n++, NOW - ages[i]);
      put_ok(s, &r);
    }
  }
  /* Kept: exactly at the cutoff (7 days), and younger. */
  const int64_t kept_ages[] = {7 * DAY_MS, 6 * DAY_MS, 1};
  for (size_t i = 0; i < 3; i++) {
    make_record(&r, 6, (unsigned)i, NOW - kept_ages[i]);
    put_ok(s, &r);
  }
  int64_t cutoff = hv_audit_retention_cutoff(NOW, 7);
  assert_true(cutoff == NOW - 7 * DAY_MS);
  uint64_t removed = 99;
  hv_audit_error err;
  assert_int_equal(hv_audit_purge(s, cutoff, &removed, &err), HV_AUDIT_OK);
  assert_int_equal(removed, 10);
  hv_audit_record got;
  for (unsigned i = 0; i < n; i++) {
    char id[HV_AUDIT_REQUEST_ID_SIZE];
    make_id(id, 5, i);
    assert_int_equal(hv_audit_get(s, id, &got, &err), HV_AUDIT_NOT_FOUND);
  }
  for (unsigned i = 0; i < 3; i++) {
    char id[HV_AUDIT_REQUEST_ID_SIZE];
    make_id(id, 6, i);
    assert_int_equal(hv_audit_get(s, id, &got, &err), HV_AUDIT_OK);
    hv_audit_record_free(&got);
  }
  assert_int_equal(hv_audit_purge(s, cutoff, &removed, &err), HV_AUDIT_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(hv_audit_purge(s, NOW + 1, NULL, &err), HV_AUDIT_OK);
  assert_int_equal(count_records(f), 0);
  assert_true(hv_audit_retention_cutoff(DAY_MS, 7) == 0); /* saturates */
  hv_audit_close(s);
}

#define THREADS 8
#define PER_THREAD 40

typedef struct worker {
  hv_audit_store *store;
  unsigned index;
  int failures;
} worker;

static void *put_worker(void *arg) {
  worker *w = arg;
  for (unsigned i = 0; i < PER_THREAD; i++) {
    hv_audit_record r, got;
    hv_audit_error err;
    make_record(&r, 100 + w->index, i, NOW + i);
    if (hv_audit_put(w->store, &r, &err) != HV_AUDIT_OK) w->failures++;
    /* Read back at once, while other threads write. */
    if (hv_audit_get(w->store, r.request_id, &got, &err) != HV_AUDIT_OK)
      w->failures++;
    else
      hv_audit_record_free(&got);
  }
  return NULL;
}

static void test_concurrent_puts(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  pthread_t th[THREADS];
  worker w[THREADS];
  for (unsigned i = 0; i < THREADS; i++) {
    w[i] = (worker){.store = s, .index = i, .failures = 0};
    assert_int_equal(pthread_create(&th[i], NULL, put_worker, &w[i]), 0);
  }
  for (unsigned i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  hv_audit_error err;
  assert_int_equal(hv_audit_health(s, &err), HV_AUDIT_OK);
  hv_audit_close(s);
  assert_int_equal(count_records(f), THREADS * PER_THREAD);
}

static void test_corrupt_and_foreign_files(void **state) {
  fixture *f = *state;
  hv_audit_store *s = NULL;
  hv_audit_error err;

  /* Not a database at all. */
  FILE *fp = fopen(f->path, "wb");
  assert_non_null(fp);
  for (int i = 0; i < 256; i++) fputs("this is not an sqlite database. ", fp);
  fclose(fp);
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->path, NULL, &s, &err),
                   HV_AUDIT_CORRUPT);
  assert_null(s);
  assert_non_null(strstr(err.message, f->path));
  assert_non_null(strstr(err.message, "not a database"));

  /* A database header followed by garbage. */
  fp = fopen(f->path, "wb");
  assert_non_null(fp);
  fwrite("SQLite format 3", 1, 16, fp);
  for (int i = 0; i < 8192; i++) fputc((i * 131 + 7) & 0xff, fp);
  fclose(fp);
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->path, NULL, &s, &err),
                   HV_AUDIT_CORRUPT);

  /* A real SQLite database that is somebody else's. */
  unlink(f->path);
  sql_exec(f->path, "CREATE TABLE customers (id INTEGER)");
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->path, NULL, &s, &err),
                   HV_AUDIT_CORRUPT);
  assert_non_null(strstr(err.message, "not an audit database"));
  assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_master"), 1); /* untouched */

  /* Ours, but from a newer build. */
  unlink(f->path);
  s = open_store(f, NULL);
  hv_audit_close(s);
  sql_exec(f->path, "UPDATE schema_version SET version = 2");
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->path, NULL, &s, &err),
                   HV_AUDIT_SCHEMA_VERSION);
  assert_non_null(strstr(err.message, "schema version 2"));
}

static void test_bad_paths(void **state) {
  fixture *f = *state;
  hv_audit_store *s = NULL;
  hv_audit_error err;
  char path[256];

  /* Under a regular file. */
  FILE *fp = fopen(f->path, "w");
  assert_non_null(fp);
  fclose(fp);
  snprintf(path, sizeof path, "%s/audit.db/x.db", f->dir);
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, path, NULL, &s, &err),
                   HV_AUDIT_CANNOT_OPEN);
  assert_non_null(strstr(err.message, "not a directory"));
  /* A directory. */
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->dir, NULL, &s, &err),
                   HV_AUDIT_CANNOT_OPEN);
  /* Two missing levels: only one is created. */
  snprintf(path, sizeof path, "%s/a/b/audit.db", f->dir);
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, path, NULL, &s, &err),
                   HV_AUDIT_CANNOT_OPEN);
  assert_non_null(strstr(err.message, "No such file or directory"));
  assert_null(s);
  /* One missing level is created, owner-only. */
  snprintf(path, sizeof path, "%s/data/audit.db", f->dir);
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, path, NULL, &s, &err), HV_AUDIT_OK);
  hv_audit_close(s);
  snprintf(path, sizeof path, "%s/data", f->dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 0077, 0);

  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, "", NULL, &s, &err),
                   HV_AUDIT_INVALID_ARGUMENT);
  assert_int_equal(hv_audit_open(NULL, f->path, NULL, &s, &err), HV_AUDIT_UNSUPPORTED);
  hv_audit_options too_many = {.connections = 1000};
  assert_int_equal(hv_audit_open(&hv_audit_sqlite_backend, f->path, &too_many, &s, &err),
                   HV_AUDIT_INVALID_ARGUMENT);
}

static void test_health_writes(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, &(hv_audit_options){.connections = 1});
  hv_audit_error err;
  assert_int_equal(hv_audit_health(s, &err), HV_AUDIT_OK);
  assert_int_equal(err.status, HV_AUDIT_OK);
  hv_audit_close(s);
  /* The heartbeat was committed. */
  assert_true(store_int(f, "SELECT checked_at FROM ", "health", " WHERE id = 1") > 0);
  /* A store whose health row someone deleted reports it. */
  store_exec(f, "DELETE FROM ", "health");
  s = open_store(f, NULL);
  assert_int_equal(hv_audit_health(s, &err), HV_AUDIT_CORRUPT);
  hv_audit_close(s);
  assert_int_equal(hv_audit_health(NULL, &err), HV_AUDIT_INVALID_ARGUMENT);
}

static void test_backends_and_names(void **state) {
  (void)state;
  assert_ptr_equal(hv_audit_backend_find("sqlite"), &hv_audit_sqlite_backend);
  assert_ptr_equal(hv_audit_backend_find("postgres"), &hv_audit_postgres_backend);
  assert_null(hv_audit_backend_find("mysql"));
  assert_null(hv_audit_backend_find(NULL));
  assert_string_equal(hv_audit_status_name(HV_AUDIT_NOT_FOUND), "HV_AUDIT_NOT_FOUND");
  assert_string_equal(hv_audit_status_text(HV_AUDIT_NOT_FOUND), "no such record");
  hv_audit_close(NULL);
  hv_audit_record_free(NULL);
}


/* ---- PostgreSQL's own ------------------------------------------------------------------------ */

#define LOCK_PURGE "310684767490" /* 0x4856415502: audit_pg.c's purge lock */

static void test_pg_newer_schema_refused(void **state) {
  fixture *f = *state;
  hv_audit_close(open_store(f, NULL));
  /* Opening again finds the schema current and changes nothing. */
  hv_audit_close(open_store(f, NULL));
  PQclear(pg_sql("INSERT INTO hv_audit_migrations (version) VALUES (99)", PGRES_COMMAND_OK));
  hv_audit_store *s = NULL;
  hv_audit_error err;
  assert_int_equal(hv_audit_open(f->backend, f->target, NULL, &s, &err), HV_AUDIT_SCHEMA_VERSION);
  assert_null(s);
  assert_non_null(strstr(err.message, "99"));
}

static void test_pg_unreachable_at_open(void **state) {
  (void)state;
  hv_audit_store *s = NULL;
  hv_audit_error err;
  const char *dsn = "host=/nonexistent-hv-dir port=5432 user=postgres password=s3cret-pw "
                    "connect_timeout=2";
  assert_int_equal(hv_audit_open(&hv_audit_postgres_backend, dsn, NULL, &s, &err),
                   HV_AUDIT_CANNOT_OPEN);
  assert_null(s);
  assert_non_null(strstr(err.message, "cannot connect"));
  assert_null(strstr(err.message, "s3cret")); /* a DSN's password never reaches a message */
}

/* Two stores on one database are two nodes of a cluster: each sees what the other stored, and a
 * request_id taken on one is a duplicate on the other. */
static void test_pg_two_nodes_share_records(void **state) {
  fixture *f = *state;
  hv_audit_store *a = open_store(f, NULL), *b = open_store(f, NULL);
  hv_audit_record r[3], got;
  const hv_audit_record *ptrs[3] = {&r[0], &r[1], &r[2]};
  hv_audit_status sts[3];
  hv_audit_error err;
  for (unsigned i = 0; i < 3; i++) make_record(&r[i], 20, i, NOW);
  put_ok(a, &r[1]);
  assert_int_equal(hv_audit_get(b, r[1].request_id, &got, &err), HV_AUDIT_OK);
  assert_same(&got, &r[1]);
  hv_audit_record_free(&got);
  assert_int_equal(hv_audit_put_batch(b, ptrs, 3, sts, &err), HV_AUDIT_DUPLICATE);
  assert_int_equal(sts[0], HV_AUDIT_OK);
  assert_int_equal(sts[1], HV_AUDIT_DUPLICATE);
  assert_int_equal(sts[2], HV_AUDIT_OK);
  assert_int_equal(hv_audit_get(a, r[2].request_id, &got, &err), HV_AUDIT_OK);
  hv_audit_record_free(&got);
  hv_audit_close(a);
  hv_audit_close(b);
}

/* The purge runs once across the cluster: while another session holds the purge lock, a purge
 * removes nothing; once it is free, the purge does the work. */
static void test_pg_purge_once_cluster_wide(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, NULL);
  hv_audit_record r;
  make_record(&r, 21, 1, NOW - 30 * DAY_MS);
  put_ok(s, &r);
  PGconn *other = PQconnectdb(g_dsn);
  assert_int_equal(PQstatus(other), CONNECTION_OK);
  PGresult *res = PQexec(other, "SELECT pg_advisory_lock(" LOCK_PURGE ")");
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  uint64_t removed = 99;
  hv_audit_error err;
  assert_int_equal(hv_audit_purge(s, NOW, &removed, &err), HV_AUDIT_OK);
  assert_int_equal(removed, 0);
  assert_int_equal(count_records(f), 1);
  /* Released by its holder (a session that ends loses it too, but asynchronously after PQfinish). */
  res = PQexec(other, "SELECT pg_advisory_unlock(" LOCK_PURGE ")");
  assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
  PQclear(res);
  PQfinish(other);
  assert_int_equal(hv_audit_purge(s, NOW, &removed, &err), HV_AUDIT_OK);
  assert_int_equal(removed, 1);
  assert_int_equal(count_records(f), 0);
  hv_audit_close(s);
}

/* The database crashes (immediate shutdown) under an open store: what was committed survives,
 * calls fail with UNAVAILABLE while it is down, and the same store works again once it is back,
 * without being reopened. */
static void test_pg_recovers_after_database_restart(void **state) {
  fixture *f = *state;
  hv_audit_store *s = open_store(f, &(hv_audit_options){.connections = 2});
  hv_audit_record before, during, after, got;
  hv_audit_error err;
  make_record(&before, 22, 1, NOW);
  make_record(&during, 22, 2, NOW);
  make_record(&after, 22, 3, NOW);
  put_ok(s, &before);
  pg_server("kill");
  assert_int_equal(hv_audit_put(s, &during, &err), HV_AUDIT_UNAVAILABLE);
  assert_non_null(strstr(err.message, "postgres"));
  assert_int_not_equal(hv_audit_health(s, &err), HV_AUDIT_OK);
  const hv_audit_record *ptrs[1] = {&during};
  hv_audit_status sts[1];
  assert_int_not_equal(hv_audit_put_batch(s, ptrs, 1, sts, &err), HV_AUDIT_OK);
  assert_int_not_equal(sts[0], HV_AUDIT_OK);
  pg_server("start");
  assert_int_equal(hv_audit_health(s, &err), HV_AUDIT_OK);
  put_ok(s, &after);
  assert_int_equal(hv_audit_get(s, before.request_id, &got, &err), HV_AUDIT_OK);
  hv_audit_record_free(&got);
  assert_int_equal(hv_audit_get(s, during.request_id, &got, &err), HV_AUDIT_NOT_FOUND);
  assert_int_equal(hv_audit_get(s, after.request_id, &got, &err), HV_AUDIT_OK);
  hv_audit_record_free(&got);
  hv_audit_close(s);
}

int main(int argc, char **argv) {
  if (!audit_test_pg_args(argc, argv, "test_audit")) return 1;
  /* Every backend. */
  const struct CMUnitTest common[] = {
      cmocka_unit_test_setup_teardown(test_put_get_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_and_malformed_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_request_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_records_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_record_survives_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(test_purge_with_injected_now, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_health_writes, setup, teardown),
      cmocka_unit_test(test_backends_and_names),
  };
  const struct CMUnitTest sqlite_only[] = {
      cmocka_unit_test_setup_teardown(test_corrupt_and_foreign_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
  };
  const struct CMUnitTest postgres_only[] = {
      cmocka_unit_test_setup_teardown(test_pg_newer_schema_refused, setup, teardown),
      cmocka_unit_test(test_pg_unreachable_at_open),
      cmocka_unit_test_setup_teardown(test_pg_two_nodes_share_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_purge_once_cluster_wide, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pg_recovers_after_database_restart, setup, teardown),
  };
  int failed = cmocka_run_group_tests_name(g_pg ? "audit (postgres)" : "audit (sqlite)", common,
                                           NULL, NULL);
  if (g_pg)
    failed += cmocka_run_group_tests_name("audit: postgres only", postgres_only, NULL, NULL);
  else
    failed += cmocka_run_group_tests_name("audit: sqlite only", sqlite_only, NULL, NULL);
  return failed;
}
