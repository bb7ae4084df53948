/*
 * audit_test_pg.h: what the audit suites (test_audit.c, test_audit_log.c) share to run on
 * PostgreSQL: the --postgres flag and HV_TEST_PG_DSN, SQL run outside the library, and the
 * server's stop and start (scripts/pg-temp.sh, HV_TEST_PG_DIR). Include after cmocka.h.
 */
#ifndef HV_AUDIT_TEST_PG_H
#define HV_AUDIT_TEST_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The backend under test, chosen in main by audit_test_pg_args. */
static bool g_pg;
static const char *g_dsn;

/* Every table either schema version makes: each case starts from none. */
#define AUDIT_TEST_PG_DROP                                                                  \
  "DROP TABLE IF EXISTS hv_audit_records, hv_audit_health, hv_audit_migrations, hv_log_leaves," \
  " hv_log_nodes, hv_log_state"

/* Sets g_pg (a first argument --postgres) and g_dsn; false (a message printed) when the DSN is
 * missing. */
static inline bool audit_test_pg_args(int argc, char **argv, const char *name) {
  g_pg = argc > 1 && strcmp(argv[1], "--postgres") == 0;
  if (!g_pg) return true;
  g_dsn = getenv("HV_TEST_PG_DSN");
  if (g_dsn != NULL && g_dsn[0] != '\0') return true;
  fprintf(stderr, "%s --postgres: HV_TEST_PG_DSN is not set\n", name);
  return false;
}

/* Runs SQL on the PostgreSQL test database, outside the library; the result (caller PQclear()s),
 * failing the test unless it has status `want`. */
static inline PGresult *pg_sql(const char *sql, ExecStatusType want) {
  PGconn *c = PQconnectdb(g_dsn);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("connect: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != want) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQfinish(c);
  return r;
}

/* scripts/pg-temp.sh ACTION on the test's server ("kill", "start"). */
static inline void pg_server(const char *action) {
  const char *dir = getenv("HV_TEST_PG_DIR");
  if (dir == NULL) fail_msg("HV_TEST_PG_DIR is not set (run under scripts/pg-temp.sh run)");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null", HV_PG_TEMP, action, dir);
  assert_int_equal(system(cmd), 0);
}

#endif /* HV_AUDIT_TEST_PG_H */
