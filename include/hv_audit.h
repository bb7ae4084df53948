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
 *   hv_audit_log_*   the transparency log: records as leaves of a Merkle tree, sequenced in the
 *                    transaction that stores them; heads, proofs and leaves (docs/audit.md)
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

#include "hv_tlog.h"

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

/* ---- The transparency log (docs/audit.md, "The transparency log") --------------------------- */

/*
 * Every record stored through hv_audit_log_put_batch is also the next leaf of an RFC 9162 Merkle
 * tree kept in the same store and written in the same transaction. A leaf is the canonical
 * encoding below; its hash is SHA-256(0x00 || encoding). Version 1, all integers big-endian:
 *
 *   u8      0x01                       the encoding's version
 *   36      request_id                 lowercase UUID text
 *   i64     recorded_at_ms             ms since the Unix epoch
 *   u8 n, n key_id                     n = 0 (no server key) or 16 (hex text)
 *   3 x (u8 p, 32 if p = 1)            result, program, arguments commitments (raw SHA-256),
 *                                      p = 0 when absent (failures)
 *   u8 n, n status                     "success" or the error code, 1..32 bytes
 *   u8 g, 8 if g = 1 (u64)             gas_used from the execution summary; g = 0 when absent
 *
 * The record holds no program_sha256 (only its commitment), so the leaf has none either.
 */
#define HV_AUDIT_LEAF_MAX 256 /* bytes: an encoding is at most 1+36+8+17+99+33+9 = 203 */
#define HV_AUDIT_LEAF_VERSION 1

/* The leaf encoding of a record (checked as hv_audit_put checks it) into out; *len its length. */
hv_audit_status hv_audit_leaf_encode(const hv_audit_record *record, uint8_t out[HV_AUDIT_LEAF_MAX],
                                     size_t *len, hv_audit_error *err);

/* The fields of a leaf encoding, decoded (what a client compares with what it holds). */
typedef struct hv_audit_leaf_fields {
  char request_id[HV_AUDIT_REQUEST_ID_SIZE];
  int64_t recorded_at_ms;
  char key_id[HV_AUDIT_KEY_ID_SIZE];                 /* "" when absent */
  char result_commitment[HV_AUDIT_HASH_SIZE];        /* hex; "" when absent */
  char program_commitment[HV_AUDIT_HASH_SIZE];
  char arguments_commitment[HV_AUDIT_HASH_SIZE];
  char status[HV_AUDIT_STATUS_SIZE];
  bool has_gas;
  uint64_t gas_used;
} hv_audit_leaf_fields;

/* Decodes a leaf encoding; INVALID_ARGUMENT names what is malformed (trailing bytes included). */
hv_audit_status hv_audit_leaf_decode(const uint8_t *leaf, size_t len, hv_audit_leaf_fields *out,
                                     hv_audit_error *err);

/* A stored record's place in the log, and its inclusion proof in the tree after its round. */
typedef struct hv_audit_log_receipt {
  uint64_t leaf_index;
  uint8_t leaf[HV_AUDIT_LEAF_MAX]; /* the leaf's encoding (filled by the front end) */
  size_t leaf_len;
  uint8_t leaf_hash[HV_TLOG_HASH_LEN];
  uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t proof_len;
} hv_audit_log_receipt;

/* One leaf as GET /v1/log/leaves lists it: the hash always, the encoding while the record is
 * kept (retention purges the record; the tree keeps the hash). */
typedef struct hv_audit_log_leaf {
  uint64_t index;
  uint8_t leaf_hash[HV_TLOG_HASH_LEN];
  bool has_record;
  bool record_invalid; /* a record is stored under the leaf but no longer encodes (edited) */
  uint8_t leaf[HV_AUDIT_LEAF_MAX];
  size_t leaf_len;
} hv_audit_log_leaf;

#define HV_AUDIT_LOG_PAGE_MAX 256u /* leaves per hv_audit_log_leaves call */

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

  /* The transparency log; all NULL when the backend has none. The backend is the one sequencer:
   * log_put_batch stores the records as put_batch does and, in the same transaction, makes each
   * stored record the next leaf (leaf_hashes[i] is record i's, computed by the front end), stores
   * the complete subtrees it closes (hv_tlog_append), and fills receipts[i] (for the records
   * stored) with the inclusion proof in the tree after the round, *size and root with that tree.
   * A duplicate gets no leaf. The size must be read under the write lock of that transaction:
   * whoever holds it is the one sequencer, however many servers share the store. */
  hv_audit_status (*log_put_batch)(void *impl, const hv_audit_record *const *records,
                                   const uint8_t (*leaf_hashes)[HV_TLOG_HASH_LEN], size_t count,
                                   hv_audit_status *statuses, hv_audit_log_receipt *receipts,
                                   uint64_t *size, uint8_t root[HV_TLOG_HASH_LEN],
                                   hv_audit_error *err);
  /* The tree now: its size and root (the readers below each work on one consistent snapshot). */
  hv_audit_status (*log_head)(void *impl, uint64_t *size, uint8_t root[HV_TLOG_HASH_LEN],
                              hv_audit_error *err);
  /* Proofs in the tree of `size` leaves; INVALID_ARGUMENT when size exceeds the tree. */
  hv_audit_status (*log_inclusion)(void *impl, uint64_t index, uint64_t size,
                                   uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                   hv_audit_error *err);
  hv_audit_status (*log_consistency)(void *impl, uint64_t old_size, uint64_t new_size,
                                     uint8_t proof[][HV_TLOG_HASH_LEN], size_t *count,
                                     hv_audit_error *err);
  /* Leaves [start, end) that exist (end - start <= HV_AUDIT_LOG_PAGE_MAX): out[k] gets the hash;
   * for a leaf whose record is still stored, the backend fills records[k] (JSON strings
   * allocated, the front end frees them) and sets has_record[k]. *count = leaves returned. */
  hv_audit_status (*log_leaves)(void *impl, uint64_t start, uint64_t end, hv_audit_log_leaf *out,
                                hv_audit_record *records, bool *has_record, size_t *count,
                                hv_audit_error *err);
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

/* ---- The transparency log's calls ------------------------------------------------------------ */

/* Does this store keep a transparency log? (SQLite and PostgreSQL: yes.) */
bool hv_audit_has_log(const hv_audit_store *store);

/*
 * As hv_audit_put_batch, and every record stored becomes the next leaf of the log in the same
 * transaction (the backend's log_put_batch). receipts[i] is filled for each record whose status
 * is HV_AUDIT_OK; *size and root describe the tree after the round (sign a checkpoint of them).
 * UNSUPPORTED when the store has no log.
 */
hv_audit_status hv_audit_log_put_batch(hv_audit_store *store, const hv_audit_record *const *records,
                                       size_t count, hv_audit_status *statuses,
                                       hv_audit_log_receipt *receipts, uint64_t *size,
                                       uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err);

/* The tree's current size and root. */
hv_audit_status hv_audit_log_head(hv_audit_store *store, uint64_t *size,
                                  uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err);

/* Inclusion proof of leaf `index` in the tree of `size` leaves (index < size <= current size),
 * into proof[0..*count); INVALID_ARGUMENT says which bound failed. */
hv_audit_status hv_audit_log_inclusion(hv_audit_store *store, uint64_t index, uint64_t size,
                                       uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN],
                                       size_t *count, hv_audit_error *err);

/* Consistency proof from old_size to new_size (0 < old_size <= new_size <= current size). */
hv_audit_status hv_audit_log_consistency(hv_audit_store *store, uint64_t old_size,
                                         uint64_t new_size,
                                         uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN],
                                         size_t *count, hv_audit_error *err);

/* Leaves [start, end), start < end, end - start <= HV_AUDIT_LOG_PAGE_MAX, into out (that many
 * entries); *count = how many exist (fewer past the tree's end). */
hv_audit_status hv_audit_log_leaves(hv_audit_store *store, uint64_t start, uint64_t end,
                                    hv_audit_log_leaf *out, size_t *count, hv_audit_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HV_AUDIT_H */
