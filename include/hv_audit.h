/*
 * hv_audit.h: the audit store, one record per execution (protocol.md: "The audit record is durable
 * before the response is sent"; "/v1/verify"; docs/audit.md has the schema and the durability
 * argument).
 *
 * A store is opened through a backend, a small table of functions (hv_audit_backend), so that a
 * PostgreSQL backend can be added next to the SQLite one without touching callers. The hv_audit_*
 * functions check their arguments (ids, hex, JSON) once, in front of every backend, then dispatch.
 *
 *   hv_audit_put     one record, in one transaction, durable on disk when it returns HV_AUDIT_OK
 *   hv_audit_get     a record by request_id (HV_AUDIT_NOT_FOUND when there is none)
 *   hv_audit_purge   removes records older than a cutoff (retention), returns how many
 *   hv_audit_health  can the store still be read and written?
 *
 * Threads: a store may be used from many threads at once (the SQLite backend keeps a small pool of
 * connections). hv_audit_close must be the last call, made when no other call is running.
 *
 * Errors: every fallible call returns an hv_audit_status and takes an `hv_audit_error *` (may be
 * NULL) that receives the status and a message naming the store and the cause. Messages hold no
 * record content beyond the request_id.
 *
 * No global mutable state; the backend tables are constants.
 */
#ifndef HV_AUDIT_H
#define HV_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------------------------------- */

/* X(name, message). Numbers are stable: append only, never reuse one. */
#define HV_AUDIT_STATUS_MAP(X)                                                   \
  X(HV_AUDIT_OK, "ok")                                                           \
  X(HV_AUDIT_INVALID_ARGUMENT, "invalid argument")                               \
  X(HV_AUDIT_NOT_FOUND, "no such record")                                        \
  X(HV_AUDIT_DUPLICATE, "a record with this request_id already exists")         \
  X(HV_AUDIT_CANNOT_OPEN, "cannot open the audit store")                         \
  X(HV_AUDIT_READ_ONLY, "the audit store is read-only")                          \
  X(HV_AUDIT_CORRUPT, "the audit store is corrupt or not an audit database")     \
  X(HV_AUDIT_SCHEMA_VERSION, "the audit store has an unsupported schema version") \
  X(HV_AUDIT_BUSY, "the audit store stayed locked past the busy timeout")        \
  X(HV_AUDIT_FULL, "the disk holding the audit store is full")                   \
  X(HV_AUDIT_IO, "I/O error in the audit store")                                 \
  X(HV_AUDIT_NO_MEMORY, "out of memory")                                         \
  X(HV_AUDIT_UNSUPPORTED, "audit backend not available in this build")           \
  X(HV_AUDIT_INTERNAL, "internal error in the audit store")                     \
  X(HV_AUDIT_UNAVAILABLE, "the audit database cannot be reached")

typedef enum hv_audit_status {
#define HV_AUDIT__ENUM(name, text) name,
  HV_AUDIT_STATUS_MAP(HV_AUDIT__ENUM)
#undef HV_AUDIT__ENUM
} hv_audit_status;

#define HV_AUDIT_MESSAGE_MAX 512

typedef struct hv_audit_error {
  hv_audit_status status;
  char message[HV_AUDIT_MESSAGE_MAX]; /* NUL-terminated */
} hv_audit_error;

/* "HV_AUDIT_OK", ...; never NULL. */
const char *hv_audit_status_name(hv_audit_status status);
/* "ok", "no such record", ...; never NULL. */
const char *hv_audit_status_text(hv_audit_status status);

/* ---- Records --------------------------------------------------------------------------------- */

#define HV_AUDIT_REQUEST_ID_SIZE 37 /* UUID text, lowercase, 8-4-4-4-12, and the NUL */
#define HV_AUDIT_API_KEY_ID_SIZE 65 /* 1-64 of [A-Za-z0-9._-] (hv_config's api key ids) */
#define HV_AUDIT_KEY_ID_SIZE 17     /* 16 lowercase hex digits */
#define HV_AUDIT_HASH_SIZE 65       /* 64 lowercase hex digits (SHA-256) */
#define HV_AUDIT_STATUS_SIZE 33     /* 1-32 of [A-Za-z0-9_]: "success" or an error_code */
#define HV_AUDIT_JSON_MAX 16384     /* bytes of execution_summary, and of request_metadata */

typedef struct hv_audit_record {
  char request_id[HV_AUDIT_REQUEST_ID_SIZE];
  int64_t recorded_at_ms; /* ms since the Unix epoch, > 0; hv_audit_now_ms() for "now" */
  char api_key_id[HV_AUDIT_API_KEY_ID_SIZE];
  char key_id[HV_AUDIT_KEY_ID_SIZE];                 /* "" when no server key was involved */
  char result_commitment[HV_AUDIT_HASH_SIZE];        /* "" when there is none (failures) */
  char program_commitment[HV_AUDIT_HASH_SIZE];       /* "" when there is none */
  char arguments_commitment[HV_AUDIT_HASH_SIZE];     /* "" when there is none */
  char status[HV_AUDIT_STATUS_SIZE];
  char *execution_summary; /* a JSON object, NUL-terminated; required */
  char *request_metadata;  /* a JSON object, NUL-terminated, or NULL */
} hv_audit_record;

/*
 * Frees the JSON strings of a record filled by hv_audit_get and sets them to NULL. Do not call it
 * on a record whose strings are the caller's own (those given to hv_audit_put). NULL: no-op.
 */
void hv_audit_record_free(hv_audit_record *record);

/* True if `id` is a UUID in canonical lowercase text form (any version). */
bool hv_audit_request_id_valid(const char *id);

/* The current time in ms since the Unix epoch (CLOCK_REALTIME). */
int64_t hv_audit_now_ms(void);

/* now_ms minus retention_days, saturating at 0: the cutoff hv_audit_purge takes. */
int64_t hv_audit_retention_cutoff(int64_t now_ms, uint32_t retention_days);

/* recorded_at as the protocol writes times: "2026-11-24T10:00:00.123Z" (out: 25 bytes). */
#define HV_AUDIT_TIME_SIZE 25
void hv_audit_format_time(int64_t ms_since_epoch, char out[HV_AUDIT_TIME_SIZE]);

/* ---- Backends -------------------------------------------------------------------------------- */

typedef struct hv_audit_options {
  unsigned connections;     /* connections in the pool (SQLite or PostgreSQL); 0: 4, at most 64 */
  unsigned busy_timeout_ms; /* how long a call waits for a lock; 0: 5000 */
  unsigned purge_batch;     /* records deleted per purge transaction; 0: 1000 */
} hv_audit_options;

/*
 * A backend. Its functions receive arguments already checked by the hv_audit_* front end (valid
 * ids, hex and JSON; non-NULL pointers; `options` with every default filled in) and must be safe
 * to call from many threads at once, close excepted. `target` is the backend's address of the
 * store: a file path for SQLite, a DSN for PostgreSQL.
 */
typedef struct hv_audit_backend {
  const char *name; /* "sqlite", "postgres": the config's storage.backend */
  hv_audit_status (*open)(const char *target, const hv_audit_options *options, void **impl,
                          hv_audit_error *err);
  void (*close)(void *impl);
  hv_audit_status (*put)(void *impl, const hv_audit_record *record, hv_audit_error *err);
  hv_audit_status (*get)(void *impl, const char *request_id, hv_audit_record *out,
                         hv_audit_error *err);
  hv_audit_status (*purge)(void *impl, int64_t older_than_ms, uint64_t *removed,
                           hv_audit_error *err);
  hv_audit_status (*health)(void *impl, hv_audit_error *err);
  /* Optional (NULL: the front end calls put for each record): the records in one transaction.
   * statuses[i] receives each record's outcome. */
  hv_audit_status (*put_batch)(void *impl, const hv_audit_record *const *records, size_t count,
                               hv_audit_status *statuses, hv_audit_error *err);
} hv_audit_backend;

/* The SQLite backend (WAL, synchronous=FULL; see docs/audit.md). */
extern const hv_audit_backend hv_audit_sqlite_backend;
/* The PostgreSQL backend (libpq; synchronous_commit=on; see docs/audit.md, "PostgreSQL"). `target`
 * is a libpq connection string; it may hold a password and is never quoted in a message. */
extern const hv_audit_backend hv_audit_postgres_backend;

/* The backend called `name` ("sqlite", "postgres"), or NULL when this build has none of that name. */
const hv_audit_backend *hv_audit_backend_find(const char *name);

/* ---- The store ------------------------------------------------------------------------------- */

typedef struct hv_audit_store hv_audit_store;

/*
 * Opens (creating if needed) the store at `target` with `backend`. For SQLite, `target` is a file
 * path; a missing parent directory is created (one level, mode 0700), the file is created with
 * mode 0600, and the schema is created or checked. `options` may be NULL (defaults). On success
 * the caller owns *out and closes it with hv_audit_close(); on failure *out is NULL and err says
 * why (CANNOT_OPEN, READ_ONLY, CORRUPT, SCHEMA_VERSION, UNSUPPORTED for a NULL backend, ...).
 */
hv_audit_status hv_audit_open(const hv_audit_backend *backend, const char *target,
                              const hv_audit_options *options, hv_audit_store **out,
                              hv_audit_error *err);

/* Closes the store and frees it. NULL is a no-op. */
void hv_audit_close(hv_audit_store *store);

/* The backend's name ("sqlite"). */
const char *hv_audit_backend_name(const hv_audit_store *store);

/*
 * Stores one record in one transaction; on HV_AUDIT_OK it is on disk (it survives a crash or a
 * power cut from then on). The record stays the caller's. HV_AUDIT_INVALID_ARGUMENT names the bad
 * field; HV_AUDIT_DUPLICATE if the request_id is taken.
 */
hv_audit_status hv_audit_put(hv_audit_store *store, const hv_audit_record *record,
                             hv_audit_error *err);

/*
 * Group commit: stores `count` records (at most HV_AUDIT_BATCH_MAX) in one transaction, so that
 * one synchronous write makes all of them durable. statuses[i] receives record i's outcome:
 * HV_AUDIT_OK (on disk from then on), or its own failure (HV_AUDIT_INVALID_ARGUMENT,
 * HV_AUDIT_DUPLICATE), which does not stop the others; when the transaction itself fails every
 * record gets that status. Returns HV_AUDIT_OK when every record was stored, else the first
 * failure (err says which record). The records stay the caller's.
 */
#define HV_AUDIT_BATCH_MAX 1024u
hv_audit_status hv_audit_put_batch(hv_audit_store *store, const hv_audit_record *const *records,
                                   size_t count, hv_audit_status *statuses, hv_audit_error *err);

/*
 * Reads the record of `request_id` into *out. On HV_AUDIT_OK the caller frees out's JSON strings
 * with hv_audit_record_free(); on failure *out owns nothing. HV_AUDIT_NOT_FOUND when there is no
 * such record (never stored, or purged); HV_AUDIT_INVALID_ARGUMENT when the id is not a UUID.
 */
hv_audit_status hv_audit_get(hv_audit_store *store, const char *request_id, hv_audit_record *out,
                             hv_audit_error *err);

/*
 * Removes every record with recorded_at_ms < older_than_ms, in batches of options.purge_batch
 * (so that puts are never held up for long), and sets *removed (may be NULL) to how many. A
 * failure part-way leaves the batches already committed removed, and *removed counts them.
 */
hv_audit_status hv_audit_purge(hv_audit_store *store, int64_t older_than_ms, uint64_t *removed,
                               hv_audit_error *err);

/*
 * Checks that the store can be read and written now (SQLite: reads the schema version and commits
 * a one-row write). Each call costs a synchronous disk write: callers that answer unauthenticated
 * probes (GET /health) should cache the answer for a second or so.
 */
hv_audit_status hv_audit_health(hv_audit_store *store, hv_audit_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HV_AUDIT_H */
