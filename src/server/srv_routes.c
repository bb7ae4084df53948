/* srv_routes.c: GET /health, GET /v1/keys, GET /v1/verify/{request_id}, GET /metrics. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "srv_int.h"

#ifndef HV_SERVER_VERSION
#define HV_SERVER_VERSION "0.0.0"
#endif

/* ---- GET /health -------------------------------------------------------------------------- */

srv_reply srv_route_health(srv_request *r) {
  srv *s = r->server;
  exec_counts counts;
  s->exec->ops->counts(s->exec, &counts);
  bool storage = srv_storage_ok(s);
  bool ok = storage && !atomic_load(&s->shutting_down);
  json_t *o = json_object(), *cap = json_object();
  if (!o || !cap) {
    json_decref(o);
    json_decref(cap);
    return srv_json_reply(500, NULL);
  }
  json_object_set_new(o, "status", json_string(ok ? "ok" : "unavailable"));
  json_object_set_new(o, "version", json_string(HV_SERVER_VERSION));
  json_object_set_new(o, "uptime_seconds",
                      json_integer((json_int_t)((srv_mono_ns() - s->start_mono_ns) / 1000000000u)));
  json_object_set_new(cap, "max_concurrent_executions", json_integer(counts.capacity));
  json_object_set_new(cap, "active_executions", json_integer(counts.active));
  json_object_set_new(cap, "queued_executions", json_integer(counts.queued));
  json_object_set_new(o, "capacity", cap);
  json_object_set_new(o, "storage", json_string(storage ? "ok" : "unavailable"));
  /* Which store, and why it is down: a load balancer's operator reads this. */
  json_object_set_new(o, "storage_backend", json_string(hv_audit_backend_name(s->audit)));
  if (!storage)
    json_object_set_new(o, "storage_error",
                        json_string(hv_audit_status_text(srv_storage_status(s))));
  if (atomic_load(&s->shutting_down)) json_object_set_new(o, "shutting_down", json_true());
  srv_reply reply = srv_json_reply(ok ? 200 : 503, o);
  if (!ok) reply.retry_after_s = 5;
  return reply;
}

/* ---- GET /v1/keys ------------------------------------------------------------------------- */

srv_reply srv_route_keys(srv_request *r) {
  srv *s = r->server;
  /* Cheap when nothing is due; keeps the list exact between maintenance passes (and, with a
   * shared ring, picks up a key another node made). */
  (void)srv_keys_refresh(s, true, false);
  hv_crypto_err cerr = {0};
  hv_keyring_key_info keys[HV_KEYRING_MAX_KEYS];
  size_t count = 0;
  hv_keyring_list(s->ring, keys, HV_KEYRING_MAX_KEYS, &count);
  if (count > HV_KEYRING_MAX_KEYS) count = HV_KEYRING_MAX_KEYS;

  json_t *o = json_object(), *suite = json_object(), *list = json_array();
  if (!o || !suite || !list) {
    json_decref(o);
    json_decref(suite);
    json_decref(list);
    return srv_json_reply(500, NULL);
  }
  json_object_set_new(suite, "kem_id", json_integer(HPKE_KEM_P256_HKDF_SHA256));
  json_object_set_new(suite, "kdf_id", json_integer(HPKE_KDF_HKDF_SHA256));
  json_object_set_new(suite, "aead_id", json_integer(HPKE_AEAD_AES_256_GCM));
  json_object_set_new(o, "suite", suite);
  for (size_t k = 0; k < count; k++) {
    char *pk = NULL;
    if (hv_crypto_base64_encode(keys[k].public_key, HPKE_PUBLIC_KEY_LEN, &pk, NULL, &cerr) !=
        HV_CRYPTO_OK) {
      json_decref(o);
      json_decref(list);
      return srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "cannot list the keys");
    }
    char created[HV_LOG_TIME_SIZE], expires[HV_LOG_TIME_SIZE];
    srv_format_time(keys[k].created_at * 1000, created);
    srv_format_time(keys[k].expires_at * 1000, expires);
    json_t *e = json_object();
    json_object_set_new(e, "key_id", json_string(keys[k].key_id));
    json_object_set_new(e, "public_key", json_string(pk));
    json_object_set_new(e, "created_at", json_string(created));
    json_object_set_new(e, "expires_at", json_string(expires));
    json_object_set_new(e, "current", json_boolean(keys[k].current));
    json_array_append_new(list, e);
    free(pk);
  }
  json_object_set_new(o, "keys", list);
  return srv_json_reply(200, o);
}

/* ---- GET /v1/verify/{request_id} ---------------------------------------------------------- */

typedef struct srv_verify_query {
  const char *type;
  const char *hash;
  const char *bad; /* the first unknown or repeated parameter */
  bool repeated;
} srv_verify_query;

static enum MHD_Result srv_verify_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value) {
  (void)kind;
  srv_verify_query *q = cls;
  const char **slot = strcmp(key, "commitment_type") == 0 ? &q->type
                      : strcmp(key, "hash_value") == 0    ? &q->hash
                                                          : NULL;
  if (!slot) {
    if (!q->bad) q->bad = key;
    return MHD_YES;
  }
  if (*slot) {
    if (!q->bad) {
      q->bad = key;
      q->repeated = true;
    }
    return MHD_YES;
  }
  *slot = value ? value : "";
  return MHD_YES;
}

/* The stored summary as JSON (null when it cannot be read back). */
static json_t *srv_stored_summary(const char *text) {
  json_t *v = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
  return v ? v : json_null();
}

static json_t *srv_commitment_value(const char *hex) {
  return hex[0] ? json_string(hex) : json_null();
}

srv_reply srv_route_verify(srv_request *r) {
  srv *s = r->server;
  char id[SRV_UUID_SIZE];
  size_t n = strlen(r->param);
  bool ok = !r->param_too_long && n == SRV_UUID_SIZE - 1;
  for (size_t k = 0; ok && k < n; k++) id[k] = (char)tolower((unsigned char)r->param[k]);
  if (ok) {
    id[n] = '\0';
    ok = hv_audit_request_id_valid(id);
  }
  if (!ok)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "request_id: not a UUID (8-4-4-4-12 hex digits)");

  srv_verify_query q = {0};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, srv_verify_arg, &q);
  if (q.bad)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           q.repeated ? "query parameter '%.64s' given twice"
                                      : "unknown query parameter '%.64s' (commitment_type, "
                                        "hash_value)",
                           q.bad);
  const char *type = q.type;
  if (type && strcmp(type, "result") != 0 && strcmp(type, "program") != 0 &&
      strcmp(type, "arguments") != 0)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "commitment_type: must be result, program or arguments");
  if (q.hash) {
    size_t hl = strlen(q.hash);
    bool hex = hl == HV_COMMIT_HEX_LEN;
    for (size_t k = 0; hex && k < hl; k++) hex = isxdigit((unsigned char)q.hash[k]) != 0;
    if (!hex)
      return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                             "hash_value: must be %d hex digits (a SHA-256)", HV_COMMIT_HEX_LEN);
    if (!type)
      return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                             "hash_value needs commitment_type (result, program or arguments)");
  } else if (type) {
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "commitment_type needs hash_value (the commitment to check)");
  }

  hv_audit_record rec;
  memset(&rec, 0, sizeof rec);
  hv_audit_error err = {0};
  hv_audit_status as = hv_audit_get(s->audit, id, &rec, &err);
  int64_t cutoff = hv_audit_retention_cutoff(srv_now_ms(s), s->config.crypto.commitment_retention_days);
  if (as == HV_AUDIT_OK && rec.recorded_at_ms < cutoff) {
    hv_audit_record_free(&rec);
    as = HV_AUDIT_NOT_FOUND; /* expired; the next purge removes it */
  }
  if (as == HV_AUDIT_NOT_FOUND)
    return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no record of request %s (unknown or expired)",
                           id);
  if (as != HV_AUDIT_OK) {
    HV_LOG(s->log, HV_LOG_ERROR, "audit.read_failed", 0, HV_LOG_STR("request_id", id),
           HV_LOG_STR("error", hv_audit_status_name(as)), HV_LOG_STR("message", err.message));
    return srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "the audit store cannot be read");
  }

  char recorded[HV_LOG_TIME_SIZE];
  srv_format_time(rec.recorded_at_ms, recorded);
  json_t *o = json_object();
  if (!o) {
    hv_audit_record_free(&rec);
    return srv_json_reply(500, NULL);
  }
  json_object_set_new(o, "request_id", json_string(id));
  if (q.hash) {
    const char *stored = strcmp(type, "result") == 0    ? rec.result_commitment
                         : strcmp(type, "program") == 0 ? rec.program_commitment
                                                        : rec.arguments_commitment;
    json_object_set_new(o, "commitment_type", json_string(type));
    json_object_set_new(o, "verified", json_boolean(stored[0] && hv_commit_hex_equal(stored, q.hash)));
    json_object_set_new(o, "recorded_at", json_string(recorded));
    json_object_set_new(o, "status", json_string(rec.status));
  } else {
    json_t *c = json_object();
    json_object_set_new(o, "recorded_at", json_string(recorded));
    json_object_set_new(o, "status", json_string(rec.status));
    json_object_set_new(c, "result", srv_commitment_value(rec.result_commitment));
    json_object_set_new(c, "program", srv_commitment_value(rec.program_commitment));
    json_object_set_new(c, "arguments", srv_commitment_value(rec.arguments_commitment));
    json_object_set_new(o, "commitments", c);
  }
  json_object_set_new(o, "execution_summary", srv_stored_summary(rec.execution_summary));
  hv_audit_record_free(&rec);
  return srv_json_reply(200, o);
}

/* ---- GET /metrics ------------------------------------------------------------------------- */

srv_reply srv_route_metrics(srv_request *r) {
  srv *s = r->server;
  srv_metrics_view v = {0};
  s->exec->ops->counts(s->exec, &v.exec);
  hv_keyring_key_info keys[HV_KEYRING_MAX_KEYS];
  hv_keyring_list(s->ring, keys, HV_KEYRING_MAX_KEYS, &v.keys);
  v.storage_ok = srv_storage_ok(s);
  v.uptime_seconds = (double)(srv_mono_ns() - s->start_mono_ns) / 1e9;
  v.start_time_seconds = (double)s->start_wall_ms / 1000.0;
  v.log_dropped = hv_log_dropped(s->log);
  pthread_rwlock_rdlock(&s->auth_lock);
  v.rate_limited = srv_ratelimit_refused(s->rate);
  pthread_rwlock_unlock(&s->auth_lock);
  srv_committer_counts(s->commit, &v.audit_rounds, &v.audit_records);

  const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  bool json = accept && strstr(accept, "application/json") != NULL;
  srv_reply reply = {.status = 200};
  reply.body = json ? srv_metrics_render_json(s->metrics, &v, &reply.len)
                    : srv_metrics_render_text(s->metrics, &v, &reply.len);
  if (!reply.body) return srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "cannot render metrics");
  reply.content_type = json ? "application/json; charset=utf-8"
                            : "text/plain; version=0.0.4; charset=utf-8";
  return reply;
}
