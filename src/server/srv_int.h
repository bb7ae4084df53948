/*
 * srv_int.h: the service's internals, shared by the files of src/server. Nothing here is public:
 * the one entry point is hv_server_main (hv_server.h).
 *
 *   srv_main.c      start-up (config, logger, data directory lock, key ring, development key,
 *                   audit store, executor, HTTP), the maintenance loop (key rotation, retention
 *                   purge), signals (SIGHUP reload), shutdown
 *   srv_http.c      libmicrohttpd glue: the listening socket, connections and their deadlines,
 *                   request contexts, the body cap, routing, replies, the log line of every request
 *   srv_auth.c      API keys (SHA-256, constant time) and the per-key token bucket
 *   srv_execute.c   POST /v1/execute
 *   srv_request.c   the execute body parsed and checked, no server state (srv_request.h)
 *   srv_routes.c    GET /health, /v1/keys, /v1/verify/{id}, /metrics
 *   srv_metrics.c   counters, gauges and histograms; Prometheus text and JSON
 *   srv_util.c      clock, UUIDs, bounded buffers, JSON replies and error bodies
 *   srv_commit.c    the audit writer: one thread, records of concurrent requests in shared rounds
 *   srv_tls.c       server.tls: the certificate and key read and checked for libmicrohttpd
 *   srv_tlog.c      the transparency log: its key, signed checkpoints, GET /v1/log/...
 *   executor.[ch]   where executions run (the in-process worker pool)
 *   modcache.[ch]   the executor's compiled-module cache
 */
#ifndef HV_SERVER_SRV_INT_H
#define HV_SERVER_SRV_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "executor.h"
#include "hv_audit.h"
#include "hv_config.h"
#include "hv_crypto.h"
#include "hv_keystore.h"
#include "hv_log.h"
#include "outcome.h"

struct MHD_Daemon;
struct MHD_Connection;
struct srv_conn_table;
typedef struct srv_conn srv_conn;

/* ---- Fixed choices (docs/service.md, "Decisions") ----------------------------------------- */

#define SRV_CONNECTION_LIMIT 1024u        /* open connections at once */
/* Above this many open connections the oldest still waiting for headers or a body are closed,
 * so that new clients always find a slot. */
#define SRV_CONNECTION_HIGH_WATER (SRV_CONNECTION_LIMIT - 128u)
#define SRV_LISTEN_BACKLOG 1024
#define SRV_CONNECTION_TIMEOUT_S 30u      /* idle seconds before a connection is closed */
#define SRV_HEADER_DEADLINE_S 10u         /* a request's headers must arrive within this */
#define SRV_BODY_DEADLINE_S 120u          /* its body within this, from the end of the headers */
#define SRV_BODY_PREALLOC_MAX (1u << 20)  /* bytes reserved up front for an announced body */
#define SRV_DRAIN_MAX (1u << 20)          /* bytes past the cap read (and dropped) before closing */
#define SRV_SHUTDOWN_EXTRA_NS (5ull * 1000000000u)  /* grace past the longest execution */
#define SRV_MAINTENANCE_PERIOD_MS 60000u  /* key rotation and retention purge */
#define SRV_TEST_MAINTENANCE_PERIOD_MS 100u
#define SRV_HEALTH_CACHE_MS 1000u         /* storage probe cache for GET /health */
#define SRV_FUNCTION_NAME_MAX 1024u       /* bytes */
#define SRV_METADATA_MAX 4096u            /* bytes of compact JSON */
#define SRV_MAX_ARGUMENTS 1000u
#define SRV_MAX_ARGV 999u /* argv strings: with stdin, HV_COMMIT_MAX_VALUES canonical values */
#define SRV_TIMEOUT_MAX_S 300u
#define SRV_TEST_CLOCK_ENV "HYPERVISOR_TEST_CLOCK_FILE"
#define SRV_DEV_KEY_FILE "dev-api-key.sha256"
#define SRV_DEV_KEY_ID "dev"
#define SRV_LOCK_FILE "hypervisor.lock" /* in dirname(crypto.key_dir) */
/* The compiled-module cache's bound (estimated bytes of modules kept; docs/service.md, "Module
 * cache"). A constant: the configuration has no key for it. */
#define SRV_MODULE_CACHE_BYTES (256u * 1024u * 1024u)
/* The least compiled-module cache one worker process gets (wasm.executor: process). */
#define SRV_WORKER_CACHE_MIN_MB 32u
/* Audit records written in one round (one transaction with hv_audit_put_batch). */
#define SRV_COMMIT_BATCH_MAX 256u

#define SRV_TLS_FILE_MAX (1u << 20) /* bytes of a PEM certificate chain or key file */
#define SRV_METRICS_TOKEN_ID "metrics-token" /* what logs name a request with the metrics token */

#define SRV_UUID_SIZE 37
#define SRV_JSON_CONTENT_TYPE "application/json; charset=utf-8"
#define SRV_SUMMARY_MAX 512 /* bytes of an execution_summary as compact JSON (bounded fields) */
/* Compact, and reals with 15 significant digits so that 0.042 stays 0.042. */
#define SRV_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* ---- Bounded growable buffer -------------------------------------------------------------- */

typedef struct srv_buf {
  char *data;
  size_t len, cap, max; /* never grows past max bytes (NUL included) */
  bool failed;          /* an append did not fit or memory ran out: the content is incomplete */
} srv_buf;

void srv_buf_init(srv_buf *b, size_t max);
/* Makes room for `extra` more bytes (and the NUL) at once, so that appends up to that size neither
 * reallocate nor format twice; false (and the buffer failed) past max or out of memory. */
bool srv_buf_reserve(srv_buf *b, size_t extra);
bool srv_buf_append(srv_buf *b, const void *data, size_t len);
__attribute__((format(printf, 2, 3))) bool srv_buf_printf(srv_buf *b, const char *fmt, ...);
/* Hands the NUL-terminated content to the caller (free()), or NULL if anything failed. */
char *srv_buf_take(srv_buf *b, size_t *len);
void srv_buf_free(srv_buf *b);

/* ---- Metrics ------------------------------------------------------------------------------ */

typedef enum srv_endpoint {
  SRV_EP_EXECUTE,
  SRV_EP_VERIFY,
  SRV_EP_KEYS,
  SRV_EP_HEALTH,
  SRV_EP_METRICS,
  SRV_EP_PLAYGROUND, /* GET / and /playground/{file}: the browser playground */
  SRV_EP_LOG,
  SRV_EP_OTHER,
  SRV_EP_COUNT
} srv_endpoint;

const char *srv_endpoint_name(srv_endpoint ep);

typedef struct srv_metrics srv_metrics;

/* A new zeroed registry the caller frees with srv_metrics_free(); NULL when memory ran out. */
srv_metrics *srv_metrics_new(void);
void srv_metrics_free(srv_metrics *m);
void srv_metrics_request(srv_metrics *m, srv_endpoint ep);
void srv_metrics_error(srv_metrics *m, outcome_code code);
/* One execute request with a request_id ended with `code`; the times are those of the executor
 * (compile_ns only when `compiled`, exec_ns only when `executed`). */
void srv_metrics_execution(srv_metrics *m, outcome_code code, bool compiled, uint64_t compile_ns,
                           bool executed, uint64_t exec_ns, uint64_t gas_used);

/* What the registry cannot count itself, read at render time. */
typedef struct srv_metrics_view {
  exec_counts exec;
  size_t keys;
  bool storage_ok;
  double uptime_seconds;
  double start_time_seconds;
  uint64_t log_dropped;
  uint64_t rate_limited;
  uint64_t audit_rounds, audit_records; /* the audit writer's */
} srv_metrics_view;

/* Prometheus text format 0.0.4, or the same figures as a JSON object. The caller frees the
 * NUL-terminated result with free(); NULL when memory ran out. */
char *srv_metrics_render_text(srv_metrics *m, const srv_metrics_view *v, size_t *len);
char *srv_metrics_render_json(srv_metrics *m, const srv_metrics_view *v, size_t *len);

/* ---- Authentication and rate limits ------------------------------------------------------- */

typedef struct srv_ratelimit srv_ratelimit;

/* One token bucket per API key (key_count of them). NULL when memory ran out. */
srv_ratelimit *srv_ratelimit_new(size_t key_count, uint32_t per_second, uint32_t burst);
void srv_ratelimit_free(srv_ratelimit *rl);
/* Takes a token from key `index`'s bucket at monotonic time now_ns. False when the bucket is
 * empty; *retry_after_s then says when the next token comes (at least 1). */
bool srv_ratelimit_take(srv_ratelimit *rl, size_t index, uint64_t now_ns,
                        uint32_t *retry_after_s);
uint64_t srv_ratelimit_refused(const srv_ratelimit *rl);
/* The count of refusals goes on in a replacement (a configuration reload). */
void srv_ratelimit_carry(srv_ratelimit *to, const srv_ratelimit *from);

/* ---- Audit writer (srv_commit.c) ---------------------------------------------------------- */

typedef struct srv_commit_item srv_commit_item;
/* Called once, on the writer's thread (or the submitter's after srv_committer_stop), when the
 * record is durable (HV_AUDIT_OK) or its write failed. May free the item. */
typedef void (*srv_commit_fn)(srv_commit_item *item, hv_audit_status status,
                              const hv_audit_error *err);

struct srv_commit_item {
  hv_audit_record record; /* its strings stay the submitter's until `done` */
  srv_commit_fn done;
  void *arg;
  /* Set only while `done` runs, when the record became a leaf of the transparency log: its
   * receipt, the tree size and the signed checkpoint of the round (NULL otherwise). */
  const hv_audit_log_receipt *receipt;
  uint64_t tree_size;
  const char *checkpoint;
  size_t checkpoint_len;
  srv_commit_item *next_; /* the writer's */
};

typedef struct srv_committer srv_committer;
typedef struct srv_tlog srv_tlog;

/* Starts the writer thread over `audit` (borrowed: close it after srv_committer_free). With `tlog`
 * (borrowed; NULL: no log) every round is also appended to the transparency log and signed. NULL
 * with a reason in `why` on failure. */
srv_committer *srv_committer_new(hv_audit_store *audit, srv_tlog *tlog, char *why,
                                 size_t why_size);
/* Queues a record; its `done` runs once it is durable. After srv_committer_stop the record is
 * written at once on the caller's thread. Never fails: `done` reports the outcome. */
void srv_committer_submit(srv_committer *c, srv_commit_item *item);
/* Writes everything queued, then stops the thread. */
void srv_committer_stop(srv_committer *c);
/* Rounds written and records in them, since the start. */
void srv_committer_counts(srv_committer *c, uint64_t *rounds, uint64_t *records);
/* Stops (if running) and frees. NULL is a no-op. */
void srv_committer_free(srv_committer *c);

/* ---- TLS (srv_tls.c) ---------------------------------------------------------------------- */

/* server.tls's files, NUL-terminated PEM as libmicrohttpd takes them. */
typedef struct srv_tls {
  char *cert, *key; /* NULL without TLS */
  size_t cert_len, key_len;
} srv_tls;

/* Reads and checks the files of server.tls (nothing to do when it is not set). False with the
 * reason in `why` (names the key and the file). Ownership: *tls is the caller's; srv_tls_free. */
bool srv_tls_load(const hv_config_server *cfg, srv_tls *tls, char *why, size_t why_size);
/* Wipes the key's bytes and frees both; harmless on a zeroed or freed srv_tls. */
void srv_tls_free(srv_tls *tls);
/* ---- Transparency log (srv_tlog.c) -------------------------------------------------------- */

#define SRV_LOG_KEY_FILE "log-ed25519.key" /* in dirname(crypto.key_dir) */

/* The log with the key `shared_seed` (a cluster's, from hv_keystore_log_seed; copied) or, when it
 * is NULL, the key in dirname(key_dir), made on first start and wrapped under `kek` when that is
 * not NULL (a plaintext file is then rewritten wrapped; a wrapped one needs the KEK). Signs a
 * checkpoint of the tree in `audit` (borrowed) as it is. The caller frees the result with
 * srv_tlog_free (which wipes the key); NULL with a reason in `why`. */
srv_tlog *srv_tlog_open(const char *key_dir, const uint8_t *shared_seed, const hv_kek *kek,
                        hv_audit_store *audit, char *why, size_t why_size);
void srv_tlog_free(srv_tlog *t);
const char *srv_tlog_origin(const srv_tlog *t);
const char *srv_tlog_verifier_key(const srv_tlog *t);
/* Signs the checkpoint of (size, root) into out (NUL-terminated, *len its length, may be NULL) and
 * makes it the latest one served unless a larger tree was signed already. */
bool srv_tlog_sign(srv_tlog *t, uint64_t size, const uint8_t root[HV_TLOG_HASH_LEN],
                   char out[HV_TLOG_NOTE_MAX], size_t *len);
/* The receipt object of an execute reply as compact JSON (the caller frees it); NULL when memory
 * ran out. */
char *srv_tlog_receipt_json(const srv_tlog *t, const hv_audit_log_receipt *receipt,
                            uint64_t tree_size, const char *checkpoint, size_t checkpoint_len,
                            size_t *len);

/* ---- The server --------------------------------------------------------------------------- */

typedef struct srv {
  hv_config config;
  hv_logger *log;
  hv_keyring *ring;
  hv_keystore *keystore;            /* storage postgres: where the shared ring's keys live */
  _Atomic int64_t keys_synced_ms;   /* when the ring was last loaded from the keystore */
  hv_audit_store *audit;
  srv_committer *commit;
  srv_tlog *tlog;            /* NULL when storage.transparency_log is off */
  executor *exec;
  /* wasm.executor: process: what the last worker to start got (WK_NS_* bits) and why unshare
   * refused the rest (an errno, 0: it did not), for the start-up line. */
  _Atomic uint32_t worker_ns;
  _Atomic int worker_ns_errno;
  _Atomic bool worker_ns_seen; /* a worker has said hello: later ones warn only on a change */
  uint32_t worker_processes;    /* wasm.executor: process: how many the pool keeps */
  srv_metrics *metrics;
  srv_ratelimit *rate;       /* with config.auth and config.rate_limit: under auth_lock */
  pthread_rwlock_t auth_lock; /* SIGHUP replaces the API keys and the rate limits under it */
  char config_file[HV_CONFIG_PATH_SIZE]; /* "" with the embedded defaults */
  hv_config_source config_source;        /* where config_file came from (hv_config_discover) */
  srv_tls tls;               /* server.tls's files from start-up until the daemon has them */
  int lock_fd;               /* the data directory's lock (srv_main.c); -1 when not held */
  char dev_key[HV_API_KEY_LEN + 1];  /* a development key made this start, until it is shown; else "" */
  char dev_key_path[HV_CONFIG_PATH_SIZE + 32];
  struct MHD_Daemon *daemon;
  struct srv_conn_table *conns; /* every open connection, its stage and since when (srv_http.c) */
  int listen_fd;            /* after quiesce: closed once the daemon has stopped */
  uint16_t port;            /* the port actually bound (server.port 0 picks a free one) */

  atomic_bool shutting_down;
  atomic_uint inflight;     /* request contexts alive */
  atomic_llong clock_offset_ms; /* the test clock's offset (0 outside tests) */
  char clock_file[HV_CONFIG_PATH_SIZE]; /* "" unless HYPERVISOR_TEST_CLOCK_FILE is set */
  uint64_t maintenance_period_ms;

  uint64_t start_mono_ns;
  int64_t start_wall_ms;

  pthread_mutex_t health_mu;  /* storage probe cache */
  uint64_t health_checked_ns;
  bool health_ok;
  hv_audit_status health_status; /* the last probe's answer, for /health */
} srv;

/* Wall-clock ms since the epoch, shifted by the test clock. */
int64_t srv_now_ms(srv *s);
/* HYPERVISOR_TEST_CLOCK_FILE: the file holds a signed number of seconds added to the clock
 * (0 when missing or unreadable). */
void srv_read_test_clock(srv *s);
/* Monotonic ns (never shifted). */
uint64_t srv_mono_ns(void);
/* RFC 3339 UTC with milliseconds. */
void srv_format_time(int64_t ms, char out[HV_LOG_TIME_SIZE]);
/* A UUID v4 from OpenSSL's CSPRNG, lowercase. False if the CSPRNG failed. */
bool srv_uuid_v4(char out[SRV_UUID_SIZE]);
/* Can an execution's record be written now? (The store's own probe: its files are still the ones at
 * the configured path, there is room, a write commits. Cached for SRV_HEALTH_CACHE_MS.) */
bool srv_storage_ok(srv *s);
/* Brings the key ring up to date at now: a file ring rotates; a shared ring also syncs with the
 * keystore (rotate: may make the next key), at most once a second unless force. Logs failures;
 * returns whether the ring is current. */
bool srv_keys_refresh(srv *s, bool rotate, bool force);
/* The answer of the last storage probe (HV_AUDIT_OK when healthy). */
hv_audit_status srv_storage_status(srv *s);
/* The same answer, used before an execution is admitted. */
#define srv_storage_writable srv_storage_ok
/* A real write failed: the next srv_storage_ok probes again instead of trusting its cache. */
void srv_storage_failed(srv *s);

/* ---- HTTP requests ------------------------------------------------------------------------ */

typedef struct srv_request srv_request;

typedef enum srv_method {
  SRV_GET = 1,
  SRV_POST = 2,
  SRV_HEAD = 4,
  SRV_OTHER = 8,
  SRV_OPTIONS = 16, /* a CORS preflight when server.cors_origins allows its Origin */
} srv_method;

/* A reply being built; srv_reply_send hands it to libmicrohttpd. */
typedef struct srv_reply {
  unsigned status;
  char *body; /* malloc'd; freed by whoever sends or discards the reply */
  size_t len;
  const char *content_type;
  uint32_t retry_after_s; /* 0: no Retry-After header */
  const char *allow;      /* Allow header for 405, or NULL */
  const char *cors_methods; /* a preflight's answer: Access-Control-Allow-Methods, or NULL */
  bool page;              /* a playground file: sent with its Content-Security-Policy */
} srv_reply;

/* What an execute request carries across threads. Defined in srv_execute.c. */
typedef struct srv_exec_state srv_exec_state;

struct srv_request {
  srv *server;
  struct MHD_Connection *conn;
  srv_conn *tracked;     /* the connection's entry in the table; NULL if untracked */
  uint64_t start_ns;
  srv_endpoint endpoint;
  srv_method method;
  char path[96];         /* for the log line: the route's path, cut */
  char param[64];        /* /v1/verify/{param} */
  bool param_too_long;
  /* Access-Control-Allow-Origin for this request's reply: its Origin (borrowed from the config,
   * which keeps server.* unchanged while serving), "*", or NULL when the reply carries no CORS
   * headers (CORS off, no Origin, or an origin not in server.cors_origins). */
  const char *cors_origin;

  /* the body */
  bool wants_body;
  uint8_t *body;
  size_t body_len, body_cap;
  uint64_t body_seen;    /* bytes received, kept or not */
  bool too_large;

  /* authentication */
  long key_index;        /* -1 before or without authentication */
  const char *api_key_id; /* NULL, or api_key_id_buf: keys may be reloaded while a request runs */
  char api_key_id_buf[HV_CONFIG_KEY_ID_SIZE];
  uint64_t tenant;       /* the executor's name for the API key (srv_tenant_of) */
  uint64_t accepted_ns;  /* the body was complete: the execution's time limit runs from here */

  /* execute */
  bool slot_reserved;
  char request_id[SRV_UUID_SIZE]; /* "" until assigned */
  srv_exec_state *exec;
  atomic_int phase;      /* SRV_PHASE_* */
  srv_reply pending;     /* the reply made off the HTTP thread */

  /* what the log line and metrics report */
  unsigned status;
  outcome_code error;    /* OUTCOME_OK when the reply was not an error */
};

enum { SRV_PHASE_READING = 0, SRV_PHASE_RUNNING = 1, SRV_PHASE_DONE = 2 };

/* Builds an error reply: {"error_code", "message", "timestamp", "request_id"?,
 * "execution_summary"?}. `summary` (may be NULL) is borrowed. Never fails: a reply without a body
 * (500) when memory ran out. */
srv_reply srv_error_reply(srv_request *r, outcome_code code, const json_t *summary,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same with the message as it is and, when encrypted_error is not NULL, that member (a sealed
 * error: protocol v1.1 "Sealed errors"). */
srv_reply srv_error_reply_sealed(srv_request *r, outcome_code code, const json_t *summary,
                                 const char *encrypted_error, const char *message);
/* A JSON reply of `obj` (a reference is stolen). 500 when it cannot be serialised. */
srv_reply srv_json_reply(unsigned status, json_t *obj);
/* Sends `reply` (taking its body) on the request's connection from the access handler. */
int srv_reply_send(srv_request *r, srv_reply *reply);
/* Frees a reply's body without sending it. */
void srv_reply_discard(srv_reply *reply);

/* Moves a connection to another stage (SRV_CONN_*, srv_http.c); its deadline restarts. NULL: no-op. */
void srv_conn_stage_set(srv *s, srv_conn *c, int stage);

/* Starts / quiesces / stops the HTTP daemon. */
bool srv_http_start(srv *s, char *why, size_t why_size);
void srv_http_quiesce(srv *s);
void srv_http_stop(srv *s);

/* Called by the access handler for each route once the body is complete. */
srv_reply srv_route_health(srv_request *r);
srv_reply srv_route_keys(srv_request *r);
srv_reply srv_route_verify(srv_request *r);
/* GET /v1/log/{checkpoint,key,proof/inclusion,proof/consistency,leaves}; `path` is which. */
srv_reply srv_route_log(srv_request *r, const char *path);
srv_reply srv_route_metrics(srv_request *r);
/* GET / (r->param "") and /playground/{file} (r->param the file): srv_playground.c. */
srv_reply srv_route_playground(srv_request *r);
/* The Content-Security-Policy sent with the playground's files. */
extern const char srv_playground_csp[];

/* POST /v1/execute: the header stage (auth is done; reserves the slot and assigns request_id),
 * then the body stage. srv_execute_begin returns true and leaves *reply untouched when the
 * request may go on; srv_execute_body returns true when the request was handed to the executor:
 * it has suspended the connection, and resumes it with the reply in r->pending. */
bool srv_execute_begin(srv_request *r, srv_reply *reply);
bool srv_execute_body(srv_request *r, srv_reply *reply);
/* Frees what an execute request holds (the connection is done). */
void srv_execute_cleanup(srv_request *r);

/* ---- CORS (srv_http.c; docs/service.md, "CORS") ----------------------------------------- */

#define SRV_CORS_ALLOW_HEADERS "X-API-Key, Content-Type, Authorization"
#define SRV_CORS_EXPOSE_HEADERS "X-Request-Id, Retry-After, Allow"
#define SRV_CORS_MAX_AGE_S "600" /* how long a browser may keep a preflight's answer */

/* What to send as Access-Control-Allow-Origin for a request with this Origin header (NULL when
 * absent): the configured origin it equals, "*" when server.cors_origins is ["*"], else NULL. */
const char *srv_cors_allowed(const hv_config_server *config, const char *origin);

/* Authenticates the request's X-API-Key and applies its rate limit. True when it may go on;
 * otherwise *reply is the error (UNAUTHORIZED, RATE_LIMITED). */
bool srv_authenticate(srv_request *r, srv_reply *reply);
/* The same for GET /metrics, which also takes `Authorization: Bearer TOKEN`, where TOKEN is an
 * API key or the metrics token (server.metrics_token_sha256: grants /metrics only, has no rate
 * limit of its own). X-API-Key wins when both are sent. */
bool srv_authenticate_metrics(srv_request *r, srv_reply *reply);

#endif /* HV_SERVER_SRV_INT_H */
