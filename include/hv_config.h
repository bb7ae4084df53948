/*
 * hv_config.h: the service's YAML configuration (protocol.md, "Configuration"; docs/config.md lists
 * every key, its type, default and allowed range).
 *
 * Every key is optional and has the protocol's default. Anything else in the file is a start-up
 * error, never a silent default: an unknown key, a value of the wrong type (a mapping where a
 * number belongs, a quoted "3000" for an integer, 1.5 for an integer), a value out of range, an
 * unknown enum value, a malformed API key hash, a missing DSN for postgres, a duplicate key, YAML
 * aliases, anchors, tags or a second document. The error names the key as a path ("server.port",
 * "auth.api_keys[1].sha256") and the line and column in the file, and its message reads like a
 * compiler diagnostic: "config.yaml:3:9: server.port: must be between 1 and 65535 (got 70000)".
 * Messages never quote storage.dsn or an API key hash.
 *
 * Ownership: hv_config holds fixed-size strings and one allocated array (auth.api_keys). A config
 * filled by hv_config_load_* or hv_config_defaults is the caller's; hv_config_free() releases it
 * and wipes storage.dsn. A config is immutable after loading and may be read from many threads.
 * No global state.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_log.h" /* hv_log_level */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------------------------------- */

/* X(name, message). Numbers are stable: append only, never reuse one. */
#define HV_CONFIG_STATUS_MAP(X)                                                  \
  X(HV_CONFIG_OK, "ok")                                                          \
  X(HV_CONFIG_INVALID_ARGUMENT, "invalid argument")                              \
  X(HV_CONFIG_IO, "cannot read the configuration file")                          \
  X(HV_CONFIG_TOO_LARGE, "configuration file too large")                         \
  X(HV_CONFIG_SYNTAX, "YAML syntax error")                                       \
  X(HV_CONFIG_UNSUPPORTED_YAML, "unsupported YAML feature")                      \
  X(HV_CONFIG_UNKNOWN_KEY, "unknown key")                                        \
  X(HV_CONFIG_DUPLICATE_KEY, "duplicate key")                                    \
  X(HV_CONFIG_WRONG_TYPE, "value of the wrong type")                             \
  X(HV_CONFIG_BAD_VALUE, "invalid value")                                        \
  X(HV_CONFIG_MISSING_KEY, "missing key")                                        \
  X(HV_CONFIG_NO_MEMORY, "out of memory")                                        \
  X(HV_CONFIG_INTERNAL, "internal error")

typedef enum hv_config_status {
#define HV_CONFIG__ENUM(name, text) name,
  HV_CONFIG_STATUS_MAP(HV_CONFIG__ENUM)
#undef HV_CONFIG__ENUM
} hv_config_status;

#define HV_CONFIG_KEY_MAX 96       /* longest key path kept in an error */
#define HV_CONFIG_MESSAGE_MAX 512

typedef struct hv_config_error {
  hv_config_status status;
  char key[HV_CONFIG_KEY_MAX];       /* "server.port", "auth.api_keys[0].sha256"; "" if none */
  unsigned line;                     /* 1-based; 0 when there is no file position */
  unsigned column;                   /* 1-based; 0 when unknown */
  char message[HV_CONFIG_MESSAGE_MAX]; /* "FILE:LINE:COL: KEY: what is wrong"; NUL-terminated */
} hv_config_error;

/* "HV_CONFIG_OK", ...; never NULL. */
const char *hv_config_status_name(hv_config_status status);
/* "ok", "unknown key", ...; never NULL. */
const char *hv_config_status_text(hv_config_status status);

/* ---- The configuration ----------------------------------------------------------------------- */

/* Sizes of the string members, terminating NUL included. */
#define HV_CONFIG_HOST_SIZE 254      /* a DNS name is at most 253 bytes */
#define HV_CONFIG_PATH_SIZE 4096     /* PATH_MAX */
#define HV_CONFIG_DSN_SIZE 4096
#define HV_CONFIG_KEY_ID_SIZE 65     /* API key ids: 1-64 of [A-Za-z0-9._-] */
#define HV_CONFIG_API_KEYS_MAX 1024
#define HV_CONFIG_FILE_MAX (1u << 20) /* a larger configuration file is refused */
/* server.cors_origins: at most this many, each an origin as browsers send it ("https://host:port":
 * scheme, a host of at most 253 bytes, or a bracketed IPv6 literal, and a port). */
#define HV_CONFIG_CORS_ORIGINS_MAX 64
#define HV_CONFIG_ORIGIN_SIZE 272

typedef enum hv_config_backend {
  HV_CONFIG_BACKEND_SQLITE = 0,
  HV_CONFIG_BACKEND_POSTGRES = 1,
} hv_config_backend;

/* "sqlite" or "postgres"; "?" otherwise. */
const char *hv_config_backend_name(hv_config_backend backend);

/* wasm.wasi: which WASI profile modules may import (docs/wasi.md). */
typedef enum hv_config_wasi {
  HV_CONFIG_WASI_NONE = 0,  /* no imports at all: a WASI module is INVALID_WASM (the default) */
  HV_CONFIG_WASI_STDIO = 1, /* wasi_snapshot_preview1 commands: argv, stdin, stdout, stderr */
} hv_config_wasi;

/* "none" or "stdio"; "?" otherwise. */
const char *hv_config_wasi_name(hv_config_wasi wasi);

/* wasm.executor: where executions run (docs/workers.md). */
typedef enum hv_config_executor {
  HV_CONFIG_EXECUTOR_THREAD = 0,  /* threads of the server process (development, benchmarks) */
  HV_CONFIG_EXECUTOR_PROCESS = 1, /* confined worker processes that never hold a key (default) */
} hv_config_executor;

/* "thread" or "process"; "?" otherwise. */
const char *hv_config_executor_name(hv_config_executor executor);

/* wasm.worker_tenancy: whom one worker process serves (docs/workers.md, "Tenancy"). The thread
 * executor ignores it. */
typedef enum hv_config_tenancy {
  HV_CONFIG_TENANCY_DEDICATED = 0, /* one API key per worker for its whole life (default) */
  HV_CONFIG_TENANCY_SHARED = 1,    /* any API key on any worker */
} hv_config_tenancy;

/* "dedicated" or "shared"; "?" otherwise. */
const char *hv_config_tenancy_name(hv_config_tenancy tenancy);

typedef struct hv_config_api_key {
  char id[HV_CONFIG_KEY_ID_SIZE]; /* what logs and audit records name; never the key itself */
  uint8_t sha256[32];             /* SHA-256 of the API key, decoded from hex */
} hv_config_api_key;

typedef struct hv_config_server {
  char host[HV_CONFIG_HOST_SIZE]; /* an IPv4/IPv6 literal or a host name */
  uint16_t port;
  uint32_t workers;
  uint64_t max_body_bytes;
  /* server.tls: PEM files; both "" (plain HTTP) or both set (HTTPS only). */
  char tls_cert[HV_CONFIG_PATH_SIZE];
  char tls_key[HV_CONFIG_PATH_SIZE];
  /* server.metrics_token_sha256: the SHA-256 of a token that grants GET /metrics only (as
   * `Authorization: Bearer TOKEN`), so a scraper needs no API key. */
  bool has_metrics_token;
  uint8_t metrics_token_sha256[32];
  /* Browser origins allowed to call the API across origins (docs/service.md, "CORS"). Exact
   * origins such as "https://app.example.com"; or the single entry "*", any origin. Count 0 (the
   * default): no CORS headers at all, so browsers keep other origins' pages out. */
  char cors_origins[HV_CONFIG_CORS_ORIGINS_MAX][HV_CONFIG_ORIGIN_SIZE];
  uint32_t cors_origin_count;
  /* server.playground: the browser playground at / (docs/playground.md). On in the embedded
   * defaults (no configuration file), off unless a configuration file turns it on. */
  bool playground;
  /* server.playground_dir: serve the playground's files from this directory (an installed
   * share/hypervisor/playground) instead of the copy built into the binary; "": the built-in one. */
  char playground_dir[HV_CONFIG_PATH_SIZE];
} hv_config_server;

typedef struct hv_config_wasm {
  uint32_t max_memory_mb;
  uint32_t max_execution_time_seconds;
  uint32_t max_concurrent_executions;
  /* Slots one API key may hold at once (running or waiting); the server uses at most
   * max_concurrent_executions of them, so other keys keep being served. */
  uint32_t max_concurrent_per_key;
  uint64_t default_gas_limit;
  /* The largest string or bytes result (protocol v1.1), and the most kept of each of a WASI
   * command's stdout and stderr. */
  uint64_t max_result_bytes;
  hv_config_wasi wasi; /* wasm.wasi: none (default) or stdio */
  hv_config_executor executor; /* wasm.executor: process (default) or thread */
  hv_config_tenancy worker_tenancy; /* wasm.worker_tenancy: dedicated (default) or shared */
  /* wasm.worker_processes: worker processes of the process executor, at least its threads; 0
   * (the default): four times the threads when dedicated, as many as the threads when shared. */
  uint32_t worker_processes;
} hv_config_wasm;

typedef struct hv_config_crypto {
  uint32_t key_rotation_hours;
  uint32_t commitment_retention_days;
  char key_dir[HV_CONFIG_PATH_SIZE];
  /* The key-encryption key's file (docs/crypto.md); "" when none is configured (the server then
   * looks at the environment variable HYPERVISOR_KEK). */
  char kek_file[HV_CONFIG_PATH_SIZE];
} hv_config_crypto;

typedef struct hv_config_storage {
  hv_config_backend backend;
  char path[HV_CONFIG_PATH_SIZE]; /* sqlite: the database file; "" with postgres */
  char dsn[HV_CONFIG_DSN_SIZE];   /* postgres: a SECRET (may hold a password); "" with sqlite */
  /* Every record also becomes a leaf of the signed Merkle log (docs/audit.md); default true. */
  bool transparency_log;
  uint32_t connections;           /* connections in the audit store's pool (either backend) */
} hv_config_storage;

typedef struct hv_config_auth {
  hv_config_api_key *api_keys; /* allocated; NULL when count is 0 */
  size_t api_key_count;        /* 0: the server generates a development key (issue 4) */
} hv_config_auth;

typedef struct hv_config_rate_limit {
  uint32_t requests_per_second; /* per API key */
  uint32_t burst;
} hv_config_rate_limit;

typedef struct hv_config_logging {
  hv_log_level level;
  char file[HV_CONFIG_PATH_SIZE]; /* "": stderr */
} hv_config_logging;

typedef struct hv_config {
  hv_config_server server;
  hv_config_wasm wasm;
  hv_config_crypto crypto;
  hv_config_storage storage;
  hv_config_auth auth;
  hv_config_rate_limit rate_limit;
  hv_config_logging logging;
} hv_config;

/*
 * The embedded defaults, exactly the protocol's: used when there is no configuration file.
 * Overwrites *out without freeing it (call hv_config_free first on a filled config). Cannot fail.
 */
void hv_config_defaults(hv_config *out);

/*
 * Loads and validates a configuration file (at most HV_CONFIG_FILE_MAX bytes). On HV_CONFIG_OK
 * *out holds the defaults overridden by the file; the caller frees it with hv_config_free(). On
 * failure *out holds the defaults and owns nothing (freeing it is harmless), and err (may be NULL)
 * names the key and position. The file name appears in messages as given.
 */
hv_config_status hv_config_load_file(const char *path, hv_config *out, hv_config_error *err);

/*
 * The same from a buffer (need not be NUL-terminated). `name` is what messages call the source
 * (e.g. the file name); NULL means "config".
 */
hv_config_status hv_config_load_buffer(const char *name, const void *data, size_t size,
                                       hv_config *out, hv_config_error *err);

/*
 * Checks every value of a filled config against the rules the loader applies (ranges, formats,
 * cross-key rules). For configs built or changed in code; err->line is 0 (there is no file).
 */
hv_config_status hv_config_validate(const hv_config *config, hv_config_error *err);

/*
 * What `hypervisor serve --check-config FILE` runs: loads, validates, frees. HV_CONFIG_OK when the
 * server would start with this file; otherwise err says why, exactly as the start-up would.
 */
hv_config_status hv_config_check_file(const char *path, hv_config_error *err);

/* ---- Where the configuration comes from (docs/config.md, "Finding the configuration") ------- */

#define HV_CONFIG_ENV "HYPERVISOR_CONFIG"           /* a file, when --config is not given */
#define HV_CONFIG_SYSTEM_FILE "/etc/hypervisor/config.yaml" /* used when it exists */
#define HV_CONFIG_HOST_ENV "HYPERVISOR_HOST"        /* overrides server.host */
#define HV_CONFIG_PORT_ENV "HYPERVISOR_PORT"        /* overrides server.port */
/* The log level's override is HYPERVISOR_LOG (hv_log.h), applied by the logger itself. */

typedef enum hv_config_source {
  HV_CONFIG_SOURCE_OPTION,   /* --config FILE */
  HV_CONFIG_SOURCE_ENV,      /* HYPERVISOR_CONFIG */
  HV_CONFIG_SOURCE_SYSTEM,   /* HV_CONFIG_SYSTEM_FILE, which exists */
  HV_CONFIG_SOURCE_DEFAULTS, /* none of these: the embedded defaults */
} hv_config_source;

/* "--config", "HYPERVISOR_CONFIG", "system", "defaults"; "?" otherwise. */
const char *hv_config_source_name(hv_config_source source);

/*
 * Picks the configuration file, first match wins: `option` (--config), `env_value` (the value of
 * HYPERVISOR_CONFIG), `system_file` when it exists (any kind of entry: one that cannot be read
 * is a load error, never skipped). NULL or "" means not given. *path is the chosen file (one of
 * the arguments, borrowed) or NULL with HV_CONFIG_SOURCE_DEFAULTS. Reads no file.
 */
hv_config_source hv_config_discover(const char *option, const char *env_value,
                                    const char *system_file, const char **path);

/*
 * Applies the environment overrides to a loaded config: `host` (HYPERVISOR_HOST) replaces
 * server.host and `port` (HYPERVISOR_PORT) server.port; NULL or "" leaves the value. Each is
 * checked as the file's value would be; on failure nothing changes and err names the variable
 * ("HYPERVISOR_PORT: must be between 1 and 65535 (got 'abc')").
 */
hv_config_status hv_config_apply_env(hv_config *config, const char *host, const char *port,
                                     hv_config_error *err);

/* Frees what the config owns and wipes storage.dsn; freeing twice is harmless. NULL: no-op. */
void hv_config_free(hv_config *config);

/*
 * Index of the API key whose SHA-256 is `sha256`, or -1. Compares against every key in constant
 * time, so the timing says nothing about which key (if any) matched.
 */
long hv_config_find_api_key(const hv_config *config, const uint8_t sha256[32]);

#ifdef __cplusplus
}
#endif

#endif /* HV_CONFIG_H */
