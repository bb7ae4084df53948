/*
 * audit_sqlite.c: the SQLite backend of the audit store (docs/audit.md).
 *
 * Durability. The protocol promises that a client who got a 200 can always verify, so a record
 * must be on disk before hv_audit_put returns, even if the machine loses power right after. The
 * database runs in WAL mode with synchronous=FULL: every commit fsyncs the write-ahead log, and a
 * committed transaction in the WAL is recovered on the next open. (synchronous=NORMAL, the usual
 * WAL setting, fsyncs only at checkpoints: it survives a crash of the process but can lose the
 * last commits on a power cut, which would break the promise.) A put is one INSERT in autocommit
 * mode, i.e. one transaction, so it is durable when sqlite3_step returns SQLITE_DONE. The database
 * file is created here and its directory fsynced, so the file's own name survives a power cut too;
 * SQLite fsyncs the directory of the WAL file it creates.
 *
 * Threads. A pool of connections (each opened in SQLite's serialized mode) is handed out under a
 * mutex, one caller per connection at a time, with its own prepared statements. WAL lets readers
 * (hv_audit_get) run while a writer commits; writers queue on SQLite's write lock, waiting at most
 * the busy timeout. Every statement is prepared once, with bound parameters only.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "audit_int.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x48564155 /* "HVAU": marks the file as ours */
#define PATH_SIZE 4096
/* Below this much free space in the database's file system the store reports itself unhealthy:
 * a record (at most a few KiB) and the WAL frames of its commit must fit with room to spare. */
#define MIN_FREE_BYTES (1024u * 1024u)

/* DDL has no parameters; it runs once, inside the open transaction, on a new file. */
static const char schema_sql[] =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version (version) VALUES (1);"
    "CREATE TABLE audit_records ("
    "  request_id TEXT PRIMARY KEY NOT NULL,"
    "  recorded_at INTEGER NOT NULL,"
    "  api_key_id TEXT NOT NULL,"
    "  key_id TEXT,"
    "  result_commitment TEXT,"
    "  program_commitment TEXT,"
    "  arguments_commitment TEXT,"
    "  status TEXT NOT NULL,"
    "  execution_summary TEXT NOT NULL,"
    "  request_metadata TEXT"
    ") WITHOUT ROWID;"
    "CREATE INDEX audit_records_recorded_at ON audit_records (recorded_at);"
    "CREATE TABLE health (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at INTEGER NOT NULL);"
    "INSERT INTO health (id, checked_at) VALUES (1, 0);"
    "PRAGMA application_id = 1213612373;"; /* APPLICATION_ID in decimal */

static const char insert_sql[] =
    "INSERT INTO audit_records (request_id, recorded_at, api_key_id, key_id, result_commitment,"
    " program_commitment, arguments_commitment, status, execution_summary, request_metadata)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char select_sql[] =
    "SELECT recorded_at, api_key_id, key_id, result_commitment, program_commitment,"
    " arguments_commitment, status, execution_summary, request_metadata"
    " FROM audit_records WHERE request_id = ?1";
/* Oldest first, in bounded batches, so that a large purge never holds the write lock for long. */
static const char purge_sql[] =
    "DELETE FROM audit_records WHERE request_id IN (SELECT request_id FROM audit_records"
    " WHERE recorded_at < ?1 ORDER BY recorded_at LIMIT ?2)";
static const char version_sql[] = "SELECT version FROM schema_version";

/* The transparency log (docs/audit.md, "The transparency log"). Added to schema version 1 without
 * changing it: the tables are created when missing, and a build without them ignores them. Leaves
 * are (index, request_id); complete subtrees (level, index) hold every hash the proofs need, the
 * leaf hashes being level 0; log_state holds the size, advanced in the transaction that stores
 * the round's records. Retention purges records, never these rows. */
static const char log_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS log_leaves ("
    "  idx INTEGER PRIMARY KEY NOT NULL,"
    "  request_id TEXT NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS log_nodes ("
    "  level INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  PRIMARY KEY (level, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS log_state (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  size INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO log_state (id, size) VALUES (1, 0);";
static const char leaf_insert_sql[] = "INSERT INTO log_leaves (idx, request_id) VALUES (?1, ?2)";
static const char node_get_sql[] = "SELECT hash FROM log_nodes WHERE level = ?1 AND idx = ?2";
static const char node_put_sql[] = "INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)";
static const char size_get_sql[] = "SELECT size FROM log_state WHERE id = 1";
static const char size_set_sql[] = "UPDATE log_state SET size = ?1 WHERE id = 1";
static const char leaves_sql[] =
    "SELECT n.idx, n.hash, r.request_id, r.recorded_at, r.api_key_id, r.key_id,"
    " r.result_commitment, r.program_commitment, r.arguments_commitment, r.status,"
    " r.execution_summary, r.request_metadata"
    " FROM log_nodes n LEFT JOIN log_leaves l ON l.idx = n.idx"
    " LEFT JOIN audit_records r ON r.request_id = l.request_id"
    " WHERE n.level = 0 AND n.idx >= ?1 AND n.idx < ?2 AND n.idx < ?3 ORDER BY n.idx";
static const char heartbeat_sql[] = "UPDATE health SET checked_at = ?1 WHERE id = 1";

typedef struct conn {
  sqlite3 *db;
  sqlite3_stmt *insert, *select, *purge, *version, *heartbeat;
  sqlite3_stmt *leaf_insert, *node_get, *node_put, *size_get, *size_set, *leaves;
} conn;

/* Which file a name refers to: a file removed or replaced under the server is a different file. */
typedef struct file_id {
  bool known;
  dev_t dev;
  ino_t ino;
} file_id;

typedef struct sqlite_store {
  char path[PATH_SIZE];
  char wal_path[PATH_SIZE + 8];
  char dir[PATH_SIZE];
  file_id db_id, wal_id; /* the files this store writes, taken when it opened */
  unsigned purge_batch;
  pthread_mutex_t lock;
  pthread_cond_t available;
  conn *conns;
  unsigned nconns;
  unsigned *free_list; /* indices of idle connections */
  unsigned nfree;
} sqlite_store;

/* ---- Errors ------------------------------------------------------------------------------------
 */

static hv_audit_status map_rc(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
      return HV_AUDIT_OK;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
      return HV_AUDIT_CORRUPT;
    case SQLITE_READONLY:
      return HV_AUDIT_READ_ONLY;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return HV_AUDIT_BUSY;
    case SQLITE_FULL:
      return HV_AUDIT_FULL;
    case SQLITE_IOERR:
      return HV_AUDIT_IO;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return HV_AUDIT_CANNOT_OPEN;
    case SQLITE_NOMEM:
      return HV_AUDIT_NO_MEMORY;
    case SQLITE_CONSTRAINT:
      return HV_AUDIT_DUPLICATE;
    default:
      return HV_AUDIT_INTERNAL;
  }
}

/* An SQLite failure: "audit store PATH: WHAT: sqlite's message (code)". Call before releasing db.
 */
static hv_audit_status db_fail(const char *path, sqlite3 *db, int rc, hv_audit_error *err,
                               const char *what) {
  const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const char *code = sqlite3_errstr(rc);
  if (strcmp(msg, code) == 0)
    return audit_fail(err, map_rc(rc), "audit store %s: %s: %s", path, what, msg);
  return audit_fail(err, map_rc(rc), "audit store %s: %s: %s (%s)", path, what, msg, code);
}

/* ---- Files -------------------------------------------------------------------------------------
 */

/* The directory part of path, into out (PATH_SIZE bytes). */
static void dir_of(const char *path, char out[PATH_SIZE]) {
  char copy[PATH_SIZE];
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(out, PATH_SIZE, "%s", dirname(copy));
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd); /* best effort: some file systems refuse fsync on directories */
    close(fd);
  }
}

/*
 * Makes sure the database file exists as a regular file we can write: creates its directory (one
 * level) and the file itself (0600: only the service reads its audit trail), fsyncing the
 * directories so the new names are durable.
 */
static hv_audit_status prepare_file(const char *path, hv_audit_error *err) {
  char dir[PATH_SIZE], ebuf[128];
  dir_of(path, dir);
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0700) != 0)
      return audit_fail(err, HV_AUDIT_CANNOT_OPEN, "audit store %s: directory %s: %s", path, dir,
                        strerror_r(errno, ebuf, sizeof ebuf));
    char parent[PATH_SIZE];
    dir_of(dir, parent);
    fsync_dir(parent);
  } else if (!S_ISDIR(st.st_mode)) {
    return audit_fail(err, HV_AUDIT_CANNOT_OPEN, "audit store %s: %s is not a directory", path,
                      dir);
  }
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
  bool created = fd >= 0;
  bool existed = fd < 0 && errno == EEXIST;
  if (existed) fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    bool read_only = existed && (e == EACCES || e == EROFS || e == EPERM);
    return audit_fail(err, read_only ? HV_AUDIT_READ_ONLY : HV_AUDIT_CANNOT_OPEN,
                      "audit store %s: %s%s", path, read_only ? "cannot write: " : "",
                      strerror_r(e, ebuf, sizeof ebuf));
  }
  bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (created) (void)fsync(fd);
  close(fd);
  if (!regular) return audit_fail(err, HV_AUDIT_CANNOT_OPEN, "audit store %s: not a file", path);
  if (created) fsync_dir(dir);
  return HV_AUDIT_OK;
}

/* ---- Connections --------------------------------------------------------------------------------
 */

/* Runs a statement expected to return one integer row. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_NOTFOUND;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Creates the schema in a new file, or checks that an existing one is ours and current. */
static hv_audit_status ensure_schema(const char *path, sqlite3 *db, hv_audit_error *err) {
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) return db_fail(path, db, rc, err, "cannot start the schema transaction");
  hv_audit_status st = HV_AUDIT_OK;
  int64_t n = 0, v = 0;
  rc = query_int(db,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                 " AND name = 'schema_version'",
                 &n);
  if (rc != SQLITE_OK) {
    st = db_fail(path, db, rc, err, "cannot read the schema");
    goto out;
  }
  if (n == 0) {
    rc = query_int(
        db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", &n);
    if (rc != SQLITE_OK) {
      st = db_fail(path, db, rc, err, "cannot read the schema");
      goto out;
    }
    if (n > 0) {
      st = audit_fail(err, HV_AUDIT_CORRUPT,
                      "audit store %s: not an audit database (it holds other tables)", path);
      goto out;
    }
    rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) st = db_fail(path, db, rc, err, "cannot create the schema");
    goto out;
  }
  rc = query_int(db, "PRAGMA application_id", &v);
  if (rc != SQLITE_OK || v != APPLICATION_ID) {
    st = rc != SQLITE_OK
             ? db_fail(path, db, rc, err, "cannot read the application id")
             : audit_fail(err, HV_AUDIT_CORRUPT,
                          "audit store %s: not an audit database (application id)", path);
    goto out;
  }
  rc = query_int(db, "SELECT count(*) FROM schema_version", &n);
  if (rc == SQLITE_OK && n == 1) rc = query_int(db, version_sql, &v);
  if (rc != SQLITE_OK || n != 1) {
    st = rc != SQLITE_OK ? db_fail(path, db, rc, err, "cannot read the schema version")
                         : audit_fail(err, HV_AUDIT_CORRUPT,
                                      "audit store %s: schema_version must hold one row", path);
    goto out;
  }
  if (v != SCHEMA_VERSION) {
    st = audit_fail(err, HV_AUDIT_SCHEMA_VERSION,
                    "audit store %s: schema version %lld, this build reads version %d", path,
                    (long long)v, SCHEMA_VERSION);
    goto out;
  }
  rc = query_int(db,
                 "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                 " AND name IN ('audit_records', 'health')",
                 &n);
  if (rc != SQLITE_OK || n != 2)
    st = rc != SQLITE_OK ? db_fail(path, db, rc, err, "cannot read the schema")
                         : audit_fail(err, HV_AUDIT_CORRUPT,
                                      "audit store %s: tables missing for schema version %d", path,
                                      SCHEMA_VERSION);
out:
  if (st == HV_AUDIT_OK) {
    rc = sqlite3_exec(db, log_schema_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) st = db_fail(path, db, rc, err, "cannot create the log tables");
  }
  if (st == HV_AUDIT_OK) {
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) st = db_fail(path, db, rc, err, "cannot commit the schema");
  }
  if (st != HV_AUDIT_OK) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  return st;
}

static void conn_close(conn *c) {
  sqlite3_finalize(c->insert);
  sqlite3_finalize(c->select);
  sqlite3_finalize(c->purge);
  sqlite3_finalize(c->version);
  sqlite3_finalize(c->heartbeat);
  sqlite3_finalize(c->leaf_insert);
  sqlite3_finalize(c->node_get);
  sqlite3_finalize(c->node_put);
  sqlite3_finalize(c->size_get);
  sqlite3_finalize(c->size_set);
  sqlite3_finalize(c->leaves);
  sqlite3_close_v2(c->db);
  memset(c, 0, sizeof *c);
}

static hv_audit_status conn_open(const char *path, unsigned busy_ms, bool first, conn *c,
                                 hv_audit_error *err) {
  memset(c, 0, sizeof *c);
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
  hv_audit_status st = HV_AUDIT_OK;
  if (rc != SQLITE_OK) {
    st = db_fail(path, c->db, rc, err, "cannot open");
    goto fail;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, (int)busy_ms);
  /* No way for SQL to corrupt the file on purpose, and no functions run from the schema. */
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
  sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
  if (sqlite3_db_readonly(c->db, "main") == 1) {
    st = audit_fail(err, HV_AUDIT_READ_ONLY, "audit store %s: the file is read-only", path);
    goto fail;
  }
  /* The first read of the file: one that is no database, or a damaged one, fails here. */
  int64_t ignored;
  rc = query_int(c->db, "SELECT count(*) FROM sqlite_master", &ignored);
  if (rc != SQLITE_OK) {
    st = db_fail(path, c->db, rc, err, "cannot read the database");
    goto fail;
  }
  /* Per connection, not stored in the file: see the durability note at the top. */
  rc = sqlite3_exec(c->db, "PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 67108864", NULL,
                    NULL, NULL);
  if (rc != SQLITE_OK) {
    st = db_fail(path, c->db, rc, err, "cannot set synchronous=FULL");
    goto fail;
  }
  if (first) {
    /* Stored in the file, so once is enough. */
    sqlite3_stmt *wal = NULL;
    rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &wal, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(wal);
    bool is_wal =
        rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(wal, 0), "wal") == 0;
    if (rc != SQLITE_ROW) {
      st = db_fail(path, c->db, rc, err, "cannot set WAL mode");
      sqlite3_finalize(wal);
      goto fail;
    }
    sqlite3_finalize(wal);
    if (!is_wal) {
      st = audit_fail(err, HV_AUDIT_CANNOT_OPEN,
                      "audit store %s: the file system does not support WAL mode", path);
      goto fail;
    }
    if ((st = ensure_schema(path, c->db, err)) != HV_AUDIT_OK) goto fail;
  }
  const struct {
    const char *sql;
    sqlite3_stmt **stmt;
  } stmts[] = {{insert_sql, &c->insert},
               {select_sql, &c->select},
               {purge_sql, &c->purge},
               {version_sql, &c->version},
               {heartbeat_sql, &c->heartbeat},
               {leaf_insert_sql, &c->leaf_insert},
               {node_get_sql, &c->node_get},
               {node_put_sql, &c->node_put},
               {size_get_sql, &c->size_get},
               {size_set_sql, &c->size_set},
               {leaves_sql, &c->leaves}};
  for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++) {
    rc =
        sqlite3_prepare_v3(c->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, stmts[i].stmt, NULL);
    if (rc != SQLITE_OK) {
      st = db_fail(path, c->db, rc, err, "cannot prepare a statement");
      goto fail;
    }
  }
  return HV_AUDIT_OK;
fail:
  conn_close(c);
  return st;
}

static conn *acquire(sqlite_store *s) {
  pthread_mutex_lock(&s->lock);
  while (s->nfree == 0) pthread_cond_wait(&s->available, &s->lock);
  conn *c = &s->conns[s->free_list[--s->nfree]];
  pthread_mutex_unlock(&s->lock);
  return c;
}

static void release(sqlite_store *s, conn *c) {
  pthread_mutex_lock(&s->lock);
  s->free_list[s->nfree++] = (unsigned)(c - s->conns);
  pthread_cond_signal(&s->available);
  pthread_mutex_unlock(&s->lock);
}

/* ---- The files it writes are still the files at its path ---------------------------------------
 */

static bool file_id_of(const char *path, file_id *out) {
  struct stat st;
  if (stat(path, &st) != 0) return false;
  *out = (file_id){.known = true, .dev = st.st_dev, .ino = st.st_ino};
  return true;
}

/*
 * SQLite keeps writing through the descriptors it opened: if the database or its WAL is removed or
 * replaced while the store is open, every commit goes to a file that no longer has a name and is
 * lost at the next start. So a write counts only if, after it, the names still lead to the files
 * this store opened.
 */
static hv_audit_status check_files(sqlite_store *s, hv_audit_error *err) {
  file_id now;
  if (!file_id_of(s->path, &now) || now.dev != s->db_id.dev || now.ino != s->db_id.ino)
    return audit_fail(err, HV_AUDIT_IO,
                      "audit store %s: the database file was removed or replaced while the "
                      "server ran; records written now would not survive a restart",
                      s->path);
  if (s->wal_id.known &&
      (!file_id_of(s->wal_path, &now) || now.dev != s->wal_id.dev || now.ino != s->wal_id.ino))
    return audit_fail(err, HV_AUDIT_IO,
                      "audit store %s: its write-ahead log %s was removed or replaced while the "
                      "server ran; records written now would not survive a restart",
                      s->path, s->wal_path);
  return HV_AUDIT_OK;
}

/* Is there room for the next records? */
static hv_audit_status check_space(sqlite_store *s, hv_audit_error *err) {
  struct statvfs vfs;
  if (statvfs(s->dir, &vfs) != 0) {
    char ebuf[128];
    return audit_fail(err, HV_AUDIT_IO, "audit store %s: cannot read the free space of %s: %s",
                      s->path, s->dir, strerror_r(errno, ebuf, sizeof ebuf));
  }
  unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
  if (avail < MIN_FREE_BYTES)
    return audit_fail(err, HV_AUDIT_FULL,
                      "audit store %s: %llu bytes free in %s, less than the %u needed to record "
                      "executions",
                      s->path, avail, s->dir, MIN_FREE_BYTES);
  return HV_AUDIT_OK;
}

/* ---- The backend --------------------------------------------------------------------------------
 */

static void sq_close(void *impl) {
  sqlite_store *s = impl;
  if (s == NULL) return;
  for (unsigned i = 0; i < s->nconns; i++) conn_close(&s->conns[i]);
  free(s->conns);
  free(s->free_list);
  pthread_cond_destroy(&s->available);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static hv_audit_status sq_open(const char *path, const hv_audit_options *opt, void **impl,
                               hv_audit_error *err) {
  *impl = NULL;
  if (strlen(path) >= PATH_SIZE)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "audit store path longer than %d bytes",
                      PATH_SIZE - 1);
  hv_audit_status st = prepare_file(path, err);
  if (st != HV_AUDIT_OK) return st;

  sqlite_store *s = calloc(1, sizeof *s);
  if (s == NULL) return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  snprintf(s->path, sizeof s->path, "%s", path);
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
  s->conns = calloc(opt->connections, sizeof *s->conns);
  s->free_list = calloc(opt->connections, sizeof *s->free_list);
  if (s->conns == NULL || s->free_list == NULL) {
    sq_close(s);
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  for (unsigned i = 0; i < opt->connections; i++) {
    st = conn_open(path, opt->busy_timeout_ms, i == 0, &s->conns[i], err);
    if (st != HV_AUDIT_OK) {
      sq_close(s);
      return st;
    }
    s->nconns++;
    s->free_list[s->nfree++] = i;
  }
  /* The connections are open in WAL mode, so the log exists now (and keeps its name while any
   * connection is open). */
  snprintf(s->wal_path, sizeof s->wal_path, "%s-wal", path);
  dir_of(path, s->dir);
  if (!file_id_of(path, &s->db_id)) {
    sq_close(s);
    return audit_fail(err, HV_AUDIT_CANNOT_OPEN, "audit store %s: the file vanished while opening",
                      path);
  }
  (void)file_id_of(s->wal_path, &s->wal_id);
  *impl = s;
  return HV_AUDIT_OK;
}

static int bind_text(sqlite3_stmt *st, int i, const char *text) {
  /* Absent fields ("") are stored as NULL. SQLITE_STATIC: the text outlives the step. */
  if (text == NULL || text[0] == '\0') return sqlite3_bind_null(st, i);
  return sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

/* Binds and runs the INSERT of one record on c; returns SQLite's result code. */
static int insert_record(conn *c, const hv_audit_record *r) {
  sqlite3_stmt *st = c->insert;
  int rc = bind_text(st, 1, r->request_id);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, r->recorded_at_ms);
  if (rc == SQLITE_OK) rc = bind_text(st, 3, r->api_key_id);
  if (rc == SQLITE_OK) rc = bind_text(st, 4, r->key_id);
  if (rc == SQLITE_OK) rc = bind_text(st, 5, r->result_commitment);
  if (rc == SQLITE_OK) rc = bind_text(st, 6, r->program_commitment);
  if (rc == SQLITE_OK) rc = bind_text(st, 7, r->arguments_commitment);
  if (rc == SQLITE_OK) rc = bind_text(st, 8, r->status);
  if (rc == SQLITE_OK) rc = bind_text(st, 9, r->execution_summary);
  if (rc == SQLITE_OK) rc = bind_text(st, 10, r->request_metadata);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  return rc;
}

static hv_audit_status sq_put(void *impl, const hv_audit_record *r, hv_audit_error *err) {
  sqlite_store *s = impl;
  conn *c = acquire(s);
  sqlite3_stmt *st = c->insert;
  int rc = insert_record(c, r);
  hv_audit_status result = HV_AUDIT_OK;
  if (rc == SQLITE_DONE) {
    result = check_files(s, err);
    if (result == HV_AUDIT_OK) audit_ok(err);
  } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    result = audit_fail(err, HV_AUDIT_DUPLICATE, "audit store %s: a record for %s already exists",
                        s->path, r->request_id);
  } else {
    result = db_fail(s->path, c->db, rc, err, "cannot store the record");
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  release(s, c);
  return result;
}

/*
 * Group commit: BEGIN IMMEDIATE, one INSERT per record (a constraint failure aborts only that
 * statement: the record is a duplicate, the others go on), COMMIT: one WAL fsync for them all.
 * Any other failure rolls the whole transaction back and fails every record.
 */
static hv_audit_status sq_put_batch(void *impl, const hv_audit_record *const *records, size_t count,
                                    hv_audit_status *statuses, hv_audit_error *err) {
  sqlite_store *s = impl;
  conn *c = acquire(s);
  hv_audit_status result = HV_AUDIT_OK;
  int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot start the transaction");
    goto all_failed;
  }
  for (size_t i = 0; i < count; i++) {
    rc = insert_record(c, records[i]);
    sqlite3_reset(c->insert);
    sqlite3_clear_bindings(c->insert);
    if (rc == SQLITE_DONE) {
      statuses[i] = HV_AUDIT_OK;
    } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      statuses[i] = HV_AUDIT_DUPLICATE;
      if (result == HV_AUDIT_OK)
        result = audit_fail(err, HV_AUDIT_DUPLICATE, "audit store %s: a record for %s already exists",
                            s->path, records[i]->request_id);
    } else {
      result = db_fail(s->path, c->db, rc, err, "cannot store the record");
      sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
      goto all_failed;
    }
  }
  rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot commit the records");
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    goto all_failed;
  }
  hv_audit_status files = check_files(s, err);
  if (files != HV_AUDIT_OK) {
    result = files; /* committed, but to a file that will be gone: not durable */
    goto all_failed;
  }
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;

all_failed:
  for (size_t i = 0; i < count; i++) statuses[i] = result;
  release(s, c);
  return result;
}

/* Copies a text column into a fixed field; false if it does not fit. NULL becomes "". */
static bool column_into(sqlite3_stmt *st, int col, char *dst, size_t size) {
  const unsigned char *text = sqlite3_column_text(st, col);
  size_t len = (size_t)sqlite3_column_bytes(st, col);
  if (text == NULL) {
    dst[0] = '\0';
    return sqlite3_column_type(st, col) == SQLITE_NULL;
  }
  if (len >= size || memchr(text, '\0', len) != NULL) return false;
  memcpy(dst, text, len + 1);
  return true;
}

/* Copies a text column into a new string (*out NULL for SQL NULL); false if too long or no memory.
 */
static bool column_dup(sqlite3_stmt *st, int col, char **out) {
  *out = NULL;
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return true;
  const unsigned char *text = sqlite3_column_text(st, col);
  size_t len = (size_t)sqlite3_column_bytes(st, col);
  if (text == NULL || len > HV_AUDIT_JSON_MAX) return false;
  *out = malloc(len + 1);
  if (*out == NULL) return false;
  memcpy(*out, text, len + 1);
  return true;
}

static hv_audit_status sq_get(void *impl, const char *request_id, hv_audit_record *out,
                              hv_audit_error *err) {
  sqlite_store *s = impl;
  conn *c = acquire(s);
  sqlite3_stmt *st = c->select;
  hv_audit_status result;
  int rc = sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(out->request_id, sizeof out->request_id, "%s", request_id);
    out->recorded_at_ms = sqlite3_column_int64(st, 0);
    bool ok = column_into(st, 1, out->api_key_id, sizeof out->api_key_id) &&
              column_into(st, 2, out->key_id, sizeof out->key_id) &&
              column_into(st, 3, out->result_commitment, sizeof out->result_commitment) &&
              column_into(st, 4, out->program_commitment, sizeof out->program_commitment) &&
              column_into(st, 5, out->arguments_commitment, sizeof out->arguments_commitment) &&
              column_into(st, 6, out->status, sizeof out->status);
    if (!ok) {
      result = audit_fail(err, HV_AUDIT_CORRUPT, "audit store %s: record %s has a malformed field",
                          s->path, request_id);
    } else if (!column_dup(st, 7, &out->execution_summary) || out->execution_summary == NULL ||
               !column_dup(st, 8, &out->request_metadata)) {
      result = audit_fail(err, HV_AUDIT_CORRUPT,
                          "audit store %s: record %s: JSON missing, too long or out of memory",
                          s->path, request_id);
    } else {
      result = audit_ok(err);
    }
  } else if (rc == SQLITE_DONE) {
    result = audit_fail(err, HV_AUDIT_NOT_FOUND, "no audit record for request_id %s", request_id);
  } else {
    result = db_fail(s->path, c->db, rc, err, "cannot read the record");
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  release(s, c);
  return result;
}

static hv_audit_status sq_purge(void *impl, int64_t older_than_ms, uint64_t *removed,
                                hv_audit_error *err) {
  sqlite_store *s = impl;
  conn *c = acquire(s);
  sqlite3_stmt *st = c->purge;
  hv_audit_status result = HV_AUDIT_OK;
  for (;;) {
    int rc = sqlite3_bind_int64(st, 1, older_than_ms);
    if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, s->purge_batch);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
      result = db_fail(s->path, c->db, rc, err, "cannot purge old records");
      sqlite3_reset(st);
      break;
    }
    int64_t n = sqlite3_changes64(c->db);
    sqlite3_reset(st);
    *removed += (uint64_t)n;
    if (n < (int64_t)s->purge_batch) break;
  }
  sqlite3_clear_bindings(st);
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;
}

static hv_audit_status sq_health(void *impl, hv_audit_error *err) {
  sqlite_store *s = impl;
  hv_audit_status result = check_files(s, err);
  if (result == HV_AUDIT_OK) result = check_space(s, err);
  if (result != HV_AUDIT_OK) return result;
  conn *c = acquire(s);
  int rc = sqlite3_step(c->version);
  if (rc != SQLITE_ROW || sqlite3_column_int64(c->version, 0) != SCHEMA_VERSION) {
    result = rc != SQLITE_ROW ? db_fail(s->path, c->db, rc, err, "cannot read")
                              : audit_fail(err, HV_AUDIT_CORRUPT,
                                           "audit store %s: schema version changed", s->path);
  }
  sqlite3_reset(c->version);
  if (result == HV_AUDIT_OK) {
    rc = sqlite3_bind_int64(c->heartbeat, 1, hv_audit_now_ms());
    if (rc == SQLITE_OK) rc = sqlite3_step(c->heartbeat);
    if (rc != SQLITE_DONE)
      result = db_fail(s->path, c->db, rc, err, "cannot write");
    else if (sqlite3_changes(c->db) != 1)
      result = audit_fail(err, HV_AUDIT_CORRUPT, "audit store %s: health row missing", s->path);
    sqlite3_reset(c->heartbeat);
    sqlite3_clear_bindings(c->heartbeat);
  }
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;
}

/* ---- The transparency log ----------------------------------------------------------------------
 */

typedef struct node_ctx {
  conn *c;
  int rc;                  /* the first SQLite failure, or SQLITE_OK */
  audit_node_cache *cache; /* or NULL */
} node_ctx;

static bool node_get(void *ctx, unsigned level, uint64_t index, uint8_t out[HV_TLOG_HASH_LEN]) {
  node_ctx *n = ctx;
  if (index > INT64_MAX) return false;
  if (audit_node_cache_get(n->cache, level, index, out)) return true;
  sqlite3_stmt *st = n->c->node_get;
  int rc = sqlite3_bind_int(st, 1, (int)level);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  bool ok = false;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HV_TLOG_HASH_LEN) {
    memcpy(out, sqlite3_column_blob(st, 0), HV_TLOG_HASH_LEN);
    ok = true;
  } else if (rc != SQLITE_ROW && rc != SQLITE_DONE && n->rc == SQLITE_OK) {
    n->rc = rc;
  }
  sqlite3_reset(st);
  if (ok) audit_node_cache_put(n->cache, level, index, out);
  return ok;
}

static bool node_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[HV_TLOG_HASH_LEN]) {
  node_ctx *n = ctx;
  if (index > INT64_MAX) return false;
  sqlite3_stmt *st = n->c->node_put;
  int rc = sqlite3_bind_int(st, 1, (int)level);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
  if (rc == SQLITE_OK) rc = sqlite3_bind_blob(st, 3, hash, HV_TLOG_HASH_LEN, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) {
    if (n->rc == SQLITE_OK) n->rc = rc;
    return false;
  }
  audit_node_cache_put(n->cache, level, index, hash);
  return true;
}

static int read_size(conn *c, uint64_t *size) {
  int rc = sqlite3_step(c->size_get);
  if (rc == SQLITE_ROW) {
    sqlite3_int64 v = sqlite3_column_int64(c->size_get, 0);
    rc = v >= 0 ? SQLITE_OK : SQLITE_CORRUPT;
    *size = (uint64_t)v;
  } else if (rc == SQLITE_DONE) {
    rc = SQLITE_CORRUPT; /* the state row is gone */
  }
  sqlite3_reset(c->size_get);
  return rc;
}

/* A proof or root that could not be made: a database failure, or a node missing (the tables were
 * edited: reported as corrupt, never as a wrong proof). */
static hv_audit_status tlog_fail(sqlite_store *s, conn *c, const node_ctx *n, hv_tlog_status ts,
                                 const uint64_t *size, hv_audit_error *err, const char *what) {
  if (n->rc != SQLITE_OK) return db_fail(s->path, c->db, n->rc, err, what);
  char store[PATH_SIZE + 16];
  snprintf(store, sizeof store, "audit store %s", s->path);
  return audit_log_fail(err, store, ts, size, what);
}

static hv_audit_status sq_log_put_batch(void *impl, const hv_audit_record *const *records,
                                        const uint8_t (*leaf_hashes)[HV_TLOG_HASH_LEN],
                                        size_t count, hv_audit_status *statuses,
                                        hv_audit_log_receipt *receipts, uint64_t *size,
                                        uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err) {
  sqlite_store *s = impl;
  audit_node_cache *cache = calloc(1, sizeof *cache);
  if (cache == NULL) {
    for (size_t i = 0; i < count; i++) statuses[i] = HV_AUDIT_NO_MEMORY;
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  conn *c = acquire(s);
  node_ctx nc = {.c = c, .rc = SQLITE_OK, .cache = cache};
  hv_audit_status result = HV_AUDIT_OK;
  uint64_t tree = 0;
  int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot start the transaction");
    goto all_failed;
  }
  /* The size is read under the write lock: whoever holds it is the one sequencer. */
  rc = read_size(c, &tree);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot read the log's size");
    goto rollback;
  }
  for (size_t i = 0; i < count; i++) {
    rc = insert_record(c, records[i]);
    sqlite3_reset(c->insert);
    sqlite3_clear_bindings(c->insert);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      statuses[i] = HV_AUDIT_DUPLICATE;
      if (result == HV_AUDIT_OK)
        result = audit_fail(err, HV_AUDIT_DUPLICATE, "audit store %s: a record for %s already exists",
                            s->path, records[i]->request_id);
      continue;
    }
    if (rc != SQLITE_DONE) {
      result = db_fail(s->path, c->db, rc, err, "cannot store the record");
      goto rollback;
    }
    rc = sqlite3_bind_int64(c->leaf_insert, 1, (sqlite3_int64)tree);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_text(c->leaf_insert, 2, records[i]->request_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) rc = sqlite3_step(c->leaf_insert);
    sqlite3_reset(c->leaf_insert);
    sqlite3_clear_bindings(c->leaf_insert);
    if (rc != SQLITE_DONE) {
      result = db_fail(s->path, c->db, rc, err, "cannot store the leaf");
      goto rollback;
    }
    hv_tlog_status ts = hv_tlog_append(node_get, node_put, &nc, tree, leaf_hashes[i]);
    if (ts != HV_TLOG_OK) {
      result = tlog_fail(s, c, &nc, ts, NULL, err, "cannot append the leaf");
      goto rollback;
    }
    statuses[i] = HV_AUDIT_OK;
    receipts[i].leaf_index = tree;
    memcpy(receipts[i].leaf_hash, leaf_hashes[i], HV_TLOG_HASH_LEN);
    tree++;
  }
  rc = sqlite3_bind_int64(c->size_set, 1, (sqlite3_int64)tree);
  if (rc == SQLITE_OK) rc = sqlite3_step(c->size_set);
  sqlite3_reset(c->size_set);
  sqlite3_clear_bindings(c->size_set);
  if (rc != SQLITE_DONE) {
    result = db_fail(s->path, c->db, rc, err, "cannot advance the log");
    goto rollback;
  }
  /* The receipts, against the tree after this round, from the nodes just written (cached). */
  hv_tlog_status ts = hv_tlog_root(node_get, &nc, tree, root);
  for (size_t i = 0; ts == HV_TLOG_OK && i < count; i++)
    if (statuses[i] == HV_AUDIT_OK)
      ts = hv_tlog_prove_inclusion(node_get, &nc, receipts[i].leaf_index, tree, receipts[i].proof,
                                   &receipts[i].proof_len);
  if (ts != HV_TLOG_OK) {
    result = tlog_fail(s, c, &nc, ts, NULL, err, "cannot prove the round's leaves");
    goto rollback;
  }
  rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot commit the records");
    goto rollback;
  }
  hv_audit_status files = check_files(s, err);
  if (files != HV_AUDIT_OK) {
    result = files;
    goto all_failed;
  }
  release(s, c);
  free(cache);
  *size = tree;
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;

rollback:
  sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
all_failed:
  for (size_t i = 0; i < count; i++) statuses[i] = result;
  release(s, c);
  free(cache);
  return result;
}

/* Runs `fn` on a read snapshot of the log whose size is *size. */
static hv_audit_status log_read(sqlite_store *s, uint64_t *size, audit_log_reader fn, void *arg,
                                hv_audit_error *err, const char *what) {
  conn *c = acquire(s);
  node_ctx nc = {.c = c, .rc = SQLITE_OK, .cache = NULL};
  hv_audit_status result = HV_AUDIT_OK;
  int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot start a read");
  } else {
    rc = read_size(c, size);
    if (rc != SQLITE_OK) {
      result = db_fail(s->path, c->db, rc, err, "cannot read the log's size");
    } else {
      hv_tlog_status ts = fn(node_get, &nc, *size, arg);
      if (ts != HV_TLOG_OK) result = tlog_fail(s, c, &nc, ts, size, err, what);
    }
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
  }
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;
}

static hv_audit_status sq_log_head(void *impl, uint64_t *size, uint8_t root[HV_TLOG_HASH_LEN],
                                   hv_audit_error *err) {
  return log_read(impl, size, audit_log_read_head, root, err, "cannot compute the root");
}

static hv_audit_status sq_log_inclusion(void *impl, uint64_t index, uint64_t size,
                                        uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                        hv_audit_error *err) {
  uint64_t now = 0;
  audit_proof_args p = {.a = index, .b = size, .proof = proof, .count = count};
  return log_read(impl, &now, audit_log_read_inclusion, &p, err, "inclusion proof");
}

static hv_audit_status sq_log_consistency(void *impl, uint64_t old_size, uint64_t new_size,
                                          uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                          hv_audit_error *err) {
  uint64_t now = 0;
  audit_proof_args p = {.a = old_size, .b = new_size, .proof = proof, .count = count};
  return log_read(impl, &now, audit_log_read_consistency, &p, err, "consistency proof");
}

static hv_audit_status sq_log_leaves(void *impl, uint64_t start, uint64_t end,
                                     hv_audit_log_leaf *out, hv_audit_record *records,
                                     bool *has_record, size_t *count, hv_audit_error *err) {
  sqlite_store *s = impl;
  conn *c = acquire(s);
  hv_audit_status result = HV_AUDIT_OK;
  uint64_t size = 0;
  *count = 0;
  int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = read_size(c, &size);
  sqlite3_stmt *st = c->leaves;
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)end);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
  if (rc != SQLITE_OK) {
    result = db_fail(s->path, c->db, rc, err, "cannot read the leaves");
    goto out;
  }
  size_t n = 0, max = (size_t)(end - start);
  while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    hv_audit_log_leaf *leaf = &out[n];
    memset(leaf, 0, sizeof *leaf);
    leaf->index = (uint64_t)sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) != HV_TLOG_HASH_LEN) {
      result = audit_fail(err, HV_AUDIT_CORRUPT, "audit store %s: leaf %llu has a malformed hash",
                          s->path, (unsigned long long)leaf->index);
      goto out;
    }
    memcpy(leaf->leaf_hash, sqlite3_column_blob(st, 1), HV_TLOG_HASH_LEN);
    has_record[n] = false;
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
      hv_audit_record *r = &records[n];
      memset(r, 0, sizeof *r);
      bool ok = column_into(st, 2, r->request_id, sizeof r->request_id);
      r->recorded_at_ms = sqlite3_column_int64(st, 3);
      ok = ok && column_into(st, 4, r->api_key_id, sizeof r->api_key_id) &&
           column_into(st, 5, r->key_id, sizeof r->key_id) &&
           column_into(st, 6, r->result_commitment, sizeof r->result_commitment) &&
           column_into(st, 7, r->program_commitment, sizeof r->program_commitment) &&
           column_into(st, 8, r->arguments_commitment, sizeof r->arguments_commitment) &&
           column_into(st, 9, r->status, sizeof r->status) &&
           column_dup(st, 10, &r->execution_summary) && column_dup(st, 11, &r->request_metadata);
      /* A field edited out of shape still counts as a record here; the front end's encoding
       * then fails and flags it. */
      has_record[n] = true;
      (void)ok;
    }
    n++;
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    result = db_fail(s->path, c->db, rc, err, "cannot read the leaves");
    goto out;
  }
  *count = n;
out:
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
  release(s, c);
  if (result == HV_AUDIT_OK) audit_ok(err);
  return result;
}

const hv_audit_backend hv_audit_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .put = sq_put,
    .get = sq_get,
    .purge = sq_purge,
    .health = sq_health,
    .put_batch = sq_put_batch,
    .log_put_batch = sq_log_put_batch,
    .log_head = sq_log_head,
    .log_inclusion = sq_log_inclusion,
    .log_consistency = sq_log_consistency,
    .log_leaves = sq_log_leaves,
};
