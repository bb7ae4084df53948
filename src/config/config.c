/*
 * config.c: loading and validating the YAML configuration (include/hv_config.h, docs/config.md).
 *
 * Pass 1 (yaml_index.c) indexes key positions. Pass 2, here, loads the document with libcyaml.
 * Every leaf of the libcyaml schema is a string: libcyaml 1.3's integer parsing accepts "1.5" as 1,
 * "1e3" as 1 and "0b11" as 0 without an error, so numbers are parsed here, strictly. libcyaml still
 * checks the structure (unknown keys, a mapping where a string belongs, too many API keys); its log
 * callback is captured and turned into our error, with the line from the index.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cyaml/cyaml.h>

#include "config_int.h"

/* ---- Status names ---------------------------------------------------------------------------- */

const char *hv_config_status_name(hv_config_status status) {
  switch (status) {
#define HV_CONFIG__NAME(name, text) \
  case name:                        \
    return #name;
    HV_CONFIG_STATUS_MAP(HV_CONFIG__NAME)
#undef HV_CONFIG__NAME
  }
  return "HV_CONFIG_UNKNOWN";
}

const char *hv_config_status_text(hv_config_status status) {
  switch (status) {
#define HV_CONFIG__TEXT(name, text) \
  case name:                        \
    return text;
    HV_CONFIG_STATUS_MAP(HV_CONFIG__TEXT)
#undef HV_CONFIG__TEXT
  }
  return "unknown status";
}

const char *hv_config_backend_name(hv_config_backend backend) {
  switch (backend) {
    case HV_CONFIG_BACKEND_SQLITE:
      return "sqlite";
    case HV_CONFIG_BACKEND_POSTGRES:
      return "postgres";
  }
  return "?";
}

const char *hv_config_wasi_name(hv_config_wasi wasi) {
  switch (wasi) {
    case HV_CONFIG_WASI_NONE:
      return "none";
    case HV_CONFIG_WASI_STDIO:
      return "stdio";
  }
  return "?";
}

const char *hv_config_executor_name(hv_config_executor executor) {
  switch (executor) {
    case HV_CONFIG_EXECUTOR_THREAD:
      return "thread";
    case HV_CONFIG_EXECUTOR_PROCESS:
      return "process";
  }
  return "?";
}

const char *hv_config_tenancy_name(hv_config_tenancy tenancy) {
  switch (tenancy) {
    case HV_CONFIG_TENANCY_DEDICATED:
      return "dedicated";
    case HV_CONFIG_TENANCY_SHARED:
      return "shared";
  }
  return "?";
}

/* ---- Numeric keys: one table for loading, validating and the docs ---------------------------- */

/* X(section, key, min, max). docs/config.md repeats these bounds; keep them in step. */
#define CFG_NUMBERS(X)                            \
  X(server, port, 1, 65535)                       \
  X(server, workers, 1, 1024)                     \
  X(server, max_body_bytes, 1024, 1073741824)     \
  X(wasm, max_memory_mb, 1, 4096)                 \
  X(wasm, max_execution_time_seconds, 1, 300)     \
  X(wasm, max_concurrent_executions, 1, 10000)    \
  X(wasm, max_concurrent_per_key, 1, 10000)       \
  X(wasm, worker_processes, 0, 1024)              \
  X(wasm, default_gas_limit, 1, 1000000000000000) \
  X(wasm, max_result_bytes, 1, 1073741824)        \
  X(crypto, key_rotation_hours, 1, 8760)          \
  X(crypto, commitment_retention_days, 1, 3650)   \
  X(rate_limit, requests_per_second, 1, 1000000)  \
  X(rate_limit, burst, 1, 1000000)                \
  X(storage, connections, 1, 64)

void hv_config_defaults(hv_config *c) {
  memset(c, 0, sizeof *c);
  snprintf(c->server.host, sizeof c->server.host, "127.0.0.1");
  c->server.port = 3000;
  c->server.workers = 4;
  c->server.max_body_bytes = 16777216;
  c->server.playground = true; /* development defaults only: hv_config_load_* turn it off */
  c->wasm.max_memory_mb = 64;
  c->wasm.max_execution_time_seconds = 10;
  c->wasm.max_concurrent_executions = 100;
  c->wasm.max_concurrent_per_key = 50;
  c->wasm.default_gas_limit = UINT64_C(10000000000);
  c->wasm.max_result_bytes = 16777216;
  c->wasm.executor = HV_CONFIG_EXECUTOR_PROCESS; /* untrusted code never runs beside the keys */
  c->wasm.worker_tenancy = HV_CONFIG_TENANCY_DEDICATED; /* a worker never serves two API keys */
  c->crypto.key_rotation_hours = 1;
  c->crypto.commitment_retention_days = 7;
  snprintf(c->crypto.key_dir, sizeof c->crypto.key_dir, "./data/keys");
  c->storage.backend = HV_CONFIG_BACKEND_SQLITE;
  snprintf(c->storage.path, sizeof c->storage.path, "./data/audit.db");
  c->storage.transparency_log = true;
  c->storage.connections = 4;
  c->auth.api_keys = NULL;
  c->auth.api_key_count = 0;
  c->rate_limit.requests_per_second = 50;
  c->rate_limit.burst = 100;
  c->logging.level = HV_LOG_INFO;
  c->logging.file[0] = '\0';
}

void hv_config_free(hv_config *c) {
  if (c == NULL) return;
  free(c->auth.api_keys);
  c->auth.api_keys = NULL;
  c->auth.api_key_count = 0;
  /* The DSN may carry a database password. */
  volatile char *dsn = c->storage.dsn;
  for (size_t i = 0; i < sizeof c->storage.dsn; i++) dsn[i] = 0;
}

long hv_config_find_api_key(const hv_config *c, const uint8_t sha256[32]) {
  /* Every key is compared in full, and the match is selected without a branch on secret data. */
  long found = -1;
  for (size_t k = 0; k < c->auth.api_key_count; k++) {
    unsigned diff = 0;
    for (size_t i = 0; i < 32; i++) diff |= (unsigned)(c->auth.api_keys[k].sha256[i] ^ sha256[i]);
    /* mask is all ones when diff == 0. */
    long mask = -(long)((diff - 1u) >> 31 & 1u);
    found = (found & ~mask) | ((long)k & mask);
  }
  return found;
}

/* ---- The libcyaml schema: every leaf a string ------------------------------------------------ */

typedef struct raw_tls {
  char *cert, *key;
} raw_tls;
typedef struct raw_server {
  char *host, *port, *workers, *max_body_bytes;
  raw_tls *tls;
  char *metrics_token_sha256;
  char **cors_origins;
  unsigned cors_origins_count;
  char *playground, *playground_dir;
} raw_server;
typedef struct raw_wasm {
  char *max_memory_mb, *max_execution_time_seconds, *max_concurrent_executions, *default_gas_limit;
  char *max_concurrent_per_key, *max_result_bytes, *wasi, *executor, *worker_tenancy;
  char *worker_processes;
} raw_wasm;
typedef struct raw_crypto {
  char *key_rotation_hours, *commitment_retention_days, *key_dir, *kek_file;
} raw_crypto;
typedef struct raw_storage {
  char *backend, *path, *dsn, *transparency_log, *connections;
} raw_storage;
typedef struct raw_api_key {
  char *id, *sha256;
} raw_api_key;
typedef struct raw_auth {
  raw_api_key *api_keys;
  unsigned api_keys_count;
} raw_auth;
typedef struct raw_rate_limit {
  char *requests_per_second, *burst;
} raw_rate_limit;
typedef struct raw_logging {
  char *level, *file;
} raw_logging;
typedef struct raw_config {
  raw_server *server;
  raw_wasm *wasm;
  raw_crypto *crypto;
  raw_storage *storage;
  raw_auth *auth;
  raw_rate_limit *rate_limit;
  raw_logging *logging;
} raw_config;

#define OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
/* A section or list written with no value ("server:", "server: null") counts as absent. */
#define OPT_NULL (CYAML_FLAG_POINTER_NULL_STR | CYAML_FLAG_OPTIONAL)
#define STR(key, type, member) CYAML_FIELD_STRING_PTR(key, OPT, type, member, 0, CYAML_UNLIMITED)

static const cyaml_schema_field_t tls_fields[] = {
    STR("cert", raw_tls, cert),
    STR("key", raw_tls, key),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t origin_schema = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};
static const cyaml_schema_field_t server_fields[] = {
    STR("host", raw_server, host),
    STR("port", raw_server, port),
    STR("workers", raw_server, workers),
    STR("max_body_bytes", raw_server, max_body_bytes),
    CYAML_FIELD_MAPPING_PTR("tls", OPT_NULL, raw_server, tls, tls_fields),
    STR("metrics_token_sha256", raw_server, metrics_token_sha256),
    CYAML_FIELD_SEQUENCE("cors_origins", OPT_NULL, raw_server, cors_origins, &origin_schema, 0,
                         HV_CONFIG_CORS_ORIGINS_MAX),
    STR("playground", raw_server, playground),
    STR("playground_dir", raw_server, playground_dir),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t wasm_fields[] = {
    STR("max_memory_mb", raw_wasm, max_memory_mb),
    STR("max_execution_time_seconds", raw_wasm, max_execution_time_seconds),
    STR("max_concurrent_executions", raw_wasm, max_concurrent_executions),
    STR("default_gas_limit", raw_wasm, default_gas_limit),
    STR("max_concurrent_per_key", raw_wasm, max_concurrent_per_key),
    STR("max_result_bytes", raw_wasm, max_result_bytes),
    STR("wasi", raw_wasm, wasi),
    STR("executor", raw_wasm, executor),
    STR("worker_tenancy", raw_wasm, worker_tenancy),
    STR("worker_processes", raw_wasm, worker_processes),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t crypto_fields[] = {
    STR("key_rotation_hours", raw_crypto, key_rotation_hours),
    STR("commitment_retention_days", raw_crypto, commitment_retention_days),
    STR("key_dir", raw_crypto, key_dir),
    STR("kek_file", raw_crypto, kek_file),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t storage_fields[] = {
    STR("backend", raw_storage, backend),
    STR("path", raw_storage, path),
    STR("dsn", raw_storage, dsn),
    STR("transparency_log", raw_storage, transparency_log),
    STR("connections", raw_storage, connections),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t api_key_fields[] = {
    STR("id", raw_api_key, id),
    STR("sha256", raw_api_key, sha256),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t api_key_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, raw_api_key, api_key_fields),
};
static const cyaml_schema_field_t auth_fields[] = {
    CYAML_FIELD_SEQUENCE("api_keys", OPT_NULL, raw_auth, api_keys, &api_key_schema, 0,
                         HV_CONFIG_API_KEYS_MAX),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t rate_limit_fields[] = {
    STR("requests_per_second", raw_rate_limit, requests_per_second),
    STR("burst", raw_rate_limit, burst),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t logging_fields[] = {
    STR("level", raw_logging, level),
    CYAML_FIELD_STRING_PTR("file", OPT_NULL, raw_logging, file, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};
static const cyaml_schema_field_t top_fields[] = {
    CYAML_FIELD_MAPPING_PTR("server", OPT_NULL, raw_config, server, server_fields),
    CYAML_FIELD_MAPPING_PTR("wasm", OPT_NULL, raw_config, wasm, wasm_fields),
    CYAML_FIELD_MAPPING_PTR("crypto", OPT_NULL, raw_config, crypto, crypto_fields),
    CYAML_FIELD_MAPPING_PTR("storage", OPT_NULL, raw_config, storage, storage_fields),
    CYAML_FIELD_MAPPING_PTR("auth", OPT_NULL, raw_config, auth, auth_fields),
    CYAML_FIELD_MAPPING_PTR("rate_limit", OPT_NULL, raw_config, rate_limit, rate_limit_fields),
    CYAML_FIELD_MAPPING_PTR("logging", OPT_NULL, raw_config, logging, logging_fields),
    CYAML_FIELD_END,
};
static const cyaml_schema_value_t top_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, raw_config, top_fields),
};

/* ---- Capturing libcyaml's log ---------------------------------------------------------------- */

#define CAPTURE_LINES 16
#define CAPTURE_LINE_MAX 256

/* One entry per log call: the first is the error, the rest its backtrace, innermost first. */
typedef struct capture {
  char lines[CAPTURE_LINES][CAPTURE_LINE_MAX];
  unsigned count;
} capture;

/* libcyaml's format strings are its own, checked when it was built. */
static void capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
    __attribute__((format(printf, 3, 0)));

static void capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args) {
  capture *cap = ctx;
  if (level < CYAML_LOG_ERROR || cap->count == CAPTURE_LINES) return;
  char *line = cap->lines[cap->count++];
  vsnprintf(line, CAPTURE_LINE_MAX, fmt, args);
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
}

typedef struct backtrace {
  char path[HV_CONFIG_KEY_MAX]; /* outermost first: "auth.api_keys[0]" */
  unsigned line, col;           /* libcyaml's own position of the innermost frame; 0 if none */
  char message[CAPTURE_LINE_MAX];
} backtrace;

/* Reads "… (line: L, column: C)" at the end of s. */
static void parse_position(const char *s, unsigned *line, unsigned *col) {
  const char *p = strstr(s, "(line: ");
  if (p == NULL) return;
  *line = (unsigned)strtoul(p + 7, NULL, 10);
  const char *c = strstr(p, "column: ");
  if (c != NULL) *col = (unsigned)strtoul(c + 8, NULL, 10);
}

static void parse_backtrace(const capture *cap, backtrace *bt) {
  memset(bt, 0, sizeof *bt);
  if (cap->count == 0) return;
  const char *msg = cap->lines[0];
  if (strncmp(msg, "Load: ", 6) == 0) msg += 6;
  snprintf(bt->message, sizeof bt->message, "%s", msg);

  /* Frames, innermost first; collect their components, then join them outermost first. */
  char comps[CAPTURE_LINES][CFG_KEY_NAME_MAX + 24];
  unsigned ncomp = 0;
  bool have_pos = false;
  for (unsigned i = 1; i < cap->count; i++) {
    const char *f = cap->lines[i];
    while (*f == ' ') f++;
    const char *field = "in mapping field '", *entry = "in sequence entry '";
    char *comp = comps[ncomp];
    comp[0] = '\0';
    if (strncmp(f, field, strlen(field)) == 0) {
      const char *start = f + strlen(field);
      const char *end = strstr(start, "' (line:");
      size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
      comp[0] = '.';
      comp[1] = '\0';
      cfg_path_append(comp, sizeof comps[0], start,
                      len < CFG_KEY_NAME_MAX ? len : CFG_KEY_NAME_MAX);
    } else if (strncmp(f, entry, strlen(entry)) == 0) {
      /* libcyaml counts entries from 1; paths count from 0. */
      unsigned long n = strtoul(f + strlen(entry), NULL, 10);
      snprintf(comp, sizeof comps[0], "[%lu]", n > 0 ? n - 1 : 0);
    } else if (strncmp(f, "in mapping", 10) != 0) {
      continue; /* "Backtrace:" and anything unknown */
    }
    if (!have_pos) {
      parse_position(f, &bt->line, &bt->col);
      have_pos = true;
    }
    if (comp[0] != '\0') ncomp++;
  }
  for (unsigned i = ncomp; i-- > 0;) {
    const char *c = comps[i];
    if (bt->path[0] == '\0' && c[0] == '.') c++;
    cfg_path_append(bt->path, sizeof bt->path, c, strlen(c));
  }
}

/* ---- Loader context -------------------------------------------------------------------------- */

typedef struct loader {
  const char *name;
  const cfg_index *idx; /* NULL when validating a config built in code */
  hv_config_error *err;
} loader;

/* Position of `path`, or of its nearest ancestor the file has. */
static const cfg_pos *find_pos(const loader *L, const char *path) {
  if (L->idx == NULL) return NULL;
  char p[HV_CONFIG_KEY_MAX];
  snprintf(p, sizeof p, "%s", path);
  for (;;) {
    const cfg_pos *pos = cfg_index_find(L->idx, p);
    if (pos != NULL || p[0] == '\0') return pos;
    char *cut = strrchr(p, '.');
    char *br = strrchr(p, '[');
    if (br != NULL && (cut == NULL || br > cut)) cut = br;
    if (cut == NULL)
      p[0] = '\0';
    else
      *cut = '\0';
  }
}

/* A failure at the value of `key` (or at `where`, when that is not NULL). */
static hv_config_status fail_at(const loader *L, hv_config_status st, const char *key,
                                const char *where, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static hv_config_status fail_at(const loader *L, hv_config_status st, const char *key,
                                const char *where, const char *fmt, ...) {
  char text[HV_CONFIG_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  const cfg_pos *pos = find_pos(L, where != NULL ? where : key);
  unsigned line = 0, col = 0;
  if (pos != NULL) {
    line = pos->val_line;
    col = pos->val_col;
  }
  return cfg_fail(L->err, st, L->name, key, line, col, "%s", text);
}

/* ---- Values ---------------------------------------------------------------------------------- */

/* Strict decimal integer: optional '-', digits, '_' only between digits, no leading zero. */
static hv_config_status parse_number(const loader *L, const char *key, const char *raw,
                                     uint64_t min, uint64_t max, uint64_t *out) {
  const cfg_pos *pos = L->idx != NULL ? cfg_index_find(L->idx, key) : NULL;
  if (pos != NULL && pos->is_null)
    return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL, "expected an integer, got null");
  if (pos != NULL && pos->quoted)
    return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL,
                   "expected an integer, got a quoted string (write the number without quotes)");
  const char *p = raw;
  bool negative = *p == '-';
  if (*p == '-' || *p == '+') p++;
  bool ok = *p >= '0' && *p <= '9';
  bool overflow = false;
  uint64_t v = 0;
  size_t digits = 0;
  for (; ok && *p != '\0'; p++) {
    if (*p == '_') {
      ok = p[1] >= '0' && p[1] <= '9' && p[-1] >= '0' && p[-1] <= '9';
      continue;
    }
    if (*p < '0' || *p > '9') {
      ok = false;
      break;
    }
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10)
      overflow = true;
    else
      v = v * 10 + d;
    digits++;
  }
  if (!ok) {
    return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL, "expected an integer, got '%.40s'", raw);
  }
  const char *first = raw + (raw[0] == '-' || raw[0] == '+');
  if (digits > 1 && first[0] == '0') {
    /* YAML 1.1 reads 010 as octal 8, YAML 1.2 as 10: refuse rather than guess. */
    return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                   "'%.40s': a leading zero is ambiguous (octal in YAML 1.1)", raw);
  }
  if (overflow || (negative && v != 0) || v < min || v > max) {
    return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "must be between %llu and %llu (got %.40s)",
                   (unsigned long long)min, (unsigned long long)max, raw);
  }
  *out = v;
  return HV_CONFIG_OK;
}

/* A string leaf: refuses null (unless nullable) and copies it into dst[size]. */
static hv_config_status take_string(const loader *L, const char *key, const char *raw, char *dst,
                                    size_t size) {
  const cfg_pos *pos = L->idx != NULL ? cfg_index_find(L->idx, key) : NULL;
  if (pos != NULL && pos->is_null)
    return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL, "expected a string, got null");
  size_t len = strlen(raw);
  if (len >= size) {
    return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "longer than %zu bytes", size - 1);
  }
  memcpy(dst, raw, len + 1);
  return HV_CONFIG_OK;
}

/* A leaf that is one of two words (wasm.wasi, wasm.executor, wasm.worker_tenancy): *out gets the
 * word's index. `what` names the value in the message ("executor"). */
static hv_config_status take_word(const loader *L, const char *key, const char *raw,
                                  const char *const words[2], const char *what, int *out) {
  const cfg_pos *pos = L->idx != NULL ? cfg_index_find(L->idx, key) : NULL;
  if (pos != NULL && pos->is_null)
    return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL, "expected %s or %s, got null", words[0],
                   words[1]);
  for (int k = 0; k < 2; k++)
    if (strcmp(raw, words[k]) == 0) {
      *out = k;
      return HV_CONFIG_OK;
    }
  return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "unknown %s '%.40s' (expected %s or %s)", what,
                 raw, words[0], words[1]);
}

static bool valid_hostname(const char *h) {
  size_t len = strlen(h);
  if (len == 0 || len > 253) return false;
  const char *label = h;
  bool last_all_digits = true;
  for (const char *p = h;; p++) {
    if (*p == '.' || *p == '\0') {
      size_t n = (size_t)(p - label);
      if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-') return false;
      last_all_digits = true;
      for (const char *q = label; q < p; q++) {
        bool alpha = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z');
        bool digit = *q >= '0' && *q <= '9';
        if (!alpha && !digit && *q != '-') return false;
        if (!digit) last_all_digits = false;
      }
      if (*p == '\0') break;
      label = p + 1;
    }
  }
  /* "3000" or "1.2.3.999" is no host name (RFC 1123 §2.1: the top label is not all digits). */
  return !last_all_digits;
}

static bool valid_host(const char *h) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1) return true;
  return valid_hostname(h);
}

static bool valid_key_id(const char *id) {
  size_t len = strlen(id);
  if (len == 0 || len >= HV_CONFIG_KEY_ID_SIZE) return false;
  for (const char *p = id; *p != '\0'; p++) {
    bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-';
    if (!ok) return false;
  }
  return true;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool decode_sha256(const char *hex, uint8_t out[32]) {
  if (strlen(hex) != 64) return false;
  for (size_t i = 0; i < 32; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

/* ---- CORS origins ---------------------------------------------------------------------------- */

/*
 * An origin exactly as a browser writes it in its Origin header (RFC 6454 §6.2): "http" or "https",
 * "://", a lowercase host (a name, an IPv4 literal or a bracketed IPv6 literal) and a port only when
 * it is not the scheme's default. Anything else could never equal a browser's Origin and would
 * fail silently, so it is refused with the reason. Returns NULL when `o` is valid.
 */
static const char *origin_problem(const char *o) {
  const char *rest;
  unsigned default_port;
  if (strcmp(o, "null") == 0)
    return "'null' is the origin of sandboxed and file: pages: any page can send it, so it is "
           "never allowed";
  if (strncmp(o, "https://", 8) == 0) {
    rest = o + 8;
    default_port = 443;
  } else if (strncmp(o, "http://", 7) == 0) {
    rest = o + 7;
    default_port = 80;
  } else {
    return "must start with http:// or https:// (an origin is scheme://host[:port])";
  }
  if (strpbrk(rest, "/?#@") != NULL)
    return "an origin has no path, query, fragment, user name or trailing '/' "
           "(scheme://host[:port])";
  const char *port = NULL;
  char host[HV_CONFIG_HOST_SIZE + 2];
  size_t host_len;
  if (rest[0] == '[') {
    const char *close = strchr(rest, ']');
    if (close == NULL) return "an IPv6 literal needs its closing ']'";
    host_len = (size_t)(close - rest - 1);
    if (host_len == 0 || host_len >= 46) return "not an IPv6 address inside [ ]";
    memcpy(host, rest + 1, host_len);
    host[host_len] = '\0';
    unsigned char buf[16];
    if (inet_pton(AF_INET6, host, buf) != 1) return "not an IPv6 address inside [ ]";
    if (close[1] == ':')
      port = close + 2;
    else if (close[1] != '\0')
      return "only ':port' may follow the host";
  } else {
    const char *colon = strchr(rest, ':');
    host_len = colon != NULL ? (size_t)(colon - rest) : strlen(rest);
    if (host_len == 0 || host_len > 253) return "the host is missing or longer than 253 bytes";
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    unsigned char buf[4];
    if (inet_pton(AF_INET, host, buf) != 1 && !valid_hostname(host))
      return "the host is not a host name or an IPv4 address";
    if (colon != NULL) port = colon + 1;
  }
  for (const char *p = rest; *p != '\0' && *p != ':' && *p != ']'; p++)
    if (*p >= 'A' && *p <= 'Z') return "write the host in lowercase, as browsers send it";
  if (port != NULL) {
    size_t n = strlen(port);
    bool digits = n > 0 && n <= 5 && port[0] != '0';
    for (size_t i = 0; digits && i < n; i++) digits = port[i] >= '0' && port[i] <= '9';
    unsigned long v = digits ? strtoul(port, NULL, 10) : 0;
    if (!digits || v > 65535) return "the port must be a number from 1 to 65535";
    if (v == default_port)
      return "leave out the scheme's default port (browsers send https://host, not "
             "https://host:443)";
  }
  return NULL;
}

static hv_config_status check_cors_origins(const loader *L, const hv_config_server *srv) {
  if (srv->cors_origin_count > HV_CONFIG_CORS_ORIGINS_MAX)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "server.cors_origins", NULL, "at most %u entries",
                   HV_CONFIG_CORS_ORIGINS_MAX);
  for (uint32_t i = 0; i < srv->cors_origin_count; i++) {
    const char *o = srv->cors_origins[i];
    char key[HV_CONFIG_KEY_MAX];
    snprintf(key, sizeof key, "server.cors_origins[%u]", (unsigned)i);
    if (memchr(o, '\0', HV_CONFIG_ORIGIN_SIZE) == NULL)
      return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "longer than %d bytes",
                     HV_CONFIG_ORIGIN_SIZE - 1);
    if (strcmp(o, "*") == 0) {
      /* Any origin is a deliberate choice; mixed with exact ones it would hide them. */
      if (srv->cors_origin_count != 1)
        return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                       "'*' (any origin) must be the only entry of the list");
      continue;
    }
    const char *problem = origin_problem(o);
    if (problem != NULL)
      return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "'%.80s' is not an origin: %s", o, problem);
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(srv->cors_origins[j], o) == 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                       "'%.80s' is already server.cors_origins[%u]", o, (unsigned)j);
  }
  return HV_CONFIG_OK;
}

/* ---- Semantic checks shared by the loader and hv_config_validate ----------------------------- */

static hv_config_status check(const loader *L, const hv_config *c) {
  hv_config_status st;
#define CFG_CHECK_NUMBER(sec, key, lo, hi)                                               \
  if ((uint64_t)c->sec.key < (uint64_t)(lo) || (uint64_t)c->sec.key > (uint64_t)(hi))    \
    return fail_at(L, HV_CONFIG_BAD_VALUE, #sec "." #key, NULL,                          \
                   "must be between %llu and %llu (got %llu)", (unsigned long long)(lo), \
                   (unsigned long long)(hi), (unsigned long long)c->sec.key);
  CFG_NUMBERS(CFG_CHECK_NUMBER)
#undef CFG_CHECK_NUMBER

  if (c->wasm.wasi != HV_CONFIG_WASI_NONE && c->wasm.wasi != HV_CONFIG_WASI_STDIO)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "wasm.wasi", NULL, "unknown WASI profile %d",
                   (int)c->wasm.wasi);
  if (c->wasm.executor != HV_CONFIG_EXECUTOR_THREAD && c->wasm.executor != HV_CONFIG_EXECUTOR_PROCESS)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "wasm.executor", NULL, "unknown executor %d",
                   (int)c->wasm.executor);
  if (c->wasm.worker_tenancy != HV_CONFIG_TENANCY_DEDICATED &&
      c->wasm.worker_tenancy != HV_CONFIG_TENANCY_SHARED)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "wasm.worker_tenancy", NULL, "unknown tenancy %d",
                   (int)c->wasm.worker_tenancy);
  if (memchr(c->server.host, '\0', sizeof c->server.host) == NULL || !valid_host(c->server.host))
    return fail_at(L, HV_CONFIG_BAD_VALUE, "server.host", NULL,
                   "'%.64s' is not an IP address or a host name", c->server.host);
  size_t cert_len = strnlen(c->server.tls_cert, sizeof c->server.tls_cert);
  size_t key_len = strnlen(c->server.tls_key, sizeof c->server.tls_key);
  if (cert_len == sizeof c->server.tls_cert || key_len == sizeof c->server.tls_key)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "server.tls", NULL, "unterminated string");
  if ((cert_len == 0) != (key_len == 0))
    return fail_at(L, HV_CONFIG_MISSING_KEY, "server.tls", NULL,
                   "needs both cert and key (PEM files), or neither");
  if (c->server.has_metrics_token) {
    /* The token must not also be an API key: a metrics token grants /metrics only. */
    for (size_t i = 0; i < c->auth.api_key_count && c->auth.api_keys != NULL; i++)
      if (memcmp(c->auth.api_keys[i].sha256, c->server.metrics_token_sha256, 32) == 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "server.metrics_token_sha256", NULL,
                       "the same hash as auth.api_keys[%zu]: use a token of its own", i);
  }
  if ((st = check_cors_origins(L, &c->server)) != HV_CONFIG_OK) return st;
  if (memchr(c->crypto.key_dir, '\0', sizeof c->crypto.key_dir) == NULL ||
      c->crypto.key_dir[0] == '\0')
    return fail_at(L, HV_CONFIG_BAD_VALUE, "crypto.key_dir", NULL, "must not be empty");

  const char *storage_at = L->idx != NULL && cfg_index_find(L->idx, "storage.backend") != NULL
                               ? "storage.backend"
                               : "storage";
  size_t path_len = strnlen(c->storage.path, sizeof c->storage.path);
  size_t dsn_len = strnlen(c->storage.dsn, sizeof c->storage.dsn);
  if (path_len == sizeof c->storage.path || dsn_len == sizeof c->storage.dsn)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "storage", NULL, "unterminated string");
  switch (c->storage.backend) {
    case HV_CONFIG_BACKEND_SQLITE:
      if (path_len == 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.path", NULL,
                       "must not be empty with backend sqlite");
      if (dsn_len != 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.dsn", NULL,
                       "only used with backend postgres (backend is sqlite)");
      break;
    case HV_CONFIG_BACKEND_POSTGRES:
      if (dsn_len == 0)
        return fail_at(L, HV_CONFIG_MISSING_KEY, "storage.dsn", storage_at,
                       "required with backend postgres");
      if (path_len != 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.path", NULL,
                       "only used with backend sqlite (backend is postgres)");
      break;
    default:
      return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.backend", NULL, "unknown backend %d",
                     (int)c->storage.backend);
  }

  if (c->auth.api_key_count > HV_CONFIG_API_KEYS_MAX ||
      (c->auth.api_key_count > 0 && c->auth.api_keys == NULL))
    return fail_at(L, HV_CONFIG_BAD_VALUE, "auth.api_keys", NULL, "at most %u entries",
                   HV_CONFIG_API_KEYS_MAX);
  for (size_t i = 0; i < c->auth.api_key_count; i++) {
    const hv_config_api_key *k = &c->auth.api_keys[i];
    char key[HV_CONFIG_KEY_MAX];
    snprintf(key, sizeof key, "auth.api_keys[%zu].id", i);
    if (memchr(k->id, '\0', sizeof k->id) == NULL || !valid_key_id(k->id))
      return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                     "must be 1 to %d characters of A-Z a-z 0-9 . _ -", HV_CONFIG_KEY_ID_SIZE - 1);
    for (size_t j = 0; j < i; j++) {
      if (strcmp(c->auth.api_keys[j].id, k->id) == 0)
        return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                       "'%s' is already the id of auth.api_keys[%zu]", k->id, j);
      if (memcmp(c->auth.api_keys[j].sha256, k->sha256, 32) == 0) {
        snprintf(key, sizeof key, "auth.api_keys[%zu].sha256", i);
        return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL, "the same key hash as auth.api_keys[%zu]",
                       j);
      }
    }
  }

  if ((unsigned)c->logging.level > HV_LOG_ERROR)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "logging.level", NULL, "unknown level");
  if (memchr(c->logging.file, '\0', sizeof c->logging.file) == NULL)
    return fail_at(L, HV_CONFIG_BAD_VALUE, "logging.file", NULL, "unterminated string");
  return HV_CONFIG_OK;
}

hv_config_status hv_config_validate(const hv_config *config, hv_config_error *err) {
  if (config == NULL)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, "config", NULL, 0, 0, "no configuration");
  loader L = {.name = "config", .idx = NULL, .err = err};
  hv_config_status st = check(&L, config);
  if (st == HV_CONFIG_OK && err != NULL) memset(err, 0, sizeof *err);
  return st;
}

/* ---- From libcyaml's raw strings to hv_config ------------------------------------------------ */

static hv_config_status convert(const loader *L, const raw_config *r, hv_config *c) {
  hv_config_status st;
  uint64_t v;

#define CFG_LOAD_NUMBER(sec, key, lo, hi)                                                   \
  if (r->sec != NULL && r->sec->key != NULL) {                                              \
    if ((st = parse_number(L, #sec "." #key, r->sec->key, (lo), (hi), &v)) != HV_CONFIG_OK) \
      return st;                                                                            \
    c->sec.key = v;                                                                         \
  }
  CFG_NUMBERS(CFG_LOAD_NUMBER)
#undef CFG_LOAD_NUMBER

  if (r->server != NULL && r->server->host != NULL &&
      (st = take_string(L, "server.host", r->server->host, c->server.host,
                        sizeof c->server.host)) != HV_CONFIG_OK)
    return st;
  if (r->server != NULL && r->server->tls != NULL) {
    const raw_tls *t = r->server->tls;
    if (t->cert == NULL) return fail_at(L, HV_CONFIG_MISSING_KEY, "server.tls", NULL, "missing cert");
    if (t->key == NULL) return fail_at(L, HV_CONFIG_MISSING_KEY, "server.tls", NULL, "missing key");
    if ((st = take_string(L, "server.tls.cert", t->cert, c->server.tls_cert,
                          sizeof c->server.tls_cert)) != HV_CONFIG_OK ||
        (st = take_string(L, "server.tls.key", t->key, c->server.tls_key,
                          sizeof c->server.tls_key)) != HV_CONFIG_OK)
      return st;
  }
  if (r->server != NULL && r->server->metrics_token_sha256 != NULL) {
    const cfg_pos *pos = cfg_index_find(L->idx, "server.metrics_token_sha256");
    if ((pos != NULL && pos->is_null) ||
        !decode_sha256(r->server->metrics_token_sha256, c->server.metrics_token_sha256))
      return fail_at(L, HV_CONFIG_BAD_VALUE, "server.metrics_token_sha256", NULL,
                     "must be 64 hex digits: the SHA-256 of the metrics token");
    c->server.has_metrics_token = true;
  }
  if (r->server != NULL && r->server->cors_origins_count > 0) {
    if (r->server->cors_origins_count > HV_CONFIG_CORS_ORIGINS_MAX)
      return fail_at(L, HV_CONFIG_BAD_VALUE, "server.cors_origins", NULL, "at most %u entries",
                     HV_CONFIG_CORS_ORIGINS_MAX);
    for (unsigned i = 0; i < r->server->cors_origins_count; i++) {
      char key[HV_CONFIG_KEY_MAX];
      snprintf(key, sizeof key, "server.cors_origins[%u]", i);
      const char *raw = r->server->cors_origins[i];
      if (raw == NULL) return fail_at(L, HV_CONFIG_WRONG_TYPE, key, NULL, "expected an origin, got null");
      if ((st = take_string(L, key, raw, c->server.cors_origins[i],
                            sizeof c->server.cors_origins[i])) != HV_CONFIG_OK)
        return st;
    }
    c->server.cors_origin_count = r->server->cors_origins_count;
  }
  if (r->server != NULL && r->server->playground != NULL) {
    const cfg_pos *pos = cfg_index_find(L->idx, "server.playground");
    bool on = strcmp(r->server->playground, "true") == 0;
    if ((pos != NULL && pos->is_null) || (!on && strcmp(r->server->playground, "false") != 0))
      return fail_at(L, HV_CONFIG_BAD_VALUE, "server.playground", NULL,
                     "expected true or false, got '%.40s'", r->server->playground);
    c->server.playground = on;
  }
  if (r->server != NULL && r->server->playground_dir != NULL &&
      (st = take_string(L, "server.playground_dir", r->server->playground_dir,
                        c->server.playground_dir, sizeof c->server.playground_dir)) != HV_CONFIG_OK)
    return st;
  if (r->crypto != NULL && r->crypto->key_dir != NULL &&
      (st = take_string(L, "crypto.key_dir", r->crypto->key_dir, c->crypto.key_dir,
                        sizeof c->crypto.key_dir)) != HV_CONFIG_OK)
    return st;
  if (r->crypto != NULL && r->crypto->kek_file != NULL &&
      (st = take_string(L, "crypto.kek_file", r->crypto->kek_file, c->crypto.kek_file,
                        sizeof c->crypto.kek_file)) != HV_CONFIG_OK)
    return st;

  if (r->wasm != NULL && r->wasm->wasi != NULL) {
    static const char *const words[] = {"none", "stdio"};
    int k = 0;
    if ((st = take_word(L, "wasm.wasi", r->wasm->wasi, words, "WASI profile", &k)) != HV_CONFIG_OK)
      return st;
    c->wasm.wasi = k == 0 ? HV_CONFIG_WASI_NONE : HV_CONFIG_WASI_STDIO;
  }
  if (r->wasm != NULL && r->wasm->executor != NULL) {
    static const char *const words[] = {"thread", "process"};
    int k = 0;
    if ((st = take_word(L, "wasm.executor", r->wasm->executor, words, "executor", &k)) !=
        HV_CONFIG_OK)
      return st;
    c->wasm.executor = k == 0 ? HV_CONFIG_EXECUTOR_THREAD : HV_CONFIG_EXECUTOR_PROCESS;
  }
  if (r->wasm != NULL && r->wasm->worker_tenancy != NULL) {
    static const char *const words[] = {"dedicated", "shared"};
    int k = 0;
    if ((st = take_word(L, "wasm.worker_tenancy", r->wasm->worker_tenancy, words, "tenancy",
                        &k)) != HV_CONFIG_OK)
      return st;
    c->wasm.worker_tenancy = k == 0 ? HV_CONFIG_TENANCY_DEDICATED : HV_CONFIG_TENANCY_SHARED;
  }

  if (r->storage != NULL) {
    const raw_storage *s = r->storage;
    if (s->backend != NULL) {
      const cfg_pos *pos = cfg_index_find(L->idx, "storage.backend");
      if (pos != NULL && pos->is_null)
        return fail_at(L, HV_CONFIG_WRONG_TYPE, "storage.backend", NULL,
                       "expected sqlite or postgres, got null");
      if (strcmp(s->backend, "sqlite") == 0) {
        c->storage.backend = HV_CONFIG_BACKEND_SQLITE;
      } else if (strcmp(s->backend, "postgres") == 0) {
        c->storage.backend = HV_CONFIG_BACKEND_POSTGRES;
        c->storage.path[0] = '\0'; /* the sqlite default does not apply */
      } else {
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.backend", NULL,
                       "unknown backend '%.40s' (expected sqlite or postgres)", s->backend);
      }
    }
    if (s->path != NULL) {
      if (c->storage.backend != HV_CONFIG_BACKEND_SQLITE)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.path", "storage.path",
                       "only used with backend sqlite (backend is postgres)");
      if ((st = take_string(L, "storage.path", s->path, c->storage.path, sizeof c->storage.path)) !=
          HV_CONFIG_OK)
        return st;
    }
    if (s->transparency_log != NULL) {
      if (strcmp(s->transparency_log, "true") == 0)
        c->storage.transparency_log = true;
      else if (strcmp(s->transparency_log, "false") == 0)
        c->storage.transparency_log = false;
      else
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.transparency_log", NULL,
                       "expected true or false, got '%.40s'", s->transparency_log);
    }
    if (s->dsn != NULL) {
      if (c->storage.backend != HV_CONFIG_BACKEND_POSTGRES)
        return fail_at(L, HV_CONFIG_BAD_VALUE, "storage.dsn", NULL,
                       "only used with backend postgres (backend is sqlite)");
      if ((st = take_string(L, "storage.dsn", s->dsn, c->storage.dsn, sizeof c->storage.dsn)) !=
          HV_CONFIG_OK)
        return st;
    }
  }

  if (r->auth != NULL && r->auth->api_keys_count > 0) {
    size_t n = r->auth->api_keys_count;
    c->auth.api_keys = calloc(n, sizeof *c->auth.api_keys);
    if (c->auth.api_keys == NULL)
      return cfg_fail(L->err, HV_CONFIG_NO_MEMORY, L->name, NULL, 0, 0, "out of memory");
    c->auth.api_key_count = n;
    for (size_t i = 0; i < n; i++) {
      const raw_api_key *k = &r->auth->api_keys[i];
      char key[HV_CONFIG_KEY_MAX];
      snprintf(key, sizeof key, "auth.api_keys[%zu]", i);
      if (k->id == NULL) return fail_at(L, HV_CONFIG_MISSING_KEY, key, NULL, "missing id");
      if (k->sha256 == NULL) return fail_at(L, HV_CONFIG_MISSING_KEY, key, NULL, "missing sha256");
      snprintf(key, sizeof key, "auth.api_keys[%zu].id", i);
      if ((st = take_string(L, key, k->id, c->auth.api_keys[i].id,
                            sizeof c->auth.api_keys[i].id)) != HV_CONFIG_OK)
        return st;
      snprintf(key, sizeof key, "auth.api_keys[%zu].sha256", i);
      const cfg_pos *pos = cfg_index_find(L->idx, key);
      if ((pos != NULL && pos->is_null) || !decode_sha256(k->sha256, c->auth.api_keys[i].sha256))
        return fail_at(L, HV_CONFIG_BAD_VALUE, key, NULL,
                       "must be 64 hex digits: the SHA-256 of the API key");
    }
  }

  if (r->logging != NULL) {
    if (r->logging->level != NULL) {
      const cfg_pos *pos = cfg_index_find(L->idx, "logging.level");
      if ((pos != NULL && pos->is_null) ||
          !hv_log_level_parse(r->logging->level, &c->logging.level))
        return fail_at(L, HV_CONFIG_BAD_VALUE, "logging.level", NULL,
                       "unknown level '%.40s' (expected debug, info, warn or error)",
                       r->logging->level);
    }
    if (r->logging->file != NULL &&
        (st = take_string(L, "logging.file", r->logging->file, c->logging.file,
                          sizeof c->logging.file)) != HV_CONFIG_OK)
      return st;
  }
  return HV_CONFIG_OK;
}

/* ---- libcyaml failures as our errors --------------------------------------------------------- */

static const cyaml_schema_field_t *fields_at(const char *path) {
  /* Walks the schema along "a.b[0].c"; NULL if the path leaves it. */
  const cyaml_schema_field_t *fields = top_fields;
  const char *p = path;
  while (*p != '\0') {
    if (*p == '.') p++;
    if (*p == '[') {
      p = strchr(p, ']');
      if (p == NULL) return NULL;
      p++;
      continue;
    }
    size_t n = strcspn(p, ".[");
    const cyaml_schema_field_t *f = fields;
    while (f->key != NULL && !(strlen(f->key) == n && strncmp(f->key, p, n) == 0)) f++;
    if (f->key == NULL) return NULL;
    if (f->value.type == CYAML_MAPPING)
      fields = f->value.mapping.fields;
    else if (f->value.type == CYAML_SEQUENCE && f->value.sequence.entry->type == CYAML_MAPPING)
      fields = f->value.sequence.entry->mapping.fields;
    else
      return NULL;
    p += n;
  }
  return fields;
}

static bool is_number_key(const char *path) {
#define CFG_IS_NUMBER(sec, key, lo, hi) \
  if (strcmp(path, #sec "." #key) == 0) return true;
  CFG_NUMBERS(CFG_IS_NUMBER)
#undef CFG_IS_NUMBER
  return false;
}

static const char *kind_name(const cfg_pos *pos) {
  if (pos == NULL) return "something else";
  switch (pos->kind) {
    case CFG_NODE_MAPPING:
      return "a mapping";
    case CFG_NODE_SEQUENCE:
      return "a list";
    case CFG_NODE_SCALAR:
      return pos->is_null ? "null" : "a scalar";
  }
  return "something else";
}

static hv_config_status cyaml_failure(const loader *L, cyaml_err_t e, const capture *cap) {
  backtrace bt;
  parse_backtrace(cap, &bt);
  const char *unexpected = "Unexpected key: ";

  if (e == CYAML_ERR_INVALID_KEY && strncmp(bt.message, unexpected, strlen(unexpected)) == 0) {
    const char *name = bt.message + strlen(unexpected);
    char key[HV_CONFIG_KEY_MAX];
    snprintf(key, sizeof key, "%s", bt.path);
    if (key[0] != '\0') cfg_path_append(key, sizeof key, ".", 1);
    cfg_path_append(key, sizeof key, name, strlen(name));
    char known[256] = "";
    const cyaml_schema_field_t *fields = fields_at(bt.path);
    for (const cyaml_schema_field_t *f = fields; f != NULL && f->key != NULL; f++) {
      size_t len = strlen(known);
      snprintf(known + len, sizeof known - len, "%s%s", len > 0 ? ", " : "", f->key);
    }
    const cfg_pos *pos = cfg_index_find(L->idx, key);
    unsigned line = pos != NULL ? pos->key_line : bt.line;
    unsigned col = pos != NULL ? pos->key_col : bt.col;
    return cfg_fail(L->err, HV_CONFIG_UNKNOWN_KEY, L->name, key, line, col,
                    "unknown key (expected one of: %s)", known);
  }

  const cfg_pos *pos = cfg_index_find(L->idx, bt.path);
  unsigned line = pos != NULL ? pos->val_line : bt.line;
  unsigned col = pos != NULL ? pos->val_col : bt.col;
  switch (e) {
    case CYAML_ERR_INVALID_VALUE: {
      const char *expected = "a mapping";
      if (is_number_key(bt.path))
        expected = "an integer";
      else if (strstr(bt.message, "Expecting STRING") != NULL)
        expected = "a string";
      else if (strstr(bt.message, "Expecting SEQUENCE") != NULL)
        expected = "a list";
      if (bt.path[0] == '\0')
        return cfg_fail(L->err, HV_CONFIG_WRONG_TYPE, L->name, NULL, line, col,
                        "the document must be a mapping of sections, not %s", kind_name(pos));
      return cfg_fail(L->err, HV_CONFIG_WRONG_TYPE, L->name, bt.path, line, col,
                      "expected %s, got %s", expected, kind_name(pos));
    }
    case CYAML_ERR_SEQUENCE_ENTRIES_MAX: {
      char key[HV_CONFIG_KEY_MAX];
      snprintf(key, sizeof key, "%s", bt.path);
      char *br = strrchr(key, '[');
      if (br != NULL) *br = '\0';
      pos = cfg_index_find(L->idx, key);
      unsigned most = strcmp(key, "server.cors_origins") == 0 ? HV_CONFIG_CORS_ORIGINS_MAX
                                                               : HV_CONFIG_API_KEYS_MAX;
      return cfg_fail(L->err, HV_CONFIG_BAD_VALUE, L->name, key, pos ? pos->val_line : line,
                      pos ? pos->val_col : col, "at most %u entries", most);
    }
    case CYAML_ERR_OOM:
      return cfg_fail(L->err, HV_CONFIG_NO_MEMORY, L->name, NULL, 0, 0, "out of memory");
    default:
      /* libcyaml's own first line could quote a value (a DSN): give its error code only. */
      return cfg_fail(L->err, HV_CONFIG_INTERNAL, L->name, bt.path, line, col,
                      "rejected by the schema: %s", cyaml_strerror(e));
  }
}

/*
 * libcyaml reads the words null, ~ and "" as NULL for the nullable keys (sections, api_keys,
 * logging.file) even when they are quoted. The index knows the style: a quoted word is refused.
 */
static hv_config_status check_nulls(const loader *L, const raw_config *r) {
  static const char *const nullable[] = {"server",  "wasm",          "crypto",
                                         "storage", "auth",          "rate_limit",
                                         "logging", "auth.api_keys", "logging.file",
                                         "server.cors_origins"};
  for (size_t i = 0; i < sizeof nullable / sizeof nullable[0]; i++) {
    const cfg_pos *pos = cfg_index_find(L->idx, nullable[i]);
    if (pos == NULL || pos->kind != CFG_NODE_SCALAR || pos->is_null) continue;
    bool loaded;
    if (i == 7)
      loaded = r != NULL && r->auth != NULL && r->auth->api_keys != NULL;
    else if (i == 9)
      loaded = r != NULL && r->server != NULL && r->server->cors_origins != NULL;
    else if (i == 8)
      loaded = r != NULL && r->logging != NULL && r->logging->file != NULL;
    else
      loaded = false; /* a section given as a string never loads */
    if (loaded) continue;
    if (i == 8)
      return fail_at(L, HV_CONFIG_BAD_VALUE, nullable[i], NULL,
                     "a quoted null or empty string is not a file (write null, or leave the key "
                     "out, for stderr)");
    return fail_at(L, HV_CONFIG_WRONG_TYPE, nullable[i], NULL, "expected %s, got a quoted string",
                   i == 7 || i == 9 ? "a list" : "a mapping");
  }
  return HV_CONFIG_OK;
}

/* ---- Entry points ---------------------------------------------------------------------------- */

hv_config_status hv_config_load_buffer(const char *name, const void *data, size_t size,
                                       hv_config *out, hv_config_error *err) {
  if (name == NULL) name = "config";
  if (out == NULL)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, name, NULL, 0, 0, "invalid argument");
  hv_config_defaults(out);
  out->server.playground = false; /* a configuration file turns the playground on by name */
  if (data == NULL && size > 0)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, name, NULL, 0, 0, "invalid argument");
  if (size > HV_CONFIG_FILE_MAX)
    return cfg_fail(err, HV_CONFIG_TOO_LARGE, name, NULL, 0, 0, "larger than %u bytes",
                    HV_CONFIG_FILE_MAX);

  cfg_index idx;
  raw_config *raw = NULL;
  capture cap = {.count = 0};
  cyaml_config_t cy = {
      .log_fn = capture_log,
      .log_ctx = &cap,
      .mem_fn = cyaml_mem,
      .log_level = CYAML_LOG_ERROR,
      .flags = CYAML_CFG_NO_ALIAS,
  };
  loader L = {.name = name, .idx = &idx, .err = err};
  static const uint8_t empty[1] = {0};
  const uint8_t *bytes = size > 0 ? data : empty;

  hv_config_status st = cfg_index_build(name, bytes, size, &idx, err);
  if (st != HV_CONFIG_OK) goto out;
  const cfg_pos *root = cfg_index_find(&idx, "");
  /* No document, or an empty one, means every default; libcyaml is not asked. */
  if (!idx.empty && !(root != NULL && root->kind == CFG_NODE_SCALAR && root->is_null)) {
    cyaml_err_t e = cyaml_load_data(bytes, size, &cy, &top_schema, (cyaml_data_t **)&raw, NULL);
    if (e != CYAML_OK) {
      st = cyaml_failure(&L, e, &cap);
      goto out;
    }
    if ((st = check_nulls(&L, raw)) != HV_CONFIG_OK) goto out;
    if (raw != NULL && (st = convert(&L, raw, out)) != HV_CONFIG_OK) goto out;
  }
  st = check(&L, out);
out:
  if (raw != NULL) cyaml_free(&cy, &top_schema, raw, 0);
  cfg_index_free(&idx);
  if (st != HV_CONFIG_OK) {
    hv_config_free(out);
    hv_config_defaults(out);
  } else if (err != NULL) {
    memset(err, 0, sizeof *err);
  }
  return st;
}

hv_config_status hv_config_load_file(const char *path, hv_config *out, hv_config_error *err) {
  if (out == NULL)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, "config", NULL, 0, 0, "invalid argument");
  hv_config_defaults(out);
  if (path == NULL)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, "config", NULL, 0, 0, "no file name");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    char ebuf[128];
    return cfg_fail(err, HV_CONFIG_IO, path, NULL, 0, 0, "cannot open: %s",
                    strerror_r(errno, ebuf, sizeof ebuf));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cfg_fail(err, HV_CONFIG_IO, path, NULL, 0, 0, "not a regular file");
  }
  if (st.st_size > (off_t)HV_CONFIG_FILE_MAX) {
    close(fd);
    return cfg_fail(err, HV_CONFIG_TOO_LARGE, path, NULL, 0, 0, "larger than %u bytes",
                    HV_CONFIG_FILE_MAX);
  }
  /* Read up to one byte more than allowed, in case the file grew since fstat. */
  size_t cap = (size_t)st.st_size + 1, len = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return cfg_fail(err, HV_CONFIG_NO_MEMORY, path, NULL, 0, 0, "out of memory");
  }
  for (;;) {
    if (len == cap) {
      if (cap > HV_CONFIG_FILE_MAX) break;
      size_t ncap = cap * 2 > HV_CONFIG_FILE_MAX + 1 ? HV_CONFIG_FILE_MAX + 1 : cap * 2;
      uint8_t *grown = realloc(buf, ncap);
      if (grown == NULL) {
        free(buf);
        close(fd);
        return cfg_fail(err, HV_CONFIG_NO_MEMORY, path, NULL, 0, 0, "out of memory");
      }
      buf = grown;
      cap = ncap;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      char ebuf[128];
      hv_config_status s = cfg_fail(err, HV_CONFIG_IO, path, NULL, 0, 0, "cannot read: %s",
                                    strerror_r(errno, ebuf, sizeof ebuf));
      free(buf);
      close(fd);
      return s;
    }
    if (n == 0) break;
    len += (size_t)n;
  }
  close(fd);
  hv_config_status s = hv_config_load_buffer(path, buf, len, out, err);
  free(buf);
  return s;
}

hv_config_status hv_config_check_file(const char *path, hv_config_error *err) {
  hv_config c;
  hv_config_status st = hv_config_load_file(path, &c, err);
  hv_config_free(&c);
  return st;
}

/* ---- Discovery and environment overrides ----------------------------------------------------- */

const char *hv_config_source_name(hv_config_source source) {
  switch (source) {
    case HV_CONFIG_SOURCE_OPTION:
      return "--config";
    case HV_CONFIG_SOURCE_ENV:
      return HV_CONFIG_ENV;
    case HV_CONFIG_SOURCE_SYSTEM:
      return "system";
    case HV_CONFIG_SOURCE_DEFAULTS:
      return "defaults";
  }
  return "?";
}

hv_config_source hv_config_discover(const char *option, const char *env_value,
                                    const char *system_file, const char **path) {
  const char *chosen = NULL;
  hv_config_source source = HV_CONFIG_SOURCE_DEFAULTS;
  struct stat st;
  if (option != NULL && option[0] != '\0') {
    chosen = option;
    source = HV_CONFIG_SOURCE_OPTION;
  } else if (env_value != NULL && env_value[0] != '\0') {
    chosen = env_value;
    source = HV_CONFIG_SOURCE_ENV;
  } else if (system_file != NULL && system_file[0] != '\0' &&
             (lstat(system_file, &st) == 0 || errno != ENOENT)) {
    /* Present but unreadable (EACCES on the directory, a dangling link): loading it says why. */
    chosen = system_file;
    source = HV_CONFIG_SOURCE_SYSTEM;
  }
  if (path != NULL) *path = chosen;
  return source;
}

hv_config_status hv_config_apply_env(hv_config *c, const char *host, const char *port,
                                     hv_config_error *err) {
  if (c == NULL)
    return cfg_fail(err, HV_CONFIG_INVALID_ARGUMENT, "environment", NULL, 0, 0, "invalid argument");
  uint16_t new_port = c->server.port;
  if (port != NULL && port[0] != '\0') {
    /* The file's rules: plain decimal digits, no sign, no leading zero, 1 to 65535. */
    size_t len = strlen(port);
    bool digits = len <= 5 && port[0] >= '1' && port[0] <= '9';
    for (size_t i = 0; digits && i < len; i++) digits = port[i] >= '0' && port[i] <= '9';
    unsigned long v = digits ? strtoul(port, NULL, 10) : 0;
    if (!digits || v > 65535)
      return cfg_fail(err, HV_CONFIG_BAD_VALUE, HV_CONFIG_PORT_ENV, NULL, 0, 0,
                      "must be a port number between 1 and 65535 (got '%.40s')", port);
    new_port = (uint16_t)v;
  }
  if (host != NULL && host[0] != '\0') {
    if (strlen(host) >= sizeof c->server.host || !valid_host(host))
      return cfg_fail(err, HV_CONFIG_BAD_VALUE, HV_CONFIG_HOST_ENV, NULL, 0, 0,
                      "'%.64s' is not an IP address or a host name", host);
    snprintf(c->server.host, sizeof c->server.host, "%s", host);
  }
  c->server.port = new_port;
  if (err != NULL) memset(err, 0, sizeof *err);
  return HV_CONFIG_OK;
}
