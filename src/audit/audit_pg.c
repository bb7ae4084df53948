/*
 * audit_pg.c: the PostgreSQL backend of the audit store (docs/audit.md, "PostgreSQL"), through
 * libpq. Several servers may share one database: that is what it is for.
 *
 * Durability. Every session sets synchronous_commit = on, so a COMMIT returns only once the
 * server has flushed the transaction's WAL to its disk (and to synchronous standbys, when the
 * operator configured some). A put is one INSERT in autocommit mode; a batch is one transaction.
 * A COMMIT whose answer is lost with the connection is reported as a failure: the record may or
 * may not be there, and the client is never told it is.
 *
 * Idempotent batches. The INSERT says ON CONFLICT (request_id) DO NOTHING, so a duplicate does
 * not abort the transaction: it inserts no row, and that record alone gets HV_AUDIT_DUPLICATE.
 *
 * Threads. A pool of connections, handed out under a mutex to one caller at a time, each with its
 * statements prepared once. A connection that broke (the server restarted, the network dropped)
 * is reset the next time it is taken, so the store recovers without a restart of ours.
 *
 * Schema. Versioned migrations in hv_audit_migrations, applied at open under a transaction-level
 * advisory lock, so that nodes starting together apply each migration once; a database newer than
 * this build is refused (HV_AUDIT_SCHEMA_VERSION).
 *
 * Retention. A purge first takes a session-level advisory lock with pg_try_advisory_lock: the
 * node that gets it purges, the others skip this round (removed = 0), so the purge runs once
 * across the cluster. It removes records, never the log's leaves and nodes.
 *
 * The transparency log (schema 2; docs/audit.md, "The transparency log"). A round inserts its
 * records, then locks the one row of hv_log_state (SELECT ... FOR UPDATE): whoever holds that row
 * lock is the one sequencer, whichever server it runs on, and under READ COMMITTED the locked read
 * returns the size the previous holder committed. The lock is taken after the inserts so that it
 * is held for the log's few statements and the COMMIT only: every other server's round waits for
 * it. Nodes of the round are kept in memory (and the node cache) until one statement writes them,
 * with the leaves and the new size, before the COMMIT; the complete subtrees of the tree before
 * the round (its "frontier", all the round reads of the older tree) are fetched in one query. A
 * round is so 6 round trips whatever its size (BEGIN, the inserts, the lock, the nodes read, the
 * tree's writes, COMMIT), 4 of them under the lock.
 *
 * Messages carry libpq's text and SQLSTATE, never the DSN (it may hold a password).
 */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

#define SCHEMA_VERSION 2
/* Advisory lock keys (any 64-bit numbers, ours by convention): "HVAU" and a purpose. */
#define LOCK_MIGRATE 0x4856415501LL
#define LOCK_PURGE 0x4856415502LL

/* Migration n brings the schema from version n - 1 to n. Append only. */
static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE hv_audit_records ("
    "  request_id text PRIMARY KEY,"
    "  recorded_at bigint NOT NULL,"
    "  api_key_id text NOT NULL,"
    "  key_id text,"
    "  result_commitment text,"
    "  program_commitment text,"
    "  arguments_commitment text,"
    "  status text NOT NULL,"
    "  execution_summary text NOT NULL,"
    "  request_metadata text);"
    "CREATE INDEX hv_audit_records_recorded_at ON hv_audit_records (recorded_at);"
    "CREATE TABLE hv_audit_health (id int PRIMARY KEY CHECK (id = 1), checked_at bigint NOT NULL);"
    "INSERT INTO hv_audit_health (id, checked_at) VALUES (1, 0);",
    /* 2: the transparency log. Leaves are (index, request_id); complete subtrees (level, index)
     * hold every hash the proofs need, the leaf hashes being level 0; hv_log_state holds the
     * size, advanced in the transaction that stores the round's records. */
    "CREATE TABLE hv_log_leaves (idx bigint PRIMARY KEY CHECK (idx >= 0),"
    "  request_id text NOT NULL);"
    "CREATE TABLE hv_log_nodes (level int CHECK (level BETWEEN 0 AND 63),"
    "  idx bigint CHECK (idx >= 0), hash bytea NOT NULL, PRIMARY KEY (level, idx));"
    "CREATE TABLE hv_log_state (id int PRIMARY KEY CHECK (id = 1),"
    "  size bigint NOT NULL CHECK (size >= 0));"
    "INSERT INTO hv_log_state (id, size) VALUES (1, 0);",
};

static const char insert_sql[] =
    "INSERT INTO hv_audit_records (request_id, recorded_at, api_key_id, key_id, result_commitment,"
    " program_commitment, arguments_commitment, status, execution_summary, request_metadata)"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (request_id) DO NOTHING";
/* A round's records in one statement, inserted in the order of the arrays (ten text[] in binary
 * format, zipped by unnest); a row whose request_id is taken is skipped and not returned. */
static const char insert_round_sql[] =
    "INSERT INTO hv_audit_records (request_id, recorded_at, api_key_id, key_id, result_commitment,"
    " program_commitment, arguments_commitment, status, execution_summary, request_metadata)"
    " SELECT r, a::bigint, k, kid, rc, pc, ac, st, es, rm FROM unnest($1::text[], $2::text[],"
    " $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::text[]) WITH ORDINALITY AS t(r, a, k, kid, rc, pc, ac, st, es, rm, o) ORDER BY o"
    " ON CONFLICT (request_id) DO NOTHING RETURNING request_id";
static const char select_sql[] =
    "SELECT recorded_at, api_key_id, key_id, result_commitment, program_commitment,"
    " arguments_commitment, status, execution_summary, request_metadata"
    " FROM hv_audit_records WHERE request_id = $1";
static const char purge_sql[] =
    "DELETE FROM hv_audit_records WHERE request_id IN (SELECT request_id FROM hv_audit_records"
    " WHERE recorded_at < $1::bigint ORDER BY recorded_at LIMIT $2::bigint)";
static const char version_sql[] = "SELECT max(version) FROM hv_audit_migrations";
static const char heartbeat_sql[] = "UPDATE hv_audit_health SET checked_at = $1::bigint WHERE id = 1";
/* The log. The sequencer's first statement: the row lock makes its holder the one sequencer. */
static const char log_lock_sql[] = "SELECT size FROM hv_log_state WHERE id = 1 FOR UPDATE";
static const char log_size_sql[] = "SELECT size FROM hv_log_state WHERE id = 1";
/* Nodes and leaves are read with binary results: a hash is its 32 bytes, integers 4 or 8 bytes
 * big-endian. These three reads are not prepared but planned at each execution (PQexecParams):
 * a plan cached while the tables were nearly empty scans them whole, and stays cached as they
 * grow. Their planning costs less than one such scan of a small tree. */
static const char log_node_sql[] =
    "SELECT hash FROM hv_log_nodes WHERE level = $1::int AND idx = $2::bigint";
/* LATERAL: one primary-key lookup per wanted node, whatever the planner thinks of the arrays. */
static const char log_nodes_sql[] =
    "SELECT w.l, w.i, n.hash FROM unnest($1::int[], $2::bigint[]) AS w(l, i)"
    " CROSS JOIN LATERAL (SELECT hash FROM hv_log_nodes WHERE level = w.l AND idx = w.i) n";
/* The round's writes in one statement: the leaves (request_ids $2, indexes from $1), the nodes
 * (levels $3, indexes $4, their hashes concatenated in $5, a binary bytea) and the new size $6.
 * It returns how many of each it wrote. */
static const char log_advance_sql[] =
    "WITH leaves AS (INSERT INTO hv_log_leaves (idx, request_id)"
    "   SELECT $1::bigint + o - 1, r FROM unnest($2::text[]) WITH ORDINALITY AS t(r, o)"
    "   RETURNING 1),"
    " nodes AS (INSERT INTO hv_log_nodes (level, idx, hash)"
    "   SELECT l, i, substring($5::bytea FROM (o::int - 1) * 32 + 1 FOR 32)"
    "   FROM unnest($3::int[], $4::bigint[]) WITH ORDINALITY AS t(l, i, o)"
    "   RETURNING 1)"
    " UPDATE hv_log_state SET size = $6::bigint WHERE id = 1"
    " RETURNING (SELECT count(*) FROM leaves), (SELECT count(*) FROM nodes)";
/* Leaves [$1, $2) below the size, with their records while kept (binary results). */
static const char log_leaves_sql[] =
    "SELECT n.idx, n.hash, r.recorded_at, r.api_key_id, r.key_id, r.result_commitment,"
    " r.program_commitment, r.arguments_commitment, r.status, r.execution_summary,"
    " r.request_metadata, r.request_id"
    " FROM hv_log_nodes n LEFT JOIN hv_log_leaves l ON l.idx = n.idx"
    " LEFT JOIN hv_audit_records r ON r.request_id = l.request_id"
    " WHERE n.level = 0 AND n.idx >= $1::bigint AND n.idx < $2::bigint"
    " AND n.idx < (SELECT size FROM hv_log_state WHERE id = 1) ORDER BY n.idx";

static const struct {
  const char *name, *sql;
  int nparams;
} statements[] = {
    {"hv_insert", insert_sql, 10}, {"hv_select", select_sql, 1},   {"hv_purge", purge_sql, 2},
    {"hv_insert_round", insert_round_sql, 10},
    {"hv_version", version_sql, 0}, {"hv_heartbeat", heartbeat_sql, 1},
    {"hv_log_lock", log_lock_sql, 0}, {"hv_log_size", log_size_sql, 0},
    {"hv_log_advance", log_advance_sql, 6},
};

typedef struct pg_conn {
  PGconn *pg;
  bool ready; /* connected, session settings made, statements prepared */
} pg_conn;

typedef struct pg_store {
  char *dsn; /* a secret: wiped at close */
  unsigned busy_timeout_ms;
  unsigned purge_batch;
  pthread_mutex_t lock;
  pthread_cond_t available;
  pg_conn *conns;
  unsigned nconns;
  unsigned *free_list;
  unsigned nfree;
} pg_store;

/* ---- Errors ------------------------------------------------------------------------------- */

/* Our status for a failed result (or a NULL one: no answer at all). */
static hv_audit_status map_result(PGconn *pg, const PGresult *res) {
  if (PQstatus(pg) == CONNECTION_BAD) return HV_AUDIT_UNAVAILABLE;
  const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  if (state == NULL) return HV_AUDIT_UNAVAILABLE;
  if (strcmp(state, "23505") == 0) return HV_AUDIT_DUPLICATE;
  if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
      strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
    return HV_AUDIT_UNAVAILABLE; /* connection lost, server shutting down or starting */
  if (strcmp(state, "53100") == 0) return HV_AUDIT_FULL;
  if (strcmp(state, "53200") == 0) return HV_AUDIT_NO_MEMORY;
  if (strcmp(state, "25006") == 0) return HV_AUDIT_READ_ONLY;
  if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
      strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
    return HV_AUDIT_BUSY; /* statement or lock timeout, serialisation failure, deadlock */
  if (strncmp(state, "42", 2) == 0) return HV_AUDIT_CORRUPT; /* a table or column is missing */
  if (strncmp(state, "28", 2) == 0) return HV_AUDIT_CANNOT_OPEN; /* authorisation */
  if (strncmp(state, "58", 2) == 0 || strncmp(state, "XX", 2) == 0) return HV_AUDIT_IO;
  return HV_AUDIT_INTERNAL;
}

/* "audit store (postgres): WHAT: libpq's message (SQLSTATE)". */
static hv_audit_status pg_fail(PGconn *pg, const PGresult *res, hv_audit_error *err,
                               const char *what) {
  const char *msg = res != NULL && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                                : PQerrorMessage(pg);
  const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char text[256];
  snprintf(text, sizeof text, "%s", msg != NULL && msg[0] ? msg : "no answer from the server");
  size_t n = strlen(text);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ')) text[--n] = '\0';
  for (char *p = text; *p; p++)
    if (*p == '\n') *p = ' ';
  return audit_fail(err, map_result(pg, res), "audit store (postgres): %s: %s%s%s%s", what, text,
                    state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

/* ---- Connections -------------------------------------------------------------------------- */

/* Runs sql (no parameters); true when it gave `want`. On false *res holds the result (or NULL). */
static bool exec_ok(PGconn *pg, const char *sql, ExecStatusType want, PGresult **res) {
  *res = PQexec(pg, sql);
  return *res != NULL && PQresultStatus(*res) == want;
}

/* Creates or upgrades the schema, under an advisory lock held until the transaction ends. */
static hv_audit_status migrate(PGconn *pg, hv_audit_error *err) {
  PGresult *res = NULL;
  hv_audit_status st = HV_AUDIT_OK;
  char sql[128];
  if (!exec_ok(pg, "BEGIN", PGRES_COMMAND_OK, &res)) goto fail_what;
  PQclear(res);
  snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", LOCK_MIGRATE);
  if (!exec_ok(pg, sql, PGRES_TUPLES_OK, &res)) goto fail_what;
  PQclear(res);
  if (!exec_ok(pg,
               "CREATE TABLE IF NOT EXISTS hv_audit_migrations (version int PRIMARY KEY,"
               " applied_at timestamptz NOT NULL DEFAULT now())",
               PGRES_COMMAND_OK, &res))
    goto fail_what;
  PQclear(res);
  if (!exec_ok(pg, "SELECT coalesce(max(version), 0) FROM hv_audit_migrations", PGRES_TUPLES_OK,
               &res))
    goto fail_what;
  long have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  res = NULL;
  if (have > SCHEMA_VERSION) {
    st = audit_fail(err, HV_AUDIT_SCHEMA_VERSION,
                    "audit store (postgres): the database has schema version %ld, this build "
                    "knows up to %d; upgrade this node",
                    have, SCHEMA_VERSION);
    goto rollback;
  }
  for (long v = have + 1; v <= SCHEMA_VERSION; v++) {
    if (!exec_ok(pg, migrations[v - 1], PGRES_COMMAND_OK, &res)) goto fail_what;
    PQclear(res);
    snprintf(sql, sizeof sql, "INSERT INTO hv_audit_migrations (version) VALUES (%ld)", v);
    if (!exec_ok(pg, sql, PGRES_COMMAND_OK, &res)) goto fail_what;
    PQclear(res);
  }
  if (!exec_ok(pg, "COMMIT", PGRES_COMMAND_OK, &res)) goto fail_what;
  PQclear(res);
  return HV_AUDIT_OK;
fail_what:
  st = pg_fail(pg, res, err, "cannot create or check the schema");
  PQclear(res);
rollback:
  PQclear(PQexec(pg, "ROLLBACK"));
  return st;
}

/* Session settings and prepared statements on a fresh connection. */
static hv_audit_status conn_setup(pg_store *s, pg_conn *c, hv_audit_error *err) {
  char sql[256];
  PGresult *res = NULL;
  /* The durability promise does not depend on the server's default. The timeouts bound how long
   * a caller (and a request) waits on a lock or a stuck statement. */
  snprintf(sql, sizeof sql,
           "SET synchronous_commit = on; SET statement_timeout = %u; SET lock_timeout = %u;"
           " SET application_name = 'hypervisor'",
           s->busy_timeout_ms, s->busy_timeout_ms);
  if (!exec_ok(c->pg, sql, PGRES_COMMAND_OK, &res)) {
    hv_audit_status st = pg_fail(c->pg, res, err, "cannot set up the session");
    PQclear(res);
    return st;
  }
  PQclear(res);
  for (size_t i = 0; i < sizeof statements / sizeof statements[0]; i++) {
    res = PQprepare(c->pg, statements[i].name, statements[i].sql, statements[i].nparams, NULL);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
      hv_audit_status st = pg_fail(c->pg, res, err, "cannot prepare a statement");
      PQclear(res);
      return st;
    }
    PQclear(res);
  }
  c->ready = true;
  return HV_AUDIT_OK;
}

/* Notices (such as "relation already exists, skipping") are not errors: errors come back in
 * results and are reported there. libpq would print notices on stderr. */
static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* Makes c usable: connects (or reconnects a broken connection) and sets it up. */
static hv_audit_status conn_ready(pg_store *s, pg_conn *c, hv_audit_error *err) {
  if (c->ready && PQstatus(c->pg) == CONNECTION_OK) return HV_AUDIT_OK;
  c->ready = false;
  if (c->pg == NULL) {
    c->pg = PQconnectdb(s->dsn);
    if (c->pg == NULL) return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
  } else {
    PQreset(c->pg);
  }
  if (PQstatus(c->pg) != CONNECTION_OK)
    return pg_fail(c->pg, NULL, err, "cannot connect to the database");
  return conn_setup(s, c, err);
}

static pg_conn *acquire(pg_store *s) {
  pthread_mutex_lock(&s->lock);
  while (s->nfree == 0) pthread_cond_wait(&s->available, &s->lock);
  pg_conn *c = &s->conns[s->free_list[--s->nfree]];
  pthread_mutex_unlock(&s->lock);
  return c;
}

static void release(pg_store *s, pg_conn *c) {
  bool broken = PQstatus(c->pg) != CONNECTION_OK;
  pthread_mutex_lock(&s->lock);
  if (broken) {
    /* The server went away (or restarted): the idle connections are dead too, though they do not
     * know it yet. Each is reset when next taken, instead of failing one call first. */
    c->ready = false;
    for (unsigned i = 0; i < s->nfree; i++) s->conns[s->free_list[i]].ready = false;
  }
  s->free_list[s->nfree++] = (unsigned)(c - s->conns);
  pthread_cond_signal(&s->available);
  pthread_mutex_unlock(&s->lock);
}

/* ---- The backend -------------------------------------------------------------------------- */

static void pgs_close(void *impl) {
  pg_store *s = impl;
  if (s == NULL) return;
  for (unsigned i = 0; i < s->nconns; i++) PQfinish(s->conns[i].pg);
  if (s->dsn != NULL) {
    volatile char *p = s->dsn;
    for (size_t i = 0; p[i] != '\0'; i++) p[i] = 0;
    free(s->dsn);
  }
  free(s->conns);
  free(s->free_list);
  pthread_cond_destroy(&s->available);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static hv_audit_status pgs_open(const char *dsn, const hv_audit_options *opt, void **impl,
                                hv_audit_error *err) {
  *impl = NULL;
  pg_store *s = calloc(1, sizeof *s);
  if (s == NULL) return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  s->busy_timeout_ms = opt->busy_timeout_ms;
  s->purge_batch = opt->purge_batch;
  if (pthread_mutex_init(&s->lock, NULL) != 0) {
    free(s);
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "cannot create a mutex");
  }
  if (pthread_cond_init(&s->available, NULL) != 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "cannot create a condition variable");
  }
  s->dsn = strdup(dsn);
  s->conns = calloc(opt->connections, sizeof *s->conns);
  s->free_list = calloc(opt->connections, sizeof *s->free_list);
  if (s->dsn == NULL || s->conns == NULL || s->free_list == NULL) {
    pgs_close(s);
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  s->nconns = opt->connections;
  hv_audit_status st = HV_AUDIT_OK;
  /* The first connection migrates; then each is set up. A database that cannot be reached at
   * start-up is an error: the server does not start without its audit trail. */
  s->conns[0].pg = PQconnectdb(s->dsn);
  if (s->conns[0].pg == NULL) {
    st = audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  } else {
    PQsetNoticeProcessor(s->conns[0].pg, ignore_notice, NULL);
    if (PQstatus(s->conns[0].pg) != CONNECTION_OK)
      st = pg_fail(s->conns[0].pg, NULL, err, "cannot connect to the database");
  }
  if (st == HV_AUDIT_OK) st = migrate(s->conns[0].pg, err);
  if (st == HV_AUDIT_OK) st = conn_setup(s, &s->conns[0], err);
  for (unsigned i = 1; st == HV_AUDIT_OK && i < s->nconns; i++) st = conn_ready(s, &s->conns[i], err);
  if (st != HV_AUDIT_OK) {
    if (st == HV_AUDIT_UNAVAILABLE) st = HV_AUDIT_CANNOT_OPEN;
    if (err) err->status = st;
    pgs_close(s);
    return st;
  }
  for (unsigned i = 0; i < s->nconns; i++) s->free_list[s->nfree++] = i;
  *impl = s;
  return HV_AUDIT_OK;
}

#define PG_RECORD_COLUMNS 10

/* The record's columns as text, in insert_sql's order; absent fields ("") are NULL. `at` holds
 * recorded_at's digits. */
static void record_columns(const hv_audit_record *r, char at[24],
                           const char *values[PG_RECORD_COLUMNS]) {
  snprintf(at, 24, "%lld", (long long)r->recorded_at_ms);
#define OR_NULL(f) ((f)[0] != '\0' ? (f) : NULL)
  const char *v[PG_RECORD_COLUMNS] = {r->request_id,
                                      at,
                                      r->api_key_id,
                                      OR_NULL(r->key_id),
                                      OR_NULL(r->result_commitment),
                                      OR_NULL(r->program_commitment),
                                      OR_NULL(r->arguments_commitment),
                                      r->status,
                                      r->execution_summary,
                                      r->request_metadata};
#undef OR_NULL
  memcpy(values, v, sizeof v);
}

/* Runs the insert of one record on c (in whatever transaction c is in). */
static PGresult *insert_record(pg_conn *c, const hv_audit_record *r) {
  char at[24];
  const char *values[PG_RECORD_COLUMNS];
  record_columns(r, at, values);
  return PQexecPrepared(c->pg, "hv_insert", PG_RECORD_COLUMNS, values, NULL, NULL, 0);
}

/* Did an insert (status COMMAND_OK) store its row? "0" rows: the request_id was taken. */
static bool inserted(PGresult *res) { return strcmp(PQcmdTuples(res), "1") == 0; }

typedef struct pg_insert_order {
  const char *request_id;
  size_t index; /* in the round */
} pg_insert_order;

/* By request_id, then by place in the round (so the first of equal ones stays first). */
static int insert_order_cmp(const void *a, const void *b) {
  const pg_insert_order *x = a, *y = b;
  int c = strcmp(x->request_id, y->request_id);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* Column `column` of `cells` (count rows of PG_RECORD_COLUMNS, NULL for SQL NULL) as a
 * one-dimensional text[] in PostgreSQL's binary array format (what array_recv reads: dimensions,
 * a null flag, the element type, then each element's length, -1 for NULL, and its bytes). NULL
 * when out of memory or past 1 GiB. The caller frees it. */
static uint8_t *text_array(const char *const *cells, size_t count, unsigned column, int *length) {
  enum { TEXT_OID = 25, HEADER = 20 };
  size_t total = HEADER;
  bool nulls = false;
  for (size_t k = 0; k < count; k++) {
    const char *v = cells[k * PG_RECORD_COLUMNS + column];
    nulls |= v == NULL;
    total += 4 + (v ? strlen(v) : 0);
    if (total > (1u << 30)) return NULL;
  }
  uint8_t *a = malloc(total), *p = a + HEADER;
  if (a == NULL) return NULL;
  put_be32(a, 1);                    /* dimensions */
  put_be32(a + 4, nulls);            /* has nulls */
  put_be32(a + 8, TEXT_OID);         /* element type */
  put_be32(a + 12, (uint32_t)count); /* the dimension's length */
  put_be32(a + 16, 1);               /* its lower bound */
  for (size_t k = 0; k < count; k++) {
    const char *v = cells[k * PG_RECORD_COLUMNS + column];
    size_t n = v ? strlen(v) : 0;
    put_be32(p, v ? (uint32_t)n : UINT32_MAX);
    if (n) memcpy(p + 4, v, n);
    p += 4 + n;
  }
  *length = (int)total;
  return a;
}

static int string_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Inserts a round's records in the transaction c is in, in one statement, in request_id order:
 * two rounds that share request_ids (on one server or several) then wait for each other's rows in
 * the same order and cannot deadlock. statuses[i] gets OK or DUPLICATE (a request_id stored
 * before, or earlier in the round). Returns OK, DUPLICATE (the first one, in err), or the failure
 * that must roll the round back. */
static hv_audit_status insert_round(pg_conn *c, const hv_audit_record *const *records,
                                    size_t count, hv_audit_status *statuses,
                                    hv_audit_error *err) {
  if (count == 0) return HV_AUDIT_OK;
  pg_insert_order *order = calloc(count, sizeof *order);
  const char **stored = calloc(count, sizeof *stored);
  const char **cells = calloc(count * PG_RECORD_COLUMNS, sizeof *cells);
  char(*ats)[24] = calloc(count, sizeof *ats);
  uint8_t *arrays[PG_RECORD_COLUMNS] = {0};
  int lengths[PG_RECORD_COLUMNS], formats[PG_RECORD_COLUMNS];
  PGresult *res = NULL;
  hv_audit_status result = HV_AUDIT_NO_MEMORY;
  if (order == NULL || stored == NULL || cells == NULL || ats == NULL) goto out;
  for (size_t i = 0; i < count; i++) order[i] = (pg_insert_order){records[i]->request_id, i};
  qsort(order, count, sizeof *order, insert_order_cmp);
  for (size_t k = 0; k < count; k++)
    record_columns(records[order[k].index], ats[k], &cells[k * PG_RECORD_COLUMNS]);
  for (unsigned col = 0; col < PG_RECORD_COLUMNS; col++) {
    arrays[col] = text_array(cells, count, col, &lengths[col]);
    formats[col] = 1;
    if (arrays[col] == NULL) goto out;
  }
  res = PQexecPrepared(c->pg, "hv_insert_round", PG_RECORD_COLUMNS,
                       (const char *const *)arrays, lengths, formats, 0);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
    result = pg_fail(c->pg, res, err, "cannot store the records");
    goto out;
  }
  if (PQnfields(res) != 1 || (size_t)PQntuples(res) > count) {
    result = audit_fail(err, HV_AUDIT_INTERNAL,
                        "audit store (postgres): the insert returned an unexpected result");
    goto out;
  }
  /* The returned request_ids were stored; of equal ones in the round, the first in order. */
  size_t nstored = (size_t)PQntuples(res);
  for (size_t k = 0; k < nstored; k++) stored[k] = PQgetvalue(res, (int)k, 0);
  qsort(stored, nstored, sizeof *stored, string_cmp);
  result = HV_AUDIT_OK;
  for (size_t k = 0; k < count; k++) {
    size_t i = order[k].index;
    const char *id = order[k].request_id;
    bool first = k == 0 || strcmp(order[k - 1].request_id, id) != 0;
    statuses[i] = first && bsearch(&id, stored, nstored, sizeof *stored, string_cmp)
                      ? HV_AUDIT_OK
                      : HV_AUDIT_DUPLICATE;
    if (statuses[i] == HV_AUDIT_DUPLICATE && result == HV_AUDIT_OK)
      result = audit_fail(err, HV_AUDIT_DUPLICATE,
                          "audit store (postgres): a record for %s already exists", id);
  }
out:
  if (result == HV_AUDIT_NO_MEMORY) audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  PQclear(res);
  for (unsigned col = 0; col < PG_RECORD_COLUMNS; col++) free(arrays[col]);
  free(ats);
  free(cells);
  free(stored);
  free(order);
  return result;
}

static hv_audit_status pgs_put(void *impl, const hv_audit_record *r, hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  hv_audit_status st = conn_ready(s, c, err);
  if (st == HV_AUDIT_OK) {
    PGresult *res = insert_record(c, r);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
      st = pg_fail(c->pg, res, err, "cannot store the record");
    else if (!inserted(res))
      st = audit_fail(err, HV_AUDIT_DUPLICATE,
                      "audit store (postgres): a record for %s already exists", r->request_id);
    else
      st = audit_ok(err);
    PQclear(res);
  }
  release(s, c);
  return st;
}

/*
 * Group commit: BEGIN, one INSERT of the round's records (insert_round), COMMIT: three round trips
 * and one WAL flush for them all. A duplicate inserts nothing and fails alone; any other failure
 * rolls everything back and fails every record. (Work that must be atomic with the records, such
 * as sequencing them in another table, goes between the inserts and the COMMIT.)
 */
static hv_audit_status pgs_put_batch(void *impl, const hv_audit_record *const *records,
                                     size_t count, hv_audit_status *statuses,
                                     hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  hv_audit_status result = conn_ready(s, c, err);
  PGresult *res = NULL;
  if (result != HV_AUDIT_OK) goto all_failed;
  if (!exec_ok(c->pg, "BEGIN", PGRES_COMMAND_OK, &res)) {
    result = pg_fail(c->pg, res, err, "cannot start the transaction");
    goto all_failed;
  }
  PQclear(res);
  res = NULL;
  result = insert_round(c, records, count, statuses, err);
  if (result != HV_AUDIT_OK && result != HV_AUDIT_DUPLICATE) goto rollback;
  /* COMMIT answers COMMAND_OK even for a transaction that had failed (it rolls back then), but
   * none of ours can be in that state here: every failure above went to rollback. */
  if (!exec_ok(c->pg, "COMMIT", PGRES_COMMAND_OK, &res)) {
    result = pg_fail(c->pg, res, err, "cannot commit the records");
    goto rollback;
  }
  PQclear(res);
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;

rollback:
  PQclear(res);
  res = NULL;
  if (PQstatus(c->pg) == CONNECTION_OK) PQclear(PQexec(c->pg, "ROLLBACK"));
all_failed:
  PQclear(res);
  for (size_t i = 0; i < count; i++) statuses[i] = result;
  release(s, c);
  return result;
}

/* Copies a text value into a fixed field; false if it does not fit. NULL becomes "". (libpq ends
 * every value with a zero byte, in binary results too, and text's binary form is its bytes.) */
static bool value_into(const PGresult *res, int row, int col, char *dst, size_t size) {
  if (PQgetisnull(res, row, col)) {
    dst[0] = '\0';
    return true;
  }
  size_t len = (size_t)PQgetlength(res, row, col);
  if (len >= size) return false;
  memcpy(dst, PQgetvalue(res, row, col), len + 1);
  return memchr(dst, '\0', len) == NULL;
}

/* The JSON value into a new string (NULL for SQL NULL); false if too long or out of memory. */
static bool value_dup(const PGresult *res, int row, int col, char **out) {
  *out = NULL;
  if (PQgetisnull(res, row, col)) return true;
  size_t len = (size_t)PQgetlength(res, row, col);
  if (len > HV_AUDIT_JSON_MAX) return false;
  *out = malloc(len + 1);
  if (*out == NULL) return false;
  memcpy(*out, PQgetvalue(res, row, col), len + 1);
  return true;
}

/* A record's fields from api_key_id to request_metadata, columns col..col+7 of a row. OK,
 * CORRUPT (a malformed field; *out owns nothing) or NO_MEMORY, with the JSON strings allocated
 * on OK (a missing or oversized execution_summary is CORRUPT). */
static hv_audit_status record_from_row(const PGresult *res, int row, int col,
                                       hv_audit_record *out) {
  bool ok = value_into(res, row, col, out->api_key_id, sizeof out->api_key_id) &&
            value_into(res, row, col + 1, out->key_id, sizeof out->key_id) &&
            value_into(res, row, col + 2, out->result_commitment, sizeof out->result_commitment) &&
            value_into(res, row, col + 3, out->program_commitment,
                       sizeof out->program_commitment) &&
            value_into(res, row, col + 4, out->arguments_commitment,
                       sizeof out->arguments_commitment) &&
            value_into(res, row, col + 5, out->status, sizeof out->status);
  if (!ok) return HV_AUDIT_CORRUPT;
  for (int k = 6; k < 8; k++) {
    char **dst = k == 6 ? &out->execution_summary : &out->request_metadata;
    if (!value_dup(res, row, col + k, dst)) {
      hv_audit_record_free(out);
      return PQgetlength(res, row, col + k) > HV_AUDIT_JSON_MAX ? HV_AUDIT_CORRUPT
                                                                : HV_AUDIT_NO_MEMORY;
    }
  }
  if (out->execution_summary != NULL) return HV_AUDIT_OK;
  hv_audit_record_free(out);
  return HV_AUDIT_CORRUPT;
}

static hv_audit_status pgs_get_once(pg_store *s, pg_conn *c, const char *request_id,
                                    hv_audit_record *out, hv_audit_error *err) {
  hv_audit_status st = conn_ready(s, c, err);
  PGresult *res = NULL;
  if (st == HV_AUDIT_OK) {
    const char *values[1] = {request_id};
    res = PQexecPrepared(c->pg, "hv_select", 1, values, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
      st = pg_fail(c->pg, res, err, "cannot read the record");
    } else if (PQntuples(res) == 0) {
      st = audit_fail(err, HV_AUDIT_NOT_FOUND, "no audit record for request_id %s", request_id);
    } else {
      snprintf(out->request_id, sizeof out->request_id, "%s", request_id);
      out->recorded_at_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
      out->execution_summary = out->request_metadata = NULL;
      hv_audit_status got = record_from_row(res, 0, 1, out);
      if (got == HV_AUDIT_NO_MEMORY)
        st = audit_fail(err, got, "out of memory");
      else if (got != HV_AUDIT_OK)
        st = audit_fail(err, got,
                        "audit store (postgres): record %s has a malformed field or JSON missing "
                        "or too long",
                        request_id);
      else
        st = audit_ok(err);
    }
  }
  PQclear(res);
  return st;
}

/* Reads may be retried: a connection that looked ready but had died with a restart of the server
 * is reset and the read made again, once. */
static hv_audit_status pgs_get(void *impl, const char *request_id, hv_audit_record *out,
                               hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  bool was_ready = c->ready;
  hv_audit_status st = pgs_get_once(s, c, request_id, out, err);
  if (st == HV_AUDIT_UNAVAILABLE && was_ready) {
    hv_audit_record_free(out);
    st = pgs_get_once(s, c, request_id, out, err);
  }
  release(s, c);
  return st;
}

static hv_audit_status pgs_purge(void *impl, int64_t older_than_ms, uint64_t *removed,
                                 hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  hv_audit_status st = conn_ready(s, c, err);
  PGresult *res = NULL;
  char sql[96];
  bool locked = false;
  if (st != HV_AUDIT_OK) goto done;
  /* Once across the cluster: whoever holds the lock purges; the others have nothing to do. */
  snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%lld)", LOCK_PURGE);
  if (!exec_ok(c->pg, sql, PGRES_TUPLES_OK, &res)) {
    st = pg_fail(c->pg, res, err, "cannot take the purge lock");
    goto done;
  }
  locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  PQclear(res);
  res = NULL;
  if (!locked) {
    st = audit_ok(err);
    goto done;
  }
  char cutoff[24], batch[16];
  snprintf(cutoff, sizeof cutoff, "%lld", (long long)older_than_ms);
  snprintf(batch, sizeof batch, "%u", s->purge_batch);
  const char *values[2] = {cutoff, batch};
  for (;;) {
    res = PQexecPrepared(c->pg, "hv_purge", 2, values, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
      st = pg_fail(c->pg, res, err, "cannot purge old records");
      break;
    }
    uint64_t n = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    res = NULL;
    *removed += n;
    if (n < s->purge_batch) break;
  }
  snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%lld)", LOCK_PURGE);
  PQclear(res);
  res = NULL;
  if (PQstatus(c->pg) == CONNECTION_OK) PQclear(PQexec(c->pg, sql)); /* a lost session drops it */
  if (st == HV_AUDIT_OK) audit_ok(err);
done:
  PQclear(res);
  release(s, c);
  return st;
}

static hv_audit_status pgs_health_once(pg_store *s, pg_conn *c, hv_audit_error *err) {
  hv_audit_status st = conn_ready(s, c, err);
  PGresult *res = NULL;
  if (st == HV_AUDIT_OK) {
    res = PQexecPrepared(c->pg, "hv_version", 0, NULL, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
      st = pg_fail(c->pg, res, err, "cannot read");
    else if (strtol(PQgetvalue(res, 0, 0), NULL, 10) != SCHEMA_VERSION)
      st = audit_fail(err, HV_AUDIT_SCHEMA_VERSION,
                      "audit store (postgres): the schema version changed under the server");
  }
  if (st == HV_AUDIT_OK) {
    PQclear(res);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)hv_audit_now_ms());
    const char *values[1] = {now};
    res = PQexecPrepared(c->pg, "hv_heartbeat", 1, values, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
      st = pg_fail(c->pg, res, err, "cannot write");
    else if (strcmp(PQcmdTuples(res), "1") != 0)
      st = audit_fail(err, HV_AUDIT_CORRUPT, "audit store (postgres): health row missing");
    else
      st = audit_ok(err);
  }
  PQclear(res);
  return st;
}

static hv_audit_status pgs_health(void *impl, hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  bool was_ready = c->ready;
  hv_audit_status st = pgs_health_once(s, c, err);
  if (st == HV_AUDIT_UNAVAILABLE && was_ready) st = pgs_health_once(s, c, err); /* as pgs_get */
  release(s, c);
  return st;
}

/* ---- The transparency log ----------------------------------------------------------------- */

/* A node written in the current round, not yet in the database. */
typedef struct pg_node {
  unsigned level;
  uint64_t index;
  uint8_t hash[HV_TLOG_HASH_LEN];
} pg_node;

/* What the node callbacks of one call work with. */
typedef struct pg_nodes {
  pg_conn *c;
  audit_node_cache *cache; /* or NULL */
  pg_node *pending;        /* the round's nodes (log_put_batch), in append order */
  size_t npending, cap;
  pg_node *pinned; /* the nodes prefetched (PG_WANT_MAX): kept here too, as the cache evicts */
  size_t npinned;
  PGresult *failed; /* the first failed result (for its message), or NULL */
  bool db_failed;   /* a statement failed (failed may be NULL: no answer) */
  bool malformed;   /* a stored node was not a 32-byte hash */
  bool no_memory;
  /* The dry run of a reader: get records what it asks for instead of reading it. */
  bool recording;
  uint32_t *want_level;
  uint64_t *want_index;
  size_t nwant;
} pg_nodes;

#define PG_WANT_MAX 256u /* nodes one reader fetches in one query (a proof needs at most ~128) */

static void nodes_failed(pg_nodes *n, PGresult *res) {
  if (!n->db_failed) {
    n->db_failed = true;
    n->failed = res;
  } else {
    PQclear(res);
  }
}

/* A big-endian integer of a binary result, exactly `bytes` long; false otherwise. */
static bool value_be(const PGresult *res, int row, int col, int bytes, uint64_t *out) {
  if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != bytes) return false;
  const unsigned char *p = (const unsigned char *)PQgetvalue(res, row, col);
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
  *out = v;
  return true;
}

/* A hash of a binary result: exactly HV_TLOG_HASH_LEN bytes. */
static bool value_hash(const PGresult *res, int row, int col, uint8_t out[HV_TLOG_HASH_LEN]) {
  if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != HV_TLOG_HASH_LEN) return false;
  memcpy(out, PQgetvalue(res, row, col), HV_TLOG_HASH_LEN);
  return true;
}

static bool pg_node_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HV_TLOG_HASH_LEN]) {
  pg_nodes *n = ctx;
  if (index > INT64_MAX || level > 63) return false;
  if (audit_node_cache_get(n->cache, level, index, out)) return true;
  for (size_t k = n->npending; k-- > 0;) {
    if (n->pending[k].level == level && n->pending[k].index == index) {
      memcpy(out, n->pending[k].hash, HV_TLOG_HASH_LEN);
      return true;
    }
  }
  for (size_t k = 0; k < n->npinned; k++) {
    if (n->pinned[k].level == level && n->pinned[k].index == index) {
      memcpy(out, n->pinned[k].hash, HV_TLOG_HASH_LEN);
      return true;
    }
  }
  if (n->recording) {
    if (n->nwant < PG_WANT_MAX) {
      n->want_level[n->nwant] = level;
      n->want_index[n->nwant++] = index;
    }
    memset(out, 0, HV_TLOG_HASH_LEN);
    return true;
  }
  if (n->db_failed) return false;
  char l[12], i[24];
  snprintf(l, sizeof l, "%u", level);
  snprintf(i, sizeof i, "%llu", (unsigned long long)index);
  const char *values[2] = {l, i};
  PGresult *res = PQexecParams(n->c->pg, log_node_sql, 2, NULL, values, NULL, NULL, 1);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
    nodes_failed(n, res);
    return false;
  }
  bool ok = PQntuples(res) == 1 && value_hash(res, 0, 0, out);
  if (PQntuples(res) == 1 && !ok) n->malformed = true;
  PQclear(res);
  if (ok) audit_node_cache_put(n->cache, level, index, out);
  return ok;
}

static bool pg_node_put(void *ctx, unsigned level, uint64_t index,
                        const uint8_t hash[HV_TLOG_HASH_LEN]) {
  pg_nodes *n = ctx;
  if (index > INT64_MAX || level > 63 || n->npending == n->cap) return false;
  pg_node *p = &n->pending[n->npending++];
  p->level = level;
  p->index = index;
  memcpy(p->hash, hash, HV_TLOG_HASH_LEN);
  audit_node_cache_put(n->cache, level, index, hash);
  return true;
}

/* "{a,b,c}", an array literal of count integers (levels when `levels`, else indexes), from
 * want_* or the pending nodes; NULL when out of memory. The caller frees it. */
static char *int_array(const pg_nodes *n, bool from_pending, bool levels, size_t count) {
  char *text = malloc(count * 22 + 3), *p = text;
  if (text == NULL) return NULL;
  *p++ = '{';
  for (size_t k = 0; k < count; k++) {
    uint64_t v = from_pending ? (levels ? n->pending[k].level : n->pending[k].index)
                              : (levels ? n->want_level[k] : n->want_index[k]);
    p += sprintf(p, "%s%llu", k ? "," : "", (unsigned long long)v);
  }
  *p++ = '}';
  *p = '\0';
  return text;
}

/* Fetches the wanted nodes (want_*) in one query into the cache. Nodes absent are left to the
 * callbacks (which then report them missing). False on a database failure or no memory. */
static bool nodes_prefetch(pg_nodes *n) {
  if (n->nwant == 0) return true;
  char *levels = int_array(n, false, true, n->nwant);
  char *indexes = int_array(n, false, false, n->nwant);
  bool ok = false;
  n->no_memory = levels == NULL || indexes == NULL;
  if (!n->no_memory) {
    const char *values[2] = {levels, indexes};
    PGresult *res = PQexecParams(n->c->pg, log_nodes_sql, 2, NULL, values, NULL, NULL, 1);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
      nodes_failed(n, res);
    } else {
      ok = true;
      for (int row = 0; row < PQntuples(res); row++) {
        uint64_t level = 0, index = 0;
        uint8_t hash[HV_TLOG_HASH_LEN];
        if (value_be(res, row, 0, 4, &level) && level <= 63 && value_be(res, row, 1, 8, &index) &&
            index <= INT64_MAX && value_hash(res, row, 2, hash) && n->npinned < PG_WANT_MAX) {
          pg_node *p = &n->pinned[n->npinned++];
          p->level = (unsigned)level;
          p->index = index;
          memcpy(p->hash, hash, HV_TLOG_HASH_LEN);
          audit_node_cache_put(n->cache, (unsigned)level, index, hash);
        } else {
          n->malformed = true; /* left out: its reader finds it malformed too */
        }
      }
      PQclear(res);
    }
  }
  free(levels);
  free(indexes);
  n->nwant = 0;
  return ok;
}

/* The complete subtrees of the tree of `size` leaves, largest first: the left halves every append
 * of a round reads and, with the round's own nodes, all that its root and proofs need. */
static void want_frontier(pg_nodes *n, uint64_t size) {
  uint64_t start = 0;
  for (unsigned level = 64; level-- > 0;) {
    if (!((size >> level) & 1)) continue;
    n->want_level[n->nwant] = level;
    n->want_index[n->nwant++] = start >> level;
    start += UINT64_C(1) << level;
  }
}

/* The tree's size from the first column of a one-row text result: non-negative, at most
 * INT64_MAX. */
static bool size_of(const PGresult *res, uint64_t *size) {
  if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) return false;
  const char *text = PQgetvalue(res, 0, 0);
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 0) return false;
  *size = (uint64_t)v;
  return true;
}

/* Why a tree operation failed: the database (its message), a malformed node, or hv_tlog's status
 * (size: the reader's tree, or NULL in a round). */
static hv_audit_status nodes_fail(const pg_nodes *n, hv_tlog_status ts, const uint64_t *size,
                                  hv_audit_error *err, const char *what) {
  if (n->db_failed) return pg_fail(n->c->pg, n->failed, err, what);
  if (n->no_memory) return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  if (n->malformed)
    return audit_fail(err, HV_AUDIT_CORRUPT,
                      "audit store (postgres): %s: a tree node is not a %d-byte hash", what,
                      HV_TLOG_HASH_LEN);
  return audit_log_fail(err, "audit store (postgres)", ts, size, what);
}

/* The round's leaves, nodes and size in one statement; OK or the failure. */
static hv_audit_status log_advance(pg_nodes *n, const hv_audit_record *const *records,
                                   const hv_audit_status *statuses, size_t count, uint64_t first,
                                   uint64_t tree, hv_audit_error *err) {
  size_t stored = (size_t)(tree - first);
  char *ids = malloc(count * (HV_AUDIT_REQUEST_ID_SIZE + 3) + 3);
  char *levels = int_array(n, true, true, n->npending);
  char *indexes = int_array(n, true, false, n->npending);
  uint8_t *hashes = malloc(n->npending * HV_TLOG_HASH_LEN + 1);
  hv_audit_status st = HV_AUDIT_OK;
  if (ids == NULL || levels == NULL || indexes == NULL || hashes == NULL) {
    st = audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
    goto out;
  }
  /* request_ids are checked UUIDs (hex and '-'): quoted all the same. */
  char *p = ids;
  *p++ = '{';
  for (size_t i = 0, k = 0; i < count; i++)
    if (statuses[i] == HV_AUDIT_OK) p += sprintf(p, "%s\"%s\"", k++ ? "," : "", records[i]->request_id);
  *p++ = '}';
  *p = '\0';
  for (size_t k = 0; k < n->npending; k++)
    memcpy(hashes + k * HV_TLOG_HASH_LEN, n->pending[k].hash, HV_TLOG_HASH_LEN);
  char start[24], size[24];
  snprintf(start, sizeof start, "%llu", (unsigned long long)first);
  snprintf(size, sizeof size, "%llu", (unsigned long long)tree);
  const char *values[6] = {start, ids, levels, indexes, (const char *)hashes, size};
  int lengths[6] = {0, 0, 0, 0, (int)(n->npending * HV_TLOG_HASH_LEN), 0};
  int formats[6] = {0, 0, 0, 0, 1, 0};
  PGresult *res = PQexecPrepared(n->c->pg, "hv_log_advance", 6, values, lengths, formats, 0);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
    st = pg_fail(n->c->pg, res, err, "cannot store the round's leaves and nodes");
    /* A leaf or node already there: the tables were edited, or another writer bypassed the
     * row lock. Not a duplicate record. */
    if (st == HV_AUDIT_DUPLICATE) st = err ? (err->status = HV_AUDIT_CORRUPT) : HV_AUDIT_CORRUPT;
  } else if (PQntuples(res) != 1) {
    st = audit_fail(err, HV_AUDIT_CORRUPT, "audit store (postgres): the log's state row is missing");
  } else if (strtoull(PQgetvalue(res, 0, 0), NULL, 10) != stored ||
             strtoull(PQgetvalue(res, 0, 1), NULL, 10) != n->npending) {
    st = audit_fail(err, HV_AUDIT_INTERNAL,
                    "audit store (postgres): the round's leaves and nodes were not all written");
  }
  PQclear(res);
out:
  free(ids);
  free(levels);
  free(indexes);
  free(hashes);
  return st;
}

/* One attempt at BEGIN. */
static hv_audit_status log_begin(pg_store *s, pg_conn *c, bool *in_tx, hv_audit_error *err) {
  *in_tx = false;
  hv_audit_status st = conn_ready(s, c, err);
  if (st != HV_AUDIT_OK) return st;
  PGresult *res = NULL;
  if (!exec_ok(c->pg, "BEGIN", PGRES_COMMAND_OK, &res)) {
    st = pg_fail(c->pg, res, err, "cannot start the transaction");
    PQclear(res);
    return st;
  }
  PQclear(res);
  *in_tx = true;
  return HV_AUDIT_OK;
}

/* The row lock that makes this transaction the one sequencer until it ends; *tree gets the size
 * the previous holder committed. */
static hv_audit_status log_lock(pg_conn *c, uint64_t *tree, hv_audit_error *err) {
  hv_audit_status st = HV_AUDIT_OK;
  PGresult *res = PQexecPrepared(c->pg, "hv_log_lock", 0, NULL, NULL, NULL, 0);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
    st = pg_fail(c->pg, res, err, "cannot lock the log");
  else if (!size_of(res, tree))
    st = audit_fail(err, HV_AUDIT_CORRUPT,
                    "audit store (postgres): the log's state row is missing or malformed");
  PQclear(res);
  return st;
}

static hv_audit_status pgs_log_put_batch(void *impl, const hv_audit_record *const *records,
                                         const uint8_t (*leaf_hashes)[HV_TLOG_HASH_LEN],
                                         size_t count, hv_audit_status *statuses,
                                         hv_audit_log_receipt *receipts, uint64_t *size,
                                         uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err) {
  pg_store *s = impl;
  /* A round of count leaves completes at most count + 63 subtrees above them. */
  pg_nodes nc = {.cap = 2 * count + 64};
  nc.cache = calloc(1, sizeof *nc.cache);
  nc.pending = calloc(nc.cap, sizeof *nc.pending);
  nc.want_level = calloc(64, sizeof *nc.want_level);
  nc.want_index = calloc(64, sizeof *nc.want_index);
  nc.pinned = calloc(PG_WANT_MAX, sizeof *nc.pinned);
  if (nc.cache == NULL || nc.pending == NULL || nc.want_level == NULL || nc.want_index == NULL ||
      nc.pinned == NULL) {
    free(nc.cache);
    free(nc.pending);
    free(nc.pinned);
    free(nc.want_level);
    free(nc.want_index);
    for (size_t i = 0; i < count; i++) statuses[i] = HV_AUDIT_NO_MEMORY;
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  pg_conn *c = acquire(s);
  nc.c = c;
  uint64_t first = 0, tree = 0;
  bool in_tx = false, was_ready = c->ready;
  hv_audit_status result = log_begin(s, c, &in_tx, err);
  /* A connection that died with a restart of the database fails at once; nothing was done on it,
   * so the round starts again once on a fresh one (as reads do). */
  if (result == HV_AUDIT_UNAVAILABLE && was_ready) result = log_begin(s, c, &in_tx, err);
  if (result != HV_AUDIT_OK) goto rollback;
  /* The records first, then the lock: the sequencer's lock is held for the log's work and the
   * COMMIT only, not for the round's inserts, since every other server's round waits for it. */
  result = insert_round(c, records, count, statuses, err);
  if (result != HV_AUDIT_OK && result != HV_AUDIT_DUPLICATE) goto rollback;
  hv_audit_status locked = log_lock(c, &first, err);
  if (locked != HV_AUDIT_OK) {
    result = locked;
    goto rollback;
  }
  if (first > INT64_MAX - count) {
    result = audit_fail(err, HV_AUDIT_CORRUPT, "audit store (postgres): the log is full");
    goto rollback;
  }
  tree = first;
  want_frontier(&nc, first);
  if (!nodes_prefetch(&nc)) {
    result = nodes_fail(&nc, HV_TLOG_OK, NULL, err, "cannot read the log's nodes");
    goto rollback;
  }
  /* The leaves in the round's order (a duplicate gets none). */
  for (size_t i = 0; i < count; i++) {
    if (statuses[i] != HV_AUDIT_OK) continue;
    hv_tlog_status ts = hv_tlog_append(pg_node_get, pg_node_put, &nc, tree, leaf_hashes[i]);
    if (ts != HV_TLOG_OK) {
      result = nodes_fail(&nc, ts, NULL, err, "cannot append the leaf");
      goto rollback;
    }
    receipts[i].leaf_index = tree;
    memcpy(receipts[i].leaf_hash, leaf_hashes[i], HV_TLOG_HASH_LEN);
    tree++;
  }
  /* The receipts, against the tree after this round, from the nodes in memory. */
  hv_tlog_status ts = hv_tlog_root(pg_node_get, &nc, tree, root);
  for (size_t i = 0; ts == HV_TLOG_OK && i < count; i++)
    if (statuses[i] == HV_AUDIT_OK)
      ts = hv_tlog_prove_inclusion(pg_node_get, &nc, receipts[i].leaf_index, tree,
                                   receipts[i].proof, &receipts[i].proof_len);
  if (ts != HV_TLOG_OK) {
    result = nodes_fail(&nc, ts, NULL, err, "cannot prove the round's leaves");
    goto rollback;
  }
  if (tree > first) {
    hv_audit_status st = log_advance(&nc, records, statuses, count, first, tree, err);
    if (st != HV_AUDIT_OK) {
      result = st;
      goto rollback;
    }
  }
  PGresult *res = NULL;
  /* A COMMIT whose answer is lost fails the round: no receipt for what may not be there. */
  if (!exec_ok(c->pg, "COMMIT", PGRES_COMMAND_OK, &res)) {
    result = pg_fail(c->pg, res, err, "cannot commit the records");
    PQclear(res);
    goto rollback;
  }
  PQclear(res);
  release(s, c);
  *size = tree;
  if (result == HV_AUDIT_OK) audit_ok(err);
  goto out;

rollback:
  if (in_tx && PQstatus(c->pg) == CONNECTION_OK) PQclear(PQexec(c->pg, "ROLLBACK"));
  for (size_t i = 0; i < count; i++) statuses[i] = result;
  release(s, c);
out:
  PQclear(nc.failed);
  free(nc.cache);
  free(nc.pending);
  free(nc.pinned);
  free(nc.want_level);
  free(nc.want_index);
  return result;
}

/*
 * Runs `fn` on the tree as of one read of its size. Nodes never change once written and a size is
 * committed only with every node below it, so a size read once is a consistent snapshot of the
 * tree however many rounds commit meanwhile: no transaction is needed. `fn` runs twice: a dry run
 * that lists the nodes it needs, fetched in one query, then the real one from the cache.
 */
static hv_audit_status log_read_once(pg_store *s, pg_conn *c, uint64_t *size, audit_log_reader fn,
                                     void *arg, hv_audit_error *err, const char *what) {
  hv_audit_status st = conn_ready(s, c, err);
  if (st != HV_AUDIT_OK) return st;
  PGresult *res = PQexecPrepared(c->pg, "hv_log_size", 0, NULL, NULL, NULL, 0);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
    st = pg_fail(c->pg, res, err, "cannot read the log's size");
    PQclear(res);
    return st;
  }
  bool ok = size_of(res, size);
  PQclear(res);
  if (!ok)
    return audit_fail(err, HV_AUDIT_CORRUPT,
                      "audit store (postgres): the log's state row is missing or malformed");
  pg_nodes nc = {.c = c, .recording = true};
  nc.cache = calloc(1, sizeof *nc.cache);
  nc.want_level = calloc(PG_WANT_MAX, sizeof *nc.want_level);
  nc.want_index = calloc(PG_WANT_MAX, sizeof *nc.want_index);
  nc.pinned = calloc(PG_WANT_MAX, sizeof *nc.pinned);
  if (nc.cache == NULL || nc.want_level == NULL || nc.want_index == NULL || nc.pinned == NULL) {
    st = audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
    goto out;
  }
  (void)fn(pg_node_get, &nc, *size, arg); /* its answer is the real run's */
  nc.recording = false;
  hv_tlog_status ts = nodes_prefetch(&nc) ? fn(pg_node_get, &nc, *size, arg) : HV_TLOG_NODE_MISSING;
  st = ts == HV_TLOG_OK ? audit_ok(err) : nodes_fail(&nc, ts, size, err, what);
out:
  PQclear(nc.failed);
  free(nc.cache);
  free(nc.pinned);
  free(nc.want_level);
  free(nc.want_index);
  return st;
}

/* Reads are retried once on a fresh connection, as pgs_get's. */
static hv_audit_status log_read(pg_store *s, uint64_t *size, audit_log_reader fn, void *arg,
                                hv_audit_error *err, const char *what) {
  pg_conn *c = acquire(s);
  bool was_ready = c->ready;
  hv_audit_status st = log_read_once(s, c, size, fn, arg, err, what);
  if (st == HV_AUDIT_UNAVAILABLE && was_ready) st = log_read_once(s, c, size, fn, arg, err, what);
  release(s, c);
  return st;
}

static hv_audit_status pgs_log_head(void *impl, uint64_t *size, uint8_t root[HV_TLOG_HASH_LEN],
                                    hv_audit_error *err) {
  return log_read(impl, size, audit_log_read_head, root, err, "cannot compute the root");
}

static hv_audit_status pgs_log_inclusion(void *impl, uint64_t index, uint64_t size,
                                         uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                         hv_audit_error *err) {
  uint64_t now = 0;
  audit_proof_args p = {.a = index, .b = size, .proof = proof, .count = count};
  return log_read(impl, &now, audit_log_read_inclusion, &p, err, "inclusion proof");
}

static hv_audit_status pgs_log_consistency(void *impl, uint64_t old_size, uint64_t new_size,
                                           uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                           hv_audit_error *err) {
  uint64_t now = 0;
  audit_proof_args p = {.a = old_size, .b = new_size, .proof = proof, .count = count};
  return log_read(impl, &now, audit_log_read_consistency, &p, err, "consistency proof");
}

static hv_audit_status pgs_log_leaves_once(pg_store *s, pg_conn *c, uint64_t start, uint64_t end,
                                           hv_audit_log_leaf *out, hv_audit_record *records,
                                           bool *has_record, size_t *count, hv_audit_error *err) {
  *count = 0;
  hv_audit_status st = conn_ready(s, c, err);
  if (st != HV_AUDIT_OK) return st;
  if (end > INT64_MAX) end = INT64_MAX;
  char a[24], b[24];
  snprintf(a, sizeof a, "%llu", (unsigned long long)start);
  snprintf(b, sizeof b, "%llu", (unsigned long long)end);
  const char *values[2] = {a, b};
  PGresult *res = PQexecParams(c->pg, log_leaves_sql, 2, NULL, values, NULL, NULL, 1);
  if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
    st = pg_fail(c->pg, res, err, "cannot read the leaves");
    PQclear(res);
    return st;
  }
  size_t rows = (size_t)PQntuples(res), max = start < end ? (size_t)(end - start) : 0, n = 0;
  uint64_t last = 0;
  for (; n < rows && n < max; n++) {
    hv_audit_log_leaf *leaf = &out[n];
    memset(leaf, 0, sizeof *leaf);
    uint64_t index = 0;
    if (!value_be(res, (int)n, 0, 8, &index) || index < start || index >= end ||
        (n > 0 && index <= last) || !value_hash(res, (int)n, 1, leaf->leaf_hash)) {
      st = audit_fail(err, HV_AUDIT_CORRUPT, "audit store (postgres): leaf %llu is malformed",
                      (unsigned long long)(start + n));
      break;
    }
    leaf->index = last = index;
    has_record[n] = false;
    if (PQgetisnull(res, (int)n, 11)) continue;
    hv_audit_record *r = &records[n];
    memset(r, 0, sizeof *r);
    uint64_t at = 0;
    /* A field edited out of shape still counts as a record here (empty): the front end's
     * encoding then fails and flags it, as with SQLite. */
    (void)value_into(res, (int)n, 11, r->request_id, sizeof r->request_id);
    if (value_be(res, (int)n, 2, 8, &at)) r->recorded_at_ms = (int64_t)at;
    if (record_from_row(res, (int)n, 3, r) == HV_AUDIT_NO_MEMORY) {
      st = audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
      break;
    }
    has_record[n] = true;
  }
  PQclear(res);
  if (st != HV_AUDIT_OK) {
    for (size_t k = 0; k <= n && k < max; k++) {
      if (has_record[k]) hv_audit_record_free(&records[k]);
      has_record[k] = false;
    }
    return st;
  }
  *count = n;
  return audit_ok(err);
}

static hv_audit_status pgs_log_leaves(void *impl, uint64_t start, uint64_t end,
                                      hv_audit_log_leaf *out, hv_audit_record *records,
                                      bool *has_record, size_t *count, hv_audit_error *err) {
  pg_store *s = impl;
  pg_conn *c = acquire(s);
  bool was_ready = c->ready;
  hv_audit_status st = pgs_log_leaves_once(s, c, start, end, out, records, has_record, count, err);
  if (st == HV_AUDIT_UNAVAILABLE && was_ready)
    st = pgs_log_leaves_once(s, c, start, end, out, records, has_record, count, err);
  release(s, c);
  return st;
}

const hv_audit_backend hv_audit_postgres_backend = {
    .name = "postgres",
    .open = pgs_open,
    .close = pgs_close,
    .put = pgs_put,
    .get = pgs_get,
    .purge = pgs_purge,
    .health = pgs_health,
    .put_batch = pgs_put_batch,
    .log_put_batch = pgs_log_put_batch,
    .log_head = pgs_log_head,
    .log_inclusion = pgs_log_inclusion,
    .log_consistency = pgs_log_consistency,
    .log_leaves = pgs_log_leaves,
};
