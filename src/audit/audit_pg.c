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
 * across the cluster.
 *
 * Messages carry libpq's text and SQLSTATE, never the DSN (it may hold a password).
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_int.h"

#define SCHEMA_VERSION 1
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
};

static const char insert_sql[] =
    "INSERT INTO hv_audit_records (request_id, recorded_at, api_key_id, key_id, result_commitment,"
    " program_commitment, arguments_commitment, status, execution_summary, request_metadata)"
    " VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (request_id) DO NOTHING";
static const char select_sql[] =
    "SELECT recorded_at, api_key_id, key_id, result_commitment, program_commitment,"
    " arguments_commitment, status, execution_summary, request_metadata"
    " FROM hv_audit_records WHERE request_id = $1";
static const char purge_sql[] =
    "DELETE FROM hv_audit_records WHERE request_id IN (SELECT request_id FROM hv_audit_records"
    " WHERE recorded_at < $1::bigint ORDER BY recorded_at LIMIT $2::bigint)";
static const char version_sql[] = "SELECT max(version) FROM hv_audit_migrations";
static const char heartbeat_sql[] = "UPDATE hv_audit_health SET checked_at = $1::bigint WHERE id = 1";

static const struct {
  const char *name, *sql;
  int nparams;
} statements[] = {
    {"hv_insert", insert_sql, 10}, {"hv_select", select_sql, 1},   {"hv_purge", purge_sql, 2},
    {"hv_version", version_sql, 0}, {"hv_heartbeat", heartbeat_sql, 1},
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

/* Runs the insert of one record on c (in whatever transaction c is in). */
static PGresult *insert_record(pg_conn *c, const hv_audit_record *r) {
  char at[24];
  snprintf(at, sizeof at, "%lld", (long long)r->recorded_at_ms);
  /* Absent fields ("") are stored as NULL. */
#define OR_NULL(f) ((f)[0] != '\0' ? (f) : NULL)
  const char *values[10] = {r->request_id,
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
  return PQexecPrepared(c->pg, "hv_insert", 10, values, NULL, NULL, 0);
}

/* Did an insert (status COMMAND_OK) store its row? "0" rows: the request_id was taken. */
static bool inserted(PGresult *res) { return strcmp(PQcmdTuples(res), "1") == 0; }

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
 * Group commit: BEGIN, one INSERT per record, COMMIT: one WAL flush for them all. A duplicate
 * inserts nothing and fails alone; any other failure rolls everything back and fails every
 * record. (Work that must be atomic with the records, such as sequencing them in another table,
 * goes between the inserts and the COMMIT.)
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
  for (size_t i = 0; i < count; i++) {
    res = insert_record(c, records[i]);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
      result = pg_fail(c->pg, res, err, "cannot store the record");
      goto rollback;
    }
    if (inserted(res)) {
      statuses[i] = HV_AUDIT_OK;
    } else {
      statuses[i] = HV_AUDIT_DUPLICATE;
      if (result == HV_AUDIT_OK)
        result = audit_fail(err, HV_AUDIT_DUPLICATE,
                            "audit store (postgres): a record for %s already exists",
                            records[i]->request_id);
    }
    PQclear(res);
  }
  res = NULL;
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

/* Copies a text value into a fixed field; false if it does not fit. NULL becomes "". */
static bool value_into(const PGresult *res, int col, char *dst, size_t size) {
  if (PQgetisnull(res, 0, col)) {
    dst[0] = '\0';
    return true;
  }
  size_t len = (size_t)PQgetlength(res, 0, col);
  if (len >= size) return false;
  memcpy(dst, PQgetvalue(res, 0, col), len + 1);
  return memchr(dst, '\0', len) == NULL;
}

static bool value_dup(const PGresult *res, int col, char **out) {
  *out = NULL;
  if (PQgetisnull(res, 0, col)) return true;
  size_t len = (size_t)PQgetlength(res, 0, col);
  if (len > HV_AUDIT_JSON_MAX) return false;
  *out = malloc(len + 1);
  if (*out == NULL) return false;
  memcpy(*out, PQgetvalue(res, 0, col), len + 1);
  return true;
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
      bool ok = value_into(res, 1, out->api_key_id, sizeof out->api_key_id) &&
                value_into(res, 2, out->key_id, sizeof out->key_id) &&
                value_into(res, 3, out->result_commitment, sizeof out->result_commitment) &&
                value_into(res, 4, out->program_commitment, sizeof out->program_commitment) &&
                value_into(res, 5, out->arguments_commitment, sizeof out->arguments_commitment) &&
                value_into(res, 6, out->status, sizeof out->status);
      if (!ok)
        st = audit_fail(err, HV_AUDIT_CORRUPT,
                        "audit store (postgres): record %s has a malformed field", request_id);
      else if (!value_dup(res, 7, &out->execution_summary) || out->execution_summary == NULL ||
               !value_dup(res, 8, &out->request_metadata))
        st = audit_fail(err, HV_AUDIT_CORRUPT,
                        "audit store (postgres): record %s: JSON missing, too long or out of "
                        "memory",
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

const hv_audit_backend hv_audit_postgres_backend = {
    .name = "postgres",
    .open = pgs_open,
    .close = pgs_close,
    .put = pgs_put,
    .get = pgs_get,
    .purge = pgs_purge,
    .health = pgs_health,
    .put_batch = pgs_put_batch,
};
