/*
 * audit.c: the audit store's front end (include/hv_audit.h). Checks every argument once, then
 * dispatches to the backend, so that each backend can trust what it is given.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_int.h"
#include "hv_log.h"

struct hv_audit_store {
  const hv_audit_backend *backend;
  void *impl;
};

/* ---- Errors ------------------------------------------------------------------------------------
 */

const char *hv_audit_status_name(hv_audit_status status) {
  switch (status) {
#define HV_AUDIT__NAME(name, text) \
  case name:                       \
    return #name;
    HV_AUDIT_STATUS_MAP(HV_AUDIT__NAME)
#undef HV_AUDIT__NAME
  }
  return "HV_AUDIT_UNKNOWN";
}

const char *hv_audit_status_text(hv_audit_status status) {
  switch (status) {
#define HV_AUDIT__TEXT(name, text) \
  case name:                       \
    return text;
    HV_AUDIT_STATUS_MAP(HV_AUDIT__TEXT)
#undef HV_AUDIT__TEXT
  }
  return "unknown status";
}

hv_audit_status audit_fail(hv_audit_error *err, hv_audit_status status, const char *fmt, ...) {
  if (err != NULL) {
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

hv_audit_status audit_ok(hv_audit_error *err) {
  if (err != NULL) {
    err->status = HV_AUDIT_OK;
    err->message[0] = '\0';
  }
  return HV_AUDIT_OK;
}

/* ---- Small helpers ------------------------------------------------------------------------------
 */

int64_t hv_audit_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hv_audit_retention_cutoff(int64_t now_ms, uint32_t retention_days) {
  int64_t span = (int64_t)retention_days * 86400 * 1000;
  return now_ms > span ? now_ms - span : 0;
}

void hv_audit_format_time(int64_t ms, char out[HV_AUDIT_TIME_SIZE]) {
  _Static_assert(HV_AUDIT_TIME_SIZE == HV_LOG_TIME_SIZE, "one time format for logs and records");
  hv_log_format_time(ms, out);
}

void hv_audit_record_free(hv_audit_record *r) {
  if (r == NULL) return;
  free(r->execution_summary);
  free(r->request_metadata);
  r->execution_summary = NULL;
  r->request_metadata = NULL;
}

static bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool hv_audit_request_id_valid(const char *id) {
  if (id == NULL) return false;
  for (size_t i = 0; i < 36; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !is_lower_hex(id[i])) return false; /* stops at a NUL too */
  }
  return id[36] == '\0';
}

/* A fixed-size field: NUL-terminated within its array, and its length. */
static bool terminated(const char *field, size_t size, size_t *len) {
  const char *nul = memchr(field, '\0', size);
  if (nul == NULL) return false;
  *len = (size_t)(nul - field);
  return true;
}

static bool hex_field_ok(const char *field, size_t size, size_t want_len) {
  size_t len;
  if (!terminated(field, size, &len)) return false;
  if (len == 0) return true; /* absent */
  if (len != want_len) return false;
  for (size_t i = 0; i < len; i++)
    if (!is_lower_hex(field[i])) return false;
  return true;
}

static bool charset_ok(const char *s, size_t len, bool allow_dot_dash) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (allow_dot_dash && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

/* A JSON object of at most HV_AUDIT_JSON_MAX bytes, without duplicate keys. */
static bool json_object_ok(const char *text) {
  size_t len = strnlen(text, HV_AUDIT_JSON_MAX + 1);
  if (len > HV_AUDIT_JSON_MAX) return false;
  json_error_t jerr;
  json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  bool ok = j != NULL && json_is_object(j);
  json_decref(j);
  return ok;
}

static hv_audit_status check_record(const hv_audit_record *r, hv_audit_error *err) {
  size_t len;
  if (!terminated(r->request_id, sizeof r->request_id, &len) ||
      !hv_audit_request_id_valid(r->request_id))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "request_id: not a lowercase UUID");
  const char *id = r->request_id;
  const int64_t max_ms = INT64_C(253402300799999); /* 9999-12-31T23:59:59.999Z */
  if (r->recorded_at_ms <= 0 || r->recorded_at_ms > max_ms)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "record %s: recorded_at_ms out of range", id);
  if (!terminated(r->api_key_id, sizeof r->api_key_id, &len) || len == 0 ||
      !charset_ok(r->api_key_id, len, true))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "record %s: api_key_id must be 1-64 of A-Z a-z 0-9 . _ -", id);
  if (!hex_field_ok(r->key_id, sizeof r->key_id, 16))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "record %s: key_id must be empty or 16 lowercase hex digits", id);
  const struct {
    const char *name, *value;
  } hashes[] = {{"result_commitment", r->result_commitment},
                {"program_commitment", r->program_commitment},
                {"arguments_commitment", r->arguments_commitment}};
  for (size_t i = 0; i < 3; i++) {
    if (!hex_field_ok(hashes[i].value, HV_AUDIT_HASH_SIZE, 64))
      return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                        "record %s: %s must be empty or 64 lowercase hex digits", id,
                        hashes[i].name);
  }
  if (!terminated(r->status, sizeof r->status, &len) || len == 0 ||
      !charset_ok(r->status, len, false))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "record %s: status must be 1-32 of A-Z a-z 0-9 _", id);
  if (r->execution_summary == NULL || !json_object_ok(r->execution_summary))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "record %s: execution_summary must be a JSON object of at most %d bytes", id,
                      HV_AUDIT_JSON_MAX);
  if (r->request_metadata != NULL && !json_object_ok(r->request_metadata))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "record %s: request_metadata must be NULL or a JSON object of at most %d "
                      "bytes",
                      id, HV_AUDIT_JSON_MAX);
  return HV_AUDIT_OK;
}

/* ---- Backends and the store ------------------------------------------------------------------ */

const hv_audit_backend *hv_audit_backend_find(const char *name) {
  if (name != NULL && strcmp(name, hv_audit_sqlite_backend.name) == 0)
    return &hv_audit_sqlite_backend;
  if (name != NULL && strcmp(name, hv_audit_postgres_backend.name) == 0)
    return &hv_audit_postgres_backend;
  return NULL;
}

hv_audit_status hv_audit_open(const hv_audit_backend *backend, const char *target,
                              const hv_audit_options *options, hv_audit_store **out,
                              hv_audit_error *err) {
  if (out == NULL) return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_open: out is NULL");
  *out = NULL;
  if (backend == NULL)
    return audit_fail(err, HV_AUDIT_UNSUPPORTED, "no audit backend of that name in this build");
  if (target == NULL || target[0] == '\0')
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "%s audit store: no path or DSN given",
                      backend->name);
  hv_audit_options opt = {0};
  if (options != NULL) opt = *options;
  if (opt.connections == 0) opt.connections = AUDIT_DEFAULT_CONNECTIONS;
  if (opt.busy_timeout_ms == 0) opt.busy_timeout_ms = AUDIT_DEFAULT_BUSY_TIMEOUT_MS;
  if (opt.purge_batch == 0) opt.purge_batch = AUDIT_DEFAULT_PURGE_BATCH;
  if (opt.connections > AUDIT_MAX_CONNECTIONS || opt.busy_timeout_ms > 600000)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "audit options: at most %u connections and a 600 s busy timeout",
                      AUDIT_MAX_CONNECTIONS);

  hv_audit_store *s = calloc(1, sizeof *s);
  if (s == NULL) return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  s->backend = backend;
  hv_audit_status st = backend->open(target, &opt, &s->impl, err);
  if (st != HV_AUDIT_OK) {
    free(s);
    return st;
  }
  *out = s;
  return audit_ok(err);
}

void hv_audit_close(hv_audit_store *s) {
  if (s == NULL) return;
  s->backend->close(s->impl);
  free(s);
}

const char *hv_audit_backend_name(const hv_audit_store *s) {
  return s != NULL ? s->backend->name : "?";
}

hv_audit_status hv_audit_put(hv_audit_store *s, const hv_audit_record *r, hv_audit_error *err) {
  if (s == NULL || r == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_put: NULL argument");
  hv_audit_status st = check_record(r, err);
  if (st != HV_AUDIT_OK) return st;
  return s->backend->put(s->impl, r, err);
}

hv_audit_status hv_audit_put_batch(hv_audit_store *s, const hv_audit_record *const *records,
                                   size_t count, hv_audit_status *statuses, hv_audit_error *err) {
  if (s == NULL || (count > 0 && (records == NULL || statuses == NULL)))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_put_batch: NULL argument");
  if (count > HV_AUDIT_BATCH_MAX)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_put_batch: more than %u records",
                      HV_AUDIT_BATCH_MAX);
  /* The valid records go to the backend; the others fail on their own. */
  const hv_audit_record *valid[HV_AUDIT_BATCH_MAX];
  size_t index[HV_AUDIT_BATCH_MAX], n = 0;
  hv_audit_status first = HV_AUDIT_OK;
  hv_audit_error one;
  for (size_t i = 0; i < count; i++) {
    statuses[i] = records[i] == NULL ? audit_fail(&one, HV_AUDIT_INVALID_ARGUMENT, "NULL record")
                                     : check_record(records[i], &one);
    if (statuses[i] == HV_AUDIT_OK) {
      valid[n] = records[i];
      index[n++] = i;
    } else if (first == HV_AUDIT_OK) {
      first = statuses[i];
      if (err) *err = one;
    }
  }
  if (n == 0) return first == HV_AUDIT_OK ? audit_ok(err) : first;
  hv_audit_status backend_statuses[HV_AUDIT_BATCH_MAX];
  hv_audit_status st;
  if (s->backend->put_batch) {
    st = s->backend->put_batch(s->impl, valid, n, backend_statuses, first == HV_AUDIT_OK ? err : &one);
  } else {
    st = HV_AUDIT_OK;
    for (size_t k = 0; k < n; k++) {
      backend_statuses[k] = s->backend->put(s->impl, valid[k], &one);
      if (backend_statuses[k] != HV_AUDIT_OK && st == HV_AUDIT_OK) {
        st = backend_statuses[k];
        if (first == HV_AUDIT_OK && err) *err = one;
      }
    }
  }
  for (size_t k = 0; k < n; k++) statuses[index[k]] = backend_statuses[k];
  if (first != HV_AUDIT_OK) return first;
  return st == HV_AUDIT_OK ? audit_ok(err) : st;
}

hv_audit_status hv_audit_get(hv_audit_store *s, const char *request_id, hv_audit_record *out,
                             hv_audit_error *err) {
  if (s == NULL || out == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_get: NULL argument");
  memset(out, 0, sizeof *out);
  if (!hv_audit_request_id_valid(request_id))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "request_id: not a lowercase UUID");
  hv_audit_status st = s->backend->get(s->impl, request_id, out, err);
  if (st != HV_AUDIT_OK) {
    hv_audit_record_free(out);
    memset(out, 0, sizeof *out);
  }
  return st;
}

hv_audit_status hv_audit_purge(hv_audit_store *s, int64_t older_than_ms, uint64_t *removed,
                               hv_audit_error *err) {
  uint64_t dummy = 0;
  if (removed == NULL) removed = &dummy;
  *removed = 0;
  if (s == NULL) return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_purge: NULL store");
  return s->backend->purge(s->impl, older_than_ms, removed, err);
}

hv_audit_status hv_audit_health(hv_audit_store *s, hv_audit_error *err) {
  if (s == NULL) return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_health: NULL store");
  return s->backend->health(s->impl, err);
}

/* ---- The transparency log ---------------------------------------------------------------------
 */

static int hex_nibble(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 64 hex digits to 32 bytes (already checked by check_record). */
static void hex_to_bytes(const char *hex, uint8_t out[32]) {
  for (size_t i = 0; i < 32; i++)
    out[i] = (uint8_t)(hex_nibble(hex[2 * i]) << 4 | hex_nibble(hex[2 * i + 1]));
}

static void bytes_to_hex(const uint8_t in[32], char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[64] = '\0';
}

/* gas_used from the execution summary, when it is there as a non-negative integer. */
static bool summary_gas(const char *summary, uint64_t *gas) {
  json_t *j = json_loads(summary, 0, NULL);
  json_t *g = json_object_get(j, "gas_used");
  bool ok = json_is_integer(g) && json_integer_value(g) >= 0;
  if (ok) *gas = (uint64_t)json_integer_value(g);
  json_decref(j);
  return ok;
}

/* The encoding of a record check_record accepted (so every length below fits). */
static size_t leaf_encode_checked(const hv_audit_record *r, uint8_t out[HV_AUDIT_LEAF_MAX]) {
  size_t n = 0;
  out[n++] = HV_AUDIT_LEAF_VERSION;
  memcpy(out + n, r->request_id, 36);
  n += 36;
  uint64_t t = (uint64_t)r->recorded_at_ms;
  for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(t >> (8 * i));
  size_t klen = strlen(r->key_id);
  out[n++] = (uint8_t)klen;
  memcpy(out + n, r->key_id, klen);
  n += klen;
  const char *hashes[3] = {r->result_commitment, r->program_commitment, r->arguments_commitment};
  for (size_t i = 0; i < 3; i++) {
    out[n++] = hashes[i][0] != '\0';
    if (hashes[i][0] != '\0') {
      hex_to_bytes(hashes[i], out + n);
      n += 32;
    }
  }
  size_t slen = strlen(r->status);
  out[n++] = (uint8_t)slen;
  memcpy(out + n, r->status, slen);
  n += slen;
  uint64_t gas = 0;
  bool has_gas = summary_gas(r->execution_summary, &gas);
  out[n++] = has_gas;
  if (has_gas)
    for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(gas >> (8 * i));
  return n;
}

hv_audit_status hv_audit_leaf_encode(const hv_audit_record *r, uint8_t out[HV_AUDIT_LEAF_MAX],
                                     size_t *len, hv_audit_error *err) {
  if (r == NULL || out == NULL || len == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_leaf_encode: NULL argument");
  hv_audit_status st = check_record(r, err);
  if (st != HV_AUDIT_OK) return st;
  *len = leaf_encode_checked(r, out);
  return audit_ok(err);
}

hv_audit_status hv_audit_leaf_decode(const uint8_t *p, size_t len, hv_audit_leaf_fields *out,
                                     hv_audit_error *err) {
  if (p == NULL || out == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_leaf_decode: NULL argument");
  memset(out, 0, sizeof *out);
  size_t n = 0;
#define NEED(k, what)                                                                      \
  do {                                                                                     \
    if (len - n < (size_t)(k))                                                             \
      return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: truncated at %s", what);    \
  } while (0)
  NEED(1, "version");
  if (p[n++] != HV_AUDIT_LEAF_VERSION)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: unknown encoding version %u", p[0]);
  NEED(36, "request_id");
  memcpy(out->request_id, p + n, 36);
  out->request_id[36] = '\0';
  n += 36;
  if (!hv_audit_request_id_valid(out->request_id))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: request_id is not a lowercase UUID");
  NEED(8, "recorded_at_ms");
  uint64_t t = 0;
  for (int i = 0; i < 8; i++) t = t << 8 | p[n++];
  out->recorded_at_ms = (int64_t)t;
  NEED(1, "key_id");
  size_t klen = p[n++];
  if (klen != 0 && klen != 16)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: key_id of %zu bytes", klen);
  NEED(klen, "key_id");
  memcpy(out->key_id, p + n, klen);
  out->key_id[klen] = '\0';
  n += klen;
  char *hashes[3] = {out->result_commitment, out->program_commitment, out->arguments_commitment};
  for (size_t i = 0; i < 3; i++) {
    NEED(1, "a commitment");
    uint8_t present = p[n++];
    if (present > 1)
      return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: commitment flag %u", present);
    if (present) {
      NEED(32, "a commitment");
      bytes_to_hex(p + n, hashes[i]);
      n += 32;
    }
  }
  NEED(1, "status");
  size_t slen = p[n++];
  if (slen == 0 || slen >= HV_AUDIT_STATUS_SIZE)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: status of %zu bytes", slen);
  NEED(slen, "status");
  memcpy(out->status, p + n, slen);
  out->status[slen] = '\0';
  n += slen;
  NEED(1, "gas_used");
  uint8_t g = p[n++];
  if (g > 1) return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: gas flag %u", g);
  if (g) {
    NEED(8, "gas_used");
    for (int i = 0; i < 8; i++) out->gas_used = out->gas_used << 8 | p[n++];
    out->has_gas = true;
  }
#undef NEED
  if (n != len)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "leaf: %zu bytes after the encoding", len - n);
  return audit_ok(err);
}

bool hv_audit_has_log(const hv_audit_store *s) {
  return s != NULL && s->backend->log_put_batch != NULL;
}

static hv_audit_status no_log(const hv_audit_store *s, hv_audit_error *err) {
  return audit_fail(err, HV_AUDIT_UNSUPPORTED, "the %s audit store keeps no transparency log",
                    s->backend->name);
}

hv_audit_status hv_audit_log_put_batch(hv_audit_store *s, const hv_audit_record *const *records,
                                       size_t count, hv_audit_status *statuses,
                                       hv_audit_log_receipt *receipts, uint64_t *size,
                                       uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err) {
  if (s == NULL || size == NULL || root == NULL ||
      (count > 0 && (records == NULL || statuses == NULL || receipts == NULL)))
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_put_batch: NULL argument");
  if (!hv_audit_has_log(s)) return no_log(s, err);
  if (count > HV_AUDIT_BATCH_MAX)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_put_batch: more than %u records",
                      HV_AUDIT_BATCH_MAX);
  const hv_audit_record *valid[HV_AUDIT_BATCH_MAX] = {0};
  size_t index[HV_AUDIT_BATCH_MAX], n = 0;
  uint8_t(*hashes)[HV_TLOG_HASH_LEN] = malloc((count ? count : 1) * sizeof *hashes);
  hv_audit_log_receipt *got = malloc((count ? count : 1) * sizeof *got);
  if (hashes == NULL || got == NULL) {
    free(hashes);
    free(got);
    for (size_t i = 0; i < count; i++) statuses[i] = HV_AUDIT_NO_MEMORY;
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  hv_audit_status first = HV_AUDIT_OK;
  hv_audit_error one;
  for (size_t i = 0; i < count; i++) {
    statuses[i] = records[i] == NULL ? audit_fail(&one, HV_AUDIT_INVALID_ARGUMENT, "NULL record")
                                     : check_record(records[i], &one);
    if (statuses[i] == HV_AUDIT_OK) {
      /* The encoding travels with the receipt: the caller need not make it again. */
      got[n].leaf_len = leaf_encode_checked(records[i], got[n].leaf);
      hv_tlog_leaf_hash(got[n].leaf, got[n].leaf_len, hashes[n]);
      valid[n] = records[i];
      index[n++] = i;
    } else if (first == HV_AUDIT_OK) {
      first = statuses[i];
      if (err) *err = one;
    }
  }
  hv_audit_status st = HV_AUDIT_OK;
  hv_audit_status backend_statuses[HV_AUDIT_BATCH_MAX];
  /* Even with nothing valid the call reports the tree's head. */
  st = s->backend->log_put_batch(s->impl, valid, (const uint8_t(*)[HV_TLOG_HASH_LEN])hashes, n,
                                 backend_statuses, got, size, root,
                                 first == HV_AUDIT_OK ? err : &one);
  for (size_t k = 0; k < n; k++) {
    statuses[index[k]] = backend_statuses[k];
    if (backend_statuses[k] == HV_AUDIT_OK) {
      hv_audit_log_receipt *r = &receipts[index[k]];
      /* The backend filled index, hash and proof; the encoding is the front end's. */
      size_t leaf_len = got[k].leaf_len;
      uint8_t leaf[HV_AUDIT_LEAF_MAX];
      memcpy(leaf, got[k].leaf, leaf_len);
      *r = got[k];
      memcpy(r->leaf, leaf, leaf_len);
      r->leaf_len = leaf_len;
    }
  }
  free(hashes);
  free(got);
  if (first != HV_AUDIT_OK) return first;
  return st == HV_AUDIT_OK ? audit_ok(err) : st;
}

hv_audit_status hv_audit_log_head(hv_audit_store *s, uint64_t *size,
                                  uint8_t root[HV_TLOG_HASH_LEN], hv_audit_error *err) {
  if (s == NULL || size == NULL || root == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_head: NULL argument");
  if (!hv_audit_has_log(s)) return no_log(s, err);
  return s->backend->log_head(s->impl, size, root, err);
}

hv_audit_status hv_audit_log_inclusion(hv_audit_store *s, uint64_t index, uint64_t size,
                                       uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN],
                                       size_t *count, hv_audit_error *err) {
  if (s == NULL || proof == NULL || count == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_inclusion: NULL argument");
  *count = 0;
  if (!hv_audit_has_log(s)) return no_log(s, err);
  if (index >= size)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "leaf index %llu is not below the tree size %llu", (unsigned long long)index,
                      (unsigned long long)size);
  return s->backend->log_inclusion(s->impl, index, size, proof, count, err);
}

hv_audit_status hv_audit_log_consistency(hv_audit_store *s, uint64_t old_size, uint64_t new_size,
                                         uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN],
                                         size_t *count, hv_audit_error *err) {
  if (s == NULL || proof == NULL || count == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_consistency: NULL argument");
  *count = 0;
  if (!hv_audit_has_log(s)) return no_log(s, err);
  if (old_size == 0 || old_size > new_size)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "need 0 < old <= new, got old %llu and new %llu",
                      (unsigned long long)old_size, (unsigned long long)new_size);
  return s->backend->log_consistency(s->impl, old_size, new_size, proof, count, err);
}

hv_audit_status hv_audit_log_leaves(hv_audit_store *s, uint64_t start, uint64_t end,
                                    hv_audit_log_leaf *out, size_t *count, hv_audit_error *err) {
  if (s == NULL || out == NULL || count == NULL)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "hv_audit_log_leaves: NULL argument");
  *count = 0;
  if (!hv_audit_has_log(s)) return no_log(s, err);
  if (start >= end || end - start > HV_AUDIT_LOG_PAGE_MAX)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT,
                      "need start < end and at most %u leaves, got start %llu and end %llu",
                      HV_AUDIT_LOG_PAGE_MAX, (unsigned long long)start, (unsigned long long)end);
  size_t n = (size_t)(end - start);
  hv_audit_record *records = calloc(n, sizeof *records);
  bool *has = calloc(n, sizeof *has);
  if (records == NULL || has == NULL) {
    free(records);
    free(has);
    return audit_fail(err, HV_AUDIT_NO_MEMORY, "out of memory");
  }
  hv_audit_status st = s->backend->log_leaves(s->impl, start, end, out, records, has, count, err);
  for (size_t k = 0; k < n; k++) {
    if (st == HV_AUDIT_OK && k < *count) {
      out[k].has_record = false;
      out[k].record_invalid = false;
      out[k].leaf_len = 0;
      /* A record that no longer encodes (edited into something invalid) is flagged, not hidden:
       * a monitor reports it. */
      if (has[k]) {
        if (hv_audit_leaf_encode(&records[k], out[k].leaf, &out[k].leaf_len, NULL) == HV_AUDIT_OK)
          out[k].has_record = true;
        else
          out[k].record_invalid = true;
      }
    }
    hv_audit_record_free(&records[k]);
  }
  free(records);
  free(has);
  return st;
}
